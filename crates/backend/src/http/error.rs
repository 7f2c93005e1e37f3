//! The one JSON error envelope, `{"error": "<code>", "error_description": "<sentence>"}`.
//!
//! Every area's error type converts into [`ApiError`], which chooses the status and writes the
//! envelope. Internal causes are logged here and never returned: the client gets a sentence
//! that says what to do, the log gets the chain of causes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sliderule_protocol::{ErrorBody, codes};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{description}")]
    BadRequest {
        code: &'static str,
        description: String,
    },
    /// 400 with a code and description decided by the protocol crate's checks.
    #[error("{}", .0.error_description)]
    Invalid(ErrorBody),
    /// 401: no token, or a token we do not accept.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 with a specific code: credentials (a password) we do not accept.
    #[error("{description}")]
    BadCredentials {
        code: &'static str,
        description: String,
    },
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 404 with a specific code (`does_not_exist`).
    #[error("{description}")]
    NotFoundCode {
        code: &'static str,
        description: String,
    },
    /// 409: the thing is in a state that does not allow this.
    #[error("{description}")]
    Conflict {
        code: &'static str,
        description: String,
    },
    /// 422: a limit was exceeded; the description names limit, value and maximum.
    #[error("{description}")]
    Unprocessable {
        code: &'static str,
        description: String,
    },
    /// 429: slow down.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 502: GitHub or AWS failed; the description says what they answered.
    #[error("{description}")]
    BadGateway {
        code: &'static str,
        description: String,
    },
    /// 503: we could not answer in time, or a dependency is not ready.
    #[error("{description}")]
    Unavailable {
        code: &'static str,
        description: String,
    },
    /// 500: a bug or an unexpected failure. The cause is logged, never returned.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            description: description.into(),
        }
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::NotFound(description.into())
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::BadCredentials { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NotFoundCode { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &str {
        match self {
            Self::Invalid(body) => &body.error,
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::BadGateway { code, .. }
            | Self::Unavailable { code, .. }
            | Self::BadCredentials { code, .. }
            | Self::NotFoundCode { code, .. } => code,
            Self::Unauthorized(_) => "invalid_token",
            Self::Forbidden(_) => "access_denied",
            Self::NotFound(_) => "not_found",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The envelope this error answers with (the cause of an internal error logged here).
    pub fn into_body(self) -> ErrorBody {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        ErrorBody::new(self.code(), self.description())
    }

    fn description(&self) -> String {
        match self {
            Self::Internal(_) => {
                "Something went wrong on our side. It has been logged; please try again.".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        Self::Invalid(body)
    }
}

impl From<sliderule_protocol::BodyError> for ApiError {
    fn from(error: sliderule_protocol::BodyError) -> Self {
        Self::Invalid(error.into())
    }
}

impl From<crate::github::GitHubError> for ApiError {
    fn from(error: crate::github::GitHubError) -> Self {
        use crate::github::GitHubError;
        match error {
            GitHubError::InvalidToken => Self::Unauthorized(
                "GitHub does not accept this token (revoked, expired, or lacking scope)".into(),
            ),
            GitHubError::Refused { error, description } => Self::BadRequest {
                code: "invalid_grant",
                description: format!("GitHub refused the sign-in: {error}: {description}"),
            },
            GitHubError::Unavailable(description) => Self::BadGateway {
                code: "github_unavailable",
                description,
            },
        }
    }
}

impl From<crate::provisioner::error::ProvisionerError> for ApiError {
    fn from(error: crate::provisioner::error::ProvisionerError) -> Self {
        use crate::provisioner::error::ProvisionerError as E;
        match error {
            E::Forbidden(description) => Self::Forbidden(description),
            E::Invalid(description) => Self::BadRequest {
                code: codes::INVALID_REQUEST,
                description,
            },
            E::Limit(limit) => Self::Unprocessable {
                code: codes::LIMIT_EXCEEDED,
                description: limit.to_string(),
            },
            E::DoesNotExist(description) => Self::NotFoundCode {
                code: codes::DOES_NOT_EXIST,
                description,
            },
            E::Conflict { code, description } => Self::Conflict { code, description },
            E::Cloud(cloud) => cloud.into(),
            E::Budget(budget) => budget.into(),
            E::Store(store) => store.into(),
            E::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<crate::authenticator::error::AuthError> for ApiError {
    fn from(error: crate::authenticator::error::AuthError) -> Self {
        use crate::authenticator::error::AuthError as E;
        match error {
            E::Refused { code, description } => Self::BadRequest { code, description },
            E::Invalid(body) => body.into(),
            E::Body(body) => body.into(),
            E::Refresh(refused) => Self::BadRequest {
                code: codes::INVALID_GRANT,
                description: refused.to_string(),
            },
            E::GitHub(github) => github.into(),
            E::Store(store) => store.into(),
            E::Random(random) => random.into(),
            E::Signing(message) => {
                tracing::warn!(%message, "cannot sign a token");
                Self::Unavailable {
                    code: codes::TEMPORARILY_UNAVAILABLE,
                    // AWS's words without the account's ARNs and ids.
                    description: format!(
                        "tokens cannot be signed now ({}); try again shortly",
                        crate::cloud::redact(&message)
                    ),
                }
            }
            E::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<crate::authenticator::local_accounts::LocalError> for ApiError {
    fn from(error: crate::authenticator::local_accounts::LocalError) -> Self {
        use crate::authenticator::local_accounts::LocalError as E;
        match error {
            E::BadCredentials => Self::BadCredentials {
                code: codes::INVALID_GRANT,
                description: error.to_string(),
            },
            E::Locked { retry_after_secs } => Self::TooManyRequests { retry_after_secs },
            E::Disabled(_) | E::Forbidden(_) => Self::Forbidden(error.to_string()),
            E::Username(_) | E::Password(_) | E::Invalid(_) => Self::BadRequest {
                code: codes::INVALID_REQUEST,
                description: error.to_string(),
            },
            E::Taken(_) => Self::Conflict {
                code: codes::ALREADY_EXISTS,
                description: error.to_string(),
            },
            E::NoSuchAccount(_) => Self::NotFoundCode {
                code: codes::NOT_FOUND,
                description: error.to_string(),
            },
            E::Store(store) => store.into(),
            E::Hash(hash) => Self::internal(hash),
            E::Issue(issue) => (*issue).into(),
        }
    }
}

impl From<crate::provisioner::signing::SignatureError> for ApiError {
    fn from(error: crate::provisioner::signing::SignatureError) -> Self {
        use crate::provisioner::signing::SignatureError as E;
        match error {
            E::Required(_) => Self::BadCredentials {
                code: codes::SIGNATURE_REQUIRED,
                description: error.to_string(),
            },
            E::Bad(_) => Self::BadCredentials {
                code: codes::BAD_SIGNATURE,
                description: error.to_string(),
            },
            E::Store(store) => store.into(),
        }
    }
}

/// The authenticator's handlers answer with its own error; the envelope is written here.
impl IntoResponse for crate::authenticator::error::AuthError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<crate::budgets::BudgetError> for ApiError {
    fn from(error: crate::budgets::BudgetError) -> Self {
        use crate::budgets::BudgetError as E;
        match error {
            E::InsufficientFunds(refused) => Self::Unprocessable {
                code: codes::INSUFFICIENT_FUNDS,
                description: refused.to_string(),
            },
            E::UnknownAccount(_) => Self::NotFoundCode {
                code: codes::NOT_FOUND,
                description: error.to_string(),
            },
            E::Forbidden(description) => Self::Forbidden(description),
            E::Invalid(description) => Self::BadRequest {
                code: codes::INVALID_REQUEST,
                description,
            },
            E::Store(store) => store.into(),
        }
    }
}

impl From<crate::cloud::CloudError> for ApiError {
    fn from(error: crate::cloud::CloudError) -> Self {
        use crate::cloud::CloudError;
        // AWS's messages name stack ARNs (with the account id): the log keeps them whole, the
        // caller gets them without.
        match error {
            CloudError::Conflict(detail) => {
                tracing::warn!(%detail, "the cloud refused because of the stack's state");
                Self::Conflict {
                    code: codes::OPERATION_IN_PROGRESS,
                    description: "The cluster's stack is busy with another operation; try again \
                                  once it has finished."
                        .into(),
                }
            }
            CloudError::Unavailable(detail) => {
                tracing::warn!(%detail, "the cloud failed");
                Self::BadGateway {
                    code: codes::BAD_GATEWAY,
                    description: format!("AWS failed: {}", crate::cloud::redact(&detail)),
                }
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "store failure");
        Self::Unavailable {
            code: "store_unavailable",
            description: "The service's database is not answering; please try again shortly."
                .into(),
        }
    }
}

impl From<crate::authenticator::random::RandomError> for ApiError {
    fn from(error: crate::authenticator::random::RandomError) -> Self {
        Self::internal(error)
    }
}

/// The envelope for a status and code, used by middleware that turns framework errors into it.
pub fn envelope(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    let body = ErrorBody::new(code, description);
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut response = envelope(self.status(), self.code(), self.description());
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Self::TooManyRequests { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value, Response) {
        let response = error.into_response();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap(),
            Response::from_parts(parts, axum::body::Body::empty()),
        )
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, body, _) = body_of(ApiError::internal(anyhow::anyhow!(
            "database password is hunter2"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal_error");
        assert!(!body.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate() {
        let (status, body, response) =
            body_of(ApiError::Unauthorized("token expired".into())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "token expired");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }

    #[tokio::test]
    async fn aws_messages_reach_the_caller_without_stack_arns_or_account_ids() {
        use crate::cloud::CloudError;
        use crate::provisioner::error::ProvisionerError;
        let arn = "arn:aws:cloudformation:us-west-2:123456789012:stack/bob-cluster/0c1d";
        let refused = ProvisionerError::Cloud(CloudError::Conflict(format!(
            "Stack:{arn} is in UPDATE_IN_PROGRESS state and can not be deleted."
        )));
        let (status, body, _) = body_of(refused.into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"], "operation_in_progress");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains("busy"), "{description}");

        let failed = ProvisionerError::Cloud(CloudError::Unavailable(format!(
            "Access denied to {arn} for account 123456789012"
        )));
        let (status, body, _) = body_of(failed.into()).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let description = body["error_description"].as_str().unwrap();
        assert_eq!(
            description,
            "AWS failed: Access denied to bob-cluster for account <account>"
        );
    }

    #[tokio::test]
    async fn too_many_requests_carries_retry_after() {
        let (status, _, response) = body_of(ApiError::TooManyRequests {
            retry_after_secs: 3,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
