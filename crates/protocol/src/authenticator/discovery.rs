//! Authorization server metadata (`/.well-known/openid-configuration` and
//! `/.well-known/oauth-authorization-server`, one document for both).
//!
//! API Gateway's JWT authorizer finds our keys through `jwks_uri` here; the web client finds the
//! endpoints. Lists are in a fixed order so the document never changes between replicas.

use serde::{Deserialize, Serialize};

use crate::Scope;
use crate::authenticator::oauth::{AUTH_METHOD_NONE, CODE_CHALLENGE_METHOD_S256, GrantType};
use crate::authenticator::paths;

/// The discovery document. Fields are in the order the spec lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscoveryDocument {
    /// The issuer, `iss` of every token.
    pub issuer: String,
    /// `<iss>/auth/github/login`.
    pub authorization_endpoint: String,
    /// `<iss>/auth/github/token`.
    pub token_endpoint: String,
    /// `<iss>/auth/github/register`.
    pub registration_endpoint: String,
    /// `<iss>/auth/github/device`.
    pub device_authorization_endpoint: String,
    /// `<iss>/auth/revoke`.
    pub revocation_endpoint: String,
    /// `<iss>/.well-known/jwks.json`.
    pub jwks_uri: String,
    /// `["code"]`.
    pub response_types_supported: Vec<String>,
    /// Authorization code, refresh token, device code.
    pub grant_types_supported: Vec<String>,
    /// `["S256"]`.
    pub code_challenge_methods_supported: Vec<String>,
    /// `["none"]`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Every scope, in canonical order.
    pub scopes_supported: Vec<String>,
    /// `["RS256"]`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `["public"]`.
    pub subject_types_supported: Vec<String>,
}

impl DiscoveryDocument {
    /// The document of an authenticator whose public base URL is `issuer` (a trailing `/` is
    /// dropped, so endpoints never hold `//`).
    pub fn for_issuer(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/');
        let at = |path: &str| format!("{issuer}{path}");
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: at(paths::LOGIN),
            token_endpoint: at(paths::TOKEN),
            registration_endpoint: at(paths::REGISTER),
            device_authorization_endpoint: at(paths::DEVICE),
            revocation_endpoint: at(paths::REVOKE),
            jwks_uri: at(paths::JWKS),
            response_types_supported: strings(&["code"]),
            grant_types_supported: GrantType::ALL
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            code_challenge_methods_supported: strings(&[CODE_CHALLENGE_METHOD_S256]),
            token_endpoint_auth_methods_supported: strings(&[AUTH_METHOD_NONE]),
            scopes_supported: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
            id_token_signing_alg_values_supported: strings(&["RS256"]),
            subject_types_supported: strings(&["public"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_endpoints_hang_off_the_issuer() {
        let doc = DiscoveryDocument::for_issuer("https://login.example.org/");
        assert_eq!(doc.issuer, "https://login.example.org");
        assert_eq!(
            doc.authorization_endpoint,
            "https://login.example.org/auth/github/login"
        );
        assert_eq!(
            doc.jwks_uri,
            "https://login.example.org/.well-known/jwks.json"
        );
        assert_eq!(
            doc.grant_types_supported,
            [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ]
        );
    }

    #[test]
    fn discovery_fields_serialize_in_the_listed_order() {
        let json = serde_json::to_string(&DiscoveryDocument::for_issuer("https://i")).unwrap();
        let order = [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "device_authorization_endpoint",
            "revocation_endpoint",
            "jwks_uri",
            "response_types_supported",
            "grant_types_supported",
            "code_challenge_methods_supported",
            "token_endpoint_auth_methods_supported",
            "scopes_supported",
            "id_token_signing_alg_values_supported",
            "subject_types_supported",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|key| json.find(&format!("\"{key}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}
