//! The one error envelope every endpoint answers with, and the codes it may carry.
//!
//! Every failed call, whatever the endpoint, answers
//! `{"error": "<code>", "error_description": "<sentence for a person>"}`. The official Python
//! client parses error bodies as JSON before looking at the status, and the web client shows the
//! description inline, so the description must make sense on its own.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A machine-readable code, one of [`codes`].
    pub error: String,
    /// A sentence a person can act on. Never holds internal details.
    pub error_description: String,
}

impl ErrorBody {
    /// An envelope with this code and description.
    pub fn new(error: impl Into<String>, error_description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: error_description.into(),
        }
    }

    /// A 400 `invalid_request` envelope, the answer to input that does not parse.
    pub fn invalid_request(error_description: impl Into<String>) -> Self {
        Self::new(codes::INVALID_REQUEST, error_description)
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error_description, self.error)
    }
}

impl std::error::Error for ErrorBody {}

/// Error codes, grouped by the HTTP status they go with.
///
/// The OAuth codes are those of RFC 6749 §5.2, RFC 7591 §3.2.2 and RFC 8628 §3.5, because OAuth
/// client libraries branch on them; the rest follow the same `snake_case` style.
pub mod codes {
    // 400: the request itself is wrong.
    /// Input that does not parse or breaks a rule of its field.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// `POST /auth/github/pat` without a `pat`.
    pub const MISSING_PAT: &str = "missing_pat";
    /// `POST /auth/github/device/poll` without a `device_code` (upstream's code).
    pub const MISSING_DEVICE_CODE: &str = "missing_device_code";
    /// A code, refresh token or device code that is unknown, spent, expired or revoked.
    pub const INVALID_GRANT: &str = "invalid_grant";
    /// An unknown or expired OAuth client id.
    pub const INVALID_CLIENT: &str = "invalid_client";
    /// A `grant_type` the token endpoint does not handle.
    pub const UNSUPPORTED_GRANT_TYPE: &str = "unsupported_grant_type";
    /// A `response_type` other than `code` at the authorization endpoint.
    pub const UNSUPPORTED_RESPONSE_TYPE: &str = "unsupported_response_type";
    /// A scope that is unknown or not allowed to the client.
    pub const INVALID_SCOPE: &str = "invalid_scope";
    /// A redirect URI that is not https (or http on localhost), or not registered.
    pub const INVALID_REDIRECT_URI: &str = "invalid_redirect_uri";
    /// Any other bad field of a client registration.
    pub const INVALID_CLIENT_METADATA: &str = "invalid_client_metadata";
    /// Device flow: the device code expired before the user approved it.
    pub const EXPIRED_TOKEN: &str = "expired_token";

    // 202 while a device flow waits (RFC 8628 §3.5).
    /// Device flow: the user has not approved yet.
    pub const AUTHORIZATION_PENDING: &str = "authorization_pending";
    /// Device flow: polled faster than the interval.
    pub const SLOW_DOWN: &str = "slow_down";

    // 401 and 403.
    /// A missing, malformed, expired or foreign bearer token; also a PAT GitHub rejects.
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// 401: an owner's request must be signed here and is not.
    pub const SIGNATURE_REQUIRED: &str = "signature_required";
    /// 401: the request's signature is malformed, stale, replayed or does not verify.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// Authenticated, but not allowed: wrong level, foreign cluster, or the user said no.
    pub const ACCESS_DENIED: &str = "access_denied";

    // 404.
    /// No such path or object.
    pub const NOT_FOUND: &str = "not_found";
    /// `/status` of a cluster with neither stack nor record (upstream's name for it).
    pub const DOES_NOT_EXIST: &str = "does_not_exist";

    // 409: the cluster's current state forbids the request.
    /// Another operation on the cluster is running with different parameters.
    pub const OPERATION_IN_PROGRESS: &str = "operation_in_progress";
    /// 409: the name is taken (an account, an organization).
    pub const ALREADY_EXISTS: &str = "already_exists";
    /// A property that cannot change while the cluster lives (`is_public`).
    pub const IMMUTABLE: &str = "immutable";
    /// The cluster's stack failed; it must be destroyed before it can be deployed again.
    pub const CLUSTER_FAILED: &str = "cluster_failed";

    // 413, 414, 422, 429, 431.
    /// The request body is larger than the server accepts.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The request's URI is longer than the server parses.
    pub const URI_TOO_LONG: &str = "uri_too_long";
    /// The request has more header fields, or a larger head, than the server parses.
    pub const HEADERS_TOO_LARGE: &str = "headers_too_large";
    /// A node count or TTL outside the caller's limits.
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    /// The budget cannot pay for the request until its deadline.
    pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
    /// Too many requests from one client.
    pub const RATE_LIMITED: &str = "rate_limited";

    // 500 and 502.
    /// A redirect back to the client when GitHub could not be reached (RFC 6749 §4.1.2.1).
    pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";
    /// A bug on our side; details are in the logs only.
    pub const INTERNAL_ERROR: &str = "internal_error";
    /// GitHub failed or would not answer the question we asked.
    pub const GITHUB_UNAVAILABLE: &str = "github_unavailable";
    /// AWS (or another upstream service than GitHub) failed.
    pub const BAD_GATEWAY: &str = "bad_gateway";
}

/// Renders a value given by a person for an error message: quoted and escaped so that blanks and
/// control characters are visible, and cut short so that a huge value cannot flood the message.
pub(crate) fn quote(value: &str) -> String {
    const SHOWN: usize = 64;
    match value.char_indices().nth(SHOWN) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_serializes_as_the_envelope() {
        let body = ErrorBody::new(codes::LIMIT_EXCEEDED, "too many");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "limit_exceeded", "error_description": "too many"})
        );
    }

    #[test]
    fn quote_escapes_control_characters_and_cuts_long_values() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = "x".repeat(100);
        let quoted = quote(&long);
        assert!(quoted.ends_with('…'));
        assert_eq!(quoted.chars().filter(|c| *c == 'x').count(), 64);
    }
}
