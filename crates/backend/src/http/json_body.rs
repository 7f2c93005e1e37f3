//! An extractor for request bodies that are JSON whatever the `Content-Type` says (the official
//! Python client sends none), where an empty body is `{}`, with errors fit for a person.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use sliderule_protocol::parse_json_body;

use super::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            ApiError::bad_request("invalid_request", format!("cannot read the body: {e}"))
        })?;
        Ok(Self(parse_json_body(&bytes)?))
    }
}
