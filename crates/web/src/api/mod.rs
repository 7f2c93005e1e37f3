//! The one way the app talks to the services: a typed client over `gloo-net` for the
//! authenticator and the provisioner. Components call these functions and never build requests.
//!
//! Errors come back as [`ApiError`], whose text is what a person should read: the server's
//! `error_description` when there is one, "unreachable" when nothing answered.

pub mod authenticator;
mod provisioner;

use std::fmt;

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use sliderule_protocol::ErrorBody;

pub use authenticator::Authenticator;
pub use provisioner::Provisioner;

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// Nothing answered: the network is down, the service is, or the browser blocked the call.
    Unreachable,
    /// The service answered with an error envelope (or at least an error status).
    Server {
        /// The HTTP status.
        status: u16,
        /// The machine-readable code, e.g. `limit_exceeded`.
        error: String,
        /// What went wrong, in words.
        description: String,
    },
    /// The session ended (the refresh token was refused); the user has to sign in again.
    SessionEnded,
    /// A success whose body this client cannot read (a version mismatch, or a proxy's page).
    Unexpected(String),
    /// The browser lacks something the call needs; the text says what.
    Browser(String),
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code, when the server gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Server { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether trying the same call again may help (nothing answered, or the server failed).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable => true,
            ApiError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unreachable => {
                f.write_str("The service is unreachable. Check your connection, then try again.")
            }
            ApiError::Server {
                error, description, ..
            } if description.is_empty() => write!(f, "The service refused the request ({error})."),
            ApiError::Server { description, .. } => f.write_str(description),
            ApiError::SessionEnded => f.write_str("Your session ended, sign in again."),
            ApiError::Unexpected(why) => {
                write!(f, "The service sent an answer this page cannot read: {why}")
            }
            ApiError::Browser(why) => f.write_str(why),
        }
    }
}

/// Sends a request; only "no answer at all" is an error here.
async fn send(request: Request) -> Result<Response, ApiError> {
    request.send().await.map_err(|_| ApiError::Unreachable)
}

/// Turns a response into `T` on success, or into the server's error.
async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| ApiError::Unexpected(e.to_string()));
    }
    Err(error_of(response).await)
}

/// The error a failed response stands for: its envelope, or its status in words.
async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiError::Server {
            status,
            error: body.error,
            description: body.error_description,
        },
        Err(_) => ApiError::Server {
            status,
            error: format!("http_{status}"),
            description: format!(
                "The service answered HTTP {status} {}.",
                response.status_text()
            ),
        },
    }
}

/// Joins a service's base URL and a path.
fn url(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_reads_as_its_description() {
        let error = ApiError::Server {
            status: 422,
            error: "limit_exceeded".into(),
            description: "node_capacity of 11 exceeds your maximum of 10 nodes".into(),
        };
        assert_eq!(
            error.to_string(),
            "node_capacity of 11 exceeds your maximum of 10 nodes"
        );
        assert!(!error.is_transient());
        assert!(ApiError::Unreachable.to_string().contains("unreachable"));
    }

    #[test]
    fn urls_join_without_doubled_slashes() {
        assert_eq!(
            url("http://x/provisioner/", "/status"),
            "http://x/provisioner/status"
        );
        assert_eq!(url("http://x", "/auth/revoke"), "http://x/auth/revoke");
    }
}
