//! Requests written byte by byte on a TCP connection, as an HTTP library would never write them:
//! bodies without a declared length, headers and body in separate writes, malformed heads. The
//! answers are read off the socket, so what the server says about the connection shows too.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sliderule_protocol::codes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, TestConfig};

/// Every read of a test waits at most this long: a server that never answers fails the test.
const PATIENCE: Duration = Duration::from_secs(10);

/// One HTTP/1.1 response as it came off the socket.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it closes the connection after this response.
    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The error envelope: (code, description), after checking it is JSON.
    fn envelope(&self) -> (String, String) {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "status {}, headers {:?}",
            self.status,
            self.headers
        );
        let body: Value = serde_json::from_slice(&self.body).expect("a JSON body");
        (
            body["error"].as_str().expect("error").to_owned(),
            body["error_description"]
                .as_str()
                .expect("error_description")
                .to_owned(),
        )
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    let address = app
        .address
        .strip_prefix("http://")
        .expect("a plain HTTP test app");
    TcpStream::connect(address).await.expect("connects")
}

/// Reads one response (with a `Content-Length`), or `None` if the server closed the connection
/// before sending anything.
async fn read_response(reader: &mut BufReader<impl AsyncRead + Unpin>) -> Option<RawResponse> {
    tokio::time::timeout(PATIENCE, async {
        let mut status_line = String::new();
        match reader.read_line(&mut status_line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("a header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("name: value");
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        let length: usize = response
            .header("content-length")
            .expect("a content-length")
            .parse()
            .expect("a number");
        response.body = vec![0; length];
        reader
            .read_exact(&mut response.body)
            .await
            .expect("the whole body");
        Some(response)
    })
    .await
    .expect("the server answers in time")
}

/// Writes `request` on a new connection and reads the answer.
async fn exchange(app: &TestApp, request: &[u8]) -> RawResponse {
    let mut stream = connect(app).await;
    stream.write_all(request).await.expect("request written");
    read_response(&mut BufReader::new(stream))
        .await
        .expect("an answer")
}

async fn bob_token(app: &TestApp) -> String {
    let response = app
        .client
        .post(app.url("/auth/github/pat"))
        .json(&json!({ "pat": "demo-pat-bob" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_naming_the_limit() {
    let app = TestApp::spawn().await;
    let token = bob_token(&app).await;
    let (read, mut write) = connect(&app).await.into_split();
    let head = format!(
        "POST /provisioner/deploy HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    // 1 MiB in 16 KiB chunks; the server stops reading at the limit, so later writes may fail.
    let writer = tokio::spawn(async move {
        let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
        for _ in 0..64 {
            if write.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
    });
    let response = read_response(&mut BufReader::new(read))
        .await
        .expect("an answer");
    writer.abort();
    assert_eq!(response.status, 413);
    let (error, description) = response.envelope();
    assert_eq!(error, codes::PAYLOAD_TOO_LARGE);
    assert!(description.contains("65536"), "{description}");
    assert!(response.closes(), "the unread rest ends the connection");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_says_the_connection_closes() {
    let app = TestApp::spawn().await;
    let response = exchange(
        &app,
        b"POST /provisioner/status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n",
    )
    .await;
    assert_eq!(response.status, 413);
    assert_eq!(response.envelope().0, codes::PAYLOAD_TOO_LARGE);
    assert!(response.closes(), "the body is never read");
}

/// An app allowing one sign-in at once from an address, and a connection whose first sign-in
/// has spent it.
async fn spent_rate_limit() -> (TestApp, BufReader<TcpStream>) {
    let app = TestApp::spawn_with(TestConfig {
        values: vec![
            ("authenticator.rate_limit_burst", toml::Value::Integer(1)),
            ("authenticator.rate_limit_per_sec", toml::Value::Integer(1)),
        ],
        ..Default::default()
    })
    .await;
    let mut connection = BufReader::new(connect(&app).await);
    connection
        .get_mut()
        .write_all(sign_in_head().as_bytes())
        .await
        .unwrap();
    connection.get_mut().write_all(b"{}").await.unwrap();
    let first = read_response(&mut connection).await.expect("an answer");
    assert_eq!(first.status, 400, "the one allowed request");
    (app, connection)
}

fn sign_in_head() -> String {
    "POST /auth/github/pat HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n".to_owned()
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn a_rate_limited_sign_in_whose_body_follows_its_headers_keeps_the_connection() {
    let (_app, mut connection) = spent_rate_limit().await;
    // As Python's `requests` does: the headers, then the body in a write of its own.
    let socket = connection.get_mut();
    socket.write_all(sign_in_head().as_bytes()).await.unwrap();
    socket.flush().await.unwrap();
    socket.write_all(b"{}").await.unwrap();
    let refused = read_response(&mut connection).await.expect("an answer");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.envelope().0, codes::RATE_LIMITED);
    assert!(
        !refused.closes(),
        "the body was read: {:?}",
        refused.headers
    );

    connection.get_mut().write_all(HEALTH).await.unwrap();
    let next = read_response(&mut connection)
        .await
        .expect("the connection still serves");
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn a_client_that_waits_for_the_429_before_its_body_is_told_or_can_go_on() {
    let (_app, mut connection) = spent_rate_limit().await;
    connection
        .get_mut()
        .write_all(sign_in_head().as_bytes())
        .await
        .unwrap();
    let refused = read_response(&mut connection).await.expect("an answer");
    assert_eq!(refused.status, 429);
    if refused.closes() {
        return;
    }
    // Not told the connection ends: then it must carry the body and the next request.
    let socket = connection.get_mut();
    let _ = socket.write_all(b"{}").await;
    let _ = socket.write_all(HEALTH).await;
    let next = read_response(&mut connection).await;
    assert!(
        next.is_some_and(|r| r.status == 200),
        "the 429 kept the connection open in name only"
    );
}

#[tokio::test]
async fn conflicting_content_lengths_are_400_with_the_envelope() {
    let app = TestApp::spawn().await;
    let response = exchange(
        &app,
        b"POST /provisioner/status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\
          Content-Length: 3\r\n\r\n{}",
    )
    .await;
    assert_eq!(response.status, 400);
    let (error, description) = response.envelope();
    assert_eq!(error, codes::INVALID_REQUEST);
    assert!(description.contains("Content-Length"), "{description}");
    assert!(response.closes());
}

#[tokio::test]
async fn a_negative_content_length_is_400_with_the_envelope() {
    let app = TestApp::spawn().await;
    let response = exchange(
        &app,
        b"POST /auth/github/pat HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
    )
    .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.envelope().0, codes::INVALID_REQUEST);
    assert!(response.closes());
}

#[tokio::test]
async fn a_thousand_headers_are_431_with_the_envelope() {
    let app = TestApp::spawn().await;
    let mut request = String::from("GET /health HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..1000 {
        request.push_str(&format!("X-Probe-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let response = exchange(&app, request.as_bytes()).await;
    assert_eq!(response.status, 431);
    let (error, description) = response.envelope();
    assert_eq!(error, codes::HEADERS_TOO_LARGE);
    assert!(description.contains("100"), "{description}");
    assert!(response.closes());
}

#[tokio::test]
async fn requests_on_one_connection_are_answered_in_turn() {
    let app = TestApp::spawn().await;
    let mut connection = BufReader::new(connect(&app).await);
    // Pipelined: both written before either is answered.
    connection
        .get_mut()
        .write_all(&[HEALTH, HEALTH].concat())
        .await
        .unwrap();
    for _ in 0..2 {
        let response = read_response(&mut connection).await.expect("an answer");
        assert_eq!(response.status, 200);
        assert!(!response.closes());
    }
}
