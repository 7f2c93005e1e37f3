//! Affiliates: people outside the organization listed in the affiliates file.

use serde_json::json;

use super::support::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn an_active_affiliate_gets_the_role_their_clusters_and_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("affiliates.json");
    std::fs::write(
        &file,
        r#"{"dave": {"active": true, "clusters": ["dave-lab"], "max_nodes": 3, "max_ttl": 120,
                     "allowed_scopes": "sliderule:access provisioner:access"},
            "carol": {"active": false, "clusters": ["never"]}}"#,
    )
    .unwrap();
    let app = TestApp::with_github_and(vec![(
        "authenticator.affiliates_file",
        toml::Value::String(file.display().to_string()),
    )])
    .await;

    let dave = payload(&pat_login(&app, "dave").await.token);
    assert_eq!(dave["org_roles"], json!(["affiliate"]));
    assert_eq!(strings(&dave["aud"]), ["provisioner", "dave-lab"]);
    assert_eq!(dave["max_nodes"], 3);
    assert_eq!(dave["max_ttl"], 120);
    assert_eq!(dave["scope"], "sliderule:access provisioner:access");

    let carol = payload(&pat_login(&app, "carol").await.token);
    assert_eq!(
        carol["org_roles"],
        json!(["member"]),
        "an inactive entry changes nothing"
    );
    assert!(!strings(&carol["aud"]).contains(&"never".to_owned()));
}
