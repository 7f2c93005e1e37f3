//! `POST /auth/github/pat`: sign in with a GitHub personal access token (the official clients'
//! `SLIDERULE_GITHUB_TOKEN`). Member scopes at most: a PAT never carries owner powers.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sliderule_protocol::authenticator::pat::PatRequest;
use sliderule_protocol::{Scopes, codes, parse_json_body};

use super::grant::Flow;
use super::respond::no_store;
use super::session::Session;
use crate::app::AppState;
use crate::http::error::ApiError;

pub async fn login(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: PatRequest = parse_json_body(&body)?;
    let pat = request.pat().ok_or_else(|| {
        ApiError::bad_request(
            codes::MISSING_PAT,
            "Personal Access Token (pat) is required",
        )
    })?;
    let auth = &state.authenticator;
    let identity = auth.resolver.resolve(pat.expose()).await?;
    let session = Session::new(identity, Scopes::MEMBER, Flow::PersonalAccessToken);
    let issued = auth
        .start_session(&state.keys.current(), &session, state.clock.now())
        .await?;
    Ok(no_store(StatusCode::OK, issued.login_success()))
}
