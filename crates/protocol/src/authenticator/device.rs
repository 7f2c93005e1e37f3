//! The device flow (RFC 8628): `POST /auth/github/device` and `POST /auth/github/device/poll`.
//!
//! Poll replies keep upstream's shapes exactly, because the official Python client branches on
//! `status` (`success`, `pending`, `error`) and reads `interval` from pending replies.

use serde::{Deserialize, Serialize};

use crate::authenticator::LoginSuccess;
use crate::marker::{Failed, Pending};
use crate::{Scopes, Secret};

/// Optional body of `POST /auth/github/device`: the scopes wanted (default: all). They bind the
/// device code: its poll may ask for fewer, never for more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCodeRequest {
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
}

/// 200 of `POST /auth/github/device`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCodeResponse {
    /// The code the client polls with.
    pub device_code: Secret,
    /// The code the person types at `verification_uri`.
    pub user_code: String,
    /// Where the person goes.
    pub verification_uri: String,
    /// `verification_uri` with the user code filled in. Always present: the Python client
    /// requires the key.
    pub verification_uri_complete: String,
    /// Seconds until the device code expires.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    pub interval: u64,
}

/// Body of `POST /auth/github/device/poll`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicePollRequest {
    /// The device code from [`DeviceCodeResponse`].
    pub device_code: Secret,
    /// Space-separated scopes, at most those the flow was started with (default: those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
}

/// Why a poll should be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PendingReason {
    /// The person has not approved yet.
    AuthorizationPending,
    /// The client polled faster than the interval; it must wait longer.
    SlowDown,
}

/// 202 of a poll that should be repeated:
/// `{"status":"pending","error","error_description","interval"?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicePollPending {
    /// Always `"pending"`.
    pub status: Pending,
    /// `authorization_pending` or `slow_down`.
    pub error: PendingReason,
    /// A sentence for the person.
    pub error_description: String,
    /// The interval to use from now on; sent with `slow_down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

impl DevicePollPending {
    /// "Keep waiting, the person has not approved yet."
    pub fn authorization_pending() -> Self {
        Self {
            status: Pending,
            error: PendingReason::AuthorizationPending,
            error_description: "Waiting for user authorization".into(),
            interval: None,
        }
    }

    /// "Poll every `interval` seconds from now on."
    pub fn slow_down(interval: u64) -> Self {
        Self {
            status: Pending,
            error: PendingReason::SlowDown,
            error_description: format!("Polling too fast; poll every {interval} seconds"),
            interval: Some(interval),
        }
    }
}

/// 400 of a poll that has failed for good (`expired_token`, `access_denied`, …):
/// `{"status":"error","error","error_description"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicePollFailure {
    /// Always `"error"`.
    pub status: Failed,
    /// The error code.
    pub error: String,
    /// A sentence for the person.
    pub error_description: String,
}

impl DevicePollFailure {
    /// A failure with this code and description.
    pub fn new(error: impl Into<String>, error_description: impl Into<String>) -> Self {
        Self {
            status: Failed,
            error: error.into(),
            error_description: error_description.into(),
        }
    }
}

/// Any reply to a poll, told apart by `status`. For clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum DevicePollReply {
    /// 200: signed in.
    Success(Box<LoginSuccess>),
    /// 202: poll again.
    Pending(DevicePollPending),
    /// 400: give up.
    Failed(DevicePollFailure),
}

impl DevicePollReply {
    /// The HTTP status that goes with the reply.
    pub fn http_status(&self) -> u16 {
        match self {
            DevicePollReply::Success(_) => 200,
            DevicePollReply::Pending(_) => 202,
            DevicePollReply::Failed(_) => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_poll_request_debug_hides_the_device_code() {
        let request = DevicePollRequest {
            device_code: Secret::new("3584d83530557fdd1f46af8289938c8ef79f9dc5"),
            scope: None,
        };
        assert!(!format!("{request:?}").contains("3584d8"));
    }

    #[test]
    fn slow_down_carries_the_new_interval() {
        let body = serde_json::to_value(DevicePollPending::slow_down(10)).unwrap();
        assert_eq!(body["status"], "pending");
        assert_eq!(body["error"], "slow_down");
        assert_eq!(body["interval"], 10);
    }

    #[test]
    fn authorization_pending_has_no_interval() {
        let body = serde_json::to_value(DevicePollPending::authorization_pending()).unwrap();
        assert_eq!(body["error"], "authorization_pending");
        assert!(body.get("interval").is_none());
    }

    #[test]
    fn poll_replies_are_told_apart_by_status() {
        let pending: DevicePollReply = serde_json::from_str(
            r#"{"status":"pending","error":"authorization_pending","error_description":"w"}"#,
        )
        .unwrap();
        assert_eq!(pending.http_status(), 202);
        let failed: DevicePollReply = serde_json::from_str(
            r#"{"status":"error","error":"expired_token","error_description":"e"}"#,
        )
        .unwrap();
        assert_eq!(failed.http_status(), 400);
    }
}
