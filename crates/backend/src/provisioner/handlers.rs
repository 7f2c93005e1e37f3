//! The provisioner's HTTP handlers: read the caller and the body, call the rules, answer.

use axum::Json;
use axum::extract::{Path, State};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::{
    AdjustRequest, Budget, BudgetRequest, BudgetsResponse, SettingsRequest,
};
use sliderule_protocol::provisioner::{AuditPage, AuditRequest};
use sliderule_protocol::provisioner::{BranchRequest, TestRunStarted};
use sliderule_protocol::provisioner::{
    ClusterReport, ClusterRequest, ClusterStatus, DeployRequest, DestroyResponse, ExtendRequest,
    InfoResponse, NodeGroupDeploy, NodeGroupExtend, NodeGroupRequest, NodeGroupStatus,
    ReportResponse, StackEvent,
};

use super::caller::Caller;
use super::lifecycle::does_not_exist;
use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::json_body::JsonBody;
use crate::http::openapi::Refusals;
use sliderule_protocol::provisioner::{ClusterSummary, paths};

#[utoipa::path(
    post,
    path = paths::INFO,
    responses((status = 200, body = InfoResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn info(State(state): State<AppState>, caller: Caller) -> Json<InfoResponse> {
    let mut info = InfoResponse::new(
        &caller.claims,
        caller.limits,
        state.provisioner.public_cluster.as_deref(),
    );
    info.budget = state.provisioner.personal_budget(caller.login()).await;
    info.pricing = state.provisioner.budgets.as_ref().map(|b| b.pricing);
    Json(info)
}

#[utoipa::path(
    post,
    path = paths::BUDGET,
    request_body = BudgetRequest,
    responses((status = 200, body = BudgetsResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn budget(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BudgetRequest>,
) -> Result<Json<BudgetsResponse>, ApiError> {
    Ok(Json(
        state.provisioner.budgets_for(&caller, &request).await?,
    ))
}

#[utoipa::path(
    post,
    path = paths::BUDGET_ADJUST,
    request_body = AdjustRequest,
    responses((status = 200, body = Budget), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn budget_adjust(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<AdjustRequest>,
) -> Result<Json<Budget>, ApiError> {
    Ok(Json(
        state.provisioner.adjust_budget(&caller, &request).await?,
    ))
}

#[utoipa::path(
    post,
    path = paths::BUDGET_SETTINGS,
    request_body = SettingsRequest,
    responses((status = 200, body = Budget), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn budget_settings(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SettingsRequest>,
) -> Result<Json<Budget>, ApiError> {
    Ok(Json(
        state.provisioner.budget_settings(&caller, &request).await?,
    ))
}

/// `/outbox` (owners): the notifications sent, newest first; 404 when they are off.
#[utoipa::path(
    post,
    path = paths::OUTBOX,
    responses((status = 200, body = sliderule_protocol::provisioner::OutboxResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn outbox(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<sliderule_protocol::provisioner::OutboxResponse>, ApiError> {
    caller.must_be_owner("the outbox")?;
    let notifier = state
        .provisioner
        .notifier
        .as_ref()
        .ok_or_else(|| ApiError::not_found("notifications are not enabled on this service"))?;
    Ok(Json(sliderule_protocol::provisioner::OutboxResponse {
        messages: notifier.outbox(),
    }))
}

#[utoipa::path(
    post,
    path = paths::DEPLOY,
    request_body = DeployRequest,
    responses((status = 200, body = ClusterStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn deploy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<DeployRequest>,
) -> Result<Json<ClusterStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner.deploy(&caller, &request).await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::EXTEND,
    request_body = ExtendRequest,
    responses((status = 200, body = ClusterStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn extend(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ExtendRequest>,
) -> Result<Json<ClusterStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner.extend(&caller, &request).await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::DESTROY,
    request_body = ClusterRequest,
    responses((status = 200, body = DestroyResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ClusterRequest>,
) -> Result<Json<DestroyResponse>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .destroy_for(&caller, &request.cluster)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = paths::STATUS,
    request_body = ClusterRequest,
    responses((status = 200, body = ClusterStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ClusterRequest>,
) -> Result<Json<ClusterStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let access = provisioner.may_act_on(&caller, &request.cluster).await?;
    let org = access.map(|a| a.org);
    let view = provisioner.view_of(&request.cluster, org.as_ref()).await?;
    // An organization's cluster that sleeps still answers, with its bounds and requests.
    if view.record.is_none() && view.stack.is_none() && org.is_none() {
        return Err(does_not_exist(&request.cluster).into());
    }
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::EVENTS,
    request_body = ClusterRequest,
    responses((status = 200, body = Vec<StackEvent>), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ClusterRequest>,
) -> Result<Json<Vec<StackEvent>>, ApiError> {
    let access = state
        .provisioner
        .may_act_on(&caller, &request.cluster)
        .await?;
    let provisioner = &state.provisioner;
    Ok(Json(match access {
        Some(_) => provisioner.organization_events(&request.cluster).await?,
        None => provisioner.events(&request.cluster).await?,
    }))
}

#[utoipa::path(
    post,
    path = paths::REPORT_CLUSTERS,
    responses((status = 200, body = std::collections::BTreeMap<String, ClusterSummary>), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn report_clusters(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ClusterReport>, ApiError> {
    Ok(Json(state.provisioner.report(&caller).await?))
}

#[utoipa::path(
    post,
    path = paths::REPORT_CLUSTER,
    params(("cluster" = String, Path, description = "The cluster's name")),
    responses((status = 200, body = std::collections::BTreeMap<String, ClusterSummary>), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn report_cluster(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster): Path<String>,
) -> Result<Json<ClusterReport>, ApiError> {
    let cluster = ClusterName::parse(&cluster)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    caller.may_use(&cluster)?;
    let view = state.provisioner.view(&cluster).await?;
    if view.record.is_none() && view.stack.is_none() {
        return Err(does_not_exist(&cluster).into());
    }
    Ok(Json(ClusterReport::from([(cluster, view.summary())])))
}

/// v5's owner report.
#[utoipa::path(
    post,
    path = paths::REPORT,
    responses((status = 200, body = ReportResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ReportResponse>, ApiError> {
    caller.must_be_owner("the report of every cluster")?;
    Ok(Json(ReportResponse::new(
        state.provisioner.report(&caller).await?,
    )))
}

#[utoipa::path(
    post,
    path = paths::AUDIT,
    request_body = AuditRequest,
    responses((status = 200, body = AuditPage), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<AuditRequest>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.must_be_owner("the audit log")?;
    Ok(Json(state.provisioner.audit_page(&request).await?))
}

/// `/deploy/<user>`: the caller's node group (see [`super::node_groups`]).
#[utoipa::path(
    post,
    path = paths::DEPLOY_NODES,
    params(("user" = String, Path, description = "The login whose node group this is (the caller's own)")),
    request_body = NodeGroupDeploy,
    responses((status = 200, body = NodeGroupStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn deploy_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    JsonBody(request): JsonBody<NodeGroupDeploy>,
) -> Result<Json<NodeGroupStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner
        .deploy_node_group(&caller, &user, &request)
        .await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::EXTEND_NODES,
    params(("user" = String, Path, description = "The login whose node group this is (the caller's own)")),
    request_body = NodeGroupExtend,
    responses((status = 200, body = NodeGroupStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn extend_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    JsonBody(request): JsonBody<NodeGroupExtend>,
) -> Result<Json<NodeGroupStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner
        .extend_node_group(&caller, &user, &request)
        .await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::STATUS_NODES,
    params(("user" = String, Path, description = "The login whose node group this is (the caller's own)")),
    request_body = NodeGroupRequest,
    responses((status = 200, body = NodeGroupStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn status_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    JsonBody(request): JsonBody<NodeGroupRequest>,
) -> Result<Json<NodeGroupStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner
        .node_group_status(&caller, &user, &request.cluster)
        .await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

#[utoipa::path(
    post,
    path = paths::EVENTS_NODES,
    params(("user" = String, Path, description = "The login whose node group this is (the caller's own)")),
    request_body = NodeGroupRequest,
    responses((status = 200, body = Vec<StackEvent>), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn events_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    JsonBody(request): JsonBody<NodeGroupRequest>,
) -> Result<Json<Vec<StackEvent>>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .node_group_events(&caller, &user, &request.cluster)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = paths::DESTROY_NODES,
    params(("user" = String, Path, description = "The login whose node group this is (the caller's own)")),
    request_body = NodeGroupRequest,
    responses((status = 200, body = NodeGroupStatus), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn destroy_nodes(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    JsonBody(request): JsonBody<NodeGroupRequest>,
) -> Result<Json<NodeGroupStatus>, ApiError> {
    let provisioner = &state.provisioner;
    let view = provisioner
        .destroy_node_group_for(&caller, &user, &request.cluster)
        .await?;
    Ok(Json(view.status(provisioner.clock.now())))
}

/// `/test` (owners): starts the test runner for a branch.
#[utoipa::path(
    post,
    path = paths::TEST,
    request_body = BranchRequest,
    responses((status = 200, body = TestRunStarted), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BranchRequest>,
) -> Result<Json<TestRunStarted>, ApiError> {
    Ok(Json(
        state.provisioner.start_test_run(&caller, &request).await?,
    ))
}

/// `/report/tests`: a branch's latest test summary, as the run wrote it.
#[utoipa::path(
    post,
    path = paths::REPORT_TESTS,
    request_body = BranchRequest,
    responses((status = 200, body = Object), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn report_tests(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(request): JsonBody<BranchRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.provisioner.test_summary(&request).await?))
}
