//! Provisioner bodies against fixtures.

use serde_json::Value;
use sliderule_protocol::provisioner::{
    ClusterReport, ClusterRequest, ClusterState, ClusterStatus, DeployRequest, DestroyResponse,
    DiscoveryStatus, ExtendRequest, InfoResponse, ReportResponse, StackEvent, StackStatus,
};
use sliderule_protocol::{Claims, Limits, OrgRoles};
use time::macros::datetime;

use crate::fixtures::{round_trip, value};

#[test]
fn deploy_request_round_trips() {
    let body: DeployRequest = round_trip("deploy_request.json");
    assert_eq!(body.cluster.stack_name(), "team-a-cluster");
    assert_eq!(body.is_public, Some(false));
}

#[test]
fn extend_and_cluster_requests_round_trip() {
    let body: ExtendRequest = round_trip("extend_request.json");
    assert_eq!(body.ttl.minutes(), 120);
    let body: ClusterRequest = round_trip("cluster_request.json");
    assert_eq!(body.cluster, "team-a");
}

#[test]
fn cluster_status_round_trips() {
    let body: ClusterStatus = round_trip("cluster_status.json");
    assert_eq!(body.response.stack_status, StackStatus::UpdateComplete);
    assert_eq!(body.response.stack_status.state(), body.state);
    assert_eq!(body.auto_shutdown, Some(datetime!(2026-05-07 14:30:00 UTC)));
    assert_eq!(
        body.response.creation_time,
        datetime!(2026-05-07 12:29:31.482 UTC)
    );
}

#[test]
fn cluster_status_carries_what_the_upstream_web_client_reads() {
    let json = value("cluster_status.json");
    let status: ClusterStatus = serde_json::from_value(json.clone()).unwrap();
    let written = serde_json::to_value(&status).unwrap();
    assert!(written["response"]["StackStatus"].is_string());
    assert!(written["auto_shutdown"].is_string());
    assert!(written["current_nodes"].is_u64());
    assert!(written["version"].is_string());
    assert!(written["is_public"].is_boolean());
    assert!(written["node_capacity"].is_u64());
    assert_eq!(written["status"], Value::Bool(true));
}

#[test]
fn a_deploying_cluster_status_round_trips_with_nulls() {
    let body: ClusterStatus = round_trip("cluster_status_deploying.json");
    assert_eq!(body.state, ClusterState::Deploying);
    assert_eq!(body.auto_shutdown, None);
    assert_eq!(body.seconds_remaining, None);
    assert_eq!(body.response.last_updated_time, None);
    assert_eq!(
        body.response.stack_status_reason.as_deref(),
        Some("User Initiated")
    );
}

#[test]
fn cluster_status_written_by_python_isoformat_is_read() {
    let mut json = value("cluster_status.json");
    json["auto_shutdown"] = Value::from("2026-05-07T14:30:00+00:00");
    let status: ClusterStatus = serde_json::from_value(json).unwrap();
    assert_eq!(
        status.auto_shutdown,
        Some(datetime!(2026-05-07 14:30:00 UTC))
    );
    let written = serde_json::to_value(&status).unwrap();
    assert_eq!(written["auto_shutdown"], "2026-05-07T14:30:00Z");
}

#[test]
fn events_round_trip_as_a_plain_array() {
    let events: Vec<StackEvent> = round_trip("events.json");
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].physical_resource_id, None);
    assert!(events[0].timestamp > events[1].timestamp, "newest first");
}

#[test]
fn destroy_response_round_trips() {
    let body: DestroyResponse = round_trip("destroy_response.json");
    assert_eq!(body.state, ClusterState::Destroying);
}

#[test]
fn cluster_report_round_trips_in_name_order() {
    let report: ClusterReport = round_trip("report_clusters.json");
    let names: Vec<&str> = report.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["bob", "team-a"]);
    assert!(report.contains_key("team-a"));
}

#[test]
fn v5_report_round_trips() {
    let body: ReportResponse = round_trip("report.json");
    assert!(body.report["sliderule-green"].is_public);
}

#[test]
fn upstream_head_info_round_trips() {
    let body: InfoResponse = round_trip("info_head.json");
    assert_eq!(body.org_roles, OrgRoles::MEMBER);
    assert_eq!(body.budget, None);
}

#[test]
fn info_with_a_budget_round_trips() {
    let body: InfoResponse = round_trip("info_with_budget.json");
    let budget = body.budget.expect("a budget");
    assert_eq!(budget.balance, sliderule_protocol::Usd::from_cents(41_250));
    assert_eq!(budget.runs_out_at, Some(datetime!(2026-05-21 08:30:00 UTC)));
}

#[test]
fn info_built_from_v5_claims_matches_the_head_fixture() {
    let claims: Claims = serde_json::from_value(value("claims_v5_member.json")).unwrap();
    let info = InfoResponse::new(&claims, Limits::MEMBER, Some("sliderule"));
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        value("info_head.json")
    );
}

#[test]
fn discovery_status_round_trips_and_ignores_other_fields() {
    let body: DiscoveryStatus = round_trip("discovery_status.json");
    assert_eq!(body.nodes, 3);
    let body: DiscoveryStatus =
        serde_json::from_str(r#"{"nodes": 7, "version": "v4.9.2", "services": []}"#).unwrap();
    assert_eq!(body.nodes, 7);
}
