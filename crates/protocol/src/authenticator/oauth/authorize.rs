//! The authorization endpoint (`GET /auth/github/login`) and GitHub's return to us
//! (`GET /auth/github/callback`).

use serde::{Deserialize, Deserializer, Serialize};

use super::{
    CODE_CHALLENGE_METHOD_S256, check_pkce_value, check_redirect_uri, non_empty, required,
};
use crate::error::{ErrorBody, codes, quote};
use crate::{Scopes, Secret, flexible};

/// Query of `GET /auth/github/login`, as sent. Two requests share the path: OAuth 2.1 with
/// `client_id`, and v5's legacy login with only `redirect_uri` (and `use_cookie`).
/// [`AuthorizeQuery::parse`] tells them apart and checks them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AuthorizeQuery {
    /// Must be `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    /// A registered (or pre-registered) client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where to send the browser back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The client's state, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The PKCE challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// v5 legacy login: deliver the token in an HttpOnly cookie instead of the query.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "use_cookie"
    )]
    pub use_cookie: Option<bool>,
}

fn use_cookie<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    flexible::optional_boolean(deserializer, "use_cookie")
}

/// A checked authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeRequest {
    /// OAuth 2.1 with PKCE.
    Pkce(PkceAuthorize),
    /// v5's legacy login.
    Legacy(LegacyLogin),
}

/// A checked OAuth 2.1 authorization request. Whether the client exists and registered the
/// redirect URI is for the server to check against its store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkceAuthorize {
    /// The client id.
    pub client_id: String,
    /// The redirect URI (well-formed; registration not yet checked).
    pub redirect_uri: String,
    /// The client's state, if it sent one.
    pub state: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    /// Requested scopes; `None` means the registered ones.
    pub scope: Option<Scopes>,
}

/// A checked v5 legacy login. The redirect host is for the server to check against
/// `allowed_redirect_hosts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyLogin {
    /// Where to send the browser back to.
    pub redirect_uri: String,
    /// Token in a cookie (`true`) or in the query (`false`).
    pub use_cookie: bool,
}

impl AuthorizeQuery {
    /// Tells the OAuth 2.1 request from the legacy one and checks it.
    pub fn parse(&self) -> Result<AuthorizeRequest, ErrorBody> {
        let redirect_uri = required(&self.redirect_uri, "redirect_uri")?;
        check_redirect_uri(redirect_uri)?;
        let Some(client_id) = non_empty(&self.client_id) else {
            return Ok(AuthorizeRequest::Legacy(LegacyLogin {
                redirect_uri: redirect_uri.to_owned(),
                use_cookie: self.use_cookie.unwrap_or(false),
            }));
        };
        match non_empty(&self.response_type) {
            Some("code") => {}
            None => return Err(ErrorBody::invalid_request("response_type is required")),
            Some(other) => {
                return Err(ErrorBody::new(
                    codes::UNSUPPORTED_RESPONSE_TYPE,
                    format!(
                        "response_type {} is not supported; use \"code\"",
                        quote(other)
                    ),
                ));
            }
        }
        let code_challenge = required(&self.code_challenge, "code_challenge")?;
        check_pkce_value("code_challenge", code_challenge)?;
        match non_empty(&self.code_challenge_method) {
            Some(CODE_CHALLENGE_METHOD_S256) => {}
            None => {
                return Err(ErrorBody::invalid_request(
                    "code_challenge_method is required",
                ));
            }
            Some(other) => {
                return Err(ErrorBody::invalid_request(format!(
                    "code_challenge_method {} is not supported; use \"S256\"",
                    quote(other)
                )));
            }
        }
        let scope = match non_empty(&self.scope) {
            None => None,
            Some(text) => Some(
                Scopes::parse(text)
                    .map_err(|e| ErrorBody::new(codes::INVALID_SCOPE, e.to_string()))?,
            ),
        };
        Ok(AuthorizeRequest::Pkce(PkceAuthorize {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: self.state.clone(),
            code_challenge: code_challenge.to_owned(),
            scope,
        }))
    }
}

/// Query of `GET /auth/github/callback`, where GitHub returns the browser.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct CallbackQuery {
    /// GitHub's one-time code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Secret>,
    /// Our signed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// GitHub's error code, e.g. `access_denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// GitHub's error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn authorize(pairs: &[(&str, &str)]) -> AuthorizeQuery {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).unwrap()
    }

    fn pkce_pairs() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", "c1"),
            ("redirect_uri", "https://client.example.org/auth/callback"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    }

    #[test]
    fn authorize_with_client_id_is_an_oauth_request() {
        let parsed = authorize(&pkce_pairs()).parse().unwrap();
        let AuthorizeRequest::Pkce(request) = parsed else {
            panic!("expected PKCE");
        };
        assert_eq!(request.client_id, "c1");
        assert_eq!(request.state.as_deref(), Some("xyz"));
        assert_eq!(request.scope, None);
    }

    #[test]
    fn authorize_without_client_id_is_the_legacy_login() {
        let parsed = authorize(&[
            ("redirect_uri", "https://x.example/"),
            ("use_cookie", "true"),
        ])
        .parse()
        .unwrap();
        assert_eq!(
            parsed,
            AuthorizeRequest::Legacy(LegacyLogin {
                redirect_uri: "https://x.example/".into(),
                use_cookie: true
            })
        );
    }

    #[test]
    fn authorize_refuses_plain_challenges_and_missing_ones() {
        let mut pairs = pkce_pairs();
        pairs[5] = ("code_challenge_method", "plain");
        let err = authorize(&pairs).parse().unwrap_err();
        assert_eq!(err.error, "invalid_request");
        assert!(err.error_description.contains("\"plain\""));

        let mut pairs = pkce_pairs();
        pairs.remove(4);
        assert_eq!(
            authorize(&pairs).parse().unwrap_err().error_description,
            "code_challenge is required"
        );
    }

    #[test]
    fn authorize_refuses_other_response_types_and_unknown_scopes() {
        let mut pairs = pkce_pairs();
        pairs[0] = ("response_type", "token");
        assert_eq!(
            authorize(&pairs).parse().unwrap_err().error,
            "unsupported_response_type"
        );
        let mut pairs = pkce_pairs();
        pairs.push(("scope", "read:org"));
        assert_eq!(
            authorize(&pairs).parse().unwrap_err().error,
            "invalid_scope"
        );
    }
}
