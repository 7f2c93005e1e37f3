//! The v2 client API's error envelope, `{"status": "FAILED", "error_msg": "<sentence>"}`, which
//! the `sliderule` 4.x client reads. Every area's error converts into [`V2Error`] with the same
//! status it gets elsewhere; internal causes are logged, never returned.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sliderule_protocol::organizations::v2::Failed;

use super::error::ApiError;

#[derive(Debug)]
pub struct V2Error {
    pub status: StatusCode,
    pub message: String,
    retry_after_secs: Option<u64>,
}

impl V2Error {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

/// Whatever the rest of the service answers, with the v2 envelope: the status stays, the
/// description becomes `error_msg`.
impl<E: Into<ApiError>> From<E> for V2Error {
    fn from(error: E) -> Self {
        let error: ApiError = error.into();
        let status = error.status();
        let retry_after_secs = match &error {
            ApiError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let body = error.into_body();
        Self {
            status,
            message: body.error_description,
            retry_after_secs,
        }
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(Failed::new(self.message))).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
