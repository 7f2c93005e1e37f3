//! `POST /auth/github/register`: dynamic client registration (RFC 7591) for public clients
//! (PKCE, no secret). A registration lives 30 days after its last use (upstream's 12 hours broke
//! long-lived browser tabs).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sliderule_protocol::authenticator::oauth::{ClientRecord, RegisterRequest};
use sliderule_protocol::parse_json_body;

use super::error::AuthError;
use super::random;
use super::respond::no_store;
use crate::app::AppState;
use crate::store::StoredClient;
use sliderule_protocol::authenticator::paths;

#[utoipa::path(
    post,
    path = paths::REGISTER,
    request_body = RegisterRequest,
    responses((status = 201, body = ClientRecord), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn register(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let request: RegisterRequest = parse_json_body(&body)?;
    let registration = request.validate()?;
    let now = state.clock.now();
    let record = ClientRecord::new(random::id()?, now.unix_timestamp(), registration);
    state
        .authenticator
        .store
        .insert_client(&StoredClient {
            client_id: record.client_id.clone(),
            record: serde_json::to_string(&record).map_err(AuthError::internal)?,
            registered_at: now,
            last_used_at: now,
        })
        .await?;
    tracing::info!(client_id = %record.client_id, name = %record.client_name, "client registered");
    Ok(no_store(StatusCode::CREATED, record))
}
