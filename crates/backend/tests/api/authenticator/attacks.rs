//! Attacks on the sign-in flows, each refused with the right status and nothing issued.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::browser::urlencode;
use super::support::*;
use crate::helpers::TestApp;

// --- Authorization codes and PKCE ---

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let code = code_for(&app, &client, "bob").await;
    let first: Value = exchange(&app, &client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, error, _) = error_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error, "invalid_grant");
    let (status, error, _) = error_of(refresh(&app, &refresh_token).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_and_spends_the_code() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let code = code_for(&app, &client, "bob").await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
    let (status, error, description) = error_of(exchange(&app, &client, &code, wrong).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(description.contains("code_verifier"), "{description}");
    let (status, _, _) = error_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the code is spent");
}

#[tokio::test]
async fn a_code_used_by_another_client_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let thief = register(&app, REDIRECT, None).await;
    let code = code_for(&app, &client, "bob").await;
    let (status, error, description) =
        error_of(exchange(&app, &thief, &code, VERIFIER).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(description.contains("another client"), "{description}");
}

#[tokio::test]
async fn a_code_older_than_two_minutes_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let code = code_for(&app, &client, "bob").await;
    app.clock.advance(std::time::Duration::from_secs(121));
    let (status, error, _) = error_of(exchange(&app, &client, &code, VERIFIER).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn a_code_exchanged_with_another_redirect_uri_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let code = code_for(&app, &client, "bob").await;
    let response = post_form(
        &app,
        "/auth/github/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:5173/other"),
            ("client_id", &client),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let (status, error, _) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

/// The login answers 400 JSON and redirects nowhere.
async fn login_refused(app: &TestApp, path: &str) -> (String, String) {
    let response = app.get(path).await;
    assert!(
        response.headers().get(header::LOCATION).is_none(),
        "{path} redirected"
    );
    let (status, error, description) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    (error, description)
}

#[tokio::test]
async fn a_login_without_a_challenge_or_with_plain_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, None).await;
    let base = format!(
        "/auth/github/login?response_type=code&client_id={client}&redirect_uri={}&state=s",
        urlencode(REDIRECT)
    );
    let (error, description) = login_refused(&app, &base).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("code_challenge"), "{description}");
    let plain = format!("{base}&code_challenge={CHALLENGE}&code_challenge_method=plain");
    let (_, description) = login_refused(&app, &plain).await;
    assert!(description.contains("S256"), "{description}");
}

#[tokio::test]
async fn a_login_for_an_unknown_client_or_an_unregistered_redirect_is_refused() {
    let app = TestApp::with_github().await;
    let (error, _) =
        login_refused(&app, &authorize_path("no-such-client", REDIRECT, "s", None)).await;
    assert_eq!(error, "invalid_client");
    let client = register(&app, REDIRECT, None).await;
    let (error, _) = login_refused(
        &app,
        &authorize_path(&client, "http://localhost:5173/elsewhere", "s", None),
    )
    .await;
    assert_eq!(error, "invalid_redirect_uri");
}

#[tokio::test]
async fn a_login_asking_for_more_than_the_client_registered_is_refused() {
    let app = TestApp::with_github().await;
    let client = register(&app, REDIRECT, Some("sliderule:access")).await;
    let (error, _) = login_refused(
        &app,
        &authorize_path(
            &client,
            REDIRECT,
            "s",
            Some("sliderule:access sliderule:admin"),
        ),
    )
    .await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn legacy_and_basic_logins_refuse_open_redirects() {
    let app = TestApp::with_github().await;
    let attempts = [
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(document.cookie)",
        "https://127.0.0.1@evil.example/",
        "https://evil.example\\@localhost/",
        "http://client.example.org/",
        "https://localhost.evil.example/",
        "data:text/html,<script>alert(1)</script>",
    ];
    for attempt in attempts {
        for login in [
            "/auth/github/login?redirect_uri=",
            "/auth/github/basic/login?redirect_uri=",
        ] {
            let path = format!("{login}{}", urlencode(attempt));
            let (error, _) = login_refused(&app, &path).await;
            assert_eq!(error, "invalid_redirect_uri", "{path}");
        }
    }
}

// --- Access tokens, through `GET /auth/userinfo` ---

async fn userinfo(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/auth/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn claims_for(app: &TestApp) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": app.state.urls.authenticator,
        "sub": "bob", "github_id": 1002, "aud": ["provisioner"], "org": "SlideRuleEarth",
        "org_roles": ["member"], "scope": "provisioner:access", "max_nodes": 10, "max_ttl": 720,
        "iat": now, "nbf": now, "exp": now + 3600, "jti": "t"
    })
}

fn signed(app: &TestApp, claims: &Value) -> String {
    app.state.keys.current().signing().sign(claims).unwrap()
}

fn with_claim(app: &TestApp, name: &str, value: Value) -> String {
    let mut claims = claims_for(app);
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    signed(app, &claims)
}

fn b64(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[tokio::test]
async fn userinfo_answers_the_claims_of_a_good_token() {
    let app = TestApp::with_github().await;
    let login = pat_login(&app, "bob").await;
    let response = userinfo(&app, &login.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], "bob");
    assert_eq!(body["github_id"], 1002);
    assert_eq!(body["org_roles"], json!(["member"]));
    assert_eq!(body["max_nodes"], 10);
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_with_401() {
    let app = TestApp::with_github().await;
    let kid = app.state.keys.current().signing().kid().to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = claims_for(&app);

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(app.state.keys.current().signing().public_pem().as_bytes()),
    )
    .unwrap();
    let mut rs_header = Header::new(Algorithm::RS384);
    rs_header.kid = Some(kid.clone());
    let rs384 = jsonwebtoken::encode(
        &rs_header,
        &claims,
        &EncodingKey::from_rsa_pem(app.state.keys.current().signing().private_pem().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let mut es_header = Header::new(Algorithm::ES256);
    es_header.kid = Some(kid.clone());
    let es256 = jsonwebtoken::encode(
        &es_header,
        &claims,
        &EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
    .unwrap();
    let unknown_kid = {
        let good = signed(&app, &claims);
        let parts: Vec<&str> = good.split('.').collect();
        let header = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "not-our-key"}));
        format!("{header}.{}.{}", parts[1], parts[2])
    };
    let tampered = {
        let good = signed(&app, &claims);
        let parts: Vec<&str> = good.split('.').collect();
        let mut forged = claims.clone();
        forged["org_roles"] = json!(["owner", "member"]);
        format!("{}.{}.{}", parts[0], b64(&forged), parts[2])
    };

    let cases = [
        ("alg none", none),
        ("HS256 signed with our public key", hs256),
        ("RS384", rs384),
        ("ES256", es256),
        ("unknown kid", unknown_kid),
        ("tampered payload", tampered),
        (
            "wrong iss",
            with_claim(&app, "iss", json!("https://evil.example")),
        ),
        ("missing aud", with_claim(&app, "aud", Value::Null)),
        ("expired", with_claim(&app, "exp", json!(now - 120))),
        (
            "nbf in the future",
            with_claim(&app, "nbf", json!(now + 600)),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (name, token) in cases {
        let response = userinfo(&app, &token).await;
        let (status, error, description) = error_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {description}");
        assert_eq!(error, "invalid_token", "{name}");
    }
    let (status, _, _) = error_of(app.get("/auth/userinfo").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token at all");
}

/// `method path` with every value of `authorizations` as its own `Authorization` header.
async fn with_authorizations(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    authorizations: &[&str],
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).body("{}");
    for value in authorizations {
        request = request.header(header::AUTHORIZATION, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn two_authorization_headers_are_400_on_every_endpoint_that_reads_one() {
    let app = TestApp::spawn().await;
    let bearer = format!("Bearer {}", pat_login(&app, "bob").await.token);
    let endpoints = [
        (reqwest::Method::GET, "/auth/userinfo"),
        (reqwest::Method::POST, "/provisioner/info"),
    ];
    for (method, path) in endpoints {
        let one = with_authorizations(&app, method.clone(), path, &[&bearer]).await;
        assert_eq!(one.status(), StatusCode::OK, "{path} with one header");
        for second in [bearer.as_str(), "Bearer not-a-token", "Basic Ym9iOmJvYg=="] {
            let response =
                with_authorizations(&app, method.clone(), path, &[&bearer, second]).await;
            let (status, error, description) = error_of(response).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {description}");
            assert_eq!(error, "invalid_request", "{path}");
            assert!(
                description.contains("several Authorization headers"),
                "{description}"
            );
        }
    }
}

// --- CORS ---

#[tokio::test]
async fn the_web_clients_origin_may_call_the_token_endpoints_and_others_may_not() {
    let origin = "https://client.sliderule.test";
    let app = TestApp::with_github_and(vec![(
        "web.allowed_origins",
        toml::Value::Array(vec![toml::Value::String(origin.into())]),
    )])
    .await;
    for path in [
        "/auth/github/token",
        "/auth/refresh",
        "/auth/revoke",
        "/auth/github/register",
        "/auth/userinfo",
    ] {
        let allowed = app.preflight(path, origin).await;
        assert_eq!(allowed.as_deref(), Some(origin), "{path}");
        let stranger = app.preflight(path, "https://evil.example").await;
        assert_eq!(stranger, None, "{path}");
    }
    let jwks = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
}
