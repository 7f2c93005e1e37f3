//! Browser sign-in with OAuth 2.1 and PKCE: client registration (RFC 7591), the authorization
//! endpoint and GitHub's callback, the token endpoint, refresh and revocation.
//!
//! Query and form bodies are read into loose structs of optional strings first, then turned into
//! a precise request by a `parse`/`validate`/`grant` method that answers with the RFC's error code.
//! That split exists because OAuth clients branch on the code (`unsupported_grant_type`,
//! `invalid_redirect_uri`, …), which a plain serde failure could not give them.

mod authorize;
mod register;
mod token;

pub use authorize::{AuthorizeQuery, AuthorizeRequest, CallbackQuery, LegacyLogin, PkceAuthorize};
pub use register::{
    ClientRecord, GrantType, MAX_CLIENT_NAME_LEN, MAX_REDIRECT_URI_LEN, MAX_REDIRECT_URIS,
    RegisterRequest, Registration, ResponseType, check_redirect_uri,
};
pub use token::{
    RefreshRequest, RefreshResponse, RevokeRequest, TokenGrant, TokenInfo, TokenRequest,
    TokenResponse, known_clusters,
};

use crate::Secret;
use crate::error::ErrorBody;

/// The one PKCE method accepted.
pub const CODE_CHALLENGE_METHOD_S256: &str = "S256";

/// The one client authentication method accepted: public clients, no secret.
pub const AUTH_METHOD_NONE: &str = "none";

// Form fields arrive as `name=` when a client has nothing to send, so empty counts as missing.
fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ErrorBody> {
    non_empty(value).ok_or_else(|| ErrorBody::invalid_request(format!("{name} is required")))
}

/// Checks a PKCE challenge or verifier: 43–128 of `A-Z a-z 0-9 - . _ ~` (RFC 7636 §4.1–4.2).
fn check_pkce_value(field: &str, value: &str) -> Result<(), ErrorBody> {
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if (43..=128).contains(&value.len()) && ok_chars {
        Ok(())
    } else {
        Err(ErrorBody::invalid_request(format!(
            "{field} must be 43 to 128 characters of letters, digits, '-', '.', '_' and '~'"
        )))
    }
}

fn required_secret(value: &Option<Secret>, name: &str) -> Result<Secret, ErrorBody> {
    value
        .as_ref()
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| ErrorBody::invalid_request(format!("{name} is required")))
}
