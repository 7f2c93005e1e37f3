//! The REST calls: /user, organization membership, teams, orgs, and their headers.

use github_emulator::{Membership, Seed};
use serde_json::Value;

use crate::support::Harness;

fn seed_with_many_teams() -> Seed {
    Seed::from_toml_str(
        r#"
org = "SlideRuleEarth"
[[users]]
login = "erin"
id = 2001
membership = "member"
teams = ["t1", "t2", "t3", "t4", "t5", "otherorg/gedi"]
pats = ["pat-erin"]
[[users]]
login = "olga"
id = 2002
membership = "none"
teams = ["icesat2", "otherorg/gedi"]
pats = ["pat-olga"]
"#,
    )
    .expect("seed")
}

fn slugs(body: &Value) -> Vec<String> {
    body.as_array()
        .expect("array")
        .iter()
        .map(|team| team["slug"].as_str().expect("slug").to_owned())
        .collect()
}

#[tokio::test]
async fn user_answers_the_owner_of_an_oauth_token() {
    let h = Harness::start().await;
    let token = h.emulator().issue_token("alice").expect("token");
    let response = h.api("/user", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-oauth-scopes"], "read:org");
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["login"], "alice");
    assert_eq!(user["id"], 1001);
    assert_eq!(user["type"], "User");
    assert_eq!(user["node_id"], "MDQ6VXNlcjEwMDE=");
    assert_eq!(user["html_url"], h.url("/alice"));
    assert!(user["name"].is_string());
}

#[tokio::test]
async fn user_accepts_a_seeded_pat_with_the_token_scheme() {
    let h = Harness::start().await;
    let response = h
        .client
        .get(h.url("/user"))
        .header("Authorization", "token demo-pat-dave")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["login"], "dave");
    assert_eq!(user["id"], 1004);
}

#[tokio::test]
async fn a_bad_token_answers_401_bad_credentials() {
    let h = Harness::start().await;
    let response = h.api("/user", "gho_not-a-real-token").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        })
    );
}

#[tokio::test]
async fn no_token_answers_401_requires_authentication() {
    let h = Harness::start().await;
    let response = h.client.get(h.url("/user")).send().await.expect("request");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["message"], "Requires authentication");
    assert_eq!(body["status"], "401");
}

#[tokio::test]
async fn api_answers_carry_githubs_content_type_and_rate_limit_headers() {
    let h = Harness::start().await;
    let first = h.api("/user", "demo-pat-bob").await;
    let second = h.api("/user", "demo-pat-bob").await;
    let header = |r: &reqwest::Response, name: &str| -> u64 {
        r.headers()[name]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number")
    };
    assert_eq!(
        first.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(header(&first, "x-ratelimit-limit"), 5000);
    assert_eq!(
        header(&second, "x-ratelimit-remaining"),
        header(&first, "x-ratelimit-remaining") - 1
    );
    let reset = header(&first, "x-ratelimit-reset");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        reset > now && reset <= now + 3600,
        "reset {reset} is within the hour after {now}"
    );
}

async fn membership(h: &Harness, login: &str, token: &str) -> (u16, Value) {
    let response = h
        .api(&format!("/orgs/SlideRuleEarth/memberships/{login}"), token)
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn an_org_admin_has_an_active_admin_membership() {
    let h = Harness::start().await;
    let (status, body) = membership(&h, "alice", "demo-pat-alice").await;
    assert_eq!(status, 200);
    assert_eq!(body["state"], "active");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["organization"]["login"], "SlideRuleEarth");
    assert_eq!(body["user"]["login"], "alice");
    assert_eq!(body["url"], h.url("/orgs/SlideRuleEarth/memberships/alice"));
    assert_eq!(body["organization_url"], h.url("/orgs/SlideRuleEarth"));
}

#[tokio::test]
async fn a_member_has_an_active_member_membership() {
    let h = Harness::start().await;
    let (status, body) = membership(&h, "bob", "demo-pat-bob").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["state"].as_str(), body["role"].as_str()),
        (Some("active"), Some("member"))
    );
}

#[tokio::test]
async fn an_invited_user_has_a_pending_membership() {
    let h = Harness::start().await;
    h.emulator()
        .set_membership("carol", Membership::Pending)
        .expect("carol exists");
    let (status, body) = membership(&h, "carol", "demo-pat-carol").await;
    assert_eq!(status, 200);
    assert_eq!(body["state"], "pending");
}

#[tokio::test]
async fn a_non_member_answers_404_not_found() {
    let h = Harness::start().await;
    let (status, body) = membership(&h, "dave", "demo-pat-dave").await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Not Found");
    assert_eq!(body["status"], "404");
    assert!(
        body["documentation_url"]
            .as_str()
            .expect("url")
            .starts_with("https://docs.github.com/rest")
    );
}

#[tokio::test]
async fn an_unknown_org_answers_404() {
    let h = Harness::start().await;
    let response = h
        .api("/orgs/NoSuchOrg/memberships/alice", "demo-pat-alice")
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn membership_with_a_bad_token_answers_401() {
    let h = Harness::start().await;
    let (status, body) = membership(&h, "alice", "nope").await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Bad credentials");
}

#[tokio::test]
async fn membership_changes_through_the_control_api_are_seen_at_once() {
    let h = Harness::start().await;
    let response = h
        .client
        .post(h.url("/_emulator/membership"))
        .json(&serde_json::json!({"login": "dave", "membership": "member"}))
        .send()
        .await
        .expect("control");
    assert_eq!(response.status(), 204);
    let (status, body) = membership(&h, "dave", "demo-pat-dave").await;
    assert_eq!(status, 200);
    assert_eq!(body["role"], "member");
    let unknown = h
        .client
        .post(h.url("/_emulator/membership"))
        .json(&serde_json::json!({"login": "nobody", "membership": "member"}))
        .send()
        .await
        .expect("control");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_non_member_cannot_see_other_peoples_memberships() {
    let h = Harness::start().await;
    let (status, _) = membership(&h, "alice", "demo-pat-dave").await;
    assert_eq!(status, 404);
    let (status, _) = membership(&h, "alice", "demo-pat-bob").await;
    assert_eq!(status, 200, "members see each other");
}

#[tokio::test]
async fn teams_are_paginated_with_a_github_link_header() {
    let h = Harness::with_seed(seed_with_many_teams()).await;
    let first = h.api("/user/teams?per_page=2", "pat-erin").await;
    assert_eq!(first.status(), 200);
    let link = first.headers()["link"].to_str().expect("ascii").to_owned();
    let base = h.url("/user/teams");
    assert_eq!(
        link,
        format!(
            "<{base}?per_page=2&page=2>; rel=\"next\", <{base}?per_page=2&page=3>; rel=\"last\""
        )
    );
    assert_eq!(slugs(&first.json().await.expect("json")), ["t1", "t2"]);
    let last = h.api("/user/teams?per_page=2&page=3", "pat-erin").await;
    let link = last.headers()["link"].to_str().expect("ascii").to_owned();
    assert!(
        link.contains("rel=\"prev\"") && link.contains("rel=\"first\""),
        "{link}"
    );
    assert!(!link.contains("rel=\"next\""), "{link}");
    assert_eq!(slugs(&last.json().await.expect("json")), ["t5", "gedi"]);
    let beyond: Value = h
        .api("/user/teams?per_page=2&page=4", "pat-erin")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        beyond,
        serde_json::json!([]),
        "a page past the end is empty"
    );
}

#[tokio::test]
async fn teams_in_another_org_name_that_org() {
    let h = Harness::with_seed(seed_with_many_teams()).await;
    let response = h.api("/user/teams?per_page=100", "pat-erin").await;
    assert!(
        response.headers().get("link").is_none(),
        "one page needs no Link"
    );
    let teams: Value = response.json().await.expect("json");
    let orgs: Vec<(&str, &str)> = teams
        .as_array()
        .expect("array")
        .iter()
        .map(|t| {
            (
                t["slug"].as_str().expect("slug"),
                t["organization"]["login"].as_str().expect("org"),
            )
        })
        .collect();
    assert_eq!(
        orgs,
        [
            ("t1", "SlideRuleEarth"),
            ("t2", "SlideRuleEarth"),
            ("t3", "SlideRuleEarth"),
            ("t4", "SlideRuleEarth"),
            ("t5", "SlideRuleEarth"),
            ("gedi", "otherorg")
        ]
    );
    let team = &teams[0];
    assert!(team["id"].is_u64() && team["node_id"].is_string() && team["name"].is_string());
}

#[tokio::test]
async fn a_non_member_sees_no_teams_of_the_org_but_keeps_other_org_teams() {
    let h = Harness::with_seed(seed_with_many_teams()).await;
    let teams: Value = h
        .api("/user/teams", "pat-olga")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slugs(&teams), ["gedi"]);
}

#[tokio::test]
async fn bobs_demo_team_is_icesat2() {
    let h = Harness::start().await;
    let teams: Value = h
        .api("/user/teams?per_page=100&page=1", "demo-pat-bob")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slugs(&teams), ["icesat2"]);
    assert_eq!(teams[0]["organization"]["login"], "SlideRuleEarth");
}

#[tokio::test]
async fn user_orgs_lists_only_organizations_with_an_active_membership() {
    let h = Harness::with_seed(seed_with_many_teams()).await;
    let logins = |body: Value| -> Vec<String> {
        body.as_array()
            .expect("array")
            .iter()
            .map(|o| o["login"].as_str().expect("login").to_owned())
            .collect()
    };
    let erin = h
        .api("/user/orgs", "pat-erin")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logins(erin), ["SlideRuleEarth", "otherorg"]);
    let olga = h
        .api("/user/orgs", "pat-olga")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logins(olga), ["otherorg"]);
}

#[tokio::test]
async fn an_unknown_api_path_answers_githubs_json_404() {
    let h = Harness::start().await;
    let response = h.api("/repos/x/y", "demo-pat-alice").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["message"], "Not Found");
}

#[tokio::test]
async fn avatars_are_served_locally() {
    let h = Harness::start().await;
    let user: Value = h
        .api("/user", "demo-pat-alice")
        .await
        .json()
        .await
        .expect("json");
    let avatar = h
        .client
        .get(user["avatar_url"].as_str().expect("url"))
        .send()
        .await
        .expect("avatar");
    assert_eq!(avatar.status(), 200);
    assert_eq!(avatar.headers()["content-type"], "image/svg+xml");
}
