//! The behaviour every [`Store`] must have, as functions over `&dyn Store`, so each
//! implementation runs the same checks from its own tests (see `sqlite/tests.rs`). Each function
//! is one test; its name says what it checks.

mod audit;
mod budgets;
mod clients;
mod clusters;
mod codes;
mod device;
mod leases;
mod node_groups;
mod organizations;
mod purge;
mod races;
mod refresh;
mod simulated;

pub(crate) use audit::*;
pub(crate) use budgets::*;
pub(crate) use clients::*;
pub(crate) use clusters::*;
pub(crate) use codes::*;
pub(crate) use device::*;
pub(crate) use leases::*;
pub(crate) use node_groups::*;
pub(crate) use organizations::*;
pub(crate) use purge::*;
pub(crate) use races::*;
pub(crate) use refresh::*;
pub(crate) use simulated::*;

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::{
    AuditEntry, BeginDeploy, ClusterPhase, ClusterRecord, CodeGrant, CodeRedemption, DevicePoll,
    Family, RefreshRules, Rotation, SimulatedStackRow, Store, StoredClient, TokenHash,
};

const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

const RULES: RefreshRules = RefreshRules {
    grace: Duration::from_secs(5),
    idle: Duration::from_secs(24 * 60 * 60),
    absolute: Duration::from_secs(30 * 24 * 60 * 60),
};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What the authenticator writes as a device code's scope; the store keeps it as text.
const SCOPE: &str = "sliderule:access provisioner:access";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn grant(expires_at: OffsetDateTime) -> CodeGrant {
    CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "http://127.0.0.1:8123/callback".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        grant: r#"{"login":"alice","scope":"openid"}"#.into(),
        expires_at,
    }
}

fn family(id: &str, login: &str, created_at: OffsetDateTime) -> Family {
    Family {
        id: id.into(),
        login: login.into(),
        grant: format!(r#"{{"login":"{login}"}}"#),
        created_at,
        last_used_at: created_at,
        revoked: false,
    }
}

fn client(id: &str, at: OffsetDateTime) -> StoredClient {
    StoredClient {
        client_id: id.into(),
        record: format!(r#"{{"client_id":"{id}"}}"#),
        registered_at: at,
        last_used_at: at,
    }
}

/// A pending record of `cluster` created at `at`, due an hour later.
fn record(cluster: &str, at: OffsetDateTime) -> ClusterRecord {
    ClusterRecord {
        cluster: cluster.into(),
        owner: "alice".into(),
        node_capacity: 3,
        version: "latest".into(),
        is_public: false,
        deadline: Some(at + secs(3600)),
        stack_id: None,
        phase: ClusterPhase::Pending,
        created_at: at,
        updated_at: at,
        revision: 1,
        destroy: None,
    }
}

/// Begins a deploy that must start; returns the stored record.
async fn started(store: &dyn Store, record: ClusterRecord) -> ClusterRecord {
    match store.begin_deploy(&record).await.unwrap() {
        BeginDeploy::Started(stored) => stored,
        other => panic!("expected Started, got {other:?}"),
    }
}

/// Closes a record (as a destroy does); returns the stored record.
async fn close(store: &dyn Store, record: ClusterRecord) -> ClusterRecord {
    let closed = ClusterRecord {
        phase: ClusterPhase::Closed,
        deadline: None,
        ..record
    };
    store.update_cluster(&closed).await.unwrap().unwrap()
}

fn hash(secret: &str) -> TokenHash {
    TokenHash::of(secret)
}

async fn rotate(
    store: &dyn Store,
    presented: &str,
    successor: &str,
    now: OffsetDateTime,
    rules: RefreshRules,
) -> Rotation {
    let sealed = format!("sealed {successor}");
    store
        .rotate_refresh(
            &hash(presented),
            &hash(successor),
            sealed.as_bytes(),
            now,
            rules,
        )
        .await
        .unwrap()
}

async fn is_revoked(store: &dyn Store, token: &str) -> bool {
    store
        .family_of(&hash(token))
        .await
        .unwrap()
        .unwrap()
        .revoked
}

pub(crate) async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
}
