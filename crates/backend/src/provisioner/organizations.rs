//! Organizations through the provisioner (organizations.md): the v5 endpoints on an
//! organization's cluster act on the caller's capacity request; admins configure the bounds and
//! decide membership requests; owners create organizations. Every change is audited under the
//! organization's name.

use serde_json::json;
use sliderule_protocol::organizations::{
    Bounds, ConfigureRequest, CreateOrganizationRequest, MAX_REQUEST_TTL, Membership,
    MembershipState, Organization, Standing,
};
use sliderule_protocol::provisioner::{DeployRequest, DestroyResponse, ExtendRequest, StackEvent};
use sliderule_protocol::{Claims, ClusterName, Limits, Version, codes};

use super::Provisioner;
use super::caller::Caller;
use super::capacity::{target_of, wire_requests};
use super::error::ProvisionerError;
use super::status::{OrganizationPart, View};
use crate::organizations::standing;
use crate::store::{MembershipRow, OrganizationRow};

/// The resource type of an organization's own events in `/events`, beside the stack's.
pub const EVENT_RESOURCE_TYPE: &str = "SlideRule::Organization";

/// How many of an organization's own events `/events` shows.
const ORGANIZATION_EVENTS: u32 = 200;

/// An organization's audit entry as an event of its cluster: a request, withdrawal, expiry,
/// wake, sleep, resize or change of bounds. `None` for other entries.
pub fn organization_event(entry: &crate::store::AuditEntry) -> Option<StackEvent> {
    let p: serde_json::Value = serde_json::from_str(&entry.parameters).unwrap_or_default();
    let text = |key: &str| p[key].as_str().map(str::to_owned).unwrap_or_default();
    let number = |key: &str| p[key].as_u64().map_or_else(String::new, |n| n.to_string());
    let actor = &entry.actor;
    let (status, reason) = match entry.action.as_str() {
        "capacity_request" => (
            "REQUESTED",
            format!(
                "{actor} asked for {} nodes until {}",
                number("nodes"),
                text("expires")
            ),
        ),
        "capacity_extend" => (
            "EXTENDED",
            format!("{actor} moved their request's end to {}", text("expires")),
        ),
        "capacity_withdraw" => (
            "WITHDRAWN",
            match p["user"].as_str() {
                Some(user) => format!("{user} withdrew {} request(s)", number("withdrawn")),
                None => format!("{actor} withdrew every request ({})", number("withdrawn")),
            },
        ),
        "capacity_expired" => ("EXPIRED", "a request reached its end".to_owned()),
        "wake" => (
            "WOKE",
            format!("woke at {} nodes for {actor}", number("nodes")),
        ),
        "sleep" => (
            "SLEPT",
            "went to sleep: no live request and min_nodes 0".to_owned(),
        ),
        "resize" => (
            "RESIZED",
            format!("resized from {} to {} nodes", number("from"), number("to")),
        ),
        "organization_configure" => (
            "CONFIGURED",
            format!(
                "{actor} set the bounds to {} to {} nodes",
                number("min_nodes"),
                number("max_nodes")
            ),
        ),
        _ => return None,
    };
    let status = if entry.outcome == "ok" {
        status.to_owned()
    } else {
        format!("{status}_REFUSED")
    };
    Some(StackEvent {
        timestamp: entry.at,
        logical_resource_id: entry.cluster.clone(),
        resource_type: EVENT_RESOURCE_TYPE.to_owned(),
        resource_status: status,
        resource_status_reason: Some(if entry.outcome == "ok" {
            reason
        } else {
            format!("{reason}: {}", entry.outcome)
        }),
        physical_resource_id: None,
    })
}

/// How the caller stands in an organization they act on.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub org: OrganizationRow,
    pub standing: Standing,
}

impl OrgAccess {
    pub fn is_admin(&self) -> bool {
        self.standing == Standing::Admin
    }

    /// 403 unless an admin.
    pub fn must_be_admin(&self, what: &str) -> Result<(), ProvisionerError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ProvisionerError::Forbidden(format!(
                "{what} is for admins of organization {}",
                self.org.name
            )))
        }
    }
}

/// The limits of a capacity request: the caller's, with v2's 720-minute ceiling.
pub fn request_limits(limits: Limits) -> Limits {
    Limits {
        max_nodes: limits.max_nodes,
        max_ttl: limits.max_ttl.min(MAX_REQUEST_TTL),
    }
}

impl Provisioner {
    /// Whether the caller may act on `cluster`: for an organization's, as a member or admin (a
    /// deactivated membership overrides the token); for any other, as today. The organization
    /// and the caller's standing when it is one.
    pub async fn access(
        &self,
        claims: &Claims,
        cluster: &ClusterName,
    ) -> Result<Option<OrgAccess>, ProvisionerError> {
        let Some(org) = self.store.organization(cluster.as_str()).await? else {
            return Ok(None);
        };
        let access = self.standing_in(claims, org).await?;
        if access.standing == Standing::Outsider {
            return Err(ProvisionerError::Forbidden(format!(
                "you are not a member of organization {cluster}; ask to join it (Request membership)"
            )));
        }
        Ok(Some(access))
    }

    /// The caller's standing in `org`, whatever it is.
    pub async fn standing_in(
        &self,
        claims: &Claims,
        org: OrganizationRow,
    ) -> Result<OrgAccess, ProvisionerError> {
        let membership = self
            .store
            .membership(&org.name, &claims.sub.to_ascii_lowercase())
            .await?;
        let standing = standing(claims, &org, membership.as_ref());
        Ok(OrgAccess { org, standing })
    }

    /// 403 unless the caller may act on `cluster` (see [`Provisioner::access`]).
    pub async fn may_act_on(
        &self,
        caller: &Caller,
        cluster: &ClusterName,
    ) -> Result<Option<OrgAccess>, ProvisionerError> {
        match self.access(&caller.claims, cluster).await? {
            Some(access) => Ok(Some(access)),
            None => {
                caller.may_use(cluster)?;
                Ok(None)
            }
        }
    }

    /// The cluster's view, with its live requests and bounds when it is an organization's.
    pub async fn view_of(
        &self,
        cluster: &ClusterName,
        org: Option<&OrganizationRow>,
    ) -> Result<View, ProvisionerError> {
        let mut view = self.view(cluster).await?;
        if let Some(org) = org {
            let requests = self
                .store
                .capacity_requests(&org.name, self.clock.now())
                .await?;
            view.organization = Some(OrganizationPart {
                requests: wire_requests(&requests),
                min_nodes: org.min_nodes,
                max_nodes: org.max_nodes,
            });
        }
        Ok(view)
    }

    /// `/events` of an organization's cluster: its stack's events and its own (requests,
    /// withdrawals, expiries, wakes, sleeps, resizes, bounds), newest first.
    pub async fn organization_events(
        &self,
        cluster: &ClusterName,
    ) -> Result<Vec<StackEvent>, ProvisionerError> {
        let mut events = match self.events(cluster).await {
            Ok(events) => events,
            // A cluster that never ran has no stack events yet.
            Err(ProvisionerError::DoesNotExist(_)) => Vec::new(),
            Err(error) => return Err(error),
        };
        let own = self
            .store
            .audit_of(cluster.as_str(), ORGANIZATION_EVENTS)
            .await?;
        events.extend(own.iter().filter_map(organization_event));
        // Stable: a stack's events keep their order among equal times.
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        Ok(events)
    }

    /// v5 `/deploy` on an organization: the caller's request (replacing their others).
    pub(super) async fn deploy_on_organization(
        &self,
        caller: &Caller,
        access: &OrgAccess,
        request: &DeployRequest,
    ) -> Result<View, ProvisionerError> {
        let org = &access.org;
        let limits = request_limits(caller.limits);
        limits.check_capacity(request.node_capacity)?;
        limits.check_ttl(request.ttl)?;
        // `version` and `is_public` are the organization's settings, which its admins set; the
        // 5.x client sends `"latest"` and `false` with every deploy, so they are not read here.
        self.request_capacity(
            org,
            caller.login(),
            request.node_capacity.get(),
            request.ttl,
            true,
        )
        .await?;
        self.view_of(&request.cluster, Some(org)).await
    }

    /// v5 `/extend` on an organization: moves the caller's requests' expiry.
    pub(super) async fn extend_on_organization(
        &self,
        caller: &Caller,
        access: &OrgAccess,
        request: &ExtendRequest,
    ) -> Result<View, ProvisionerError> {
        request_limits(caller.limits).check_ttl(request.ttl)?;
        self.extend_capacity(&access.org, caller.login(), request.ttl)
            .await?;
        self.view_of(&request.cluster, Some(&access.org)).await
    }

    /// `/destroy`: an organization's admin withdraws every request and destroys the stack; a
    /// member withdraws their own requests (the cluster shrinks, or sleeps). Any other cluster
    /// is destroyed as always.
    pub async fn destroy_for(
        &self,
        caller: &Caller,
        cluster: &ClusterName,
    ) -> Result<DestroyResponse, ProvisionerError> {
        let Some(access) = self.may_act_on(caller, cluster).await? else {
            let progress = self.destroy(caller.login(), cluster).await?;
            return Ok(DestroyResponse::new(
                cluster.clone(),
                progress.state(),
                progress.pending(),
            ));
        };
        if access.is_admin() {
            self.withdraw_capacity(&access.org, caller.login(), None)
                .await?;
            let progress = self.destroy(caller.login(), cluster).await?;
            return Ok(DestroyResponse::new(
                cluster.clone(),
                progress.state(),
                progress.pending(),
            ));
        }
        self.withdraw_capacity(&access.org, caller.login(), Some(caller.login()))
            .await?;
        let view = self.view(cluster).await?;
        Ok(DestroyResponse::new(cluster.clone(), view.state(), false))
    }

    /// Every organization, with the caller's standing and (for members) live requests.
    pub async fn organizations_for(
        &self,
        claims: &Claims,
    ) -> Result<Vec<Organization>, ProvisionerError> {
        let mut out = Vec::new();
        for org in self.store.organizations().await? {
            out.push(self.organization_view(claims, org).await?);
        }
        Ok(out)
    }

    /// One organization as the caller may see it.
    pub async fn organization_view(
        &self,
        claims: &Claims,
        org: OrganizationRow,
    ) -> Result<Organization, ProvisionerError> {
        let name =
            ClusterName::parse(&org.name).map_err(|e| ProvisionerError::Internal(e.into()))?;
        let membership = self
            .store
            .membership(&org.name, &claims.sub.to_ascii_lowercase())
            .await?;
        let standing = standing(claims, &org, membership.as_ref());
        let requests = self
            .store
            .capacity_requests(&org.name, self.clock.now())
            .await?;
        let target = target_of(&org, &requests);
        Ok(Organization {
            name,
            min_nodes: org.min_nodes,
            max_nodes: org.max_nodes,
            version: org.version,
            is_public: org.is_public,
            admins: org.admins,
            standing,
            membership: membership.map_or(MembershipState::None, |m| m.state),
            requests: if standing == Standing::Outsider {
                Vec::new()
            } else {
                wire_requests(&requests)
            },
            target_nodes: target,
        })
    }

    /// Owners create an organization.
    pub async fn create_organization(
        &self,
        caller: &Caller,
        request: &CreateOrganizationRequest,
    ) -> Result<Organization, ProvisionerError> {
        caller.must_be_owner("creating an organization")?;
        let bounds = self.bounds(request.min_nodes, request.max_nodes)?;
        let now = self.clock.now();
        let row = OrganizationRow {
            name: request.organization.as_str().to_owned(),
            min_nodes: bounds.min_nodes,
            max_nodes: bounds.max_nodes,
            version: request
                .version
                .clone()
                .unwrap_or_else(Version::latest)
                .as_str()
                .to_owned(),
            is_public: request.is_public,
            admins: normalized(&request.admins),
            created_at: now,
            created_by: caller.login().to_owned(),
            revision: 0,
        };
        if !self.store.create_organization(&row).await? {
            return Err(ProvisionerError::Conflict {
                code: codes::ALREADY_EXISTS,
                description: format!("organization {} exists already", request.organization),
            });
        }
        self.audit(
            caller.login(),
            "organization_create",
            &request.organization,
            json!({ "min_nodes": row.min_nodes, "max_nodes": row.max_nodes, "version": row.version,
                    "is_public": row.is_public, "admins": row.admins }),
            Ok(()),
        )
        .await;
        if bounds.min_nodes > 0 {
            self.reevaluate(&request.organization, caller.login())
                .await?;
        }
        let org = self.store.organization(&row.name).await?.unwrap_or(row);
        self.organization_view(&caller.claims, org).await
    }

    /// Admins change the bounds or version; owners also the admins. The target is re-evaluated
    /// at once.
    pub async fn configure_organization(
        &self,
        claims: &Claims,
        request: &ConfigureRequest,
    ) -> Result<Organization, ProvisionerError> {
        let name = &request.organization;
        for _ in 0..50 {
            let org = self.existing(name).await?;
            let access = self.standing_in(claims, org.clone()).await?;
            access.must_be_admin("configuring an organization")?;
            if (request.admins.is_some() || request.is_public.is_some()) && !claims.is_owner() {
                return Err(ProvisionerError::Forbidden(
                    "changing an organization's admins or visibility is for owners".into(),
                ));
            }
            let bounds = self.bounds(
                request.min_nodes.unwrap_or(org.min_nodes),
                request.max_nodes.unwrap_or(org.max_nodes),
            )?;
            let mut next = org.clone();
            next.min_nodes = bounds.min_nodes;
            next.max_nodes = bounds.max_nodes;
            if let Some(version) = &request.version {
                next.version = version.as_str().to_owned();
            }
            if let Some(admins) = &request.admins {
                next.admins = normalized(admins);
            }
            if let Some(is_public) = request.is_public {
                next.is_public = is_public;
            }
            let Some(stored) = self.store.update_organization(&next).await? else {
                tokio::task::yield_now().await;
                continue;
            };
            self.audit(
                &claims.sub,
                "organization_configure",
                name,
                json!({ "min_nodes": stored.min_nodes, "max_nodes": stored.max_nodes,
                        "version": stored.version, "is_public": stored.is_public,
                        "admins": stored.admins }),
                Ok(()),
            )
            .await;
            self.reevaluate(name, &claims.sub).await?;
            return self.organization_view(claims, stored).await;
        }
        Err(ProvisionerError::in_progress(format!(
            "organization {name} kept changing; try again"
        )))
    }

    /// `0 ≤ min ≤ max ≤` the owner limit: 400 otherwise.
    pub fn bounds(&self, min_nodes: u32, max_nodes: u32) -> Result<Bounds, ProvisionerError> {
        Bounds::new(min_nodes, max_nodes, self.max_org_nodes)
            .map_err(|e| ProvisionerError::Invalid(e.to_string()))
    }

    /// The organization, or 404.
    pub async fn existing(&self, name: &ClusterName) -> Result<OrganizationRow, ProvisionerError> {
        self.store
            .organization(name.as_str())
            .await?
            .ok_or_else(|| {
                ProvisionerError::DoesNotExist(format!("there is no organization {name}"))
            })
    }

    /// A signed-in person asks to join. 409 when they belong already.
    pub async fn request_membership(
        &self,
        claims: &Claims,
        name: &ClusterName,
    ) -> Result<Membership, ProvisionerError> {
        let org = self.existing(name).await?;
        let access = self.standing_in(claims, org).await?;
        if access.standing != Standing::Outsider {
            return Err(ProvisionerError::Conflict {
                code: codes::ALREADY_EXISTS,
                description: format!("you are a member of organization {name} already"),
            });
        }
        let user = claims.sub.to_ascii_lowercase();
        let row = self
            .store
            .request_membership(name.as_str(), &user, self.clock.now())
            .await?;
        self.audit(
            &user,
            "membership_request",
            name,
            json!({ "state": row.state.as_str() }),
            Ok(()),
        )
        .await;
        wire_membership(row)
    }

    /// An organization's memberships (admins).
    pub async fn memberships_of(
        &self,
        claims: &Claims,
        name: &ClusterName,
    ) -> Result<Vec<Membership>, ProvisionerError> {
        let org = self.existing(name).await?;
        self.standing_in(claims, org)
            .await?
            .must_be_admin("listing members")?;
        self.store
            .memberships(name.as_str())
            .await?
            .into_iter()
            .map(wire_membership)
            .collect()
    }

    /// An admin's decision: approve (a pending, denied or deactivated membership), deny (a
    /// pending one), deactivate (an active one). Takes effect at the person's next sign-in or
    /// refresh; a deactivation also at once for provisioning.
    pub async fn decide_membership(
        &self,
        claims: &Claims,
        name: &ClusterName,
        user: &str,
        to: MembershipState,
    ) -> Result<Membership, ProvisionerError> {
        let org = self.existing(name).await?;
        self.standing_in(claims, org)
            .await?
            .must_be_admin("deciding membership requests")?;
        let from: &[MembershipState] = match to {
            MembershipState::Active => &[
                MembershipState::Pending,
                MembershipState::Denied,
                MembershipState::Deactivated,
            ],
            MembershipState::Denied => &[MembershipState::Pending],
            MembershipState::Deactivated => &[MembershipState::Active],
            MembershipState::Pending | MembershipState::None => {
                return Err(ProvisionerError::Invalid(format!(
                    "a membership cannot be decided to {}",
                    to.as_str()
                )));
            }
        };
        let user = user.trim().to_ascii_lowercase();
        let decided = self
            .store
            .decide_membership(
                name.as_str(),
                &user,
                from,
                to,
                &claims.sub,
                self.clock.now(),
            )
            .await?;
        let Some(row) = decided else {
            let current = self.store.membership(name.as_str(), &user).await?;
            return Err(match current {
                None => ProvisionerError::DoesNotExist(format!(
                    "{user} has not asked to join organization {name}"
                )),
                Some(current) => ProvisionerError::Conflict {
                    code: codes::OPERATION_IN_PROGRESS,
                    description: format!(
                        "{user}'s membership of {name} is {}; it cannot become {}",
                        current.state.as_str(),
                        to.as_str()
                    ),
                },
            });
        };
        self.audit(
            &claims.sub,
            "membership_decision",
            name,
            json!({ "user": user, "state": to.as_str() }),
            Ok(()),
        )
        .await;
        if to == MembershipState::Deactivated {
            // Their requests no longer count.
            self.store
                .withdraw_capacity_requests(name.as_str(), Some(&user), self.clock.now())
                .await?;
            self.reevaluate(name, &claims.sub).await?;
        }
        wire_membership(row)
    }
}

fn normalized(names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn wire_membership(row: MembershipRow) -> Result<Membership, ProvisionerError> {
    Ok(Membership {
        organization: ClusterName::parse(&row.organization)
            .map_err(|e| ProvisionerError::Internal(e.into()))?,
        user: row.user,
        state: row.state,
        requested_at: row.requested_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
    })
}
