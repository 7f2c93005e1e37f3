//! Organizations: settings by compare-and-swap, admins, membership requests and decisions,
//! capacity requests (redundant, replaced, extended, withdrawn, expired), local accounts and the
//! sign-in throttle.

use sliderule_protocol::organizations::MembershipState;

use super::*;
use crate::store::{AccountRow, Lockout, NewCapacity, OrganizationRow, Requested};

fn org(name: &str) -> OrganizationRow {
    OrganizationRow {
        name: name.into(),
        min_nodes: 0,
        max_nodes: 6,
        version: "latest".into(),
        is_public: false,
        admins: vec!["carol".into(), "alice".into()],
        created_at: T0,
        created_by: "alice".into(),
        revision: 0,
    }
}

fn ask(user: &str, nodes: u32, minutes: u64, replace: bool) -> NewCapacity {
    NewCapacity {
        organization: "icesat2".into(),
        user: user.into(),
        nodes,
        expires_at: T0 + secs(minutes * 60),
        replace,
    }
}

fn queued(requested: Requested) -> crate::store::CapacityRow {
    match requested {
        Requested::Queued(row) => row,
        Requested::Redundant(row) => panic!("expected a new request, got redundant {row:?}"),
    }
}

fn account(username: &str) -> AccountRow {
    AccountRow {
        id: 0,
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email: Some(format!("{username}@example.org")),
        active: true,
        created_at: T0,
        created_by: "alice".into(),
    }
}

pub(crate) async fn an_organization_is_created_once_with_sorted_admins(store: &dyn Store) {
    assert!(store.create_organization(&org("icesat2")).await.unwrap());
    assert!(!store.create_organization(&org("icesat2")).await.unwrap());
    let stored = store.organization("icesat2").await.unwrap().unwrap();
    assert_eq!(stored.admins, ["alice", "carol"]);
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.created_at, T0);
    assert_eq!((stored.min_nodes, stored.max_nodes), (0, 6));
    assert!(store.organization("other").await.unwrap().is_none());
    store.create_organization(&org("atl06")).await.unwrap();
    let names: Vec<String> = store
        .organizations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["atl06", "icesat2"]);
}

pub(crate) async fn an_organization_update_swaps_only_the_revision_it_read(store: &dyn Store) {
    store.create_organization(&org("icesat2")).await.unwrap();
    let read = store.organization("icesat2").await.unwrap().unwrap();
    let mut first = read.clone();
    first.min_nodes = 2;
    first.admins = vec!["erin".into()];
    let stored = store.update_organization(&first).await.unwrap().unwrap();
    assert_eq!((stored.min_nodes, stored.revision), (2, 2));
    assert_eq!(stored.admins, ["erin"]);
    let mut stale = read;
    stale.max_nodes = 1;
    assert!(store.update_organization(&stale).await.unwrap().is_none());
    let now = store.organization("icesat2").await.unwrap().unwrap();
    assert_eq!(
        (now.min_nodes, now.max_nodes),
        (2, 6),
        "the stale write changed nothing"
    );
}

pub(crate) async fn a_membership_request_is_pending_until_decided_and_asked_again_after_a_refusal(
    store: &dyn Store,
) {
    store.create_organization(&org("icesat2")).await.unwrap();
    let asked = store
        .request_membership("icesat2", "frank", T0)
        .await
        .unwrap();
    assert_eq!(asked.state, MembershipState::Pending);
    // Asking again changes nothing.
    let again = store
        .request_membership("icesat2", "frank", T0 + secs(5))
        .await
        .unwrap();
    assert_eq!(again.requested_at, T0);

    let pending = [MembershipState::Pending];
    let denied = store
        .decide_membership(
            "icesat2",
            "frank",
            &pending,
            MembershipState::Denied,
            "alice",
            T0 + secs(9),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(denied.state, MembershipState::Denied);
    assert_eq!(denied.decided_by.as_deref(), Some("alice"));
    assert_eq!(denied.decided_at, Some(T0 + secs(9)));
    // Deciding from a state it is not in changes nothing.
    assert!(
        store
            .decide_membership(
                "icesat2",
                "frank",
                &pending,
                MembershipState::Active,
                "alice",
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .decide_membership(
                "icesat2",
                "nobody",
                &pending,
                MembershipState::Active,
                "alice",
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    let renewed = store
        .request_membership("icesat2", "frank", T0 + secs(60))
        .await
        .unwrap();
    assert_eq!(renewed.state, MembershipState::Pending);
    assert_eq!(renewed.requested_at, T0 + secs(60));
}

pub(crate) async fn memberships_are_listed_per_organization_and_per_person(store: &dyn Store) {
    store.create_organization(&org("icesat2")).await.unwrap();
    store.create_organization(&org("atl06")).await.unwrap();
    store
        .request_membership("icesat2", "frank", T0)
        .await
        .unwrap();
    store
        .request_membership("icesat2", "erin", T0 + secs(1))
        .await
        .unwrap();
    store
        .request_membership("atl06", "frank", T0)
        .await
        .unwrap();
    let users: Vec<String> = store
        .memberships("icesat2")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user)
        .collect();
    assert_eq!(users, ["erin", "frank"], "newest request first");
    let orgs: Vec<String> = store
        .memberships_of("frank")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.organization)
        .collect();
    assert_eq!(orgs, ["atl06", "icesat2"]);
    assert!(store.membership("atl06", "erin").await.unwrap().is_none());
}

pub(crate) async fn capacity_requests_are_live_until_they_expire_and_redundant_when_repeated(
    store: &dyn Store,
) {
    store.create_organization(&org("icesat2")).await.unwrap();
    let first = queued(
        store
            .add_capacity_request(&ask("bob", 2, 30, false), T0)
            .await
            .unwrap(),
    );
    assert_eq!((first.nodes, first.expires_at), (2, T0 + secs(1800)));
    // The same or a shorter request is redundant; a longer one or another size is new.
    assert!(matches!(
        store.add_capacity_request(&ask("bob", 2, 20, false), T0).await.unwrap(),
        Requested::Redundant(row) if row.id == first.id
    ));
    queued(
        store
            .add_capacity_request(&ask("bob", 3, 20, false), T0)
            .await
            .unwrap(),
    );
    queued(
        store
            .add_capacity_request(&ask("erin", 1, 60, false), T0)
            .await
            .unwrap(),
    );
    let live = store.capacity_requests("icesat2", T0).await.unwrap();
    let shape: Vec<(&str, u32)> = live.iter().map(|r| (r.user.as_str(), r.nodes)).collect();
    assert_eq!(
        shape,
        [("bob", 3), ("bob", 2), ("erin", 1)],
        "soonest expiry first"
    );
    // At its expiry, to the millisecond, a request is no longer live.
    let later = store
        .capacity_requests("icesat2", T0 + secs(1200))
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
    assert!(
        store
            .capacity_requests("icesat2", T0 + secs(3600))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_replacing_request_withdraws_the_users_others_in_the_same_step(
    store: &dyn Store,
) {
    store.create_organization(&org("icesat2")).await.unwrap();
    store
        .add_capacity_request(&ask("bob", 2, 30, false), T0)
        .await
        .unwrap();
    store
        .add_capacity_request(&ask("bob", 4, 60, false), T0)
        .await
        .unwrap();
    store
        .add_capacity_request(&ask("erin", 1, 60, false), T0)
        .await
        .unwrap();
    queued(
        store
            .add_capacity_request(&ask("bob", 1, 15, true), T0)
            .await
            .unwrap(),
    );
    let live = store.capacity_requests("icesat2", T0).await.unwrap();
    let shape: Vec<(&str, u32)> = live.iter().map(|r| (r.user.as_str(), r.nodes)).collect();
    assert_eq!(shape, [("bob", 1), ("erin", 1)]);
}

pub(crate) async fn capacity_requests_are_extended_and_withdrawn_per_user_or_all(
    store: &dyn Store,
) {
    store.create_organization(&org("icesat2")).await.unwrap();
    store
        .add_capacity_request(&ask("bob", 2, 30, false), T0)
        .await
        .unwrap();
    store
        .add_capacity_request(&ask("erin", 1, 30, false), T0)
        .await
        .unwrap();
    let moved = store
        .extend_capacity_requests("icesat2", "bob", T0 + secs(7200), T0)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let live = store
        .capacity_requests("icesat2", T0 + secs(3600))
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].user, "bob");
    assert_eq!(
        store
            .withdraw_capacity_requests("icesat2", Some("frank"), T0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .withdraw_capacity_requests("icesat2", Some("bob"), T0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .withdraw_capacity_requests("icesat2", None, T0)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .capacity_requests("icesat2", T0)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn a_local_account_is_created_once_and_enabled_disabled_and_rehashed(
    store: &dyn Store,
) {
    let created = store
        .create_account(&account("erin"))
        .await
        .unwrap()
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(created.email.as_deref(), Some("erin@example.org"));
    assert!(
        store
            .create_account(&account("erin"))
            .await
            .unwrap()
            .is_none()
    );
    store
        .create_account(&account("frank"))
        .await
        .unwrap()
        .unwrap();
    assert!(store.set_account_active("erin", false).await.unwrap());
    assert!(!store.set_account_active("nobody", false).await.unwrap());
    assert!(
        store
            .set_password_hash("frank", "$argon2id$new")
            .await
            .unwrap()
    );
    let accounts = store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert!(!accounts[0].active, "erin, first by name, is disabled");
    assert_eq!(accounts[1].password_hash, "$argon2id$new");
    assert!(
        !format!("{:?}", accounts[1]).contains("argon2id"),
        "Debug hides the hash"
    );
}

pub(crate) async fn ten_failures_within_the_window_lock_the_username_for_the_lock_time(
    store: &dyn Store,
) {
    let rules = Lockout::SPEC;
    for i in 0..9 {
        let locked = store
            .record_sign_in_failure("erin", T0 + secs(i * 60), rules)
            .await
            .unwrap();
        assert_eq!(locked, None, "failure {}", i + 1);
    }
    let tenth = T0 + secs(600);
    let until = tenth + secs(900);
    assert_eq!(
        store
            .record_sign_in_failure("erin", tenth, rules)
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        store
            .sign_in_locked_until("erin", tenth + secs(1))
            .await
            .unwrap(),
        Some(until)
    );
    assert_eq!(
        store.sign_in_locked_until("erin", until).await.unwrap(),
        None
    );
    assert_eq!(
        store.sign_in_locked_until("frank", tenth).await.unwrap(),
        None
    );
}

pub(crate) async fn failures_spread_beyond_the_window_or_cleared_do_not_lock(store: &dyn Store) {
    let rules = Lockout::SPEC;
    // Nine failures, then a gap longer than the window: the count starts again.
    for i in 0..9 {
        store
            .record_sign_in_failure("erin", T0 + secs(i), rules)
            .await
            .unwrap();
    }
    for i in 0..9 {
        let at = T0 + secs(1000 + i);
        assert_eq!(
            store
                .record_sign_in_failure("erin", at, rules)
                .await
                .unwrap(),
            None
        );
    }
    store.clear_sign_in_failures("erin").await.unwrap();
    assert_eq!(
        store
            .record_sign_in_failure("erin", T0 + secs(1010), rules)
            .await
            .unwrap(),
        None,
        "a success forgot the nine"
    );
}
