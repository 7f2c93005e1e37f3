//! `GET /.well-known/jwks.json` and `GET /auth/pem` (with their v5 paths): the public keys
//! clusters, API gateways and clients verify our tokens with.
//!
//! Anyone may fetch them (`Access-Control-Allow-Origin: *`). JWKS may be cached for five minutes,
//! which is why a new key is published at least that long before it signs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// How long clients may cache JWKS; rotation publishes new keys at least this long before use.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

fn public_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
            .unwrap_or(HeaderValue::from_static("public")),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    public_headers(&mut response);
    response
}

/// The current signing key as SPKI PEM text (upstream served it with a JSON content type;
/// HAProxy and curl only read the text).
pub async fn pem(State(state): State<AppState>) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        )],
        state.keys.signing().public_pem().to_owned(),
    )
        .into_response();
    public_headers(&mut response);
    response
}
