//! GitHub's device flow: `POST /login/device/code` hands out a device code and a user code, the
//! verification page (`/login/device`) lets a person approve or deny it, and the token endpoint's
//! device grant (see [`poll`]) answers `authorization_pending`, `slow_down`, `expired_token`,
//! `access_denied` or, once approved, a token.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::faults::{self, Endpoint};
use crate::oauth::{client_accepted, normalize_scope, read_params, token_answer, user_choices};
use crate::pages;
use crate::respond::{self, Base, Field};
use crate::state::{
    Decision, DeviceGrant, HEX, USER_CODE_ALPHABET, normalize_user_code, random_string,
};
use crate::{Emulator, Error};

pub(crate) const DEVICE_ERRORS_DOCS: &str = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";

/// GitHub adds this much to the interval each time a client polls too fast.
const SLOW_DOWN_STEP_SECS: u64 = 5;

fn device_error(json: bool, error: &'static str, description: &str) -> Response {
    respond::oauth_error(json, error, description, DEVICE_ERRORS_DOCS)
}

/// `POST /login/device/code`.
pub(crate) async fn device_code(
    State(emulator): State<Emulator>,
    Base(base): Base,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = faults::apply(&emulator, Endpoint::DeviceCode, None).await {
        return fault;
    }
    let json = respond::wants_json(&headers);
    let params = read_params(&headers, query.as_deref(), &body);
    let issued = emulator.with_state(|state| {
        let client_id = params.get("client_id").map(String::as_str);
        if !client_accepted(&state.seed, client_id, None, false) {
            return None;
        }
        state.purge_expired();
        let device_code = random_string(HEX, 40);
        let user_code = loop {
            let raw = random_string(USER_CODE_ALPHABET, 8);
            let code = format!("{}-{}", &raw[..4], &raw[4..]);
            // People type user codes, so they must not collide while both are alive.
            if !state.devices.values().any(|g| g.user_code == code) {
                break code;
            }
        };
        let expires_in = state.seed.device_expires_in_secs;
        let interval = state.seed.device_interval_secs;
        let grant = DeviceGrant {
            user_code: user_code.clone(),
            client_id: client_id.unwrap_or_default().to_owned(),
            scope: normalize_scope(params.get("scope").map(String::as_str).unwrap_or_default()),
            expires_at: state.now() + Duration::from_secs(expires_in),
            interval,
            last_poll: None,
            decision: Decision::Pending,
        };
        state.devices.insert(device_code.clone(), grant);
        Some((device_code, user_code, expires_in, interval))
    });
    let Some((device_code, user_code, expires_in, interval)) = issued else {
        return device_error(
            json,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    };
    tracing::info!("device/code: issued a device code");
    // GitHub does not return verification_uri_complete.
    respond::oauth_answer(
        json,
        vec![
            ("device_code", Field::from(device_code)),
            ("user_code", user_code.into()),
            ("verification_uri", format!("{base}/login/device").into()),
            ("expires_in", expires_in.into()),
            ("interval", interval.into()),
        ],
    )
}

/// The device grant of `POST /login/oauth/access_token`.
pub(crate) fn poll(emulator: &Emulator, json: bool, params: &HashMap<String, String>) -> Response {
    let get = |key: &str| params.get(key).map(String::as_str);
    enum Outcome {
        BadClient,
        Unknown,
        Expired,
        SlowDown(u64),
        Pending,
        Denied,
        Token(String, String),
    }
    let outcome = emulator.with_state(|state| {
        if !client_accepted(&state.seed, get("client_id"), None, false) {
            return Outcome::BadClient;
        }
        let now = state.now();
        let device_code = get("device_code").unwrap_or_default();
        let Some(grant) = state.devices.get_mut(device_code) else {
            return Outcome::Unknown;
        };
        if Some(grant.client_id.as_str()) != get("client_id") {
            return Outcome::Unknown;
        }
        if grant.expires_at <= now {
            return Outcome::Expired;
        }
        let too_fast = grant
            .last_poll
            .is_some_and(|last| now < last + Duration::from_secs(grant.interval));
        grant.last_poll = Some(now);
        if too_fast {
            grant.interval += SLOW_DOWN_STEP_SECS;
            return Outcome::SlowDown(grant.interval);
        }
        match grant.decision {
            Decision::Pending => Outcome::Pending,
            Decision::Denied => Outcome::Denied,
            Decision::Approved(user) => {
                let scope = grant.scope.clone();
                // Single use: once the token is handed out the device code is gone.
                state.devices.remove(device_code);
                let token = state.mint_token(user, scope.clone());
                Outcome::Token(token, scope)
            }
        }
    });
    match outcome {
        Outcome::BadClient => device_error(
            json,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        ),
        Outcome::Unknown => device_error(
            json,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        ),
        Outcome::Expired => device_error(json, "expired_token", "The device_code has expired."),
        Outcome::SlowDown(interval) => respond::oauth_answer(
            json,
            vec![
                ("error", "slow_down".into()),
                (
                    "error_description",
                    "Too many requests have been made in the same timeframe.".into(),
                ),
                ("error_uri", DEVICE_ERRORS_DOCS.into()),
                ("interval", interval.into()),
            ],
        ),
        Outcome::Pending => device_error(
            json,
            "authorization_pending",
            "The authorization request is still pending.",
        ),
        Outcome::Denied => device_error(
            json,
            "access_denied",
            "The authorization request was denied.",
        ),
        Outcome::Token(token, scope) => {
            tracing::info!("access_token: device grant approved");
            token_answer(json, token, scope)
        }
    }
}

/// `GET /login/device[?user_code=…]`.
pub(crate) async fn verification_get(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = read_params(&HeaderMap::new(), query.as_deref(), &[]);
    let user_code = params
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let users = emulator.with_state(|state| user_choices(state));
    respond::html(StatusCode::OK, pages::device_page(user_code, &users, None))
}

/// `POST /login/device`: approve as the chosen user, or deny with Cancel.
pub(crate) async fn verification_post(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = read_params(&headers, None, &body);
    let user_code = params
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let login = params.get("login").filter(|l| !l.is_empty());
    let result = if params.contains_key("cancel") {
        emulator.deny_device(user_code).map(|()| None)
    } else if let Some(login) = login {
        emulator
            .approve_device(user_code, login)
            .map(|()| Some(login.as_str()))
    } else {
        let users = emulator.with_state(|state| user_choices(state));
        return respond::html(
            StatusCode::BAD_REQUEST,
            pages::device_page(
                user_code,
                &users,
                Some("Choose a user to approve the device as."),
            ),
        );
    };
    match result {
        Ok(approved_as) => {
            tracing::info!(
                approved = approved_as.is_some(),
                "device verification decided"
            );
            respond::html(StatusCode::OK, pages::device_result_page(approved_as))
        }
        Err(error) => {
            let message = match &error {
                Error::UnknownUser(login) => format!("There is no seeded user {login:?}."),
                Error::UnknownUserCode => {
                    "That code is not valid. Check the code shown on your device and try again."
                        .to_owned()
                }
                Error::DeviceCodeExpired => {
                    "That code has expired. Start again on your device.".to_owned()
                }
                Error::DeviceAlreadyDecided => "That code was already used.".to_owned(),
            };
            let users = emulator.with_state(|state| user_choices(state));
            let shown = normalize_user_code(user_code);
            let shown = if shown.len() == 8 {
                format!("{}-{}", &shown[..4], &shown[4..])
            } else {
                user_code.to_owned()
            };
            respond::html(
                StatusCode::BAD_REQUEST,
                pages::device_page(&shown, &users, Some(&message)),
            )
        }
    }
}
