//! Authenticator bodies against fixtures.

use serde_json::json;
use sliderule_protocol::authenticator::{
    ClientRecord, DeviceCodeResponse, DevicePollFailure, DevicePollPending, DevicePollReply,
    DevicePollRequest, DiscoveryDocument, GrantType, Jwks, LoginSuccess, PatRequest, PendingReason,
    RefreshRequest, RefreshResponse, RegisterRequest, RevokeRequest, TokenGrant, TokenInfo,
    TokenRequest, TokenResponse, UserInfo,
};
use sliderule_protocol::{
    Claims, ClusterName, ErrorBody, Level, Limits, OrgRoles, Scope, Scopes, WebConfig,
};

use crate::fixtures::{round_trip, value};

#[test]
fn upstream_head_device_flow_owner_claims_round_trip_exactly() {
    let claims: Claims = round_trip("claims_head_device_owner.json");
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.org_roles, OrgRoles::OWNER);
    assert!(claims.is_owner());
    assert!(claims.may_use_cluster(&ClusterName::parse("anything").unwrap()));
    assert_eq!(claims.github_id, None);
    assert_eq!(claims.scope, None);
    assert_eq!(claims.limits(), None);
}

#[test]
fn upstream_v5_member_claims_round_trip_with_their_limits() {
    let claims: Claims = round_trip("claims_v5_member.json");
    assert_eq!(claims.limits(), Some(Limits::MEMBER));
    assert_eq!(claims.level(), Level::Member);
    assert!(claims.has_audience("recorder"));
    assert!(claims.may_use_cluster(&ClusterName::parse("team-a").unwrap()));
    assert!(!claims.may_use_cluster(&ClusterName::parse("alice").unwrap()));
}

#[test]
fn our_owner_claims_round_trip_with_every_claim() {
    let claims: Claims = round_trip("claims_owner.json");
    assert_eq!(claims.github_id, Some(583_231));
    assert_eq!(claims.scope, Some(Scopes::ALL));
    assert_eq!(claims.limits(), Some(Limits::OWNER));
    assert_eq!(claims.nbf, Some(1_767_225_600));
    assert!(claims.jti.is_some());
}

#[test]
fn pat_success_round_trips_with_refresh_token_and_lifetime() {
    let body: LoginSuccess = round_trip("pat_success.json");
    assert_eq!(body.metadata.sub, "bob");
    assert_eq!(body.expires_in, Some(43_200));
    assert!(body.refresh_token.is_some());
    let debug = format!("{body:?}");
    assert!(
        !debug.contains("rt_3yq0n1Xo8b7sQ2kT"),
        "refresh token leaked into Debug"
    );
    assert!(
        !debug.contains("eyJhbGci"),
        "access token leaked into Debug"
    );
}

#[test]
fn a_non_member_pat_login_still_succeeds_with_no_roles() {
    let body: LoginSuccess = round_trip("pat_success_non_member.json");
    assert!(body.metadata.org_roles.is_empty());
    assert_eq!(body.metadata.level(), Level::GithubUser);
    assert!(!body.metadata.may_provision());
}

#[test]
fn upstream_device_poll_success_round_trips_without_our_additions() {
    let body: LoginSuccess = round_trip("device_poll_success_head.json");
    assert_eq!(body.refresh_token, None);
    assert_eq!(body.expires_in, None);
    let reply: DevicePollReply =
        serde_json::from_value(value("device_poll_success_head.json")).expect("a poll reply");
    assert_eq!(reply.http_status(), 200);
}

#[test]
fn pat_request_round_trips() {
    let body: PatRequest = round_trip("pat_request.json");
    assert!(body.pat().is_some());
}

#[test]
fn device_code_response_round_trips_with_verification_uri_complete() {
    let body: DeviceCodeResponse = round_trip("device_code_response.json");
    assert_eq!(body.interval, 5);
    assert!(
        body.verification_uri_complete
            .ends_with("user_code=WDJB-MJHT")
    );
}

#[test]
fn device_poll_request_round_trips_with_scope() {
    let body: DevicePollRequest = round_trip("device_poll_request.json");
    assert_eq!(
        body.scope,
        Some(
            Scopes::NONE
                .with(Scope::SlideruleAccess)
                .with(Scope::ProvisionerAccess)
        )
    );
}

#[test]
fn device_poll_pending_round_trips() {
    let body: DevicePollPending = round_trip("device_poll_pending.json");
    assert_eq!(body.error, PendingReason::AuthorizationPending);
    assert_eq!(body.interval, None);
}

#[test]
fn device_poll_slow_down_round_trips_with_its_interval() {
    let body: DevicePollPending = round_trip("device_poll_slow_down.json");
    assert_eq!(body.error, PendingReason::SlowDown);
    assert_eq!(body.interval, Some(10));
}

#[test]
fn device_poll_errors_round_trip() {
    for name in ["device_poll_expired.json", "device_poll_denied.json"] {
        let body: DevicePollFailure = round_trip(name);
        let reply: DevicePollReply = serde_json::from_value(value(name)).expect("a poll reply");
        assert_eq!(reply.http_status(), 400, "{name}");
        assert!(["expired_token", "access_denied"].contains(&body.error.as_str()));
    }
}

#[test]
fn a_pending_body_is_not_mistaken_for_an_error() {
    assert!(
        serde_json::from_value::<DevicePollFailure>(value("device_poll_pending.json")).is_err()
    );
    assert!(
        serde_json::from_value::<DevicePollPending>(value("device_poll_expired.json")).is_err()
    );
}

#[test]
fn web_client_registration_round_trips_and_validates() {
    let body: RegisterRequest = round_trip("register_request_web_client.json");
    let registration = body.validate().expect("valid");
    assert_eq!(
        registration.grant_types,
        [GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
    let record = ClientRecord::new("id-1", 1_767_225_600, registration);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["token_endpoint_auth_method"], "none");
    assert_eq!(json["code_challenge_method"], "S256");
    assert_eq!(json["scope"], "sliderule:access provisioner:access");
}

#[test]
fn upstream_head_client_record_round_trips() {
    let record: ClientRecord = round_trip("client_record_head.json");
    assert_eq!(record.scope, Scopes::GUEST);
}

#[test]
fn token_request_round_trips_and_is_an_authorization_code_grant() {
    let body: TokenRequest = round_trip("token_request.json");
    assert!(matches!(
        body.grant(),
        Ok(TokenGrant::AuthorizationCode { .. })
    ));
}

#[test]
fn token_response_round_trips_with_upstream_string_info() {
    let body: TokenResponse = round_trip("token_response.json");
    assert!(body.info.is_org_member);
    assert!(!body.info.is_org_owner);
    assert_eq!(body.info.max_ttl, 720);
    assert_eq!(body.expires_in, 3600);
}

#[test]
fn token_info_built_from_claims_matches_the_fixture() {
    let response: TokenResponse = round_trip("token_response.json");
    let claims = Claims {
        iss: "https://login.slideruleearth.io".into(),
        sub: "bob".into(),
        github_id: Some(1024),
        aud: vec!["provisioner".into(), "bob".into(), "team-a".into()],
        org: "SlideRuleEarth".into(),
        org_roles: OrgRoles::MEMBER,
        scope: Some(response.scope),
        max_nodes: Some(10),
        max_ttl: Some(720),
        iat: 1_767_225_600,
        nbf: None,
        exp: 1_767_229_200,
        jti: None,
        idp: None,
        org_name: None,
        user_name: None,
        user_id: None,
    };
    assert_eq!(
        TokenInfo::from_claims(&claims, Some("sliderule")),
        response.info
    );
}

#[test]
fn refresh_request_and_response_round_trip_with_v5_fields() {
    let _: RefreshRequest = round_trip("refresh_request.json");
    let body: RefreshResponse = round_trip("refresh_response.json");
    assert_eq!(body.token, body.response.access_token);
    assert_eq!(body.exp, 1_767_232_600);
    assert_eq!(RefreshResponse::new(body.response.clone(), body.exp), body);
}

#[test]
fn revoke_request_round_trips() {
    let body: RevokeRequest = round_trip("revoke_request.json");
    assert_eq!(body.token_type_hint.as_deref(), Some("refresh_token"));
}

#[test]
fn userinfo_round_trips() {
    let body: UserInfo = round_trip("userinfo.json");
    assert_eq!(body.github_id, 1024);
}

#[test]
fn jwks_round_trips() {
    let body: Jwks = round_trip("jwks.json");
    assert!(body.find("0d6c2b2e-1f43-4c4e-9a8e-5b0f3c0e7d21").is_some());
    assert!(body.find("other").is_none());
    assert_eq!(body.keys[0].use_, "sig");
}

#[test]
fn discovery_round_trips_and_is_what_for_issuer_builds() {
    let body: DiscoveryDocument = round_trip("discovery.json");
    assert_eq!(
        body,
        DiscoveryDocument::for_issuer("https://login.slideruleearth.io")
    );
}

#[test]
fn error_bodies_round_trip() {
    let body: ErrorBody = round_trip("error_body.json");
    assert_eq!(body.error, sliderule_protocol::codes::LIMIT_EXCEEDED);
    let body: ErrorBody = round_trip("error_missing_pat.json");
    assert_eq!(body.error, sliderule_protocol::codes::MISSING_PAT);
}

#[test]
fn web_config_round_trips_with_and_without_options() {
    let full: WebConfig = round_trip("web_config.json");
    assert_eq!(full.public_cluster.as_deref(), Some("sliderule"));
    let minimal: WebConfig = round_trip("web_config_minimal.json");
    assert_eq!(minimal.client_id, None);
}

#[test]
fn claims_with_a_single_string_audience_are_read() {
    let mut json = value("claims_head_device_owner.json");
    json["aud"] = json!("provisioner");
    let claims: Claims = serde_json::from_value(json).unwrap();
    assert_eq!(claims.aud, ["provisioner"]);
}
