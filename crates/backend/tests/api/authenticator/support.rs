//! Helpers of the authenticator tests: sign-ins through each flow, and token inspection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};
use sliderule_backend::keys::{Expected, TokenError};
use sliderule_protocol::Claims;
use url::Url;

use crate::helpers::TestApp;

/// What a successful PAT or device login answered.
pub struct Login {
    pub token: String,
    pub refresh_token: String,
    pub body: Value,
}

pub async fn post_json(app: &TestApp, path: &str, body: Value) -> Response {
    app.client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request is sent")
}

pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("request is sent")
}

pub async fn pat_login(app: &TestApp, login: &str) -> Login {
    let response = post_json(
        app,
        "/auth/github/pat",
        json!({ "pat": format!("demo-pat-{login}") }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "PAT login of {login}");
    assert_no_store(&response);
    login_of(response.json().await.expect("JSON body"))
}

pub fn login_of(body: Value) -> Login {
    assert_eq!(body["status"], "success", "{body}");
    Login {
        token: body["token"].as_str().expect("token").to_owned(),
        refresh_token: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
        body,
    }
}

pub fn assert_no_store(response: &Response) {
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "token responses must not be cached"
    );
}

/// Verifies a token as any part of the project would.
pub fn verified(app: &TestApp, token: &str, audience: Option<&str>) -> Result<Claims, TokenError> {
    app.state.keys.verify(
        token,
        Expected {
            issuer: &app.state.urls.authenticator,
            audience,
        },
    )
}

/// The claims of a token, read without verification (to compare with what verification says).
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

pub fn header_of(token: &str) -> Value {
    let part = token.split('.').next().expect("a JWT has a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("strings").to_owned())
        .collect()
}

/// A PKCE pair (RFC 7636 Appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT: &str = "http://localhost:5173/auth/callback";

pub async fn register(app: &TestApp, redirect_uri: &str, scope: Option<&str>) -> String {
    let mut body = json!({ "redirect_uris": [redirect_uri], "client_name": "test client" });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let response = post_json(app, "/auth/github/register", body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let record: Value = response.json().await.expect("JSON");
    record["client_id"].as_str().expect("client_id").to_owned()
}

/// The Location of a redirect, parsed.
pub fn location(response: &Response) -> Url {
    assert_eq!(response.status(), StatusCode::FOUND, "expected a redirect");
    let location = response
        .headers()
        .get(header::LOCATION)
        .expect("Location")
        .to_str()
        .expect("ASCII");
    Url::parse(location).expect("an absolute Location")
}

pub fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Follows a login from our authorization endpoint through GitHub (as `login`) to our callback,
/// returning where the callback sends the browser.
pub async fn through_github(app: &TestApp, login_path: &str, login: &str) -> Response {
    let start = app.get(login_path).await;
    let mut github = location(&start);
    github.query_pairs_mut().append_pair("login", login);
    let back = app
        .client
        .get(github.as_str())
        .send()
        .await
        .expect("GitHub answers");
    let callback = location(&back);
    app.client
        .get(callback.as_str())
        .send()
        .await
        .expect("callback answers")
}

pub fn authorize_path(
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scope: Option<&str>,
) -> String {
    let mut url = Url::parse("http://x/auth/github/login").expect("URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    if let Some(scope) = scope {
        url.query_pairs_mut().append_pair("scope", scope);
    }
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// A one-time code for `login` through a registered client.
pub async fn code_for(app: &TestApp, client_id: &str, login: &str) -> String {
    let back = through_github(
        app,
        &authorize_path(client_id, REDIRECT, "client-state", None),
        login,
    )
    .await;
    let url = location(&back);
    assert_eq!(query(&url, "state").as_deref(), Some("client-state"));
    query(&url, "code").expect("a code")
}

pub async fn exchange(app: &TestApp, client_id: &str, code: &str, verifier: &str) -> Response {
    post_form(
        app,
        "/auth/github/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    post_json(
        app,
        "/auth/refresh",
        json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// The standard envelope of an error response: (status, error, description).
pub async fn error_of(response: Response) -> (StatusCode, String, String) {
    crate::helpers::envelope(response).await
}
