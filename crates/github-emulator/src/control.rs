//! The control API under `/_emulator/`, for tests that drive the emulator over HTTP (the binary,
//! browser tests): faults, memberships, device approval and token issuance. Not part of GitHub;
//! only mount the emulator where anyone may change who is a member (tests and the demo).

use axum::Router;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, routing::delete};
use serde::Deserialize;
use serde_json::json;

use crate::faults::{Endpoint, Fault};
use crate::seed::Membership;
use crate::{Emulator, Error};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            "/_emulator/faults",
            post(set_fault).merge(delete(clear_faults)),
        )
        .route("/_emulator/membership", post(set_membership))
        .route("/_emulator/device/approve", post(approve_device))
        .route("/_emulator/device/deny", post(deny_device))
        .route("/_emulator/token", post(issue_token))
}

/// `{"endpoint":"membership","latency_ms":…,"status":…,"rate_limited":…}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    endpoint: Endpoint,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    rate_limited: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipRequest {
    login: String,
    membership: Membership,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    user_code: String,
    login: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyRequest {
    user_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    login: String,
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

fn refused(error: &Error) -> Response {
    let status = match error {
        Error::UnknownUser(_) | Error::UnknownUserCode => StatusCode::NOT_FOUND,
        Error::DeviceCodeExpired | Error::DeviceAlreadyDecided => StatusCode::CONFLICT,
    };
    (status, Json(json!({ "message": error.to_string() }))).into_response()
}

/// Unwraps a JSON body or answers 400 saying what was wrong with it.
macro_rules! body {
    ($request:expr) => {
        match $request {
            Ok(Json(body)) => body,
            Err(rejection) => return bad_request(rejection.body_text()),
        }
    };
}

async fn set_fault(
    State(emulator): State<Emulator>,
    request: Result<Json<FaultRequest>, JsonRejection>,
) -> Response {
    let request = body!(request);
    if let Some(status) = request.status
        && !(100..=599).contains(&status)
    {
        return bad_request(format!("status {status} is not an HTTP status"));
    }
    let fault = Fault {
        latency_ms: request.latency_ms,
        status: request.status,
        rate_limited: request.rate_limited,
    };
    tracing::info!(endpoint = ?request.endpoint, ?fault, "fault switched on");
    emulator.set_fault(request.endpoint, fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(emulator): State<Emulator>) -> Response {
    emulator.clear_faults();
    tracing::info!("faults cleared");
    StatusCode::NO_CONTENT.into_response()
}

async fn set_membership(
    State(emulator): State<Emulator>,
    request: Result<Json<MembershipRequest>, JsonRejection>,
) -> Response {
    let request = body!(request);
    match emulator.set_membership(&request.login, request.membership) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => refused(&error),
    }
}

async fn approve_device(
    State(emulator): State<Emulator>,
    request: Result<Json<ApproveRequest>, JsonRejection>,
) -> Response {
    let request = body!(request);
    match emulator.approve_device(&request.user_code, &request.login) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => refused(&error),
    }
}

async fn deny_device(
    State(emulator): State<Emulator>,
    request: Result<Json<DenyRequest>, JsonRejection>,
) -> Response {
    let request = body!(request);
    match emulator.deny_device(&request.user_code) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => refused(&error),
    }
}

async fn issue_token(
    State(emulator): State<Emulator>,
    request: Result<Json<TokenRequest>, JsonRejection>,
) -> Response {
    let request = body!(request);
    match emulator.issue_token(&request.login) {
        Ok(token) => {
            Json(json!({ "access_token": token, "token_type": "bearer", "scope": "read:org" }))
                .into_response()
        }
        Err(error) => refused(&error),
    }
}
