//! Prometheus metrics at `GET /metrics`: request counts and latencies by route and status, the
//! reaper's and the budgets' work, and the calls made to GitHub and the cloud (`calls`).
//!
//! Each application owns its registry (no process-global recorder), so tests that start several
//! apps in one process see only their own figures. Routes are labelled by their template
//! (`/clusters/{name}`), never by the raw path, to keep the label set bounded.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use sliderule_protocol::provisioner::ClusterState;

use crate::app::AppState;
use crate::budgets::BudgetCounters;
use crate::http::calls::CallMetrics;
use crate::notifications::MailCounters;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    reaper_sweeps: Counter,
    reaper_destroyed: Counter,
    reaper_failures: Counter,
    open_clusters: Gauge,
    destroys_pending: Gauge,
    destroy_retries: Counter,
    destroy_seconds: Histogram,
    clusters: Family<StateLabels, Gauge>,
    /// Counted by the budget rules.
    pub budgets: BudgetCounters,
    /// Notifications written and delivered.
    pub notifications: MailCounters,
    /// Calls to GitHub (or the demo's emulator).
    pub github_calls: CallMetrics,
    /// Calls to the cloud driver.
    pub cloud_calls: CallMetrics,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("sliderule");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            durations.clone(),
        );
        let reaper_sweeps = Counter::default();
        registry.register(
            "reaper_sweeps",
            "Sweeps of the reaper",
            reaper_sweeps.clone(),
        );
        let reaper_destroyed = Counter::default();
        registry.register(
            "reaper_destroyed",
            "Clusters the reaper destroyed at their deadline",
            reaper_destroyed.clone(),
        );
        let reaper_failures = Counter::default();
        registry.register(
            "reaper_failures",
            "Destroys by the reaper that failed (retried later)",
            reaper_failures.clone(),
        );
        let open_clusters = Gauge::default();
        registry.register(
            "open_clusters",
            "Clusters recorded as deploying or live, as of the last sweep",
            open_clusters.clone(),
        );
        let destroys_pending = Gauge::default();
        registry.register(
            "destroys_pending",
            "Clusters whose destroy was asked and whose stack is not gone yet, as of the last sweep",
            destroys_pending.clone(),
        );
        let destroy_retries = Counter::default();
        registry.register(
            "destroy_retries",
            "Deletes of a stack that failed and are tried again after a back-off",
            destroy_retries.clone(),
        );
        // 1 s .. ~9 h: a delete takes minutes, one waiting for an update or retrying longer.
        let destroy_seconds = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        registry.register(
            "destroy_duration_seconds",
            "Time from a destroy being asked (by a person or a deadline) to its stack being gone",
            destroy_seconds.clone(),
        );
        let budgets = BudgetCounters::default();
        for (name, help, counter) in [
            (
                "budget_charges",
                "Charges written to a budget's ledger",
                &budgets.charges,
            ),
            (
                "budget_refusals",
                "Deploys and extends refused for insufficient funds",
                &budgets.refusals,
            ),
            (
                "budget_exhaustion_destroys",
                "Clusters destroyed because their budget ran out",
                &budgets.exhaustion_destroys,
            ),
            (
                "budget_reconciliations",
                "Cost Explorer figures written as reconcile entries",
                &budgets.reconciliations,
            ),
            (
                "budget_reconciliation_failures",
                "Cost Explorer queries that failed (tried again next time)",
                &budgets.reconciliation_failures,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        let notifications = MailCounters::default();
        for (name, help, counter) in [
            (
                "notifications",
                "Notifications written to the outbox",
                &notifications.written,
            ),
            (
                "notification_deliveries",
                "Notifications the mail service accepted",
                &notifications.delivered,
            ),
            (
                "notification_failures",
                "Notifications the mail service refused or could not take, or that found the queue full",
                &notifications.failures,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        let clusters = Family::<StateLabels, Gauge>::default();
        registry.register(
            "clusters",
            "Stacks of this deployment by state, as of the last reconciliation",
            clusters.clone(),
        );
        let github_calls = CallMetrics::register(&mut registry, "github", "GitHub");
        let cloud_calls = CallMetrics::register(&mut registry, "cloud", "the cloud driver");
        Arc::new(Self {
            registry,
            budgets,
            notifications,
            github_calls,
            cloud_calls,
            requests,
            durations,
            reaper_sweeps,
            reaper_destroyed,
            reaper_failures,
            open_clusters,
            destroys_pending,
            destroy_retries,
            destroy_seconds,
            clusters,
        })
    }

    /// Records one sweep of the reaper, and how many clusters are open after it.
    pub fn record_sweep(
        &self,
        sweep: &crate::provisioner::reaper::Sweep,
        open: Option<usize>,
        pending: usize,
    ) {
        self.reaper_sweeps.inc();
        self.reaper_destroyed.inc_by(sweep.destroyed.len() as u64);
        self.reaper_failures.inc_by(sweep.failed.len() as u64);
        self.destroy_retries.inc_by(sweep.retries as u64);
        for (_, took) in &sweep.gone {
            self.destroy_seconds.observe(took.as_secs_f64());
        }
        if let Some(open) = open {
            self.open_clusters
                .set(i64::try_from(open).unwrap_or(i64::MAX));
        }
        self.destroys_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Sets the clusters-by-state gauge from the states of every stack (zero for the others).
    pub fn record_cluster_states(&self, states: &[ClusterState]) {
        for state in [
            ClusterState::Deploying,
            ClusterState::Running,
            ClusterState::Updating,
            ClusterState::Destroying,
            ClusterState::Failed,
        ] {
            let count = states.iter().filter(|s| **s == state).count();
            self.clusters
                .get_or_create(&StateLabels {
                    state: state_label(state),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

fn state_label(state: ClusterState) -> &'static str {
    match state {
        ClusterState::NotFound => "not_found",
        ClusterState::Deploying => "deploying",
        ClusterState::Running => "running",
        ClusterState::Updating => "updating",
        ClusterState::Destroying => "destroying",
        ClusterState::Failed => "failed",
    }
}

/// Middleware recording every request, matched or not.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .durations
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

#[utoipa::path(
    get,
    path = sliderule_protocol::service::paths::METRICS,
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", body = String, content_type = "application/openmetrics-text")),
    tag = "service"
)]
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
}
