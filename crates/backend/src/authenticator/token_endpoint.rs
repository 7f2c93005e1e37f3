//! `POST /auth/github/token` (authorization code with PKCE, and refresh), `POST /auth/refresh`
//! (v5 names) and `POST /auth/revoke` (RFC 7009).
//!
//! A one-time code is spent by its first presentation, whatever happens next, and a second
//! presentation revokes what the first issued (RFC 9700 §4.5.3).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sliderule_protocol::Secret;
use sliderule_protocol::authenticator::oauth::{
    RefreshResponse, RevokeRequest, TokenGrant, TokenRequest,
};
use time::OffsetDateTime;

use super::error::AuthError;
use super::form::form_or_json;
use super::respond::no_store;
use super::session::Session;
use super::{Authenticator, Issued, pkce};
use crate::app::AppState;
use crate::keys::KeySet;
use crate::store::{CodeRedemption, TokenHash};
use sliderule_protocol::authenticator::{RefreshRequest, TokenResponse, paths};
use sliderule_protocol::codes;

#[utoipa::path(
    post,
    path = paths::TOKEN,
    request_body(content((TokenRequest = "application/x-www-form-urlencoded"), (TokenRequest = "application/json"))),
    responses((status = 200, body = TokenResponse), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn token(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let request: TokenRequest = form_or_json(&body)?;
    let auth = &state.authenticator;
    let now = state.clock.now();
    let issued = match request.grant()? {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            client_id,
            code_verifier,
        } => {
            let exchange = CodeExchange {
                code: &code,
                redirect_uri: &redirect_uri,
                client_id: &client_id,
                code_verifier: &code_verifier,
            };
            exchange.run(auth, &state.keys.current(), now).await?
        }
        TokenGrant::RefreshToken { refresh_token, .. } => {
            auth.refresh(&state.keys.current(), refresh_token.expose(), now)
                .await?
        }
    };
    Ok(no_store(
        StatusCode::OK,
        issued.token_response(auth.public_cluster.as_deref()),
    ))
}

#[derive(serde::Deserialize)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<Secret>,
}

/// `POST /auth/refresh {"refresh_token"}`: the token endpoint's answer plus `token` and `exp`.
#[utoipa::path(
    post,
    path = paths::REFRESH,
    request_body(content((RefreshRequest = "application/x-www-form-urlencoded"), (RefreshRequest = "application/json"))),
    responses((status = 200, body = RefreshResponse), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn refresh(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let request: RefreshBody = form_or_json(&body)?;
    let presented = request
        .refresh_token
        .filter(|t| !t.expose().is_empty())
        .ok_or_else(|| AuthError::refused(codes::INVALID_REQUEST, "refresh_token is required"))?;
    let auth = &state.authenticator;
    let issued = auth
        .refresh(&state.keys.current(), presented.expose(), state.clock.now())
        .await?;
    let exp = issued.claims.exp;
    let response = issued.token_response(auth.public_cluster.as_deref());
    Ok(no_store(
        StatusCode::OK,
        RefreshResponse::new(response, exp),
    ))
}

/// RFC 7009: always 200, whether or not the token was known, so it reveals nothing.
#[utoipa::path(
    post,
    path = paths::REVOKE,
    request_body(content((RevokeRequest = "application/x-www-form-urlencoded"), (RevokeRequest = "application/json"))),
    responses((status = 200, description = "Revoked, or nothing to revoke: `{}`", body = Object), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn revoke(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    if let Ok(request) = form_or_json::<RevokeRequest>(&body) {
        state.authenticator.revoke(request.token.expose()).await?;
    }
    Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response())
}

struct CodeExchange<'a> {
    code: &'a Secret,
    redirect_uri: &'a str,
    client_id: &'a str,
    code_verifier: &'a Secret,
}

impl CodeExchange<'_> {
    async fn run(
        &self,
        auth: &Authenticator,
        keys: &KeySet,
        now: OffsetDateTime,
    ) -> Result<Issued, AuthError> {
        auth.known_client(self.client_id, now).await?;
        let code_hash = TokenHash::of(self.code.expose());
        let grant = match auth.store.redeem_code(&code_hash, now).await? {
            CodeRedemption::Redeemed(grant) => grant,
            CodeRedemption::Unknown => return Err(invalid_grant("the code is invalid or expired")),
            CodeRedemption::Reused { family } => {
                if let Some(family) = family {
                    auth.store.revoke_family(&family).await?;
                    tracing::warn!(%family, "an authorization code was reused: its tokens are revoked");
                }
                return Err(invalid_grant(
                    "the code was already used; the tokens it issued have been revoked",
                ));
            }
        };
        if grant.client_id != self.client_id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if grant.redirect_uri != self.redirect_uri {
            return Err(invalid_grant(
                "redirect_uri differs from the one the code was issued for",
            ));
        }
        if !pkce::verifies(self.code_verifier.expose(), &grant.code_challenge) {
            return Err(invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        let session = Session::from_json(&grant.grant).map_err(AuthError::internal)?;
        let issued = auth.start_session(keys, &session, now).await?;
        if auth
            .store
            .attach_code_family(&code_hash, &issued.family)
            .await?
        {
            auth.store.revoke_family(&issued.family).await?;
            return Err(invalid_grant(
                "the code was already used; the tokens it issued have been revoked",
            ));
        }
        Ok(issued)
    }
}

fn invalid_grant(description: &str) -> AuthError {
    AuthError::refused(codes::INVALID_GRANT, description.to_owned())
}
