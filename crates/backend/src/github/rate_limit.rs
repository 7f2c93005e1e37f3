//! GitHub's rate-limit answers, told apart from refusals. A rate limit means "ask again later",
//! whatever the status: GitHub answers its primary limit with 403 (or 429) and
//! `x-ratelimit-remaining: 0`, and its secondary limits with 403 or 429 and `retry-after`. Read
//! as a refusal, a 403 of the membership call would send people to fix permissions that are fine.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::GitHubError;

/// `Some` if `response` (a failure) is GitHub rate-limiting us, with a description that says so,
/// and when to try again if GitHub said.
pub(super) fn rate_limited(what: &str, response: &Response) -> Option<GitHubError> {
    limit_of(response.status(), response.headers()).map(|retry| {
        GitHubError::Unavailable(format!(
            "GitHub rate-limited this service during {what} (HTTP {}); {retry}",
            response.status().as_u16()
        ))
    })
}

/// When to try again, if `status` and `headers` are a rate limit.
fn limit_of(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let retry_after = header(RETRY_AFTER.as_str()).and_then(|v| v.parse::<u64>().ok());
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_client_error() && exhausted)
        || (status == StatusCode::FORBIDDEN && retry_after.is_some());
    if !limited {
        return None;
    }
    // The reset time is the primary limit's: it says nothing of a secondary limit.
    let reset = header("x-ratelimit-reset")
        .filter(|_| exhausted)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(&Rfc3339).ok());
    Some(match (retry_after, reset) {
        (Some(secs), _) => format!("please try again in {secs} s"),
        (None, Some(at)) => format!("the rate limit resets at {at}; please try again then"),
        (None, None) => "please try again in a few minutes".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    reqwest::header::HeaderName::from_static(name),
                    value.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_403_with_no_requests_left_is_a_rate_limit_that_says_when_it_resets() {
        let answer = limit_of(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1714568400"),
            ]),
        );
        assert_eq!(
            answer.as_deref(),
            Some("the rate limit resets at 2024-05-01T13:00:00Z; please try again then")
        );
    }

    #[test]
    fn a_429_or_a_403_with_retry_after_is_a_rate_limit() {
        let after = limit_of(
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "60"), ("x-ratelimit-remaining", "12")]),
        );
        assert_eq!(after.as_deref(), Some("please try again in 60 s"));
        let secondary = limit_of(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[
                ("x-ratelimit-remaining", "12"),
                ("x-ratelimit-reset", "1714568400"),
            ]),
        );
        assert_eq!(
            secondary.as_deref(),
            Some("please try again in a few minutes")
        );
    }

    #[test]
    fn a_403_with_requests_left_is_a_refusal_not_a_rate_limit() {
        let refusal = headers(&[("x-ratelimit-remaining", "4999")]);
        assert_eq!(limit_of(StatusCode::FORBIDDEN, &refusal), None);
        assert_eq!(limit_of(StatusCode::FORBIDDEN, &HeaderMap::new()), None);
        assert_eq!(limit_of(StatusCode::NOT_FOUND, &refusal), None);
    }
}
