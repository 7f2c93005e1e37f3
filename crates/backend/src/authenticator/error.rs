//! What can go wrong in the authenticator's rules, as the rules see it. Only `http/error.rs`
//! turns these into responses (the OAuth error envelope), so signing in can be driven from a
//! server, a Lambda or a test alike.

use sliderule_protocol::{BodyError, ErrorBody, codes};

use super::random::RandomError;
use super::refresh::RefreshError;
use crate::github::GitHubError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The request is refused with an OAuth error code (one of `codes`' 400s) and a sentence.
    #[error("{description}")]
    Refused {
        code: &'static str,
        description: String,
    },
    /// 400 with a code and description decided by the protocol crate's checks.
    #[error("{}", .0.error_description)]
    Invalid(ErrorBody),
    /// A body that is not the JSON object the endpoint reads.
    #[error("{0}")]
    Body(BodyError),
    /// A refresh token that is invalid, expired, revoked or reused: `invalid_grant`.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// GitHub refused or failed.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing service (AWS KMS) refused or failed: no token is issued, and none is ever
    /// signed by another key.
    #[error("tokens cannot be signed now: {0}")]
    Signing(String),
    /// No secure random numbers.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A bug: a stored grant that no longer parses, a key that does not sign.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AuthError {
    /// 400 with `code` and `description`.
    pub fn refused(code: &'static str, description: impl Into<String>) -> Self {
        Self::Refused {
            code,
            description: description.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::refused(codes::INVALID_REQUEST, description)
    }

    /// A bug, from any error.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }
}

impl From<ErrorBody> for AuthError {
    fn from(body: ErrorBody) -> Self {
        Self::Invalid(body)
    }
}

impl From<BodyError> for AuthError {
    fn from(error: BodyError) -> Self {
        Self::Body(error)
    }
}
