//! Dynamic client registration (RFC 7591), `POST /auth/github/register`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AUTH_METHOD_NONE, CODE_CHALLENGE_METHOD_S256};
use crate::Scopes;
use crate::error::{ErrorBody, codes, quote};

/// The longest `client_name` accepted (upstream's limit).
pub const MAX_CLIENT_NAME_LEN: usize = 200;

/// The most redirect URIs one client may register. Nobody needs more; a cap keeps records small.
pub const MAX_REDIRECT_URIS: usize = 10;

/// The longest redirect URI accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// An OAuth grant type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GrantType {
    /// `authorization_code`.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// `refresh_token`.
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// The device flow, `urn:ietf:params:oauth:grant-type:device_code`.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    /// Every grant type, in the order discovery lists them.
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth response type. Only `code` exists in OAuth 2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// `code`.
    Code,
}

/// Body of `POST /auth/github/register`, as sent. [`RegisterRequest::validate`] checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// Where the browser may be sent back to.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// A name to show people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Grant types the client will use (default `["authorization_code"]`, as RFC 7591 says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types (default `["code"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Must be `none` if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Upstream's non-standard field; must be `S256` if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// Space-separated scopes the client may ask for (default: the guest scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A registration that passed [`RegisterRequest::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The client's name.
    pub client_name: String,
    /// Its redirect URIs, each https or http on localhost.
    pub redirect_uris: Vec<String>,
    /// Its grant types.
    pub grant_types: Vec<GrantType>,
    /// Its response types.
    pub response_types: Vec<ResponseType>,
    /// The scopes it may ask for.
    pub scope: Scopes,
}

fn client_metadata_error(description: impl Into<String>) -> ErrorBody {
    ErrorBody::new(codes::INVALID_CLIENT_METADATA, description)
}

impl RegisterRequest {
    /// Checks every field, answering `invalid_redirect_uri` or `invalid_client_metadata` with a
    /// description that names the bad field.
    ///
    /// Every scope may be registered, `sliderule:admin` included: the web client's "sign in as
    /// administrator" needs it, and owner powers still require a GitHub organization admin.
    pub fn validate(&self) -> Result<Registration, ErrorBody> {
        if self.redirect_uris.is_empty() {
            return Err(ErrorBody::new(
                codes::INVALID_REDIRECT_URI,
                "redirect_uris must be a non-empty list of URIs",
            ));
        }
        if self.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ErrorBody::new(
                codes::INVALID_REDIRECT_URI,
                format!("redirect_uris may hold at most {MAX_REDIRECT_URIS} URIs"),
            ));
        }
        for uri in &self.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let client_name = match &self.client_name {
            None => "Unknown Client".to_owned(),
            Some(name) if name.trim().is_empty() => {
                return Err(client_metadata_error("client_name must not be blank"));
            }
            Some(name) if name.chars().count() > MAX_CLIENT_NAME_LEN => {
                return Err(client_metadata_error(format!(
                    "client_name must be at most {MAX_CLIENT_NAME_LEN} characters"
                )));
            }
            Some(name) => name.clone(),
        };
        let grant_types = match &self.grant_types {
            None => vec![GrantType::AuthorizationCode],
            Some(names) => parse_list("grant_types", names, |name| {
                GrantType::parse(name)
                    .filter(|g| matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken))
            })?,
        };
        let response_types = match &self.response_types {
            None => vec![ResponseType::Code],
            Some(names) => parse_list("response_types", names, |name| {
                (name == "code").then_some(ResponseType::Code)
            })?,
        };
        if let Some(method) = &self.token_endpoint_auth_method
            && method != AUTH_METHOD_NONE
        {
            return Err(client_metadata_error(format!(
                "token_endpoint_auth_method {} is not supported; only \"none\" (public clients) is",
                quote(method)
            )));
        }
        if let Some(method) = &self.code_challenge_method
            && method != CODE_CHALLENGE_METHOD_S256
        {
            return Err(client_metadata_error(format!(
                "code_challenge_method {} is not supported; only \"S256\" is",
                quote(method)
            )));
        }
        let scope = match &self.scope {
            None => Scopes::GUEST,
            Some(text) => Scopes::parse(text).map_err(|e| client_metadata_error(e.to_string()))?,
        };
        Ok(Registration {
            client_name,
            redirect_uris: self.redirect_uris.clone(),
            grant_types,
            response_types,
            scope,
        })
    }
}

/// Parses a non-empty list, dropping repeats and keeping the order given.
fn parse_list<T: PartialEq>(
    field: &str,
    names: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ErrorBody> {
    if names.is_empty() {
        return Err(client_metadata_error(format!("{field} must not be empty")));
    }
    let mut out = Vec::new();
    for name in names {
        let item = parse(name).ok_or_else(|| {
            client_metadata_error(format!(
                "{field} holds {}, which is not supported",
                quote(name)
            ))
        })?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

/// Checks that a redirect URI is `https://…`, or `http://` on `localhost` or `127.0.0.1`
/// (RFC 8252 loopback), without user info or fragment. Answers `invalid_redirect_uri` naming the
/// URI. Whether the host is trusted is the server's configuration, checked there.
pub fn check_redirect_uri(uri: &str) -> Result<(), ErrorBody> {
    let fail = |why: &str| {
        Err(ErrorBody::new(
            codes::INVALID_REDIRECT_URI,
            format!("redirect_uri {} is not allowed: {why}", quote(uri)),
        ))
    };
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return fail("it is too long");
    }
    let (https, rest) = if let Some(rest) = uri.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = uri.strip_prefix("http://") {
        (false, rest)
    } else {
        return fail("it must be https, or http on localhost or 127.0.0.1");
    };
    if uri.contains('#') {
        return fail("it must not hold a fragment (#)");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("it must not hold blanks");
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    // "http://localhost@evil.example" would pass a naive host check.
    if authority.contains('@') {
        return fail("it must not hold user information (@)");
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: "[::1]:8080".
        Some(inner) => match inner.split_once(']') {
            Some((address, "")) => (address, None),
            Some((address, after)) => (address, Some(after.strip_prefix(':').unwrap_or(after))),
            None => return fail("its host is not valid"),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return fail("its port is not a number");
    }
    if host.is_empty() {
        return fail("it has no host");
    }
    if !https && !matches!(host, "localhost" | "127.0.0.1") {
        return fail("it must be https, or http on localhost or 127.0.0.1");
    }
    Ok(())
}

/// 201 of `POST /auth/github/register`: the stored client (upstream HEAD's shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientRecord {
    /// The new client id.
    pub client_id: String,
    /// When it was issued, seconds since the epoch.
    pub client_id_issued_at: i64,
    /// The client's name.
    pub client_name: String,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Its grant types.
    pub grant_types: Vec<GrantType>,
    /// Its response types.
    pub response_types: Vec<ResponseType>,
    /// Always `none`.
    pub token_endpoint_auth_method: String,
    /// Always `S256`.
    pub code_challenge_method: String,
    /// Scopes it may ask for.
    pub scope: Scopes,
}

impl ClientRecord {
    /// The record of a registration accepted at `issued_at` under `client_id`.
    pub fn new(client_id: impl Into<String>, issued_at: i64, registration: Registration) -> Self {
        Self {
            client_id: client_id.into(),
            client_id_issued_at: issued_at,
            client_name: registration.client_name,
            redirect_uris: registration.redirect_uris,
            grant_types: registration.grant_types,
            response_types: registration.response_types,
            token_endpoint_auth_method: AUTH_METHOD_NONE.to_owned(),
            code_challenge_method: CODE_CHALLENGE_METHOD_S256.to_owned(),
            scope: registration.scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(json: &str) -> Result<Registration, ErrorBody> {
        serde_json::from_str::<RegisterRequest>(json)
            .unwrap()
            .validate()
    }

    #[test]
    fn registration_fills_in_defaults() {
        let reg = register(r#"{"redirect_uris":["https://client.example.org/cb"]}"#).unwrap();
        assert_eq!(reg.client_name, "Unknown Client");
        assert_eq!(reg.grant_types, vec![GrantType::AuthorizationCode]);
        assert_eq!(reg.response_types, vec![ResponseType::Code]);
        assert_eq!(reg.scope, Scopes::GUEST);
    }

    #[test]
    fn registration_refuses_missing_or_plain_http_redirects() {
        for json in [
            r#"{}"#,
            r#"{"redirect_uris":[]}"#,
            r#"{"redirect_uris":["http://mydomain.com/cb"]}"#,
            r#"{"redirect_uris":["ftp://x/cb"]}"#,
        ] {
            assert_eq!(
                register(json).unwrap_err().error,
                "invalid_redirect_uri",
                "{json}"
            );
        }
    }

    #[test]
    fn registration_names_the_bad_field() {
        let err = register(r#"{"redirect_uris":["https://a/cb"],"grant_types":["password"]}"#)
            .unwrap_err();
        assert_eq!(err.error, "invalid_client_metadata");
        assert_eq!(
            err.error_description,
            "grant_types holds \"password\", which is not supported"
        );
        let err = register(&format!(
            r#"{{"redirect_uris":["https://a/cb"],"client_name":"{}"}}"#,
            "x".repeat(201)
        ))
        .unwrap_err();
        assert!(err.error_description.starts_with("client_name"));
        let err =
            register(r#"{"redirect_uris":["https://a/cb"],"scope":"mcp:tools"}"#).unwrap_err();
        assert!(err.error_description.contains("mcp:tools"));
        let err = register(concat!(
            r#"{"redirect_uris":["https://a/cb"],"#,
            r#""token_endpoint_auth_method":"client_secret_basic"}"#
        ))
        .unwrap_err();
        assert!(
            err.error_description
                .starts_with("token_endpoint_auth_method")
        );
    }

    #[test]
    fn redirect_uris_may_be_https_or_loopback_http() {
        for uri in [
            "https://client.example.org/auth/callback",
            "https://client.example.org:8443/cb?x=1",
            "http://localhost:8080/auth/callback",
            "http://127.0.0.1/cb",
            "http://localhost",
        ] {
            assert!(check_redirect_uri(uri).is_ok(), "{uri}");
        }
    }

    #[test]
    fn redirect_uris_refuse_tricks() {
        for uri in [
            "http://localhost@evil.example/cb",
            "http://localhost.evil.example/cb",
            "https://client.example.org/cb#frag",
            "https:///cb",
            "https://a b/cb",
            "http://localhost:port/cb",
            "javascript:alert(1)",
        ] {
            assert!(check_redirect_uri(uri).is_err(), "{uri}");
        }
    }
}
