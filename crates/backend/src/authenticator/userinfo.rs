//! `GET /auth/userinfo`: the claims of the presented access token, for clients that do not
//! decode JWTs.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use sliderule_protocol::authenticator::userinfo::UserInfo;

use crate::app::AppState;
use crate::http::bearer::bearer_token;
use crate::http::error::ApiError;
use crate::keys::Expected;

pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserInfo>, ApiError> {
    let token = bearer_token(&headers)
        .ok_or_else(|| ApiError::Unauthorized("an access token (Bearer) is required".into()))?;
    let claims = state
        .keys
        .verify(
            token,
            Expected {
                issuer: &state.urls.authenticator,
                audience: None,
            },
        )
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    UserInfo::from_claims(&claims)
        .map(Json)
        .ok_or_else(|| ApiError::Unauthorized("the token lacks the claims of a user".into()))
}
