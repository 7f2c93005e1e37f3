//! The token endpoint (`POST /auth/github/token`), refresh (`POST /auth/refresh`) and
//! revocation (`POST /auth/revoke`).

use serde::{Deserialize, Serialize};

use super::{GrantType, check_pkce_value, non_empty, required, required_secret};
use crate::error::{ErrorBody, codes, quote};
use crate::marker::Bearer;
use crate::{Claims, ClusterName, OrgRole, OrgRoles, Scopes, Secret, flexible};

/// Body of `POST /auth/github/token` (form-encoded, or JSON), as sent.
/// [`TokenRequest::grant`] checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// The one-time code from the redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Secret>,
    /// The redirect URI the code was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The PKCE verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<Secret>,
    /// The refresh token, for `refresh_token` grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

/// A checked token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenGrant {
    /// Exchange a one-time code.
    AuthorizationCode {
        /// The code.
        code: Secret,
        /// The redirect URI it was issued for.
        redirect_uri: String,
        /// The client.
        client_id: String,
        /// The PKCE verifier.
        code_verifier: Secret,
    },
    /// Rotate a refresh token.
    RefreshToken {
        /// The refresh token.
        refresh_token: Secret,
        /// The client, if it said.
        client_id: Option<String>,
    },
}

impl TokenRequest {
    /// Checks the request, answering RFC 6749 §5.2 codes.
    pub fn grant(&self) -> Result<TokenGrant, ErrorBody> {
        let grant_type = required(&self.grant_type, "grant_type")?;
        match GrantType::parse(grant_type) {
            Some(GrantType::AuthorizationCode) => {
                let code_verifier = required_secret(&self.code_verifier, "code_verifier")?;
                check_pkce_value("code_verifier", code_verifier.expose())?;
                Ok(TokenGrant::AuthorizationCode {
                    code: required_secret(&self.code, "code")?,
                    redirect_uri: required(&self.redirect_uri, "redirect_uri")?.to_owned(),
                    client_id: required(&self.client_id, "client_id")?.to_owned(),
                    code_verifier,
                })
            }
            Some(GrantType::RefreshToken) => Ok(TokenGrant::RefreshToken {
                refresh_token: required_secret(&self.refresh_token, "refresh_token")?,
                client_id: non_empty(&self.client_id).map(str::to_owned),
            }),
            Some(GrantType::DeviceCode) | None => Err(ErrorBody::new(
                codes::UNSUPPORTED_GRANT_TYPE,
                format!(
                    "grant_type {} is not supported here; use \"authorization_code\" or \
                     \"refresh_token\"",
                    quote(grant_type)
                ),
            )),
        }
    }
}

/// 200 of the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// The access token (a JWT).
    pub access_token: Secret,
    /// Always `Bearer`.
    pub token_type: Bearer,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    /// The new refresh token.
    pub refresh_token: Secret,
    /// Granted scopes.
    pub scope: Scopes,
    /// Who signed in, in upstream's shape (which its web client reads).
    pub info: TokenInfo,
}

/// `info` of a token response. The first eight fields are upstream's, all strings; the cluster
/// lists and limits are ours and typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The GitHub login.
    pub username: String,
    /// `"true"` or `"false"`.
    #[serde(with = "flexible::string_bool")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(true|false)$"))]
    pub is_org_member: bool,
    /// `"true"` or `"false"`.
    #[serde(with = "flexible::string_bool")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(true|false)$"))]
    pub is_org_owner: bool,
    /// The organization login.
    pub org: String,
    /// Roles, comma-joined (`owner,member`).
    #[serde(with = "crate::roles::comma_joined")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub org_roles: OrgRoles,
    /// `iat` of the token, seconds since the epoch, as a string.
    pub token_issued_at: String,
    /// `exp` of the token, seconds since the epoch, as a string.
    pub token_expires_at: String,
    /// The issuer.
    pub token_issuer: String,
    /// Clusters the person can reach (the public one, and those they may deploy).
    pub known_clusters: Vec<String>,
    /// Clusters the person may deploy; `*` for owners.
    pub deployable_clusters: Vec<String>,
    /// Most nodes per cluster.
    pub max_nodes: u32,
    /// Longest TTL, minutes.
    #[serde(rename = "maxTTL")]
    pub max_ttl: u32,
}

/// Clusters a person can reach: the public cluster first, then the ones they may deploy (without
/// `*`), as upstream lists them.
pub fn known_clusters(claims: &Claims, public_cluster: Option<&str>) -> Vec<String> {
    public_cluster
        .map(str::to_owned)
        .into_iter()
        .chain(
            claims
                .aud
                .iter()
                .filter(|a| ClusterName::parse(a).is_ok())
                .cloned(),
        )
        .collect()
}

impl TokenInfo {
    /// The info for a token with these claims. Limits the token does not carry count as zero.
    pub fn from_claims(claims: &Claims, public_cluster: Option<&str>) -> Self {
        let limits = claims.limits().unwrap_or(crate::Limits::NONE);
        Self {
            username: claims.sub.clone(),
            is_org_member: claims.org_roles.contains(OrgRole::Member),
            is_org_owner: claims.org_roles.contains(OrgRole::Owner),
            org: claims.org.clone(),
            org_roles: claims.org_roles,
            token_issued_at: claims.iat.to_string(),
            token_expires_at: claims.exp.to_string(),
            token_issuer: claims.iss.clone(),
            known_clusters: known_clusters(claims, public_cluster),
            deployable_clusters: claims.deployable_clusters(),
            max_nodes: limits.max_nodes,
            max_ttl: limits.max_ttl,
        }
    }
}

/// Body of `POST /auth/refresh`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    /// The refresh token to rotate.
    pub refresh_token: Secret,
}

/// 200 of `POST /auth/refresh`: the token response plus `token` and `exp`, the names the v5
/// Python client reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshResponse {
    /// The token response.
    #[serde(flatten)]
    pub response: TokenResponse,
    /// The access token again.
    pub token: Secret,
    /// Its expiry, seconds since the epoch.
    pub exp: i64,
}

impl RefreshResponse {
    /// Adds the v5 fields to a token response whose access token expires at `exp`.
    pub fn new(response: TokenResponse, exp: i64) -> Self {
        Self {
            token: response.access_token.clone(),
            response,
            exp,
        }
    }
}

/// Body of `POST /auth/revoke` (RFC 7009), form-encoded or JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    /// The token to revoke.
    pub token: Secret,
    /// `refresh_token` or `access_token`; a hint only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn token_request_debug_hides_code_verifier_and_refresh_token() {
        let request = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some("the-code".into()),
            code_verifier: Some(VERIFIER.into()),
            refresh_token: Some("the-refresh".into()),
            ..TokenRequest::default()
        };
        let debug = format!("{request:?}");
        for secret in ["the-code", VERIFIER, "the-refresh"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn token_request_grants_are_checked() {
        let request = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some("c".into()),
            redirect_uri: Some("https://a/cb".into()),
            client_id: Some("id".into()),
            code_verifier: Some(VERIFIER.into()),
            refresh_token: None,
        };
        assert!(matches!(
            request.grant(),
            Ok(TokenGrant::AuthorizationCode { .. })
        ));

        let missing_code = TokenRequest {
            code: None,
            ..request.clone()
        };
        assert_eq!(
            missing_code.grant().unwrap_err().error_description,
            "code is required"
        );

        let password = TokenRequest {
            grant_type: Some("password".into()),
            ..request.clone()
        };
        assert_eq!(
            password.grant().unwrap_err().error,
            "unsupported_grant_type"
        );

        let refresh = TokenRequest {
            grant_type: Some("refresh_token".into()),
            refresh_token: Some("r".into()),
            ..TokenRequest::default()
        };
        assert!(matches!(
            refresh.grant(),
            Ok(TokenGrant::RefreshToken { .. })
        ));
    }

    #[test]
    fn token_info_follows_the_claims() {
        let claims = Claims {
            iss: "https://login.example.org".into(),
            sub: "alice".into(),
            github_id: Some(1),
            aud: vec!["provisioner".into(), "alice".into(), "*".into()],
            org: "Org".into(),
            org_roles: OrgRoles::OWNER,
            scope: Some(Scopes::ALL),
            max_nodes: Some(500),
            max_ttl: Some(525_600),
            iat: 100,
            nbf: None,
            exp: 200,
            jti: None,
            idp: None,
            org_name: None,
            user_name: None,
            user_id: None,
        };
        let info = TokenInfo::from_claims(&claims, Some("sliderule"));
        assert!(info.is_org_member && info.is_org_owner);
        assert_eq!(info.known_clusters, vec!["sliderule", "alice"]);
        assert_eq!(info.deployable_clusters, vec!["alice", "*"]);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["isOrgMember"], "true");
        assert_eq!(json["orgRoles"], "owner,member");
        assert_eq!(json["tokenExpiresAt"], "200");
        assert_eq!(json["maxTTL"], 525_600);
    }
}
