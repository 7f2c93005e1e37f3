//! Personal access token login (`POST /auth/github/pat`), and the success body it shares with the
//! device flow.

use serde::{Deserialize, Serialize};

use crate::marker::Success;
use crate::{Claims, Secret};

/// `{"pat": "<GitHub token>"}`. `pat` is optional here so that a missing one can be answered with
/// the spec's `missing_pat` rather than a generic parse error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatRequest {
    /// The GitHub personal access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<Secret>,
}

impl PatRequest {
    /// A request carrying `pat`.
    pub fn new(pat: impl Into<Secret>) -> Self {
        Self {
            pat: Some(pat.into()),
        }
    }

    /// The token, unless it is missing or blank (both answered with `missing_pat`).
    pub fn pat(&self) -> Option<&Secret> {
        self.pat.as_ref().filter(|p| !p.expose().trim().is_empty())
    }
}

/// 200 of a PAT login or a completed device flow:
/// `{"status":"success","token","metadata","refresh_token"?,"expires_in"?}`.
///
/// The Python client reads `token` and `metadata.exp`; the Node.js client the same. The refresh
/// token and lifetime are our additions and absent from upstream bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginSuccess {
    /// Always `"success"`.
    pub status: Success,
    /// The access token (a JWT).
    pub token: Secret,
    /// The token's claims, so clients need not decode the JWT.
    pub metadata: Claims,
    /// A refresh token for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Seconds until `token` expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl LoginSuccess {
    /// A success body for `token` with these claims.
    pub fn new(token: impl Into<Secret>, metadata: Claims) -> Self {
        Self {
            status: Success,
            token: token.into(),
            metadata,
            refresh_token: None,
            expires_in: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pat_request_debug_hides_the_token() {
        let request = PatRequest::new("ghp_abcdef");
        let debug = format!("{request:?}");
        assert!(!debug.contains("ghp_abcdef"), "{debug}");
        assert!(debug.contains("***"));
    }

    #[test]
    fn pat_request_treats_missing_and_blank_pats_alike() {
        let missing: PatRequest = serde_json::from_str("{}").unwrap();
        let blank: PatRequest = serde_json::from_str(r#"{"pat":"  "}"#).unwrap();
        assert!(missing.pat().is_none());
        assert!(blank.pat().is_none());
        let given: PatRequest = serde_json::from_str(r#"{"pat":"ghp_x"}"#).unwrap();
        assert_eq!(given.pat().map(Secret::expose), Some("ghp_x"));
    }

    #[test]
    fn login_success_requires_status_success() {
        let json = r#"{"status":"error","token":"t","metadata":{"iss":"i","sub":"s","aud":[],
                       "org":"o","org_roles":[],"iat":1,"exp":2}}"#;
        assert!(serde_json::from_str::<LoginSuccess>(json).is_err());
    }
}
