//! The authenticator: GitHub sign-in, our JWTs, and the keys and documents that let others
//! verify them. Served at the root of `login.<domain>` or of the single origin.

pub mod grant;
pub mod identity;
pub mod published;

use axum::Router;
use axum::routing::get;
use sliderule_protocol::authenticator::paths;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(published::discovery),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(published::discovery),
        )
        .route(paths::JWKS, get(published::jwks))
        // v5 path, still requested by older clusters.
        .route(paths::JWKS_V5, get(published::jwks))
        .route(paths::PEM, get(published::pem))
        // v5 path: clusters from v5 download the key here at boot.
        .route(paths::PEM_V5, get(published::pem))
}
