//! Cross-cutting request handling: timeouts, panics, and the guarantee that every error leaves
//! as the JSON envelope even when the framework (not our code) produced it.

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use sliderule_protocol::codes;

use super::error::{ApiError, envelope};

/// Framework error bodies are short plain text; anything longer is not one of them.
const MAX_REWRITTEN_BODY: usize = 4096;

/// Answers 503 `timeout` when a request takes longer than the configured time.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            axum::response::IntoResponse::into_response(ApiError::Unavailable {
                code: "timeout",
                description: format!(
                    "The request took longer than {} s and was stopped; please try again.",
                    limit.as_secs()
                ),
            })
        }
    }
}

/// Answers 413 before reading a body whose declared length is over the limit; and when a body
/// without a declared length (`Transfer-Encoding: chunked`) runs past the limit in an extractor,
/// answers that extractor's 413 with the limit named, like the first.
pub async fn refuse_large_bodies(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let version = request.version();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit as u64
    {
        return too_large(
            version,
            format!("The request body of {length} bytes is over the limit of {limit} bytes."),
        );
    }
    let response = next.run(request).await;
    // Extractors say "length limit exceeded" in plain text; an envelope is some handler's own.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json_or_html(&response) {
        return too_large(
            version,
            format!("The request body is over the limit of {limit} bytes."),
        );
    }
    response
}

/// The 413 envelope. The rest of the body stays unread, so the connection closes after it.
fn too_large(version: Version, description: String) -> Response {
    let mut response = envelope(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::PAYLOAD_TOO_LARGE,
        description,
    );
    close_connection(&mut response, version);
    response
}

/// Says `Connection: close` on an HTTP/1 response given without reading the whole request body.
///
/// hyper cannot reuse such a connection and closes it after the response, but it only says so
/// when it noticed the unread body before writing the head, which it usually has not: a
/// keep-alive client then sends its next request on a closed connection (Python's
/// `RemoteDisconnected`). HTTP/2 closes only the stream, and forbids the header.
pub fn close_connection(response: &mut Response, version: Version) {
    if version <= Version::HTTP_11 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Rewrites error responses that are not JSON (or HTML pages meant for people) into the
/// envelope: axum's extractor rejections, 405s, body-limit 413s. Keeps their status, and keeps
/// their text as the description for 4xx, where it tells the client what was wrong.
pub async fn envelope_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json_or_html(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match http_body_util::Limited::new(body, MAX_REWRITTEN_BODY)
        .collect()
        .await
    {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_string(),
        Err(_) => String::new(),
    };
    let (code, fallback) = describe(status);
    let description = if status.is_client_error() && !text.is_empty() {
        text
    } else {
        fallback.to_string()
    };
    let mut rewritten = envelope(status, code, description);
    // Keep headers such as Allow (405) and Retry-After (429), but not the old body's.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

fn is_json_or_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"))
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("invalid_request", "The request is not valid."),
        StatusCode::UNAUTHORIZED => ("invalid_token", "A valid bearer token is required."),
        StatusCode::FORBIDDEN => ("access_denied", "You are not allowed to do this."),
        StatusCode::NOT_FOUND => ("not_found", "There is nothing at this path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This path does not accept that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "The request body is not in a format this endpoint reads.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_request", "The request body is not valid."),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many requests; slow down."),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "The service is not able to answer right now; please try again.",
        ),
        s if s.is_server_error() => (
            "internal_error",
            "Something went wrong on our side. It has been logged; please try again.",
        ),
        _ => ("invalid_request", "The request was refused."),
    }
}

/// Turns a panic in a handler into a logged 500 envelope instead of a dropped connection.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side. It has been logged; please try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::{get, post};
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    async fn call(
        router: Router,
        request: Request,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, body)
    }

    fn get_request(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_request_is_stopped_with_a_503_envelope() {
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_secs(30),
                timeout,
            ));
        let (status, _, body) = call(router, get_request("/slow")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "timeout");
        assert!(body["error_description"].as_str().unwrap().contains("30 s"));
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_envelope() {
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    panic!("secret detail");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .layer(CatchPanicLayer::custom(panic_response));
        let (status, _, body) = call(router, get_request("/boom")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal_error");
        assert!(!body.to_string().contains("secret detail"));
    }

    #[tokio::test]
    async fn a_plain_text_client_error_becomes_an_envelope_keeping_its_text() {
        let router = Router::new()
            .route(
                "/bad",
                get(|| async { (StatusCode::BAD_REQUEST, "cluster is required") }),
            )
            .layer(axum::middleware::from_fn(envelope_errors));
        let (status, _, body) = call(router, get_request("/bad")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], "cluster is required");
    }

    #[tokio::test]
    async fn a_plain_text_server_error_becomes_an_envelope_without_its_text() {
        let router = Router::new()
            .route(
                "/bug",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "stack trace here") }),
            )
            .layer(axum::middleware::from_fn(envelope_errors));
        let (status, _, body) = call(router, get_request("/bug")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal_error");
        assert!(!body.to_string().contains("stack trace"));
    }

    #[tokio::test]
    async fn a_json_error_body_is_left_alone() {
        let router = Router::new()
            .route(
                "/json",
                get(|| async {
                    (
                        StatusCode::CONFLICT,
                        axum::Json(serde_json::json!({"error": "operation_in_progress", "error_description": "wait"})),
                    )
                }),
            )
            .layer(axum::middleware::from_fn(envelope_errors));
        let (status, _, body) = call(router, get_request("/json")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"], "operation_in_progress");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let router = Router::new()
            .route("/upload", post(|| async { "read" }))
            .layer(axum::middleware::from_fn_with_state(
                2048usize,
                refuse_large_bodies,
            ));
        let request = Request::builder()
            .method("POST")
            .uri("/upload")
            .header(header::CONTENT_LENGTH, "4096")
            .body(Body::from(vec![0u8; 4096]))
            .unwrap();
        let (status, _, body) = call(router, request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"], "payload_too_large");
    }
}
