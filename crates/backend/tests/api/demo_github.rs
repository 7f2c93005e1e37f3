//! Demo mode mounts the GitHub emulator under `/_github/` and points the GitHub client at it.

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_emulated_github_answers_under_github_mount() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/_github/user"))
        .bearer_auth("demo-pat-carol")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["login"], "carol");
}

#[tokio::test]
async fn the_authorize_page_lists_the_demo_users_as_buttons() {
    let app = TestApp::spawn().await;
    let page = app
        .get(
            "/_github/login/oauth/authorize?client_id=x&redirect_uri=http://127.0.0.1:9/cb&state=s",
        )
        .await
        .text()
        .await
        .unwrap();
    for login in ["alice", "bob", "carol", "dave"] {
        assert!(
            page.contains(&format!(">{login}<")) || page.contains(login),
            "{login}"
        );
    }
    assert!(page.contains("<button"), "users are buttons");
}

#[tokio::test]
async fn the_github_client_of_a_demo_talks_to_the_emulator() {
    let app = TestApp::spawn().await;
    let user = app.state.github.user("demo-pat-alice").await.unwrap();
    assert_eq!((user.login.as_str(), user.id), ("alice", 1001));
}
