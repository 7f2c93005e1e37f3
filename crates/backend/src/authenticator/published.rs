//! What the authenticator publishes for anyone: the keys that verify our tokens (JWKS and PEM,
//! on the current and the v5 paths) and the discovery documents that point at everything else.
//!
//! Anyone may fetch them (`Access-Control-Allow-Origin: *`). They may be cached for five minutes,
//! which is why a new key is published at least that long before it signs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sliderule_protocol::authenticator::discovery::DiscoveryDocument;

use crate::app::AppState;
use sliderule_protocol::authenticator::{Jwks, paths};

/// How long clients may cache JWKS; rotation publishes new keys at least this long before use
/// (see `crate::keys::admin::DEFAULT_PUBLISH_LEAD`).
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

#[utoipa::path(
    get,
    path = paths::JWKS,
    responses((status = 200, body = Jwks)),
    tag = "authenticator"
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.current().jwks()).into_response();
    public_headers(&mut response);
    response
}

/// The current signing key as SPKI PEM text (upstream served it with a JSON content type;
/// HAProxy and curl only read the text).
#[utoipa::path(
    get,
    path = paths::PEM,
    responses((status = 200, description = "The signing key's public key (PEM)", body = String, content_type = "application/x-pem-file")),
    tag = "authenticator"
)]
pub async fn pem(State(state): State<AppState>) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        )],
        state.keys.current().signing().public_pem().to_owned(),
    )
        .into_response();
    public_headers(&mut response);
    response
}

/// `GET /.well-known/openid-configuration` and `GET /.well-known/oauth-authorization-server`:
/// the same metadata (API Gateway's JWT authorizer reads the first, OAuth clients the second).
#[utoipa::path(
    get,
    path = paths::OPENID_CONFIGURATION,
    responses((status = 200, body = DiscoveryDocument)),
    tag = "authenticator"
)]
pub async fn discovery(State(state): State<AppState>) -> Response {
    let document = DiscoveryDocument::for_issuer(&state.urls.authenticator);
    let mut response = Json(document).into_response();
    public_headers(&mut response);
    response
}

/// v5's path of the JWKS, still requested by older clusters.
#[utoipa::path(
    get,
    path = paths::JWKS_V5,
    responses((status = 200, body = Jwks)),
    tag = "authenticator"
)]
pub async fn jwks_v5(state: State<AppState>) -> Response {
    jwks(state).await
}

/// v5's path of the PEM: clusters from v5 download the key here at boot.
#[utoipa::path(
    get,
    path = paths::PEM_V5,
    responses((status = 200, description = "The signing key's public key (PEM)", body = String, content_type = "application/x-pem-file")),
    tag = "authenticator"
)]
pub async fn pem_v5(state: State<AppState>) -> Response {
    pem(state).await
}

/// RFC 8414's name for the discovery document.
#[utoipa::path(
    get,
    path = paths::OAUTH_AUTHORIZATION_SERVER,
    responses((status = 200, body = DiscoveryDocument)),
    tag = "authenticator"
)]
pub async fn authorization_server(state: State<AppState>) -> Response {
    discovery(state).await
}
