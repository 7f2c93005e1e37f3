//! The HTTP face of organizations on the provisioner (`/organizations*`, `/membership/*`). Any
//! of our tokens may list organizations and ask to join; the rules decide the rest.

use axum::Json;
use axum::extract::State;
use sliderule_protocol::organizations::{
    ConfigureRequest, CreateOrganizationRequest, Membership, MembershipDecision, MembershipState,
    MembershipsResponse, Organization, OrganizationRequest, OrganizationsResponse,
};

use super::caller::Caller;
use crate::app::AppState;
use crate::http::bearer::SignedIn;
use crate::http::error::ApiError;
use crate::http::json_body::JsonBody;
use crate::http::openapi::Refusals;
use sliderule_protocol::organizations::paths as orgs;

#[utoipa::path(
    post,
    path = orgs::ORGANIZATIONS,
    responses((status = 200, body = OrganizationsResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
) -> Result<Json<OrganizationsResponse>, ApiError> {
    Ok(Json(OrganizationsResponse {
        organizations: state.provisioner.organizations_for(&claims).await?,
    }))
}

#[utoipa::path(
    post,
    path = orgs::ORGANIZATION,
    request_body = OrganizationRequest,
    responses((status = 200, body = Organization), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn show(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<OrganizationRequest>,
) -> Result<Json<Organization>, ApiError> {
    let provisioner = &state.provisioner;
    let org = provisioner.existing(&request.organization).await?;
    Ok(Json(provisioner.organization_view(&claims, org).await?))
}

#[utoipa::path(
    post,
    path = orgs::CREATE,
    request_body = CreateOrganizationRequest,
    responses((status = 200, body = Organization), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateOrganizationRequest>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .create_organization(&caller, &request)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = orgs::CONFIGURE,
    request_body = ConfigureRequest,
    responses((status = 200, body = Organization), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn configure(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<ConfigureRequest>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .configure_organization(&claims, &request)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = orgs::MEMBERSHIP_REQUEST,
    request_body = OrganizationRequest,
    responses((status = 200, body = Membership), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn request_membership(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<OrganizationRequest>,
) -> Result<Json<Membership>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .request_membership(&claims, &request.organization)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = orgs::MEMBERSHIP_LIST,
    request_body = OrganizationRequest,
    responses((status = 200, body = MembershipsResponse), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn list_memberships(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<OrganizationRequest>,
) -> Result<Json<MembershipsResponse>, ApiError> {
    Ok(Json(MembershipsResponse {
        memberships: state
            .provisioner
            .memberships_of(&claims, &request.organization)
            .await?,
    }))
}

async fn decide(
    state: &AppState,
    claims: &sliderule_protocol::Claims,
    request: &MembershipDecision,
    to: MembershipState,
) -> Result<Json<Membership>, ApiError> {
    Ok(Json(
        state
            .provisioner
            .decide_membership(claims, &request.organization, &request.user, to)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = orgs::MEMBERSHIP_APPROVE,
    request_body = MembershipDecision,
    responses((status = 200, body = Membership), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn approve(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<MembershipDecision>,
) -> Result<Json<Membership>, ApiError> {
    decide(&state, &claims, &request, MembershipState::Active).await
}

#[utoipa::path(
    post,
    path = orgs::MEMBERSHIP_DENY,
    request_body = MembershipDecision,
    responses((status = 200, body = Membership), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn deny(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<MembershipDecision>,
) -> Result<Json<Membership>, ApiError> {
    decide(&state, &claims, &request, MembershipState::Denied).await
}

#[utoipa::path(
    post,
    path = orgs::MEMBERSHIP_DEACTIVATE,
    request_body = MembershipDecision,
    responses((status = 200, body = Membership), Refusals),
    security(("bearer" = [])),
    tag = "provisioner"
)]
pub async fn deactivate(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    JsonBody(request): JsonBody<MembershipDecision>,
) -> Result<Json<Membership>, ApiError> {
    decide(&state, &claims, &request, MembershipState::Deactivated).await
}
