//! The authenticator: GitHub sign-in, our JWTs, and the keys and documents that let others
//! verify them. Served at the root of `login.<domain>` or of the single origin.

mod published_keys;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(published_keys::jwks))
        // v5 path, still requested by older clusters.
        .route("/auth/github/jwks", get(published_keys::jwks))
        .route("/auth/pem", get(published_keys::pem))
        // v5 path: clusters from v5 download the key here at boot.
        .route("/auth/github/pem", get(published_keys::pem))
}
