//! The v2-era client API (organizations.md, "The v2 client API"): what the `sliderule` 4.x
//! Python client calls at `https://ps.<domain>/api/…`, served at the root of `ps.<domain>` and
//! under `/ps` on the single origin. Every path keeps the old Provisioning System's shape
//! (trailing slashes included); errors are `{"status": "FAILED", "error_msg": …}`.
//!
//! Nothing here has rules of its own: tokens come from the authenticator (local accounts,
//! GitHub tokens, rotating refresh tokens), capacity and bounds from the provisioner. This
//! module checks the v2 path against the token (the token's organization must be the path's),
//! and translates answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::json;
use sliderule_protocol::organizations::v2::{
    self, DesiredNodes, Done, IpAddress, MembershipStatus, OrgNumNodes, OrgTokenGithubRequest,
    OrgTokenRequest, OrgTokens, QUEUED, REDUNDANT, RefreshRequest, SUCCESS, exp_text,
    lifetime_text,
};
use sliderule_protocol::organizations::{
    ABSOLUTE_MAX_NODES, MAX_REQUEST_TTL, MIN_REQUEST_TTL, Standing,
};
use sliderule_protocol::{Claims, ClusterName, Limits, Scopes, parse_json_body};
use time::OffsetDateTime;

use crate::app::AppState;
use crate::authenticator::grant::Flow;
use crate::authenticator::session::Session;
use crate::authenticator::{Authenticator, Issued};
use crate::http::bearer::SignedIn;
use crate::http::openapi::V2Refusals;
use crate::http::v2_error::V2Error;
use crate::provisioner::organizations::OrgAccess;
use crate::store::{OrganizationRow, Requested};

/// The caller's verified claims, refused in the v2 envelope.
struct V2Caller(Claims);

impl FromRequestParts<AppState> for V2Caller {
    type Rejection = V2Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, V2Error> {
        let SignedIn(claims) = SignedIn::from_request_parts(parts, state).await?;
        Ok(Self(claims))
    }
}

/// Path segments, refused in the v2 envelope.
struct V2Path<T>(T);

impl<T, S> FromRequestParts<S> for V2Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = V2Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, V2Error> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| V2Error::bad_request(rejection.body_text()))
    }
}

/// Where the v2 API lives on the single origin (`ps.<domain>` is rewritten to it).
pub const MOUNT: &str = "/ps";

/// The v2 client API's part of `/openapi.json` (see `http::openapi`), next to its routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        org_token,
        org_token_github,
        refresh,
        blacklist,
        membership_status,
        org_num_nodes,
        desired_nodes_ttl,
        desired_nodes,
        ip_address,
        org_config,
        remove_user_requests,
        remove_all_requests,
    ),
    tags((name = "v2", description = "The v2-era client API (sliderule 4.x) at ps.<domain>"))
)]
pub struct V2Api;

pub fn routes(state: &AppState) -> Router<AppState> {
    // Sign-ins take the authenticator's per-address limits, as its own sign-in endpoints do.
    let sign_in = Router::new()
        .route(v2::paths::ORG_TOKEN, post(org_token))
        .route(v2::paths::ORG_TOKEN_GITHUB, post(org_token_github))
        .route(v2::paths::ORG_TOKEN_REFRESH, post(refresh))
        .route(v2::paths::TOKEN_BLACKLIST, post(blacklist))
        .route_layer(axum::middleware::from_fn_with_state(
            state.auth_rate_limit.clone(),
            crate::http::rate_limit::limit_v2,
        ));
    let api = Router::new()
        .merge(sign_in)
        .route(v2::paths::MEMBERSHIP_STATUS, get(membership_status))
        .route(v2::paths::ORG_NUM_NODES, get(org_num_nodes))
        .route(
            v2::paths::DESIRED_NODES_TTL,
            post(desired_nodes_ttl).put(desired_nodes_ttl),
        )
        .route(
            v2::paths::DESIRED_NODES,
            put(desired_nodes).patch(desired_nodes),
        )
        .route(v2::paths::ORG_IP_ADDRESS, get(ip_address))
        .route(v2::paths::ORG_CONFIG, put(org_config))
        .route(v2::paths::REMOVE_USER_REQUESTS, put(remove_user_requests))
        .route(v2::paths::REMOVE_ALL_REQUESTS, put(remove_all_requests))
        .fallback(unknown);
    Router::new().nest(MOUNT, api)
}

async fn unknown() -> V2Error {
    V2Error::new(
        StatusCode::NOT_FOUND,
        "no such endpoint of the Provisioning System API; see the organizations guide",
    )
}

/// The tokens of a v2 answer.
fn tokens(auth: &Authenticator, issued: Issued) -> OrgTokens {
    let expires = OffsetDateTime::from_unix_timestamp(issued.claims.exp)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let refresh = auth.refresh_rules.idle.min(auth.refresh_rules.absolute);
    OrgTokens {
        access: issued.access_token.into(),
        refresh: issued.refresh_token.into(),
        exp: exp_text(expires),
        access_lifetime: lifetime_text(issued.expires_in),
        refresh_lifetime: lifetime_text(refresh.as_secs()),
    }
}

fn json_answer(body: impl serde::Serialize) -> Response {
    crate::authenticator::respond::no_store(StatusCode::OK, body)
}

/// The organization named in a path, or 400/404.
async fn organization(state: &AppState, name: &str) -> Result<OrganizationRow, V2Error> {
    let name = ClusterName::parse(name).map_err(|e| V2Error::bad_request(e.to_string()))?;
    Ok(state.provisioner.existing(&name).await?)
}

/// Issues v2 tokens for `session` if its person is an active member of `org_name`: 403 if not.
async fn issue_for(
    state: &AppState,
    session: Session,
    org_name: &str,
) -> Result<Response, V2Error> {
    let org = organization(state, org_name).await?;
    let session = session.for_v2(org.name.clone());
    let auth = &state.authenticator;
    let now = state.clock.now();
    let claims = auth.claims_for(&session, now).await?;
    let access = state.provisioner.standing_in(&claims, org).await?;
    if access.standing == Standing::Outsider {
        return Err(not_a_member(&claims.sub, &access.org.name));
    }
    let issued = auth
        .start_session(&state.keys.current(), &session, now)
        .await?;
    Ok(json_answer(tokens(auth, issued)))
}

/// The organization's cluster name (checked when it was created).
fn cluster_of(access: &OrgAccess) -> Result<ClusterName, V2Error> {
    ClusterName::parse(&access.org.name).map_err(|e| V2Error::bad_request(e.to_string()))
}

fn not_a_member(user: &str, org: &str) -> V2Error {
    V2Error::new(
        StatusCode::FORBIDDEN,
        format!("{user} is not an active member of organization {org}; request membership first"),
    )
}

/// `POST /api/org_token/`: a local account's username and password.
#[utoipa::path(
    post,
    path = v2::paths::ORG_TOKEN,
    request_body = OrgTokenRequest,
    responses((status = 200, body = OrgTokens), V2Refusals),
    tag = "v2"
)]
async fn org_token(State(state): State<AppState>, body: Bytes) -> Result<Response, V2Error> {
    let request: OrgTokenRequest = parse_json_body(&body)?;
    let account = state
        .authenticator
        .check_local_password(
            &request.username,
            request.password.expose(),
            state.clock.now(),
        )
        .await?;
    issue_for(
        &state,
        Authenticator::local_session(&account),
        &request.org_name,
    )
    .await
}

/// `POST /api/org_token_github/`: a GitHub token, resolved like a PAT sign-in.
#[utoipa::path(
    post,
    path = v2::paths::ORG_TOKEN_GITHUB,
    request_body = OrgTokenGithubRequest,
    responses((status = 200, body = OrgTokens), V2Refusals),
    tag = "v2"
)]
async fn org_token_github(State(state): State<AppState>, body: Bytes) -> Result<Response, V2Error> {
    let request: OrgTokenGithubRequest = parse_json_body(&body)?;
    let token = request.access_token.expose().trim();
    if token.is_empty() {
        return Err(V2Error::bad_request(
            "access_token is required: a GitHub token",
        ));
    }
    // Refused here rather than by GitHub: it could not even be sent in a header.
    if let Some(problem) = crate::authenticator::pat::malformation(token) {
        return Err(V2Error::bad_request(format!(
            "access_token is malformed: {problem}; a GitHub token is one word of printable ASCII characters"
        )));
    }
    let identity = state.authenticator.resolver.resolve(token).await?;
    let session = Session::new(identity, Scopes::MEMBER, Flow::PersonalAccessToken);
    issue_for(&state, session, &request.org_name).await
}

/// `POST /api/org_token/refresh/`: rotates the refresh token; the person must still be a member.
#[utoipa::path(
    post,
    path = v2::paths::ORG_TOKEN_REFRESH,
    request_body = RefreshRequest,
    responses((status = 200, body = OrgTokens), V2Refusals),
    tag = "v2"
)]
async fn refresh(State(state): State<AppState>, body: Bytes) -> Result<Response, V2Error> {
    let request: RefreshRequest = parse_json_body(&body)?;
    let auth = &state.authenticator;
    let issued = auth
        .refresh(
            &state.keys.current(),
            request.refresh.expose(),
            state.clock.now(),
        )
        .await?;
    if let Some(org_name) = issued.claims.org_name.clone() {
        let org = organization(&state, &org_name).await?;
        let access = state.provisioner.standing_in(&issued.claims, org).await?;
        if access.standing == Standing::Outsider {
            // No longer a member: what was just issued must not work either.
            auth.revoke(&issued.refresh_token).await?;
            return Err(not_a_member(&issued.claims.sub, &org_name));
        }
    }
    Ok(json_answer(tokens(auth, issued)))
}

/// `POST /api/token/blacklist/`: revokes the refresh token's family.
#[utoipa::path(
    post,
    path = v2::paths::TOKEN_BLACKLIST,
    request_body = RefreshRequest,
    responses((status = 200, body = Object), V2Refusals),
    tag = "v2"
)]
async fn blacklist(State(state): State<AppState>, body: Bytes) -> Result<Response, V2Error> {
    let request: RefreshRequest = parse_json_body(&body)?;
    state.authenticator.revoke(request.refresh.expose()).await?;
    Ok(json_answer(json!({})))
}

/// The caller's standing in the path's organization, after checking that a v2 token was issued
/// for it (400 otherwise).
async fn standing(state: &AppState, claims: &Claims, org: &str) -> Result<OrgAccess, V2Error> {
    let org = organization(state, org).await?;
    if let Some(token_org) = &claims.org_name
        && !token_org.eq_ignore_ascii_case(&org.name)
    {
        return Err(V2Error::bad_request(format!(
            "this token was issued for organization {token_org}, not {}",
            org.name
        )));
    }
    Ok(state.provisioner.standing_in(claims, org).await?)
}

/// Like [`standing`], and 403 unless a member.
async fn member(state: &AppState, claims: &Claims, org: &str) -> Result<OrgAccess, V2Error> {
    let access = standing(state, claims, org).await?;
    if access.standing == Standing::Outsider {
        return Err(not_a_member(&claims.sub, &access.org.name));
    }
    Ok(access)
}

#[utoipa::path(
    get,
    path = v2::paths::MEMBERSHIP_STATUS,
    params(("org" = String, Path, description = "The organization's name")),
    responses((status = 200, body = MembershipStatus), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn membership_status(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path(org): V2Path<String>,
) -> Result<Response, V2Error> {
    let access = standing(&state, &claims, &org).await?;
    Ok(json_answer(MembershipStatus {
        active: access.standing != Standing::Outsider,
    }))
}

#[utoipa::path(
    get,
    path = v2::paths::ORG_NUM_NODES,
    params(("org" = String, Path, description = "The organization's name")),
    responses((status = 200, body = OrgNumNodes), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn org_num_nodes(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path(org): V2Path<String>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    let name = cluster_of(&access)?;
    let current_nodes = state.provisioner.cloud.current_nodes(&name).await?;
    Ok(json_answer(OrgNumNodes {
        status: SUCCESS.to_owned(),
        min_nodes: access.org.min_nodes,
        current_nodes,
        max_nodes: access.org.max_nodes,
        version: access.org.version,
        is_public: access.org.is_public,
    }))
}

/// A node count from a path: 0 to the caller's limit (and never above v2's 1000).
fn nodes_of(text: &str, claims: &Claims, state: &AppState) -> Result<u32, V2Error> {
    let limits = claims
        .limits()
        .unwrap_or(state.authenticator.policy.member_limits);
    let max = limits.max_nodes.min(ABSOLUTE_MAX_NODES);
    match text.parse::<i64>() {
        Ok(n) if (0..=i64::from(max)).contains(&n) => Ok(u32::try_from(n).unwrap_or(0)),
        Ok(n) => Err(V2Error::bad_request(format!(
            "the node count {n} is out of range: give 0 to {max}"
        ))),
        Err(_) => Err(V2Error::bad_request(format!(
            "the node count {text:?} is not a whole number"
        ))),
    }
}

/// A TTL from a path: 15 to 720 minutes (and the caller's limit).
fn ttl_of(text: &str, claims: &Claims) -> Result<u32, V2Error> {
    let max = claims
        .limits()
        .map_or(MAX_REQUEST_TTL, |l: Limits| l.max_ttl.min(MAX_REQUEST_TTL));
    match text.parse::<i64>() {
        Ok(ttl) if (i64::from(MIN_REQUEST_TTL)..=i64::from(max)).contains(&ttl) => {
            Ok(u32::try_from(ttl).unwrap_or(MIN_REQUEST_TTL))
        }
        Ok(ttl) => Err(V2Error::bad_request(format!(
            "the time to live {ttl} is out of range: give {MIN_REQUEST_TTL} to {max} minutes"
        ))),
        Err(_) => Err(V2Error::bad_request(format!(
            "the time to live {text:?} is not a whole number of minutes"
        ))),
    }
}

#[utoipa::path(
    method(post, put),
    path = v2::paths::DESIRED_NODES_TTL,
    params(("org" = String, Path, description = "The organization's name"), ("nodes" = String, Path, description = "Nodes wanted"), ("ttl" = String, Path, description = "Minutes the request lasts")),
    responses((status = 200, body = DesiredNodes), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn desired_nodes_ttl(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path((org, nodes, ttl)): V2Path<(String, String, String)>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    let nodes = nodes_of(&nodes, &claims, &state)?;
    let ttl = ttl_of(&ttl, &claims)?;
    let expires = state.clock.now() + time::Duration::minutes(i64::from(ttl));
    desire(&state, &claims, &access, nodes, expires).await
}

#[utoipa::path(
    method(put, patch),
    path = v2::paths::DESIRED_NODES,
    params(("org" = String, Path, description = "The organization's name"), ("nodes" = String, Path, description = "Nodes wanted")),
    responses((status = 200, body = DesiredNodes), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn desired_nodes(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path((org, nodes)): V2Path<(String, String)>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    let nodes = nodes_of(&nodes, &claims, &state)?;
    // The request lives as long as the access token.
    let expires = claims
        .expires_at()
        .ok_or_else(|| V2Error::bad_request("the token has no usable expiry"))?;
    desire(&state, &claims, &access, nodes, expires).await
}

async fn desire(
    state: &AppState,
    claims: &Claims,
    access: &OrgAccess,
    nodes: u32,
    expires: OffsetDateTime,
) -> Result<Response, V2Error> {
    let (requested, evaluation) = state
        .provisioner
        .request_capacity_until(&access.org, &claims.sub, nodes, expires, false)
        .await?;
    let (status, row) = match requested {
        Requested::Queued(row) => (QUEUED, row),
        Requested::Redundant(row) => (REDUNDANT, row),
    };
    let verb = match evaluation.change {
        crate::provisioner::capacity::Change::Woke { .. } => "Deploying",
        _ => "Updating",
    };
    Ok(json_answer(DesiredNodes {
        status: status.to_owned(),
        msg: format!(
            "{verb} {} cluster to {} nodes for {} nodes requested to expire:{}",
            access.org.name,
            evaluation.target,
            row.nodes,
            exp_text(row.expires_at)
        ),
        error_msg: String::new(),
    }))
}

#[utoipa::path(
    get,
    path = v2::paths::ORG_IP_ADDRESS,
    params(("org" = String, Path, description = "The organization's name")),
    responses(
        (status = 200, body = IpAddress),
        (status = 503, description = "The organization's cluster is not deployed", body = v2::Failed),
        V2Refusals
    ),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn ip_address(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path(org): V2Path<String>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    let name = cluster_of(&access)?;
    let stack = state
        .provisioner
        .cloud
        .describe_stack(&name)
        .await?
        .filter(|s| s.status().state().is_live());
    let Some(stack) = stack else {
        return Err(V2Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("organization {name}'s cluster is not deployed; request nodes to start it"),
        ));
    };
    // The simulated cloud's clusters answer on this service's own address.
    let ip_address = stack
        .address
        .unwrap_or_else(|| state.config.bind.ip().to_string());
    Ok(json_answer(IpAddress {
        status: SUCCESS.to_owned(),
        ip_address,
    }))
}

#[utoipa::path(
    put,
    path = v2::paths::ORG_CONFIG,
    params(("org" = String, Path, description = "The organization's name"), ("min" = String, Path, description = "Fewest nodes"), ("max" = String, Path, description = "Most nodes")),
    responses((status = 200, body = Done), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn org_config(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path((org, min, max)): V2Path<(String, String, String)>,
) -> Result<Response, V2Error> {
    let access = standing(&state, &claims, &org).await?;
    let bound = |text: &str, name: &str| {
        text.parse::<u32>().map_err(|_| {
            V2Error::bad_request(format!("{name} {text:?} is not a whole number of nodes"))
        })
    };
    let (min, max) = (bound(&min, "min_nodes")?, bound(&max, "max_nodes")?);
    let name = cluster_of(&access)?;
    let request = sliderule_protocol::organizations::ConfigureRequest {
        organization: name.clone(),
        min_nodes: Some(min),
        max_nodes: Some(max),
        version: None,
        is_public: None,
        admins: None,
    };
    let configured = state
        .provisioner
        .configure_organization(&claims, &request)
        .await?;
    Ok(json_answer(Done::new(format!(
        "updated min-max nodes of {name} to {}-{}",
        configured.min_nodes, configured.max_nodes
    ))))
}

#[utoipa::path(
    put,
    path = v2::paths::REMOVE_USER_REQUESTS,
    params(("org" = String, Path, description = "The organization's name")),
    responses((status = 200, body = Done), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn remove_user_requests(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path(org): V2Path<String>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    // The old system answered SUCCESS with nothing to withdraw, and the 4.x client may call it
    // whenever it is done: no request is not an error here (v5's /destroy says 404).
    let gone = match state
        .provisioner
        .withdraw_capacity(&access.org, &claims.sub, Some(&claims.sub))
        .await
    {
        Ok((gone, _)) => gone,
        Err(crate::provisioner::error::ProvisionerError::DoesNotExist(_)) => 0,
        Err(error) => return Err(error.into()),
    };
    Ok(json_answer(Done::new(format!(
        "withdrew {gone} node request(s) of {} on {}",
        claims.sub, access.org.name
    ))))
}

#[utoipa::path(
    put,
    path = v2::paths::REMOVE_ALL_REQUESTS,
    params(("org" = String, Path, description = "The organization's name")),
    responses((status = 200, body = Done), V2Refusals),
    security(("bearer" = [])),
    tag = "v2"
)]
async fn remove_all_requests(
    State(state): State<AppState>,
    V2Caller(claims): V2Caller,
    V2Path(org): V2Path<String>,
) -> Result<Response, V2Error> {
    let access = member(&state, &claims, &org).await?;
    access.must_be_admin("withdrawing every request")?;
    let (gone, _) = state
        .provisioner
        .withdraw_capacity(&access.org, &claims.sub, None)
        .await?;
    Ok(json_answer(Done::new(format!(
        "withdrew all {gone} node request(s) on {}",
        access.org.name
    ))))
}
