//! Response building shared by every endpoint: the emulator's own base URL (it may be mounted
//! under a prefix such as `/_github`), GitHub's JSON error bodies and headers, HTML and redirects.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Emulator;

pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// Where GitHub points for generic REST errors such as bad credentials.
pub(crate) const REST_DOCS: &str = "https://docs.github.com/rest";

/// The URL this emulator is reachable at, without a trailing slash: a configured public URL, or
/// the request's scheme, host and mount prefix.
#[derive(Debug, Clone)]
pub(crate) struct Base(pub String);

impl FromRequestParts<Emulator> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        emulator: &Emulator,
    ) -> Result<Self, Self::Rejection> {
        if let Some(url) = emulator.public_url() {
            return Ok(Base(url));
        }
        Ok(Base(base_from_request(parts)))
    }
}

fn base_from_request(parts: &Parts) -> String {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or(v).trim().to_owned())
            .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '"', '<', '>']))
    };
    let scheme = match header("x-forwarded-proto").as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    let host = header("x-forwarded-host")
        .or_else(|| header(HOST.as_str()))
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_owned());
    // When nested (`Router::nest("/_github", …)`) the handler sees the path without the prefix;
    // the original URI still has it, and the difference is the mount point.
    let prefix = parts
        .extensions
        .get::<OriginalUri>()
        .and_then(|original| {
            original
                .path()
                .strip_suffix(parts.uri.path())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    format!("{scheme}://{host}{}", prefix.trim_end_matches('/'))
}

/// GitHub's primary rate-limit headers for one answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset: u64,
}

impl RateHeaders {
    fn apply(self, headers: &mut HeaderMap) {
        let mut set = |name: &'static str, value: u64| {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        };
        set("x-ratelimit-limit", self.limit);
        set("x-ratelimit-remaining", self.remaining);
        set("x-ratelimit-reset", self.reset);
        set(
            "x-ratelimit-used",
            self.limit.saturating_sub(self.remaining),
        );
        headers.insert(
            HeaderName::from_static("x-ratelimit-resource"),
            HeaderValue::from_static("core"),
        );
    }
}

/// A REST API answer: JSON with GitHub's content type, media-type and rate-limit headers.
pub(crate) fn api_json(
    status: StatusCode,
    body: &serde_json::Value,
    rate: RateHeaders,
) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(
        HeaderName::from_static("x-github-media-type"),
        HeaderValue::from_static("github.v3; format=json"),
    );
    rate.apply(headers);
    response
}

/// A REST API error in GitHub's shape: `{"message","documentation_url","status"}` (status is a
/// string in GitHub's bodies).
pub(crate) fn api_error(
    status: StatusCode,
    message: &str,
    documentation_url: &str,
    rate: RateHeaders,
) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.as_u16().to_string(),
    });
    api_json(status, &body, rate)
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    // Pages carry one-time choices; a cached copy would replay them.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// GitHub answers its OAuth redirects with 302 Found.
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(LOCATION, value)]).into_response(),
        // Only reachable with a redirect URI that `url` accepted but HTTP cannot carry.
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "redirect_uri cannot be used in a Location header",
        )
            .into_response(),
    }
}

/// Whether the caller asked for JSON (GitHub's OAuth endpoints answer form-encoded otherwise).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"))
}

/// A value in an OAuth endpoint's answer.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    Str(String),
    Num(u64),
}

impl From<&str> for Field {
    fn from(value: &str) -> Self {
        Field::Str(value.to_owned())
    }
}

impl From<String> for Field {
    fn from(value: String) -> Self {
        Field::Str(value)
    }
}

impl From<u64> for Field {
    fn from(value: u64) -> Self {
        Field::Num(value)
    }
}

/// An answer of `github.com/login/…`: always HTTP 200 (errors included, as GitHub does), JSON if
/// asked for, else form-encoded. Fields keep their order in both encodings.
pub(crate) fn oauth_answer(json: bool, fields: Vec<(&'static str, Field)>) -> Response {
    let (content_type, body) = if json {
        let members: Vec<String> = fields
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Field::Str(s) => serde_json::Value::from(s.as_str()),
                    Field::Num(n) => serde_json::Value::from(*n),
                };
                format!("{}:{}", serde_json::Value::from(*key), value)
            })
            .collect();
        (JSON, format!("{{{}}}", members.join(",")))
    } else {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &fields {
            match value {
                Field::Str(s) => form.append_pair(key, s),
                Field::Num(n) => form.append_pair(key, &n.to_string()),
            };
        }
        (FORM, form.finish())
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth error answer with GitHub's `error`, `error_description` and `error_uri`.
pub(crate) fn oauth_error(
    json: bool,
    error: &'static str,
    description: &str,
    uri: &str,
) -> Response {
    oauth_answer(
        json,
        vec![
            ("error", error.into()),
            ("error_description", description.into()),
            ("error_uri", uri.into()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(uri: &str, original: &str, host: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri(uri);
        if let Some(host) = host {
            builder = builder.header(HOST, host);
        }
        let (mut parts, ()) = builder.body(()).expect("request").into_parts();
        parts
            .extensions
            .insert(OriginalUri(original.parse().expect("uri")));
        parts
    }

    #[test]
    fn the_base_is_the_host_at_the_root() {
        let parts = parts("/login/device", "/login/device", Some("127.0.0.1:9"));
        assert_eq!(base_from_request(&parts), "http://127.0.0.1:9");
    }

    #[test]
    fn the_base_keeps_the_mount_prefix() {
        let parts = parts(
            "/login/device",
            "/_github/login/device",
            Some("127.0.0.1:9"),
        );
        assert_eq!(base_from_request(&parts), "http://127.0.0.1:9/_github");
    }

    #[tokio::test]
    async fn form_answers_keep_field_order_and_encode_values() {
        let fields = vec![
            ("access_token", Field::from("gho_x")),
            ("scope", "read:org".into()),
        ];
        let response = oauth_answer(false, fields);
        assert_eq!(response.headers()[CONTENT_TYPE], FORM);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], b"access_token=gho_x&scope=read%3Aorg");
    }

    #[tokio::test]
    async fn json_answers_keep_field_order() {
        let fields = vec![("device_code", Field::from("d")), ("interval", 5.into())];
        let body = axum::body::to_bytes(oauth_answer(true, fields).into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], br#"{"device_code":"d","interval":5}"#);
    }
}
