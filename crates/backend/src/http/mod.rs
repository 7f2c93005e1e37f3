//! The HTTP surface: one router for every route, and the middleware every request passes.
//!
//! Layers, from the outside in: host routing (before routing, see [`host`]), request id,
//! tracing span, panic catching, error envelope, body limit, timeout, request bodies read to their end
//! (see [`middleware::finish_request_bodies`]), metrics. The router is
//! the whole HTTP application: a server serves it, and so can any other transport.

pub mod bearer;
pub mod calls;
pub mod cors;
pub mod error;
pub mod health;
pub mod host;
pub mod json_body;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod rate_limit;
pub mod signatures;
pub mod spa;
pub mod v2_error;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::get;
use tower::util::MapRequestLayer;
use tower::{Layer, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use sliderule_protocol::service::paths as service;

use crate::app::AppState;

pub use error::ApiError;

/// Builds the router with all routes and middleware, host routing included.
pub fn router(state: AppState) -> Router {
    let routing = state.host_routing.clone();
    let routes = routes(state);
    // A request for `provisioner.DOMAIN/deploy` must be rewritten before the routes see it, so
    // the routes sit behind a service that rewrites first.
    let by_host = MapRequestLayer::new(move |request: Request| {
        host::route_by_host(routing.as_ref(), request)
    })
    .layer(routes);
    Router::new().fallback_service(by_host)
}

/// Every route and its middleware, for requests already routed by host.
fn routes(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    let body_limit = state.config.server.body_limit_bytes;

    let mut router = Router::new();
    if let Some(emulator) = &state.emulator {
        router = router.nest_service(crate::demo::GITHUB_MOUNT, emulator.router());
    }
    router
        .route(service::HEALTH, get(health::health))
        .route(service::READY, get(health::ready))
        .route(service::METRICS, get(metrics::handler))
        .route(service::CONFIG, get(spa::web_config))
        .route(service::OPENAPI, get(openapi::openapi_json))
        .merge(crate::authenticator::routes(&state))
        .merge(crate::provisioner::routes(&state))
        .merge(crate::ps::routes(&state))
        .fallback(spa::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(axum::middleware::from_fn(middleware::envelope_errors))
                .layer(axum::middleware::from_fn_with_state(
                    body_limit,
                    middleware::refuse_large_bodies,
                ))
                // Bodies without a Content-Length are cut off by the extractors at the same limit.
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(axum::middleware::from_fn_with_state(
                    timeout,
                    middleware::timeout,
                ))
                .layer(axum::middleware::from_fn(middleware::finish_request_bodies)),
        )
        .with_state(state)
}

/// The span of a request: method, path (never the query, which may hold codes or tokens) and
/// request id.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}
