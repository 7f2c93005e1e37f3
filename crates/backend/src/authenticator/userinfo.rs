//! `GET /auth/userinfo`: the claims of the presented access token, for clients that do not
//! decode JWTs.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use sliderule_protocol::authenticator::userinfo::UserInfo;

use crate::app::AppState;
use crate::http::bearer::verified_claims;
use crate::http::error::ApiError;
use sliderule_protocol::authenticator::paths;

#[utoipa::path(
    get,
    path = paths::USERINFO,
    responses((status = 200, body = UserInfo), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserInfo>, ApiError> {
    let claims = verified_claims(&state, &headers)?;
    UserInfo::from_claims(&claims)
        .map(Json)
        .ok_or_else(|| ApiError::Unauthorized("the token lacks the claims of a user".into()))
}
