//! Shared helpers: start an emulator, talk to it without following redirects, read its pages.

use std::collections::HashMap;

use github_emulator::{Emulator, RunningEmulator, Seed};
use reqwest::header::LOCATION;
use serde_json::Value;

pub const CLIENT_ID: &str = "test-client";
pub const CALLBACK: &str = "http://app.test/callback";

pub struct Harness {
    pub running: RunningEmulator,
    pub client: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with_seed(Seed::demo()).await
    }

    pub async fn with_seed(seed: Seed) -> Harness {
        let emulator = Emulator::new(seed);
        let running = emulator
            .spawn("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("emulator starts");
        Harness {
            running,
            client: client(),
        }
    }

    pub fn emulator(&self) -> &Emulator {
        self.running.emulator()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url())
    }

    /// A GET of an API path with `Authorization: Bearer <token>`.
    pub async fn api(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .header("Accept", "application/vnd.github+json")
            .send()
            .await
            .expect("request")
    }

    /// A web-flow code for `login`, through the authorize endpoint's automation parameter.
    pub async fn code_for(&self, login: &str) -> String {
        let response = self
            .client
            .get(self.url("/login/oauth/authorize"))
            .query(&[
                ("client_id", CLIENT_ID),
                ("redirect_uri", CALLBACK),
                ("scope", "read:org"),
                ("state", "s"),
                ("login", login),
            ])
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), 302);
        redirect_query(&response)["code"].clone()
    }

    /// Exchanges a code, asking for JSON.
    pub async fn exchange(&self, form: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .post(self.url("/login/oauth/access_token"))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("token request");
        assert_eq!(
            response.status(),
            200,
            "GitHub answers token errors with 200 too"
        );
        response.json().await.expect("json")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The query parameters of a redirect's `Location`.
pub fn redirect_query(response: &reqwest::Response) -> HashMap<String, String> {
    let location = response
        .headers()
        .get(LOCATION)
        .expect("Location header")
        .to_str()
        .expect("ascii");
    let url = url::Url::parse(location).expect("absolute Location");
    url.query_pairs().into_owned().collect()
}

/// The `action` of a page's first POST form, resolved against the page's URL.
pub fn form_action(page: &str, page_url: &str) -> String {
    let marker = "<form method=\"post\" action=\"";
    let start = page.find(marker).expect("a POST form") + marker.len();
    let end = start + page[start..].find('"').expect("closing quote");
    url::Url::parse(page_url)
        .expect("page url")
        .join(&page[start..end])
        .expect("resolvable action")
        .to_string()
}

/// The hidden inputs of a page, as form fields.
pub fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let marker = "<input type=\"hidden\" name=\"";
    page.match_indices(marker)
        .map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            let name_end = rest.find('"').expect("name end");
            let value_marker = "value=\"";
            let value_start = rest.find(value_marker).expect("value") + value_marker.len();
            let value_end = value_start + rest[value_start..].find('"').expect("value end");
            (
                rest[..name_end].to_owned(),
                rest[value_start..value_end].replace("&amp;", "&"),
            )
        })
        .collect()
}

/// The logins offered as buttons on a page.
pub fn login_buttons(page: &str) -> Vec<String> {
    let marker = "<button type=\"submit\" name=\"login\" value=\"";
    page.match_indices(marker)
        .map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            rest[..rest.find('"').expect("value end")].to_owned()
        })
        .collect()
}

/// A demo seed with client credentials configured.
pub fn seed_with_client() -> Seed {
    let mut seed = Seed::demo();
    seed.client_id = Some(CLIENT_ID.to_owned());
    seed.client_secret = Some("test-secret".to_owned());
    seed
}
