//! Faults switched on per endpoint, so the authenticator's handling of a slow, failing or
//! rate-limited GitHub can be tested: added latency, an error status, or GitHub's primary rate
//! limit (403 with `x-ratelimit-remaining: 0`).

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::Emulator;
use crate::respond::{self, RateHeaders};

/// The emulated endpoints a fault can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET|POST /login/oauth/authorize`
    Authorize,
    /// `POST /login/oauth/access_token`
    AccessToken,
    /// `POST /login/device/code`
    DeviceCode,
    /// `GET /user`
    User,
    /// `GET /orgs/{org}/memberships/{username}`
    Membership,
    /// `GET /user/teams`
    Teams,
    /// `GET /user/orgs`
    Orgs,
}

impl Endpoint {
    fn is_api(self) -> bool {
        matches!(
            self,
            Endpoint::User | Endpoint::Membership | Endpoint::Teams | Endpoint::Orgs
        )
    }
}

/// What goes wrong on an endpoint. The default is nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Delay before answering (applies together with the other settings).
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer this status instead (e.g. 500, 502, 503, 403).
    #[serde(default)]
    pub status: Option<u16>,
    /// Answer GitHub's primary rate-limit error (wins over `status`).
    #[serde(default)]
    pub rate_limited: bool,
}

impl Fault {
    pub fn latency(ms: u64) -> Fault {
        Fault {
            latency_ms: ms,
            ..Fault::default()
        }
    }

    pub fn status(status: u16) -> Fault {
        Fault {
            status: Some(status),
            ..Fault::default()
        }
    }

    pub fn rate_limited() -> Fault {
        Fault {
            rate_limited: true,
            ..Fault::default()
        }
    }
}

/// Applies the endpoint's fault: waits out its latency, then returns the answer that replaces the
/// real one, if any. `caller` is the user id for the rate-limit message, when known.
pub(crate) async fn apply(
    emulator: &Emulator,
    endpoint: Endpoint,
    caller: Option<u64>,
) -> Option<Response> {
    let (fault, org, reset) = emulator.with_state(|state| {
        let fault = state.faults.get(&endpoint).copied();
        (fault, state.seed.org.clone(), state.rate_reset())
    });
    let fault = fault?;
    if fault.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    if fault.rate_limited {
        let who = match caller {
            Some(id) => format!("user ID {id}"),
            None => "this client".to_owned(),
        };
        let message = format!(
            "API rate limit exceeded for {who}. If you reach out to GitHub Support for help, please \
             include the request ID of this response."
        );
        let rate = RateHeaders {
            limit: if caller.is_some() { 5000 } else { 60 },
            remaining: 0,
            reset,
        };
        return Some(respond::api_error(
            StatusCode::FORBIDDEN,
            &message,
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            rate,
        ));
    }
    let status = StatusCode::from_u16(fault.status?).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if endpoint.is_api() {
        let message = match status {
            StatusCode::UNAUTHORIZED => "Bad credentials".to_owned(),
            // What GitHub says when an organization restricts OAuth App access.
            StatusCode::FORBIDDEN => format!(
                "Although you appear to have the correct authorization credentials, the `{org}` \
                 organization has enabled OAuth App access restrictions, meaning that data access \
                 to third-parties is limited. For more information on these restrictions, including \
                 how to enable this app, visit \
                 https://docs.github.com/articles/restricting-access-to-your-organization-s-data/"
            ),
            StatusCode::NOT_FOUND => "Not Found".to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR => "Server Error".to_owned(),
            other => other.canonical_reason().unwrap_or("Error").to_owned(),
        };
        let rate = emulator.with_state(|state| {
            let (limit, remaining, reset) = state.count_api_call(caller);
            RateHeaders {
                limit,
                remaining,
                reset,
            }
        });
        Some(respond::api_error(
            status,
            &message,
            respond::REST_DOCS,
            rate,
        ))
    } else {
        // github.com's own pages fail with HTML, not JSON.
        let reason = status.canonical_reason().unwrap_or("Error");
        Some(respond::html(
            status,
            crate::pages::error_page(
                &format!("{} {reason}", status.as_u16()),
                "The GitHub emulator was told to fail this request (an injected fault).",
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_the_control_api_json() {
        let fault: Fault =
            serde_json::from_str(r#"{"latency_ms":250,"status":503}"#).expect("parses");
        assert_eq!(
            fault,
            Fault {
                latency_ms: 250,
                status: Some(503),
                rate_limited: false
            }
        );
        let endpoint: Endpoint = serde_json::from_str(r#""access_token""#).expect("parses");
        assert_eq!(endpoint, Endpoint::AccessToken);
    }
}
