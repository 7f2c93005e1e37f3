//! `GET /auth/github/basic/login?redirect_uri=…`: sign-in for cluster monitoring pages. The
//! callback sets a guest-scoped token in an HttpOnly cookie for the domain and sends the browser
//! back to the (trusted) redirect URI.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::browser_login::to_github;
use super::error::AuthError;
use super::state::PendingLogin;
use crate::app::AppState;
use sliderule_protocol::authenticator::paths;
use sliderule_protocol::codes;

#[derive(Deserialize)]
pub struct BasicQuery {
    #[serde(default)]
    redirect_uri: Option<String>,
}

#[utoipa::path(
    get,
    path = paths::BASIC_LOGIN,
    params(("redirect_uri" = Option<String>, Query, description = "Where to return with the token")),
    responses((status = 302, description = "To GitHub's authorization page"), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn login(
    State(state): State<AppState>,
    Query(query): Query<BasicQuery>,
) -> Result<Response, AuthError> {
    let auth = &state.authenticator;
    let redirect_uri = query
        .redirect_uri
        .filter(|uri| !uri.trim().is_empty())
        .ok_or_else(|| AuthError::refused(codes::INVALID_REQUEST, "redirect_uri is required"))?;
    auth.trusted_redirects
        .check(&redirect_uri)
        .map_err(|e| AuthError::refused(codes::INVALID_REDIRECT_URI, e.to_string()))?;
    to_github(
        auth,
        PendingLogin::Basic { redirect_uri },
        state.clock.now(),
    )
    .await
}
