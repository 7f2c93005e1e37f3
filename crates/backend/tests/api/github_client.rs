//! The backend's GitHub client against the GitHub emulator, which speaks GitHub's formats.

use std::time::Duration;

use github_emulator::{Endpoint, Fault, RunningEmulator, Seed};
use sliderule_backend::github::{DevicePoll, GitHub, GitHubError, HttpGitHub, Membership};

use crate::helpers::emulator_with;

const ORG: &str = "SlideRuleEarth";

async fn demo() -> (RunningEmulator, HttpGitHub) {
    emulator_with(Seed::demo()).await
}

fn unavailable(result: Result<Membership, GitHubError>) -> String {
    match result {
        Err(GitHubError::Unavailable(description)) => description,
        other => panic!("expected GitHub to be unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_personal_access_token_names_its_user() {
    let (_gh, github) = demo().await;
    let user = github.user("demo-pat-bob").await.unwrap();
    assert_eq!((user.login.as_str(), user.id), ("bob", 1002));
}

#[tokio::test]
async fn a_token_github_does_not_know_is_invalid() {
    let (_gh, github) = demo().await;
    assert_eq!(
        github.user("ghp_nope").await,
        Err(GitHubError::InvalidToken)
    );
}

#[tokio::test]
async fn membership_distinguishes_admins_members_and_outsiders() {
    let (_gh, github) = demo().await;
    let check = |login: &'static str| github.membership("demo-pat-alice", ORG, login);
    assert_eq!(check("alice").await, Ok(Membership::Admin));
    assert_eq!(check("bob").await, Ok(Membership::Member));
    assert_eq!(check("dave").await, Ok(Membership::None));
}

#[tokio::test]
async fn a_pending_invitation_is_not_membership() {
    let (gh, github) = demo().await;
    gh.emulator()
        .set_membership("carol", github_emulator::Membership::Pending)
        .unwrap();
    let membership = github
        .membership("demo-pat-carol", ORG, "carol")
        .await
        .unwrap();
    assert_eq!(membership, Membership::Pending);
    assert!(!membership.is_active());
}

#[tokio::test]
async fn a_refused_membership_check_is_unavailable_not_not_a_member() {
    let (gh, github) = demo().await;
    gh.emulator()
        .set_fault(Endpoint::Membership, Fault::status(403));
    let description = unavailable(github.membership("demo-pat-bob", ORG, "bob").await);
    assert!(
        description.contains("did not reveal membership of SlideRuleEarth"),
        "{description}"
    );
    assert!(description.contains("read:org"), "{description}");
}

#[tokio::test]
async fn a_github_outage_is_unavailable() {
    let (gh, github) = demo().await;
    gh.emulator()
        .set_fault(Endpoint::Membership, Fault::status(503));
    let description = unavailable(github.membership("demo-pat-bob", ORG, "bob").await);
    assert!(description.contains("HTTP 503"), "{description}");
}

#[tokio::test]
async fn a_rate_limit_is_unavailable_and_says_so() {
    let (gh, github) = demo().await;
    gh.emulator()
        .set_fault(Endpoint::Membership, Fault::rate_limited());
    let description = unavailable(github.membership("demo-pat-bob", ORG, "bob").await);
    assert!(description.contains("rate limit"), "{description}");
}

#[tokio::test]
async fn a_slow_github_times_out_as_unavailable() {
    let (gh, github) = demo().await;
    let github = github.with_timeout(Duration::from_millis(100));
    gh.emulator()
        .set_fault(Endpoint::Membership, Fault::latency(2_000));
    let description = unavailable(github.membership("demo-pat-bob", ORG, "bob").await);
    assert!(
        description.contains("did not answer in time"),
        "{description}"
    );
}

#[tokio::test]
async fn an_unreachable_github_is_unavailable() {
    let (gh, github) = demo().await;
    gh.stop().await.unwrap();
    let description = unavailable(github.membership("demo-pat-bob", ORG, "bob").await);
    assert!(
        description.contains("could not be reached"),
        "{description}"
    );
}

#[tokio::test]
async fn teams_are_those_of_the_organization_across_pages() {
    let mut teams: Vec<String> = (0..150).map(|i| format!("team-{i:03}")).collect();
    teams.push("otherorg/not-ours".into());
    let seed = Seed::from_toml_str(&format!(
        "org = \"{ORG}\"\n[[users]]\nlogin = \"bob\"\nid = 1002\nmembership = \"member\"\n\
         teams = {teams:?}\npats = [\"pat-bob\"]\n"
    ))
    .unwrap();
    let (_gh, github) = emulator_with(seed).await;
    let found = github.teams("pat-bob", ORG).await.unwrap();
    assert_eq!(found.len(), 150, "every page, and nothing from otherorg");
    assert!(found.contains(&"team-149".to_owned()));
    assert!(!found.iter().any(|t| t == "not-ours"));
}

#[tokio::test]
async fn a_web_flow_code_is_exchanged_once() {
    let (gh, github) = demo().await;
    let redirect = "http://127.0.0.1:9/callback";
    let authorize = format!(
        "{}/login/oauth/authorize?client_id=sliderule-test&redirect_uri={redirect}&state=s1&login=bob",
        gh.url()
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(authorize).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");

    let token = github.exchange_code(&code, redirect).await.unwrap();
    assert_eq!(github.user(token.expose()).await.unwrap().login, "bob");
    assert!(
        !format!("{token:?}").contains(token.expose()),
        "tokens never print"
    );

    let again = github.exchange_code(&code, redirect).await;
    assert!(
        matches!(&again, Err(GitHubError::Refused { error, .. }) if error == "bad_verification_code"),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_device_flow_waits_then_yields_a_token() {
    let (gh, github) = demo().await;
    let device = github.request_device_code("read:org").await.unwrap();
    assert_eq!(device.interval, 5);
    assert_eq!(
        github.poll_device_code(&device.device_code).await.unwrap(),
        DevicePoll::Pending
    );
    gh.emulator()
        .approve_device(&device.user_code, "alice")
        .unwrap();
    gh.emulator()
        .advance_clock(Duration::from_secs(device.interval));
    let DevicePoll::Authorized(token) = github.poll_device_code(&device.device_code).await.unwrap()
    else {
        panic!("expected a token");
    };
    assert_eq!(github.user(token.expose()).await.unwrap().login, "alice");
}

#[tokio::test]
async fn polling_too_fast_is_told_to_slow_down() {
    let (_gh, github) = demo().await;
    let device = github.request_device_code("read:org").await.unwrap();
    github.poll_device_code(&device.device_code).await.unwrap();
    let second = github.poll_device_code(&device.device_code).await.unwrap();
    assert_eq!(second, DevicePoll::SlowDown { interval: 10 });
}

#[tokio::test]
async fn a_denied_or_expired_device_code_says_so() {
    let (gh, github) = demo().await;
    let denied = github.request_device_code("read:org").await.unwrap();
    gh.emulator().deny_device(&denied.user_code).unwrap();
    assert_eq!(
        github.poll_device_code(&denied.device_code).await.unwrap(),
        DevicePoll::Denied
    );
    let expired = github.request_device_code("read:org").await.unwrap();
    gh.emulator()
        .advance_clock(Duration::from_secs(expired.expires_in + 1));
    assert_eq!(
        github.poll_device_code(&expired.device_code).await.unwrap(),
        DevicePoll::Expired
    );
}
