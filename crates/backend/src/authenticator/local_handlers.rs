//! The HTTP face of local accounts (`/auth/local/*`); the rules are in
//! [`super::local_accounts`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sliderule_protocol::organizations::accounts::AccountRequest;
use sliderule_protocol::organizations::{
    AccountsResponse, LocalTokenRequest, NewAccountRequest, PasswordChangeRequest,
};
use sliderule_protocol::parse_json_body;

use super::form::form_or_json;
use super::local_accounts::{LocalError, must_be_owner, view};
use super::respond::no_store;
use crate::app::AppState;
use crate::http::bearer::verified_claims;
use crate::http::error::ApiError;
use sliderule_protocol::authenticator::TokenResponse;
use sliderule_protocol::organizations::accounts::{AccountView, paths as local};

/// `POST /auth/local/token`: `{"username","password"}` (JSON or form) → the token endpoint's
/// answer (access token, rotating refresh token).
#[utoipa::path(
    post,
    path = local::TOKEN,
    request_body(content((LocalTokenRequest = "application/x-www-form-urlencoded"), (LocalTokenRequest = "application/json"))),
    responses((status = 200, body = TokenResponse), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn token(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: LocalTokenRequest = form_or_json(&body)?;
    let auth = &state.authenticator;
    let issued = auth
        .sign_in_local(
            &state.keys.current(),
            &request.username,
            request.password.expose(),
            state.clock.now(),
        )
        .await?;
    Ok(no_store(
        StatusCode::OK,
        issued.token_response(auth.public_cluster.as_deref()),
    ))
}

/// `POST /auth/local/signup`: a person creates their own account (when allowed).
#[utoipa::path(
    post,
    path = local::SIGNUP,
    request_body = NewAccountRequest,
    responses((status = 201, body = AccountView), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn signup(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if !state.config.self_signup() {
        return Err(LocalError::Forbidden(
            "self sign-up is off here; ask an owner to create your account".into(),
        )
        .into());
    }
    let request: NewAccountRequest = parse_json_body(&body)?;
    let account = state
        .authenticator
        .create_local_account(&request, request.username.as_str(), state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(view(&account)?)).into_response())
}

/// `POST /auth/local/password`: a local account changes its password.
#[utoipa::path(
    post,
    path = local::PASSWORD,
    request_body = PasswordChangeRequest,
    responses((status = 204, description = "Changed"), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let claims = verified_claims(&state, &headers)?;
    let request: PasswordChangeRequest = parse_json_body(&body)?;
    state
        .authenticator
        .change_local_password(
            &claims,
            request.current_password.expose(),
            request.new_password.expose(),
            state.clock.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /auth/local/accounts` (owners).
#[utoipa::path(
    get,
    path = local::ACCOUNTS,
    responses((status = 200, body = AccountsResponse), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<AccountsResponse>, ApiError> {
    must_be_owner(&verified_claims(&state, &headers)?)?;
    let accounts = state
        .store
        .accounts()
        .await?
        .iter()
        .map(view)
        .collect::<Result<_, _>>()?;
    Ok(Json(AccountsResponse { accounts }))
}

/// `POST /auth/local/accounts` (owners): creates an account.
#[utoipa::path(
    post,
    path = local::ACCOUNTS,
    request_body = NewAccountRequest,
    responses((status = 201, body = AccountView), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let owner = verified_claims(&state, &headers)?;
    must_be_owner(&owner)?;
    let request: NewAccountRequest = parse_json_body(&body)?;
    let account = state
        .authenticator
        .create_local_account(&request, &owner.sub, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(view(&account)?)).into_response())
}

/// `POST /auth/local/accounts/disable` (owners).
#[utoipa::path(
    post,
    path = local::DISABLE,
    request_body = AccountRequest,
    responses((status = 200, body = AccountView), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn disable(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    set_active(state, headers, body, false).await
}

/// `POST /auth/local/accounts/enable` (owners).
#[utoipa::path(
    post,
    path = local::ENABLE,
    request_body = AccountRequest,
    responses((status = 200, body = AccountView), crate::http::openapi::Refusals),
    security(("bearer" = [])),
    tag = "authenticator"
)]
pub async fn enable(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    set_active(state, headers, body, true).await
}

async fn set_active(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    active: bool,
) -> Result<Response, ApiError> {
    let owner = verified_claims(&state, &headers)?;
    let request: AccountRequest = parse_json_body(&body)?;
    let account = state
        .authenticator
        .set_local_account_active(&owner, &request.username, active)
        .await?;
    Ok(Json(view(&account)?).into_response())
}
