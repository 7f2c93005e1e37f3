//! Serving the built web client (`dist/`) with a single-page-app fallback, and its runtime
//! `config.json` generated for this instance.
//!
//! A deep link such as `/clusters/bob` has no file: it gets `index.html` and the client's router
//! takes over. Requests the web client never makes that way (API hosts, non-GET methods, API
//! path prefixes, missing files with an extension) get a 404 envelope instead, so a typo in an
//! API path is not answered with HTML.

use std::path::PathBuf;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sliderule_protocol::WebConfig;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::error::ApiError;
use super::host::HostKind;
use crate::app::AppState;

/// Paths that belong to the APIs even on the single origin.
const API_PREFIXES: &[&str] = &[
    "/auth/github/",
    "/.well-known/",
    "/provisioner/",
    "/_github/",
];

#[derive(Clone)]
pub struct SpaFiles {
    dir: PathBuf,
    files: ServeDir,
}

impl SpaFiles {
    pub fn new(dir: PathBuf) -> Self {
        let files = ServeDir::new(&dir)
            .precompressed_gzip()
            .precompressed_br()
            .append_index_html_on_directories(false);
        Self { dir, files }
    }

    fn index(&self) -> PathBuf {
        self.dir.join("index.html")
    }
}

/// `GET /config.json`: where this deployment's services are, for the web client.
#[utoipa::path(
    get,
    path = sliderule_protocol::service::paths::CONFIG,
    responses((status = 200, description = "The web client's runtime configuration", body = sliderule_protocol::WebConfig)),
    tag = "service"
)]
pub async fn web_config(State(state): State<AppState>) -> Response {
    let urls = &state.urls;
    let body = WebConfig {
        authenticator_url: urls.authenticator.clone(),
        provisioner_url: urls.provisioner.clone(),
        client_id: state.config.web_client_id(),
        public_cluster: state.config.web.public_cluster.clone(),
        domain: urls.domain.clone(),
        owner_signatures: state.config.provisioner.require_owner_signatures,
        public_node_groups: state.config.provisioner.public_cluster.is_some(),
        self_signup: state.config.self_signup(),
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The router's fallback: a file from `dist/`, the app shell for client-side routes, or 404.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let on_web_host = matches!(
        request.extensions().get::<HostKind>(),
        None | Some(HostKind::Web)
    );
    let path = request.uri().path().to_owned();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    if !on_web_host || !readable || API_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return not_found(&path);
    }

    let spa = &state.spa;
    let response = match spa.files.clone().oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() != StatusCode::NOT_FOUND {
        return with_cache_policy(&path, response);
    }
    let last_segment = path.rsplit('/').next().unwrap_or("");
    if last_segment.contains('.') {
        return not_found(&path);
    }
    app_shell(spa).await
}

async fn app_shell(spa: &SpaFiles) -> Response {
    let index = spa.index();
    if !index.is_file() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(
                "<!doctype html><html lang=\"en\"><title>SlideRule: web client not built</title>\
                 <h1>The web client is not built</h1><p>The API is running, but there is no \
                 <code>index.html</code> in the web client directory. Build it with \
                 <code>trunk build --release</code>, or start the demo with \
                 <code>./scripts/demo.sh</code>, which builds it for you.</p></html>",
            ),
        )
            .into_response();
    }
    let request = Request::new(Body::empty());
    let response = match ServeFile::new(index).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    with_cache_policy("/index.html", response)
}

/// Trunk names built assets by content hash, so they never change; the shell must be revalidated
/// so a new deployment is picked up.
fn with_cache_policy(path: &str, mut response: Response) -> Response {
    if response.status().is_success() {
        let immutable = path != "/"
            && !path.ends_with(".html")
            && (path.ends_with(".wasm") || path.ends_with(".js") || path.ends_with(".css"));
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

fn not_found(path: &str) -> Response {
    ApiError::not_found(format!("There is nothing at {path}.")).into_response()
}
