//! AWS Lambda: the same application under the Lambda runtime, in two handlers of one binary.
//!
//! - `http`: API Gateway HTTP API (payload 2.0) events, through `lambda_http`, into the very
//!   router a server serves ([`crate::http::router`], host routing included, so the
//!   `login.`, `provisioner.` and `ps.` custom domains of one API reach the right routes). The
//!   caller's address comes from the event's `requestContext.http.sourceIp`, for the per-IP
//!   limits that a server takes from the socket.
//! - `schedule`: any event (EventBridge Scheduler sends its own JSON) runs every one-shot job
//!   once ([`crate::jobs::all`]) and answers what they did.
//!
//! The application is built once per execution environment (at cold start) and reused by every
//! invocation it serves; nothing runs between invocations, which is why the schedule exists.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::RequestContext;
use lambda_http::{Error, RequestExt, service_fn};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::AppState;

/// Which events this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Handler {
    /// API Gateway HTTP API requests.
    Http,
    /// Scheduled events: every periodic job once.
    Schedule,
}

/// Polls the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) for events until the environment
/// is shut down.
pub async fn run(state: AppState, handler: Handler) -> Result<(), Error> {
    match handler {
        Handler::Http => {
            let router = crate::http::router(state);
            lambda_http::run(service_fn(move |request: lambda_http::Request| {
                let router = router.clone();
                async move {
                    let request = into_axum(request);
                    // The router answers every request (errors are responses).
                    let response = router.oneshot(request).await?;
                    Ok::<_, Error>(response)
                }
            }))
            .await
        }
        Handler::Schedule => {
            lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
                let state = state.clone();
                async move { Ok::<_, Error>(scheduled(&state).await) }
            }))
            .await
        }
    }
}

/// A request as the router takes it: the body as bytes, and the caller's address.
fn into_axum(request: lambda_http::Request) -> axum::extract::Request {
    let source = source_ip(&request);
    let (mut parts, body) = request.into_parts();
    if let Some(ip) = source {
        parts.extensions.insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    axum::extract::Request::from_parts(parts, axum::body::Body::from(body.to_vec()))
}

fn source_ip(request: &lambda_http::Request) -> Option<IpAddr> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// Every job once; what they did, as the invocation's answer (and in the log).
async fn scheduled(state: &AppState) -> Value {
    let report = crate::jobs::all(state).await;
    let answer = match &report.reaped {
        Some(reaped) => json!({
            "destroyed": reaped.sweep.destroyed,
            "failed": reaped.sweep.failed,
            "gone": reaped.sweep.gone.iter().map(|(cluster, _)| cluster).collect::<Vec<_>>(),
            "destroys_pending": reaped.destroys_pending,
            "purged": report.purged,
            "keys_reloaded": report.keys_reloaded,
        }),
        None => json!({
            "error": "the clusters that are due could not be read; the next run tries again",
            "purged": report.purged,
            "keys_reloaded": report.keys_reloaded,
        }),
    };
    tracing::info!(report = %answer, "scheduled jobs ran");
    answer
}
