//! CORS for the web client: which origins may call the endpoints it uses.
//!
//! The web client is static files that may be served from anywhere (a CDN, the bare domain, the
//! demo's single origin), so the services answer CORS for its own public URL and for every origin
//! in `web.allowed_origins`, and for nobody else.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::AppState;

/// The CORS layer of the endpoints the web client calls (token, refresh, revoke, register,
/// userinfo, and every provisioner endpoint).
pub fn web_client(state: &AppState) -> CorsLayer {
    let own = origin_of(&state.urls.web);
    let origins: Vec<HeaderValue> = own
        .into_iter()
        .chain(state.config.web.allowed_origins.iter().cloned())
        .filter_map(|origin| HeaderValue::from_str(&origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            // Owners' request signatures (provisioner.md, "Request signing").
            header::HeaderName::from_static(
                sliderule_protocol::provisioner::signing::TIMESTAMP_HEADER,
            ),
            header::HeaderName::from_static(
                sliderule_protocol::provisioner::signing::SIGNATURE_HEADER,
            ),
        ])
        .max_age(Duration::from_secs(300))
}

/// `scheme://host[:port]` of a URL, which is what browsers send as `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn an_origin_is_scheme_host_and_port_without_a_path() {
        assert_eq!(
            origin_of("https://sliderule.example/").as_deref(),
            Some("https://sliderule.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
