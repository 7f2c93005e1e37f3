//! [`OrganizationStore`] on DynamoDB (semantics: `store/sqlite/organizations.rs`).
//!
//! Organizations and local accounts live in one partition each; an organization's memberships
//! and capacity requests in a partition of the organization. A user's capacity requests change
//! together with a guard item of theirs (its `rev` bumped in the same transaction), so of two
//! racing requests of one user the second sees the first and may find itself redundant.

use async_trait::async_trait;
use sliderule_protocol::organizations::MembershipState;
use time::OffsetDateTime;

use super::item::{
    Item, boolean, duration_ms, flag, int, int_opt, item, list, millis, n, ordered, s, text,
    text_opt, texts, time, time_at, time_opt, ttl, uint, with,
};
use super::{DynamoStore, Expr, MAX_ATTEMPTS, Query, contended};
use crate::store::{
    AccountRow, CapacityRow, Lockout, MembershipRow, NewCapacity, OrganizationRow,
    OrganizationStore, Requested, StoreError,
};

const ORGANIZATIONS: &str = "organization";
const ACCOUNTS: &str = "account";

fn membership_pk(organization: &str) -> String {
    format!("membership#{organization}")
}

fn capacity_pk(organization: &str) -> String {
    format!("capacity#{organization}")
}

fn throttle_pk(username: &str) -> String {
    format!("throttle#{username}")
}

fn sorted(admins: &[String]) -> Vec<String> {
    let mut admins = admins.to_vec();
    admins.sort();
    admins.dedup();
    admins
}

fn organization(item: &Item) -> Result<OrganizationRow, StoreError> {
    Ok(OrganizationRow {
        name: text(item, "name")?,
        min_nodes: uint(item, "min_nodes")?,
        max_nodes: uint(item, "max_nodes")?,
        version: text(item, "version")?,
        is_public: boolean(item, "is_public")?,
        admins: texts(item, "admins")?,
        created_at: time(item, "created_at")?,
        created_by: text(item, "created_by")?,
        revision: int(item, "revision")?,
    })
}

fn membership(item: &Item) -> Result<MembershipRow, StoreError> {
    let state = text(item, "state")?;
    Ok(MembershipRow {
        organization: text(item, "organization")?,
        user: text(item, "user")?,
        state: MembershipState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("membership state {state:?}")))?,
        requested_at: time(item, "requested_at")?,
        decided_at: time_opt(item, "decided_at")?,
        decided_by: text_opt(item, "decided_by")?,
    })
}

fn capacity(item: &Item) -> Result<CapacityRow, StoreError> {
    Ok(CapacityRow {
        id: int(item, "id")?,
        organization: text(item, "organization")?,
        user: text(item, "user")?,
        nodes: uint(item, "nodes")?,
        created_at: time(item, "created_at")?,
        expires_at: time(item, "expires_at")?,
    })
}

fn account(item: &Item) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: int(item, "id")?,
        username: text(item, "username")?,
        password_hash: text(item, "password_hash")?,
        email: text_opt(item, "email")?,
        active: boolean(item, "active")?,
        created_at: time(item, "created_at")?,
        created_by: text(item, "created_by")?,
    })
}

impl DynamoStore {
    /// The organization's capacity requests of `user` (everyone's when `None`), live at `now`
    /// or all when `now` is `None`, soonest expiry first.
    async fn requests(
        &self,
        organization: &str,
        user: Option<&str>,
        now: Option<i64>,
    ) -> Result<Vec<CapacityRow>, StoreError> {
        let items = self
            .query(Query {
                index: None,
                key_condition: "#pk = :pk AND begins_with(#sk, :request)",
                expr: Expr::names(&["pk", "sk"])
                    .value(":pk", s(capacity_pk(organization)))
                    .value(":request", s("request#")),
                newest_first: false,
                limit: None,
            })
            .await?;
        let mut rows = Vec::new();
        for item in &items {
            let row = capacity(item)?;
            let mine = user.is_none_or(|user| row.user == user);
            let live = now.is_none_or(|now| millis(row.expires_at) > now);
            if mine && live {
                rows.push(row);
            }
        }
        rows.sort_by_key(|row| (row.expires_at, row.id));
        Ok(rows)
    }

    async fn get_membership(
        &self,
        organization: &str,
        user: &str,
    ) -> Result<Option<MembershipRow>, StoreError> {
        self.get(&membership_pk(organization), user)
            .await?
            .map(|found| membership(&found))
            .transpose()
    }
}

#[async_trait]
impl OrganizationStore for DynamoStore {
    async fn create_organization(&self, org: &OrganizationRow) -> Result<bool, StoreError> {
        let row = with(
            item(ORGANIZATIONS, org.name.as_str()),
            &[
                ("name", Some(s(org.name.as_str()))),
                ("min_nodes", Some(n(org.min_nodes))),
                ("max_nodes", Some(n(org.max_nodes))),
                ("version", Some(s(org.version.as_str()))),
                ("is_public", Some(flag(org.is_public))),
                ("admins", Some(list(&sorted(&org.admins)))),
                ("created_at", Some(n(millis(org.created_at)))),
                ("created_by", Some(s(org.created_by.as_str()))),
                ("revision", Some(n(1))),
            ],
        );
        self.put(row, Some("attribute_not_exists(#pk)"), Expr::names(&["pk"]))
            .await
    }

    async fn organization(&self, name: &str) -> Result<Option<OrganizationRow>, StoreError> {
        self.get(ORGANIZATIONS, name)
            .await?
            .map(|found| organization(&found))
            .transpose()
    }

    async fn organizations(&self) -> Result<Vec<OrganizationRow>, StoreError> {
        let items = self.query(Query::partition(ORGANIZATIONS)).await?;
        items.iter().map(organization).collect()
    }

    async fn update_organization(
        &self,
        org: &OrganizationRow,
    ) -> Result<Option<OrganizationRow>, StoreError> {
        let after = self
            .update(
                (ORGANIZATIONS, &org.name),
                "SET #min_nodes = :min, #max_nodes = :max, #version = :version, \
                 #is_public = :public, #admins = :admins, #revision = :next",
                Some("#revision = :read"),
                Expr::names(&[
                    "min_nodes",
                    "max_nodes",
                    "version",
                    "is_public",
                    "admins",
                    "revision",
                ])
                .value(":min", n(org.min_nodes))
                .value(":max", n(org.max_nodes))
                .value(":version", s(org.version.as_str()))
                .value(":public", flag(org.is_public))
                .value(":admins", list(&sorted(&org.admins)))
                .value(":next", n(org.revision + 1))
                .value(":read", n(org.revision)),
            )
            .await?;
        after.map(|item| organization(&item)).transpose()
    }

    async fn request_membership(
        &self,
        organization: &str,
        user: &str,
        now: OffsetDateTime,
    ) -> Result<MembershipRow, StoreError> {
        let pk = membership_pk(organization);
        let asked = self
            .update(
                (&pk, user),
                "SET #organization = :org, #user = :user, #state = :pending, \
                 #requested_at = :now, #grp = :grp, #grp_sk = :org",
                Some("attribute_not_exists(#pk) OR #state IN (:denied, :deactivated)"),
                Expr::names(&[
                    "organization",
                    "user",
                    "state",
                    "requested_at",
                    "grp",
                    "grp_sk",
                    "pk",
                ])
                .value(":org", s(organization))
                .value(":user", s(user))
                .value(":pending", s(MembershipState::Pending.as_str()))
                .value(":now", n(millis(now)))
                .value(":grp", s(format!("member#{user}")))
                .value(":denied", s(MembershipState::Denied.as_str()))
                .value(":deactivated", s(MembershipState::Deactivated.as_str())),
            )
            .await?;
        match asked {
            Some(after) => membership(&after),
            // Pending or active already: unchanged.
            None => self
                .get_membership(organization, user)
                .await?
                .ok_or_else(|| StoreError::Corrupt("a membership just read is missing".into())),
        }
    }

    async fn membership(
        &self,
        organization: &str,
        user: &str,
    ) -> Result<Option<MembershipRow>, StoreError> {
        self.get_membership(organization, user).await
    }

    async fn memberships(&self, organization: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let items = self
            .query(Query::partition(&membership_pk(organization)))
            .await?;
        let mut rows = items
            .iter()
            .map(membership)
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by(|a, b| {
            b.requested_at
                .cmp(&a.requested_at)
                .then_with(|| a.user.cmp(&b.user))
        });
        Ok(rows)
    }

    async fn memberships_of(&self, user: &str) -> Result<Vec<MembershipRow>, StoreError> {
        let items = self
            .query(Query::index("by_group", &format!("member#{user}")))
            .await?;
        let mut rows = items
            .iter()
            .map(membership)
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by(|a, b| a.organization.cmp(&b.organization));
        Ok(rows)
    }

    async fn decide_membership(
        &self,
        organization: &str,
        user: &str,
        from: &[MembershipState],
        to: MembershipState,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MembershipRow>, StoreError> {
        let pk = membership_pk(organization);
        for _ in 0..MAX_ATTEMPTS {
            let Some(current) = self.get_membership(organization, user).await? else {
                return Ok(None);
            };
            if !from.contains(&current.state) {
                return Ok(None);
            }
            let decided = self
                .update(
                    (&pk, user),
                    "SET #state = :to, #decided_at = :now, #decided_by = :by",
                    Some("#state = :read"),
                    Expr::names(&["state", "decided_at", "decided_by"])
                        .value(":to", s(to.as_str()))
                        .value(":now", n(millis(now)))
                        .value(":by", s(by))
                        .value(":read", s(current.state.as_str())),
                )
                .await?;
            if let Some(after) = decided {
                return membership(&after).map(Some);
            }
        }
        Err(contended("deciding a membership"))
    }

    async fn add_capacity_request(
        &self,
        request: &NewCapacity,
        now: OffsetDateTime,
    ) -> Result<Requested, StoreError> {
        let pk = capacity_pk(&request.organization);
        let guard = format!("guard#{}", request.user);
        let now_ms = millis(now);
        let expires = millis(request.expires_at);
        let mut id = None;
        for _ in 0..MAX_ATTEMPTS {
            let rev = match self.get(&pk, &guard).await? {
                Some(found) => int(&found, "rev")?,
                None => 0,
            };
            let mine = self
                .requests(&request.organization, Some(&request.user), None)
                .await?;
            if !request.replace
                && let Some(same) = mine.iter().find(|r| {
                    millis(r.expires_at) > now_ms
                        && r.nodes == request.nodes
                        && millis(r.expires_at) >= expires
                })
            {
                return Ok(Requested::Redundant(same.clone()));
            }
            let id = match id {
                Some(id) => id,
                None => *id.insert(self.next_id("capacity").await?),
            };
            let (condition, expr) = if rev == 0 {
                ("attribute_not_exists(#pk)", Expr::names(&["pk", "rev"]))
            } else {
                ("#rev = :read", Expr::names(&["rev"]).value(":read", n(rev)))
            };
            let mut writes = vec![self.tx_update(
                (&pk, &guard),
                "SET #rev = :next",
                Some(condition),
                expr.value(":next", n(rev + 1)),
            )?];
            if request.replace {
                for old in &mine {
                    writes.push(self.tx_delete(
                        (&pk, &format!("request#{}", ordered(old.id))),
                        None,
                        Expr::default(),
                    )?);
                }
            }
            let row = with(
                item(pk.as_str(), format!("request#{}", ordered(id))),
                &[
                    ("kind", Some(s("capacity"))),
                    ("kind_sk", Some(s(ordered(expires)))),
                    ("id", Some(n(id))),
                    ("organization", Some(s(request.organization.as_str()))),
                    ("user", Some(s(request.user.as_str()))),
                    ("nodes", Some(n(request.nodes))),
                    ("created_at", Some(n(now_ms))),
                    ("expires_at", Some(n(expires))),
                    ("ttl_at", Some(ttl(expires))),
                ],
            );
            writes.push(self.tx_put(row, None, Expr::default())?);
            if writes.len() > 100 {
                return Err(StoreError::Unavailable(format!(
                    "{} has too many capacity requests on {} to replace at once",
                    request.user, request.organization
                )));
            }
            if self.transact(writes).await? {
                return Ok(Requested::Queued(CapacityRow {
                    id,
                    organization: request.organization.clone(),
                    user: request.user.clone(),
                    nodes: request.nodes,
                    created_at: time_at(now_ms)?,
                    expires_at: time_at(expires)?,
                }));
            }
        }
        Err(contended("adding a capacity request"))
    }

    async fn capacity_requests(
        &self,
        organization: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CapacityRow>, StoreError> {
        self.requests(organization, None, Some(millis(now))).await
    }

    async fn extend_capacity_requests(
        &self,
        organization: &str,
        user: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (now, expires) = (millis(now), millis(expires_at));
        let pk = capacity_pk(organization);
        let mut moved = 0;
        for row in self.requests(organization, Some(user), Some(now)).await? {
            let extended = self
                .update(
                    (&pk, &format!("request#{}", ordered(row.id))),
                    "SET #expires_at = :expires, #kind_sk = :kind_sk, #ttl_at = :ttl",
                    Some("#expires_at > :now"),
                    Expr::names(&["expires_at", "kind_sk", "ttl_at"])
                        .value(":expires", n(expires))
                        .value(":kind_sk", s(ordered(expires)))
                        .value(":ttl", ttl(expires))
                        .value(":now", n(now)),
                )
                .await?;
            moved += u64::from(extended.is_some());
        }
        Ok(moved)
    }

    async fn withdraw_capacity_requests(
        &self,
        organization: &str,
        user: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let now = millis(now);
        let pk = capacity_pk(organization);
        let mut gone = 0;
        for row in self.requests(organization, user, Some(now)).await? {
            let deleted = self
                .delete(
                    (&pk, &format!("request#{}", ordered(row.id))),
                    Some("#expires_at > :now"),
                    Expr::names(&["expires_at"]).value(":now", n(now)),
                )
                .await?;
            gone += u64::from(deleted.is_some());
        }
        Ok(gone)
    }

    async fn create_account(&self, new: &AccountRow) -> Result<Option<AccountRow>, StoreError> {
        if self.get(ACCOUNTS, &new.username).await?.is_some() {
            return Ok(None);
        }
        let id = self.next_id("account").await?;
        let created = AccountRow {
            id,
            created_at: time_at(millis(new.created_at))?,
            ..new.clone()
        };
        let row = with(
            item(ACCOUNTS, created.username.as_str()),
            &[
                ("id", Some(n(id))),
                ("username", Some(s(created.username.as_str()))),
                ("password_hash", Some(s(created.password_hash.as_str()))),
                ("email", created.email.as_deref().map(s)),
                ("active", Some(flag(created.active))),
                ("created_at", Some(n(millis(created.created_at)))),
                ("created_by", Some(s(created.created_by.as_str()))),
            ],
        );
        let inserted = self
            .put(row, Some("attribute_not_exists(#pk)"), Expr::names(&["pk"]))
            .await?;
        Ok(inserted.then_some(created))
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        self.get(ACCOUNTS, username)
            .await?
            .map(|found| account(&found))
            .transpose()
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let items = self.query(Query::partition(ACCOUNTS)).await?;
        items.iter().map(account).collect()
    }

    async fn set_account_active(&self, username: &str, active: bool) -> Result<bool, StoreError> {
        let changed = self
            .update(
                (ACCOUNTS, username),
                "SET #active = :active",
                Some("attribute_exists(#pk)"),
                Expr::names(&["active", "pk"]).value(":active", flag(active)),
            )
            .await?;
        Ok(changed.is_some())
    }

    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        let changed = self
            .update(
                (ACCOUNTS, username),
                "SET #password_hash = :hash",
                Some("attribute_exists(#pk)"),
                Expr::names(&["password_hash", "pk"]).value(":hash", s(hash)),
            )
            .await?;
        Ok(changed.is_some())
    }

    async fn sign_in_locked_until(
        &self,
        username: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let Some(found) = self.get(&throttle_pk(username), "throttle").await? else {
            return Ok(None);
        };
        int_opt(&found, "locked_until")?
            .filter(|until| *until > millis(now))
            .map(time_at)
            .transpose()
    }

    async fn record_sign_in_failure(
        &self,
        username: &str,
        now: OffsetDateTime,
        rules: Lockout,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let pk = throttle_pk(username);
        let now_ms = millis(now);
        for _ in 0..MAX_ATTEMPTS {
            let found = self.get(&pk, "throttle").await?;
            let (read, rev) = match &found {
                Some(found) => {
                    if let Some(until) = int_opt(found, "locked_until")?
                        && until > now_ms
                    {
                        return time_at(until).map(Some);
                    }
                    (
                        Some((int(found, "window_start")?, int(found, "failures")?)),
                        int(found, "rev")?,
                    )
                }
                None => (None, 0),
            };
            let (start, failures) = match read {
                Some((start, failures)) if now_ms - start < duration_ms(rules.window) => {
                    (start, failures + 1)
                }
                _ => (now_ms, 1),
            };
            let locked = (failures >= i64::from(rules.failures))
                .then(|| now_ms.saturating_add(duration_ms(rules.lock_for)));
            // A lock starts a fresh window: its failures are spent on it.
            let (start, failures) = if locked.is_some() {
                (now_ms, 0)
            } else {
                (start, failures)
            };
            let forget_at = locked
                .unwrap_or(0)
                .max(start.saturating_add(duration_ms(Lockout::SPEC.window)));
            let row = with(
                item(pk.as_str(), "throttle"),
                &[
                    ("kind", Some(s("throttle"))),
                    ("kind_sk", Some(s(username))),
                    ("window_start", Some(n(start))),
                    ("failures", Some(n(failures))),
                    ("locked_until", locked.map(n)),
                    ("rev", Some(n(rev + 1))),
                    ("ttl_at", Some(ttl(forget_at))),
                ],
            );
            let (condition, expr) = if found.is_none() {
                ("attribute_not_exists(#pk)", Expr::names(&["pk"]))
            } else {
                ("#rev = :read", Expr::names(&["rev"]).value(":read", n(rev)))
            };
            if self.put(row, Some(condition), expr).await? {
                return locked.map(time_at).transpose();
            }
        }
        Err(contended("counting a failed sign-in"))
    }

    async fn clear_sign_in_failures(&self, username: &str) -> Result<(), StoreError> {
        self.delete((&throttle_pk(username), "throttle"), None, Expr::default())
            .await?;
        Ok(())
    }
}
