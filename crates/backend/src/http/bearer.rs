//! Reading a bearer token from `Authorization`, and verifying it.

use axum::http::{HeaderMap, header};
use sliderule_protocol::Claims;

use super::error::ApiError;
use crate::app::AppState;
use crate::keys::Expected;

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive), if present.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The claims of the request's bearer token, verified as ours (RS256, our issuer, not expired;
/// any audience): 401 with the reason otherwise.
pub fn verified_claims(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let token = bearer_token(headers)
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_token_follows_the_bearer_scheme() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
