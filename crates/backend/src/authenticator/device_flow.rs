//! The device flow (RFC 8628), relayed to GitHub: `POST /auth/github/device` starts it,
//! `POST /auth/github/device/poll` asks whether the person has approved.
//!
//! Poll replies keep upstream's shapes (202 pending, 400 error, 200 success, each with
//! `status`), which the official Python client branches on. We also enforce the interval per
//! device code: a poll sooner than the interval gets `slow_down` without a GitHub call, so a
//! client that re-polls in a loop cannot get the GitHub App rate-limited. A finished flow's record
//! stays until it expires, so re-polls after a denial are throttled the same way.
//!
//! The scopes asked when the flow starts are recorded with the device code and bind it: the poll
//! may ask for fewer, never for more, so whoever holds the device code cannot widen what the
//! person asked for. Asking for none means every scope, as upstream's device flow does.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sliderule_protocol::authenticator::device::{
    DeviceCodeResponse, DevicePollFailure, DevicePollPending,
};
use sliderule_protocol::{Scopes, Secret, codes};

use super::Authenticator;
use super::device_request;
use super::error::AuthError;
use super::grant::Flow;
use super::respond::no_store;
use super::session::Session;
use crate::app::AppState;
use crate::github::{DevicePoll as GitHubPoll, GitHubError};
use crate::store::{DevicePoll, TokenHash};
use sliderule_protocol::authenticator::{
    DeviceCodeRequest, DevicePollRequest, LoginSuccess, paths,
};

/// GitHub's default when it names no interval.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

#[utoipa::path(
    post,
    path = paths::DEVICE,
    request_body = DeviceCodeRequest,
    responses((status = 200, body = DeviceCodeResponse), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn start(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let scope = device_request::read(&body)?.scope.unwrap_or(Scopes::ALL);
    let auth = &state.authenticator;
    let code = auth.github.request_device_code("read:org").await?;
    let now = state.clock.now();
    let expires_at = now + Duration::from_secs(code.expires_in);
    auth.store
        .insert_device_code(
            &TokenHash::of(&code.device_code),
            Duration::from_secs(code.interval.max(1)),
            expires_at,
            &scope.to_string(),
        )
        .await?;
    let verification_uri_complete = code
        .verification_uri_complete
        .unwrap_or_else(|| complete_uri(&code.verification_uri, &code.user_code));
    Ok(no_store(
        StatusCode::OK,
        DeviceCodeResponse {
            device_code: Secret::new(code.device_code),
            user_code: code.user_code,
            verification_uri: code.verification_uri,
            verification_uri_complete,
            expires_in: code.expires_in,
            interval: code.interval,
        },
    ))
}

/// `verification_uri?user_code=…`, which GitHub does not send but the Python client needs.
fn complete_uri(verification_uri: &str, user_code: &str) -> String {
    match url::Url::parse(verification_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("user_code", user_code);
            url.to_string()
        }
        Err(_) => {
            let code: String = url::form_urlencoded::byte_serialize(user_code.as_bytes()).collect();
            format!("{verification_uri}?user_code={code}")
        }
    }
}

#[utoipa::path(
    post,
    path = paths::DEVICE_POLL,
    request_body = DevicePollRequest,
    responses((status = 200, description = "Signed in", body = LoginSuccess), (status = 202, description = "Not yet: poll again", body = DevicePollPending), crate::http::openapi::Refusals),
    tag = "authenticator"
)]
pub async fn poll(State(state): State<AppState>, body: Bytes) -> Result<Response, AuthError> {
    let request = device_request::read(&body)?;
    let Some(device_code) = request
        .device_code
        .filter(|code| !code.expose().trim().is_empty())
    else {
        return Err(AuthError::refused(
            codes::MISSING_DEVICE_CODE,
            "device_code is required",
        ));
    };
    let auth = &state.authenticator;
    let hash = TokenHash::of(device_code.expose());
    let granted = granted_scope(auth, &hash, request.scope).await?;
    let now = state.clock.now();
    if let DevicePoll::SlowDown { interval } =
        auth.store.device_poll(&hash, now, DEFAULT_INTERVAL).await?
    {
        return Ok(pending(DevicePollPending::slow_down(interval.as_secs())));
    }
    let answer = match auth.github.poll_device_code(device_code.expose()).await {
        Ok(answer) => answer,
        Err(GitHubError::Unavailable(description)) => {
            return Ok(failed(
                StatusCode::BAD_GATEWAY,
                codes::GITHUB_UNAVAILABLE,
                &description,
            ));
        }
        Err(other) => return Err(other.into()),
    };
    match answer {
        GitHubPoll::Pending => Ok(pending(DevicePollPending::authorization_pending())),
        GitHubPoll::SlowDown { interval } => {
            let interval = Duration::from_secs(interval.max(DEFAULT_INTERVAL.as_secs()));
            auth.store.set_device_interval(&hash, interval).await?;
            Ok(pending(DevicePollPending::slow_down(interval.as_secs())))
        }
        GitHubPoll::Expired => Ok(failed(
            StatusCode::BAD_REQUEST,
            codes::EXPIRED_TOKEN,
            "The device code has expired; start the sign-in again",
        )),
        GitHubPoll::Denied => Ok(failed(
            StatusCode::BAD_REQUEST,
            codes::ACCESS_DENIED,
            "The sign-in was denied at GitHub",
        )),
        GitHubPoll::Failed { error, description } => {
            Ok(failed(StatusCode::BAD_REQUEST, &error, &description))
        }
        GitHubPoll::Authorized(token) => {
            let identity = match auth.resolver.resolve(token.expose()).await {
                Ok(identity) => identity,
                Err(GitHubError::Unavailable(description)) => {
                    return Ok(failed(
                        StatusCode::BAD_GATEWAY,
                        codes::GITHUB_UNAVAILABLE,
                        &description,
                    ));
                }
                Err(other) => return Err(other.into()),
            };
            auth.store.finish_device_code(&hash).await?;
            let session = Session::new(identity, granted, Flow::Device);
            let issued = auth
                .start_session(&state.keys.current(), &session, now)
                .await?;
            Ok(no_store(StatusCode::OK, issued.login_success()))
        }
    }
}

/// The scopes a poll gets: those the flow started with, or fewer if the poll asks. Asking for more
/// is refused before the poll counts, so a corrected poll is not slowed down by the refused one.
async fn granted_scope(
    auth: &Authenticator,
    device_code: &TokenHash,
    asked: Option<Scopes>,
) -> Result<Scopes, AuthError> {
    let bound = match auth.store.device_code_scope(device_code).await? {
        Some(text) => Scopes::parse(&text).map_err(|e| {
            AuthError::internal(anyhow::anyhow!(
                "a stored device-code scope is unreadable: {e}"
            ))
        })?,
        // First seen in this poll: bound to what a flow asks by default.
        None => Scopes::ALL,
    };
    match asked {
        None => Ok(bound),
        Some(asked) if asked.is_subset(bound) => Ok(asked),
        Some(asked) => Err(AuthError::refused(
            codes::INVALID_SCOPE,
            format!(
                "scope \"{asked}\" asks for more than this device code was started with \
                 (\"{bound}\"); a poll may ask for fewer scopes, not more"
            ),
        )),
    }
}

fn pending(body: DevicePollPending) -> Response {
    no_store(StatusCode::ACCEPTED, body)
}

fn failed(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(status, DevicePollFailure::new(error, description))
}
