//! Cross-cutting request handling: timeouts, panics, and the guarantee that every error leaves
//! as the JSON envelope even when the framework (not our code) produced it.

use std::any::Any;
use std::sync::{Arc, Mutex};
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

/// Makes sure a request's body is read to its end, or the client is told the connection ends.
///
/// A handler that answers without reading the body (the official client POSTs `{}` to
/// `/report/clusters`; a refusal answers before the body is parsed; a rate limit before it is
/// read) leaves it on the connection, and hyper then closes that connection after the answer
/// without saying so when the rest has not arrived yet: a keep-alive client that writes headers
/// and body separately (Python's `requests`) sends its next request on it and gets no answer at
/// all ("Remote end closed connection without response"), the more often the busier the
/// machine. So the body the handler sees is a window on the request's own: what the handler
/// left unread is read and discarded after it answers (a little of it, briefly, as a client
/// writing its body after its headers sends it at once), and when that is not all of it the
/// answer says `Connection: close` instead.
pub async fn finish_request_bodies(request: Request, next: Next) -> Response {
    let version = request.version();
    let (parts, body) = request.into_parts();
    let slot = Arc::new(Mutex::new(Some(body)));
    let window = Body::new(Window(slot.clone()));
    let mut response = next.run(Request::from_parts(parts, window)).await;
    let rest = slot.lock().map(|mut body| body.take()).unwrap_or(None);
    if let Some(rest) = rest
        && !drain(rest).await
    {
        close_connection(&mut response, version);
    }
    response
}

/// A handler's view of the request body, which leaves the body itself to
/// [`finish_request_bodies`] when dropped.
struct Window(Arc<Mutex<Option<Body>>>);

impl axum::body::HttpBody for Window {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        match self.0.lock() {
            Ok(mut slot) => match slot.as_mut() {
                Some(body) => std::pin::Pin::new(body).poll_frame(cx),
                None => std::task::Poll::Ready(None),
            },
            Err(_) => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .map(|slot| slot.as_ref().is_none_or(|body| body.is_end_stream()))
            .unwrap_or(true)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|body| body.size_hint()))
            .unwrap_or_default()
    }
}

/// What is left of a body after the answer: a sign-in token, a code, a short form, `{}`.
const DRAIN_LIMIT: usize = 16 * 1024;
/// A client that writes its body after its headers sends it at once.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// Reads and discards what is left of a body; says whether all of it was read. A body that is
/// larger, or slower than [`DRAIN_WAIT`], is not worth waiting for.
async fn drain(body: Body) -> bool {
    use axum::body::HttpBody;

    if body.is_end_stream() {
        return true;
    }
    let read = http_body_util::Limited::new(body, DRAIN_LIMIT).collect();
    matches!(tokio::time::timeout(DRAIN_WAIT, read).await, Ok(Ok(_)))
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

    /// A body of `{}` that records when it has been read to its end.
    fn recorded_body(finished: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Body {
        let chunks = futures::stream::unfold(0, move |sent| {
            let finished = finished.clone();
            async move {
                match sent {
                    0 => Some((Ok::<_, std::convert::Infallible>("{}"), 1)),
                    _ => {
                        finished.store(true, std::sync::atomic::Ordering::SeqCst);
                        None
                    }
                }
            }
        });
        Body::from_stream(chunks)
    }

    async fn post_recorded(router: Router) -> (bool, axum::http::HeaderMap) {
        use std::sync::atomic::{AtomicBool, Ordering};

        let finished = Arc::new(AtomicBool::new(false));
        let request = Request::post("/report")
            .body(recorded_body(finished.clone()))
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        (finished.load(Ordering::SeqCst), response.headers().clone())
    }

    #[tokio::test]
    async fn a_body_the_handler_ignores_is_read_to_its_end_after_it_answers() {
        let handler = || Router::new().route("/report", post(|| async { "report" }));
        // Without the layer the body stays unread, as hyper would find it.
        assert!(!post_recorded(handler()).await.0);
        let (finished, headers) =
            post_recorded(handler().layer(axum::middleware::from_fn(finish_request_bodies))).await;
        assert!(finished);
        assert_eq!(headers.get(header::CONNECTION), None);
    }

    #[tokio::test]
    async fn a_body_the_handler_reads_is_passed_whole() {
        let router = Router::new()
            .route("/echo", post(|body: String| async move { body }))
            .layer(axum::middleware::from_fn(finish_request_bodies));
        let request = Request::post("/echo")
            .body(Body::from("{\"cluster\":\"icesat2\"}"))
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.headers().get(header::CONNECTION), None);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"{\"cluster\":\"icesat2\"}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_come_is_given_up_on_and_the_connection_closed() {
        let router = Router::new()
            .route("/report", post(|| async { "report" }))
            .layer(axum::middleware::from_fn(finish_request_bodies));
        // A body that never ends, as from a client waiting for the answer before sending it.
        let request = Request::post("/report")
            .version(Version::HTTP_11)
            .body(Body::from_stream(futures::stream::pending::<
                Result<&'static str, std::convert::Infallible>,
            >()))
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONNECTION], "close");
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
