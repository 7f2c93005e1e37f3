//! Liveness (`GET /health`) and readiness (`GET /ready`).
//!
//! `/health` says the process answers. `/ready` says it can do its job: each dependency (the
//! store, the signing key) reports a check, and any failing check makes it 503 so a load
//! balancer stops sending traffic.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sliderule_protocol::service::{Check, Health, Readiness, paths};

use crate::app::AppState;

#[utoipa::path(
    get,
    path = paths::HEALTH,
    responses((status = 200, description = "The process answers", body = Health)),
    tag = "service"
)]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[utoipa::path(
    get,
    path = paths::READY,
    responses(
        (status = 200, description = "Every check passes", body = Readiness),
        (status = 503, description = "A check fails", body = Readiness),
    ),
    tag = "service"
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checks = vec![
        store_check(&state).await,
        signing_key_check(&state),
        web_client_check(&state),
    ];
    let ok = checks.iter().all(|c| c.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "not_ready" }.into(),
        checks,
    };
    (status, Json(body))
}

/// The store answers a trivial query.
async fn store_check(state: &AppState) -> Check {
    let result = state.store.ping().await;
    Check {
        name: "store".into(),
        ok: result.is_ok(),
        detail: result.err().map(|e| e.to_string()),
    }
}

/// A token can be signed with the current key and verified against what we publish. A failed
/// keyring reload is reported but not fatal: the keys loaded before still sign and verify. A KMS
/// key is not asked to sign (a KMS call per probe): its public key was read at start.
fn signing_key_check(state: &AppState) -> Check {
    let keys = state.keys.current();
    let signed = if keys.signing().is_remote() {
        Ok(String::new())
    } else {
        keys.signing().sign(&serde_json::json!({ "probe": true }))
    };
    let published = keys.find(keys.signing().kid()).is_some();
    let ok = signed.is_ok() && published;
    let detail = if ok {
        state
            .keys
            .last_reload_error()
            .map(|e| format!("serving the keys loaded before: the last keyring reload failed: {e}"))
    } else {
        Some("the signing key cannot sign or is not published".to_owned())
    };
    Check {
        name: "signing_key".into(),
        ok,
        detail,
    }
}

/// The web client is optional (a CDN may host it), so a missing `dist/` is reported, not fatal.
fn web_client_check(state: &AppState) -> Check {
    let present = state.config.web.dist_dir.join("index.html").is_file();
    Check {
        name: "web_client".into(),
        ok: true,
        detail: (!present).then(|| "not built; the API still serves".to_owned()),
    }
}
