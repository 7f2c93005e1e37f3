//! Who is calling the provisioner: the bearer token verified (RS256, our issuer, not expired),
//! the caller's level, and the limits that apply to them.
//!
//! Order of the checks, so each failure gets the status the spec gives: a token that does not
//! verify is 401; a verified token of someone who is not a member, owner or affiliate is 403 (the
//! token is fine, the person may not provision); a member's token without the `provisioner`
//! audience (a browser token that did not ask for `provisioner:access`) is 401, as API Gateway's
//! JWT authorizer answered upstream.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sliderule_protocol::claims::PROVISIONER_AUDIENCE;
use sliderule_protocol::{Claims, ClusterName, Level, Limits};

use super::error::ProvisionerError;
use crate::app::AppState;
use crate::http::bearer::verified_claims;
use crate::http::error::ApiError;

#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Claims,
    pub level: Level,
    /// The limits that apply: the server's for members and owners, the token's (the affiliate
    /// entry's) for affiliates.
    pub limits: Limits,
}

impl Caller {
    pub fn login(&self) -> &str {
        &self.claims.sub
    }

    pub fn is_owner(&self) -> bool {
        self.level.is_owner()
    }

    /// 403 unless the caller may act on `cluster`.
    pub fn may_use(&self, cluster: &ClusterName) -> Result<(), ProvisionerError> {
        if self.claims.may_use_cluster(cluster) {
            Ok(())
        } else {
            Err(ProvisionerError::Forbidden(format!(
                "you may not use cluster {cluster}: it is not one of yours ({})",
                self.describe_clusters()
            )))
        }
    }

    fn describe_clusters(&self) -> String {
        let clusters = self.claims.deployable_clusters();
        if clusters.is_empty() {
            "you have none".to_owned()
        } else {
            format!("yours: {}", clusters.join(", "))
        }
    }

    /// 403 unless the caller is an owner.
    pub fn must_be_owner(&self, what: &str) -> Result<(), ProvisionerError> {
        if self.is_owner() {
            Ok(())
        } else {
            Err(ProvisionerError::Forbidden(format!(
                "{what} is for owners: sign in as administrator"
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = verified_claims(state, &parts.headers)?;
        let level = claims.level();
        if !level.may_provision() {
            return Err(ApiError::Forbidden(format!(
                "{} is not a member of the {} organization; ask an owner to invite you",
                claims.sub, claims.org
            )));
        }
        if !claims.has_audience(PROVISIONER_AUDIENCE) {
            return Err(ApiError::Unauthorized(
                "this token is not meant for the provisioner; sign in asking for provisioner:access"
                    .into(),
            ));
        }
        let auth = &state.authenticator.policy;
        let limits = match level {
            Level::Owner => auth.owner_limits,
            Level::Member => auth.member_limits,
            _ => claims.limits().unwrap_or(auth.member_limits),
        };
        Ok(Self {
            claims,
            level,
            limits,
        })
    }
}
