//! What clients really send: numbers as strings, booleans as strings, extra fields, odd case; and
//! what must still be refused, with a message a person can act on.

use serde_json::json;
use sliderule_protocol::provisioner::{ClusterRequest, DeployRequest, ExtendRequest};
use sliderule_protocol::{Limits, parse_json_body};

use crate::fixtures::{refusal, text};

fn deploy(name: &str) -> DeployRequest {
    parse_json_body(text(name).as_bytes()).expect("parses")
}

#[test]
fn the_python_clients_string_numbers_parse_like_real_numbers() {
    assert_eq!(
        deploy("deploy_request_python_client.json"),
        deploy("deploy_request.json")
    );
}

#[test]
fn numeric_strings_booleans_as_strings_and_unknown_fields_are_accepted() {
    let body = deploy("deploy_request_numeric_strings.json");
    assert_eq!(body.cluster, "team-a");
    assert_eq!(body.node_capacity.get(), 60);
    assert_eq!(body.ttl.minutes(), 30);
    assert_eq!(body.is_public, Some(true));
    assert_eq!(body.version, None);
}

#[test]
fn a_parsed_body_can_still_break_a_limit_with_its_own_message() {
    let body = deploy("deploy_request_numeric_strings.json");
    assert_eq!(
        Limits::MEMBER
            .check_capacity(body.node_capacity)
            .unwrap_err()
            .to_string(),
        "node_capacity of 60 exceeds your maximum of 10 nodes"
    );
    assert_eq!(Limits::MEMBER.check_ttl(body.ttl), Ok(()));
}

#[test]
fn an_empty_body_is_an_empty_object_and_then_misses_its_cluster() {
    assert_eq!(
        parse_json_body::<ClusterRequest>(b"")
            .unwrap_err()
            .to_string(),
        "missing field `cluster`"
    );
}

#[test]
fn a_cluster_name_with_an_underscore_is_refused_with_the_dns_message() {
    assert_eq!(
        refusal::<ClusterRequest>(json!({"cluster": "my_cluster"})),
        "cluster name \"my_cluster\" is not valid: DNS names cannot hold underscores; use \
         letters, digits and hyphens"
    );
}

#[test]
fn a_reserved_cluster_name_is_refused() {
    assert_eq!(
        refusal::<ClusterRequest>(json!({"cluster": "provisioner"})),
        "cluster name \"provisioner\" is not valid: \"provisioner\" is reserved for the service \
         itself; choose another name"
    );
}

#[test]
fn a_non_numeric_ttl_is_refused_naming_ttl() {
    let message = refusal::<ExtendRequest>(json!({"cluster": "a", "ttl": "an hour"}));
    assert!(
        message.starts_with("ttl \"an hour\" is not valid: it must be a whole number"),
        "{message}"
    );
}

#[test]
fn a_negative_node_capacity_is_refused_naming_node_capacity() {
    assert_eq!(
        refusal::<DeployRequest>(json!({"cluster": "a", "node_capacity": -1, "ttl": 60})),
        "node_capacity -1 is not valid: it cannot be negative"
    );
}

#[test]
fn a_fractional_ttl_is_refused() {
    assert_eq!(
        refusal::<DeployRequest>(json!({"cluster": "a", "node_capacity": 1, "ttl": 15.5})),
        "ttl 15.5 is not valid: it must be a whole number, without a fractional part"
    );
}

#[test]
fn an_is_public_that_is_not_a_boolean_is_refused_naming_is_public() {
    assert_eq!(
        refusal::<DeployRequest>(
            json!({"cluster": "a", "node_capacity": 1, "ttl": 60, "is_public": "yes"})
        ),
        "is_public \"yes\" is not valid: it must be true or false"
    );
}

#[test]
fn a_version_with_a_blank_is_refused_naming_the_character() {
    assert_eq!(
        refusal::<DeployRequest>(
            json!({"cluster": "a", "node_capacity": 1, "ttl": 60, "version": "v1 beta"})
        ),
        "version \"v1 beta\" is not valid: it holds ' ', and only letters, digits, '.', '_' and \
         '-' are allowed"
    );
}

#[test]
fn broken_json_is_reported_as_broken_json() {
    let err = parse_json_body::<ClusterRequest>(b"{\"cluster\": ").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the request body is not valid JSON")
    );
}
