//! The authenticator's routes, and the layers particular to them: per-IP rate limits on the
//! sign-in endpoints, CORS for the web client's origins on the endpoints it calls.
//!
//! The published documents (discovery, JWKS, PEM) are not rate limited: they are the same for
//! everyone, cacheable, and fetched in bursts by booting clusters and API gateways.

use axum::Router;
use axum::routing::{get, post};
use sliderule_protocol::authenticator::paths;

use sliderule_protocol::organizations::accounts::paths as local;

use super::{
    basic_login, browser_login, device_flow, local_handlers, pat, published, register,
    token_endpoint, userinfo,
};
use crate::app::AppState;
use crate::http::{cors, rate_limit};

/// The authenticator's part of `/openapi.json` (see `http::openapi`), next to its routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        published::discovery,
        published::authorization_server,
        published::jwks,
        published::jwks_v5,
        published::pem,
        published::pem_v5,
        pat::login,
        device_flow::start,
        device_flow::poll,
        browser_login::login,
        browser_login::callback,
        basic_login::login,
        token_endpoint::token,
        token_endpoint::refresh,
        token_endpoint::revoke,
        register::register,
        userinfo::userinfo,
        local_handlers::token,
        local_handlers::signup,
        local_handlers::change_password,
        local_handlers::list,
        local_handlers::create,
        local_handlers::disable,
        local_handlers::enable,
    ),
    tags((name = "authenticator", description = "Sign-in (GitHub PAT, device flow, browser PKCE, local accounts), tokens, published keys"))
)]
pub struct AuthenticatorApi;

pub fn routes(state: &AppState) -> Router<AppState> {
    let published = Router::new()
        .route(paths::OPENID_CONFIGURATION, get(published::discovery))
        .route(
            paths::OAUTH_AUTHORIZATION_SERVER,
            get(published::authorization_server),
        )
        .route(paths::JWKS, get(published::jwks))
        // v5 path, still requested by older clusters.
        .route(paths::JWKS_V5, get(published::jwks_v5))
        .route(paths::PEM, get(published::pem))
        // v5 path: clusters from v5 download the key here at boot.
        .route(paths::PEM_V5, get(published::pem_v5));

    // Called from the web client's origin, so they answer CORS for it.
    let web_facing = Router::new()
        .route(paths::TOKEN, post(token_endpoint::token))
        .route(paths::REFRESH, post(token_endpoint::refresh))
        .route(paths::REVOKE, post(token_endpoint::revoke))
        .route(paths::REGISTER, post(register::register))
        .route(paths::USERINFO, get(userinfo::userinfo))
        .route(local::TOKEN, post(local_handlers::token))
        .route(local::SIGNUP, post(local_handlers::signup))
        .route(local::PASSWORD, post(local_handlers::change_password))
        .route(
            local::ACCOUNTS,
            get(local_handlers::list).post(local_handlers::create),
        )
        .route(local::DISABLE, post(local_handlers::disable))
        .route(local::ENABLE, post(local_handlers::enable))
        .layer(cors::web_client(state));

    let sign_in = Router::new()
        .route(paths::PAT, post(pat::login))
        .route(paths::DEVICE, post(device_flow::start))
        .route(paths::DEVICE_POLL, post(device_flow::poll))
        .route(paths::LOGIN, get(browser_login::login))
        .route(paths::CALLBACK, get(browser_login::callback))
        .route(paths::BASIC_LOGIN, get(basic_login::login))
        .merge(web_facing)
        .route_layer(axum::middleware::from_fn_with_state(
            state.auth_rate_limit.clone(),
            rate_limit::limit,
        ));

    published.merge(sign_in)
}
