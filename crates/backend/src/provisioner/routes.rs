//! The provisioner's routes, under `/provisioner` (where `provisioner.<domain>` is rewritten to,
//! see `http::host`), and a simulated cluster's own `/discovery/status` and `/source/version`
//! in demo mode.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::node_groups::PUBLIC_CLUSTER_ALIAS;
use sliderule_protocol::provisioner::{
    DiscoveryStatus, DiscoveryStatusRequest, ServerVersion, SourceVersion, paths,
};

use sliderule_protocol::organizations::paths as orgs;

use super::{handlers, organization_handlers as org};
use crate::app::AppState;
use crate::config::CloudDriver;
use crate::http::cors;
use crate::http::error::ApiError;

/// The provisioner's part of `/openapi.json` (see `http::openapi`), next to its routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        handlers::info,
        handlers::deploy,
        handlers::extend,
        handlers::destroy,
        handlers::status,
        handlers::events,
        handlers::report_clusters,
        handlers::report_cluster,
        handlers::report,
        handlers::audit,
        handlers::deploy_nodes,
        handlers::extend_nodes,
        handlers::status_nodes,
        handlers::events_nodes,
        handlers::destroy_nodes,
        handlers::test,
        handlers::report_tests,
        handlers::budget,
        handlers::budget_adjust,
        handlers::budget_settings,
        handlers::outbox,
        org::list,
        org::show,
        org::create,
        org::configure,
        org::request_membership,
        org::list_memberships,
        org::approve,
        org::deny,
        org::deactivate,
    ),
    tags((name = "provisioner", description = "Clusters, node groups, budgets, organizations"))
)]
pub struct ProvisionerApi;

/// Where the provisioner lives on the single origin.
pub const MOUNT: &str = "/provisioner";

pub fn routes(state: &AppState) -> Router<AppState> {
    let api = Router::new()
        .route(paths::INFO, post(handlers::info))
        .route(paths::DEPLOY, post(handlers::deploy))
        .route(paths::EXTEND, post(handlers::extend))
        .route(paths::DESTROY, post(handlers::destroy))
        .route(paths::STATUS, post(handlers::status))
        .route(paths::EVENTS, post(handlers::events))
        .route(paths::REPORT_CLUSTERS, post(handlers::report_clusters))
        // Per-user node groups: `/<action>/<user>` (the 5.x client's `user_service=True`).
        .route(paths::DEPLOY_NODES, post(handlers::deploy_nodes))
        .route(paths::EXTEND_NODES, post(handlers::extend_nodes))
        .route(paths::STATUS_NODES, post(handlers::status_nodes))
        .route(paths::EVENTS_NODES, post(handlers::events_nodes))
        .route(paths::DESTROY_NODES, post(handlers::destroy_nodes))
        .route(paths::REPORT_CLUSTER, post(handlers::report_cluster))
        .route(paths::REPORT, post(handlers::report))
        .route(paths::TEST, post(handlers::test))
        .route(paths::REPORT_TESTS, post(handlers::report_tests))
        .route(paths::AUDIT, post(handlers::audit))
        .route(paths::BUDGET, post(handlers::budget))
        .route(paths::BUDGET_ADJUST, post(handlers::budget_adjust))
        .route(paths::BUDGET_SETTINGS, post(handlers::budget_settings))
        .route(paths::OUTBOX, post(handlers::outbox))
        .route(orgs::ORGANIZATIONS, post(org::list))
        .route(orgs::ORGANIZATION, post(org::show))
        .route(orgs::CREATE, post(org::create))
        .route(orgs::CONFIGURE, post(org::configure))
        .route(orgs::MEMBERSHIP_REQUEST, post(org::request_membership))
        .route(orgs::MEMBERSHIP_LIST, post(org::list_memberships))
        .route(orgs::MEMBERSHIP_APPROVE, post(org::approve))
        .route(orgs::MEMBERSHIP_DENY, post(org::deny))
        .route(orgs::MEMBERSHIP_DEACTIVATE, post(org::deactivate))
        // Signatures are checked on matched routes only, after CORS answered preflights.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::signatures::check,
        ))
        // The web client calls every endpoint from its own origin.
        .layer(cors::web_client(state));
    let mut router = Router::new().nest(MOUNT, api);
    if state.config.cloud() == CloudDriver::Simulated {
        router = router
            .route(
                "/clusters/{cluster}/discovery/status",
                get(discovery_status).post(discovery_status),
            )
            .route(
                "/clusters/{cluster}/source/version",
                get(source_version).post(source_version),
            );
    }
    router
}

/// A simulated cluster's `/discovery/status`: `{"nodes": N}`, as SlideRule clusters answer, so
/// clients that wait for nodes work against the demo.
///
/// `{"service": "<user>"}` (what the 5.x client sends with `user_service=True`) counts that
/// person's node group; any other service (the cluster's own name, `sliderule`) the cluster's
/// nodes. The host `sliderule.<domain>` is the public cluster (`provisioner.public_cluster`).
async fn discovery_status(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<DiscoveryStatus>, ApiError> {
    let cluster = simulated_cluster(&state, &cluster)?;
    let service = serde_json::from_slice::<DiscoveryStatusRequest>(&body)
        .ok()
        .map(|request| request.service.to_ascii_lowercase())
        .filter(|service| service != cluster.as_str() && service != PUBLIC_CLUSTER_ALIAS);
    let cloud = &state.provisioner.cloud;
    let nodes = match service {
        Some(user) => cloud.node_group_nodes(&cluster, &user).await?,
        None => cloud.current_nodes(&cluster).await?,
    };
    Ok(Json(DiscoveryStatus { nodes }))
}

/// The simulated cluster a cluster host names: `sliderule` is the public cluster.
fn simulated_cluster(state: &AppState, host: &str) -> Result<ClusterName, ApiError> {
    if host == PUBLIC_CLUSTER_ALIAS
        && let Some(public) = &state.provisioner.node_group_public_cluster
    {
        return Ok(public.clone());
    }
    ClusterName::parse(host).map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

/// The newest release the demo knows: what a simulated cluster deployed with `latest` reports.
pub const NEWEST_KNOWN_RELEASE: &str = "v5.7.0";

/// A simulated cluster's `/source/version`: the release it was deployed with, so the official
/// clients' version checks pass against the demo (`latest` reads as [`NEWEST_KNOWN_RELEASE`]).
/// 503 while it is not running, as a real cluster's address would not answer.
async fn source_version(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
) -> Result<Json<SourceVersion>, ApiError> {
    let cluster = simulated_cluster(&state, &cluster)?;
    let stack = state
        .provisioner
        .cloud
        .describe_stack(&cluster)
        .await?
        .filter(|s| s.status().state() == sliderule_protocol::provisioner::ClusterState::Running)
        .ok_or_else(|| ApiError::Unavailable {
            code: sliderule_protocol::codes::TEMPORARILY_UNAVAILABLE,
            description: format!("cluster {cluster} is not running"),
        })?;
    let version = stack
        .version
        .map(|v| v.as_str().to_owned())
        .filter(|v| v != sliderule_protocol::version::LATEST)
        .unwrap_or_else(|| NEWEST_KNOWN_RELEASE.to_owned());
    Ok(Json(SourceVersion {
        server: ServerVersion {
            version,
            build: "simulated".into(),
        },
    }))
}
