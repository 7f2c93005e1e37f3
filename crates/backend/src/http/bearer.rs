//! Reading a bearer token from `Authorization`, and verifying it.

use axum::http::{HeaderMap, header};
use sliderule_protocol::{Claims, codes};

use super::error::ApiError;
use crate::app::AppState;
use crate::keys::Expected;

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive), if present. Several
/// `Authorization` headers are a 400 (RFC 6750 §3.1: one method, once): were the first taken,
/// a proxy or cache keyed on another one would see a different caller than we do.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let others = values.count();
    if others > 0 {
        tracing::info!(
            count = others + 1,
            "request refused: several Authorization headers"
        );
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "The request has several Authorization headers; send exactly one",
        ));
    }
    let Ok(value) = value.to_str() else {
        return Ok(None);
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    let token = token.trim();
    Ok((scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token))
}

/// The claims of the request's bearer token, verified as ours (RS256, our issuer, not expired;
/// any audience): 401 with the reason otherwise.
pub fn verified_claims(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let token = bearer_token(headers)?
        .ok_or_else(|| ApiError::Unauthorized("an access token (Bearer) is required".into()))?;
    state
        .keys
        .verify(
            token,
            Expected {
                issuer: &state.urls.authenticator,
                audience: None,
            },
        )
        .map_err(|e| ApiError::Unauthorized(e.to_string()))
}

/// The verified claims of whoever calls, whatever their level (an outsider asking to join an
/// organization, say): 401 without one of our tokens.
pub struct SignedIn(pub Claims);

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        verified_claims(state, &parts.headers).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn token(values: &[&str]) -> Option<String> {
        bearer_token(&headers(values)).unwrap().map(str::to_owned)
    }

    #[test]
    fn the_token_follows_the_bearer_scheme() {
        assert_eq!(token(&["Bearer abc"]).as_deref(), Some("abc"));
        assert_eq!(token(&["bearer  abc "]).as_deref(), Some("abc"));
        assert_eq!(token(&["Basic abc"]), None);
        assert_eq!(token(&["Bearer "]), None);
        assert_eq!(token(&[]), None);
    }

    #[test]
    fn several_authorization_headers_are_a_bad_request_whatever_they_hold() {
        for values in [
            &["Bearer a", "Bearer b"][..],
            &["Bearer a", "Basic b"],
            &["x", "y", "z"],
        ] {
            let error = bearer_token(&headers(values)).unwrap_err();
            assert_eq!(
                error.status(),
                axum::http::StatusCode::BAD_REQUEST,
                "{values:?}"
            );
            assert!(error.to_string().contains("several Authorization headers"));
        }
    }
}
