//! An extractor for request bodies that are JSON whatever the `Content-Type` says (the official
//! Python client sends none), where an empty body is `{}`, with errors fit for a person.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sliderule_protocol::{codes, parse_json_body};

use super::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                // A body without a declared length that ran past the limit: a 413 like any
                // other, which `middleware::refuse_large_bodies` (knowing the limit) words.
                e.into_response()
            } else {
                ApiError::bad_request(codes::INVALID_REQUEST, format!("cannot read the body: {e}"))
                    .into_response()
            }
        })?;
        parse_json_body(&bytes)
            .map(Self)
            .map_err(|e| ApiError::from(e).into_response())
    }
}
