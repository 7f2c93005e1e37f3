//! Calls to the provisioner, each with the session's access token. A 401 gets one refresh and
//! one retry; a second 401, or a refused refresh, ends the session.

use gloo_net::http::Request;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sliderule_protocol::provisioner::node_groups::user_path;
use sliderule_protocol::provisioner::{
    AdjustRequest, Budget, BudgetRequest, BudgetsResponse, ClusterReport, ClusterRequest,
    ClusterStatus, DeployRequest, DestroyResponse, ExtendRequest, InfoResponse, SettingsRequest,
    StackEvent, paths,
};
use sliderule_protocol::provisioner::{
    BranchRequest, HostCluster, NodeGroupDeploy, NodeGroupRequest, NodeGroupStatus, TestRunStarted,
};
use sliderule_protocol::{ClusterName, codes};

use leptos::prelude::{GetValue as _, SetValue as _, WithValue as _};
use sliderule_protocol::organizations::{
    ConfigureRequest, CreateOrganizationRequest, Membership, MembershipDecision,
    MembershipsResponse, Organization, OrganizationRequest, OrganizationsResponse, paths as orgs,
};

use sliderule_protocol::provisioner::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, canonical};

use super::{ApiError, decode, send, url};
use crate::session::Session;
use crate::session::signing::{self, SigningKey};

/// The provisioner at one base URL, called on behalf of the session.
#[derive(Clone, Copy)]
pub struct Provisioner {
    base: leptos::prelude::StoredValue<String>,
    session: Session,
    /// Whether owners' requests must be signed (`config.json`): only then does this browser sign.
    sign: bool,
    /// This browser's signing key for owners' requests: looked up once, then kept.
    key: leptos::prelude::StoredValue<Option<Option<SigningKey>>, leptos::prelude::LocalStorage>,
}

impl Provisioner {
    pub fn new(base: String, session: Session, sign: bool) -> Self {
        Self {
            base: leptos::prelude::StoredValue::new(base),
            session,
            sign,
            key: leptos::prelude::StoredValue::new_local(None),
        }
    }

    /// This browser's signing key, if it has one (looked up in IndexedDB once).
    pub async fn signing_key(&self) -> Option<SigningKey> {
        if let Some(known) = self.key.get_value() {
            return known;
        }
        let loaded = signing::load().await.ok().flatten();
        self.key.set_value(Some(loaded.clone()));
        loaded
    }

    /// Makes this browser's signing key; owners' requests are signed with it from now on.
    pub async fn create_signing_key(&self) -> Result<SigningKey, String> {
        let key = signing::create().await?;
        self.key.set_value(Some(Some(key.clone())));
        Ok(key)
    }

    /// The signature headers of an owner's request to `target` with `body`, when the service
    /// wants them and this browser has a key; none otherwise.
    async fn signature(&self, target: &str, body: &str) -> Vec<(&'static str, String)> {
        // Only where the service asks for it: a key not registered yet must not spoil the
        // requests of a service that verifies every signature it gets.
        if !self.sign || !self.session.user().is_some_and(|u| u.is_owner()) {
            return Vec::new();
        }
        let Some(key) = self.signing_key().await else {
            return Vec::new();
        };
        let Ok(url) = web_sys::Url::new(target) else {
            return Vec::new();
        };
        let timestamp = crate::time::now_secs().to_string();
        let message = canonical(&url.host(), &url.pathname(), &timestamp, body.as_bytes());
        match key.sign(&message).await {
            Ok(signature) => vec![(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)],
            Err(_) => Vec::new(),
        }
    }

    /// Who the caller is to the provisioner: roles, clusters, limits, budget.
    pub async fn info(&self) -> Result<InfoResponse, ApiError> {
        self.call(paths::INFO, &serde_json::json!({})).await
    }

    pub async fn status(&self, cluster: &ClusterName) -> Result<ClusterStatus, ApiError> {
        self.call(paths::STATUS, &ClusterRequest::new(cluster.clone()))
            .await
    }

    pub async fn deploy(&self, request: &DeployRequest) -> Result<ClusterStatus, ApiError> {
        self.call(paths::DEPLOY, request).await
    }

    pub async fn extend(&self, request: &ExtendRequest) -> Result<ClusterStatus, ApiError> {
        self.call(paths::EXTEND, request).await
    }

    pub async fn destroy(&self, cluster: &ClusterName) -> Result<DestroyResponse, ApiError> {
        self.call(paths::DESTROY, &ClusterRequest::new(cluster.clone()))
            .await
    }

    /// Stack events, newest first; they stay readable after a destroy.
    pub async fn events(&self, cluster: &ClusterName) -> Result<Vec<StackEvent>, ApiError> {
        self.call(paths::EVENTS, &ClusterRequest::new(cluster.clone()))
            .await
    }

    /// `user`'s node group on `cluster` (`/status/<user>`).
    pub async fn node_group(
        &self,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<NodeGroupStatus, ApiError> {
        let request = NodeGroupRequest {
            cluster: cluster.clone(),
        };
        self.call(&user_path("status", user), &request).await
    }

    /// Creates or resizes `user`'s node group, and moves its deadline (`/deploy/<user>`).
    pub async fn deploy_node_group(
        &self,
        user: &str,
        request: &NodeGroupDeploy,
    ) -> Result<NodeGroupStatus, ApiError> {
        self.call(&user_path("deploy", user), request).await
    }

    /// Destroys `user`'s node group (`/destroy/<user>`).
    pub async fn destroy_node_group(
        &self,
        user: &str,
        cluster: &HostCluster,
    ) -> Result<NodeGroupStatus, ApiError> {
        let request = NodeGroupRequest {
            cluster: cluster.clone(),
        };
        self.call(&user_path("destroy", user), &request).await
    }

    /// Starts the test runner for a branch (owners).
    pub async fn start_test_run(
        &self,
        request: &BranchRequest,
    ) -> Result<TestRunStarted, ApiError> {
        self.call(paths::TEST, request).await
    }

    /// A branch's latest test summary, as the run wrote it.
    pub async fn test_summary(
        &self,
        request: &BranchRequest,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(paths::REPORT_TESTS, request).await
    }

    /// Every cluster the caller may see (owners: all of them).
    pub async fn report(&self) -> Result<ClusterReport, ApiError> {
        self.call(paths::REPORT_CLUSTERS, &serde_json::json!({}))
            .await
    }

    /// Every budget the caller may see.
    pub async fn budgets(&self) -> Result<Vec<Budget>, ApiError> {
        let answer: BudgetsResponse = self.call(paths::BUDGET, &BudgetRequest::default()).await?;
        Ok(answer.budgets)
    }

    /// One budget with a page of its ledger (entries before the entry `before`).
    pub async fn budget(&self, account: &str, before: Option<i64>) -> Result<Budget, ApiError> {
        let request = BudgetRequest {
            account: Some(account.to_owned()),
            before,
        };
        let answer: BudgetsResponse = self.call(paths::BUDGET, &request).await?;
        answer
            .budgets
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Unexpected("the provisioner sent no budget".into()))
    }

    /// An owner's credit or debit.
    pub async fn adjust(&self, request: &AdjustRequest) -> Result<Budget, ApiError> {
        self.call(paths::BUDGET_ADJUST, request).await
    }

    /// An owner's change of an allowance or cap.
    pub async fn budget_settings(&self, request: &SettingsRequest) -> Result<Budget, ApiError> {
        self.call(paths::BUDGET_SETTINGS, request).await
    }

    /// Every organization, with the caller's standing in each.
    pub async fn organizations(&self) -> Result<Vec<Organization>, ApiError> {
        let answer: OrganizationsResponse = self
            .call(orgs::ORGANIZATIONS, &serde_json::json!({}))
            .await?;
        Ok(answer.organizations)
    }

    /// One organization as the caller may see it.
    pub async fn organization(&self, name: &ClusterName) -> Result<Organization, ApiError> {
        self.call(
            orgs::ORGANIZATION,
            &OrganizationRequest {
                organization: name.clone(),
            },
        )
        .await
    }

    /// Asks to join an organization.
    pub async fn request_membership(&self, name: &ClusterName) -> Result<Membership, ApiError> {
        self.call(
            orgs::MEMBERSHIP_REQUEST,
            &OrganizationRequest {
                organization: name.clone(),
            },
        )
        .await
    }

    /// An organization's memberships (admins).
    pub async fn memberships(&self, name: &ClusterName) -> Result<Vec<Membership>, ApiError> {
        let answer: MembershipsResponse = self
            .call(
                orgs::MEMBERSHIP_LIST,
                &OrganizationRequest {
                    organization: name.clone(),
                },
            )
            .await?;
        Ok(answer.memberships)
    }

    /// An admin's decision on a membership: `path` is one of the `/membership/*` decisions.
    pub async fn decide(
        &self,
        path: &str,
        decision: &MembershipDecision,
    ) -> Result<Membership, ApiError> {
        self.call(path, decision).await
    }

    /// An owner creates an organization.
    pub async fn create_organization(
        &self,
        request: &CreateOrganizationRequest,
    ) -> Result<Organization, ApiError> {
        self.call(orgs::CREATE, request).await
    }

    /// An admin's change of an organization's bounds.
    pub async fn configure(&self, request: &ConfigureRequest) -> Result<Organization, ApiError> {
        self.call(orgs::CONFIGURE, request).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let target = self.base.with_value(|base| url(base, path));
        // Signed over the exact bytes sent.
        let body = serde_json::to_string(body).map_err(|e| ApiError::Unexpected(e.to_string()))?;
        let token = self.session.access_token().await?;
        let signature = self.signature(&target, &body).await;
        let response = send(request(&target, &token, &body, &signature)?).await?;
        if response.status() != 401 {
            return decode(response).await;
        }
        // A refused signature is not a stale token: say why rather than refresh.
        let refused = super::error_of(response).await;
        if matches!(
            refused.code(),
            Some(codes::SIGNATURE_REQUIRED | codes::BAD_SIGNATURE)
        ) {
            return Err(refused);
        }
        // The token may have been revoked or the keys rotated under it: one fresh token, once.
        self.session.refresh().await?;
        let token = self.session.access_token().await?;
        // A signature is used once: a retry signs again.
        let signature = self.signature(&target, &body).await;
        let response = send(request(&target, &token, &body, &signature)?).await?;
        if response.status() == 401 {
            self.session.end();
            return Err(ApiError::SessionEnded);
        }
        decode(response).await
    }
}

fn request(
    url: &str,
    token: &str,
    body: &str,
    signature: &[(&'static str, String)],
) -> Result<Request, ApiError> {
    let mut builder = Request::post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    for (name, value) in signature {
        builder = builder.header(name, value);
    }
    builder
        .body(body.to_owned())
        .map_err(|e| ApiError::Unexpected(e.to_string()))
}
