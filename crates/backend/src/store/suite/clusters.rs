//! Cluster records: opening by deploy, compare-and-swap updates, closing, and the reaper's view.

use super::*;
use crate::store::DestroyIntent;

pub(crate) async fn a_deploy_starts_once_and_then_sees_the_open_record(store: &dyn Store) {
    let first = record("alpha", T0);
    let started = store.begin_deploy(&first).await.unwrap();
    let BeginDeploy::Started(stored) = started else {
        panic!("expected Started, got {started:?}");
    };
    assert_eq!((stored.phase, stored.revision), (ClusterPhase::Pending, 1));
    assert_eq!(
        stored,
        ClusterRecord {
            revision: 1,
            ..first.clone()
        }
    );

    let second = ClusterRecord {
        owner: "bob".into(),
        ..record("alpha", T0 + secs(5))
    };
    let outcome = store.begin_deploy(&second).await.unwrap();
    assert_eq!(outcome, BeginDeploy::Exists(stored.clone()));
    assert_eq!(store.cluster("alpha").await.unwrap(), Some(stored));
}

pub(crate) async fn a_live_record_also_blocks_a_new_deploy(store: &dyn Store) {
    let stored = started(store, record("alpha", T0)).await;
    let live = store
        .update_cluster(&ClusterRecord {
            phase: ClusterPhase::Live,
            stack_id: Some("stack-1".into()),
            ..stored
        })
        .await
        .unwrap()
        .unwrap();
    let outcome = store.begin_deploy(&record("alpha", T0)).await.unwrap();
    assert_eq!(outcome, BeginDeploy::Exists(live));
}

pub(crate) async fn a_closed_record_lets_the_name_be_deployed_again(store: &dyn Store) {
    let stored = started(store, record("alpha", T0)).await;
    let closed = store
        .update_cluster(&ClusterRecord {
            phase: ClusterPhase::Closed,
            deadline: None,
            ..stored.clone()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.cluster("alpha").await.unwrap(), Some(closed.clone()));

    let again = ClusterRecord {
        owner: "bob".into(),
        ..record("alpha", T0 + secs(60))
    };
    let outcome = store.begin_deploy(&again).await.unwrap();
    let BeginDeploy::Started(restarted) = outcome else {
        panic!("expected Started, got {outcome:?}");
    };
    assert_eq!(restarted.owner, "bob");
    assert_eq!(restarted.phase, ClusterPhase::Pending);
    // Revisions go on, so the old record (revision 1 too, before it was closed) is stale.
    assert!(restarted.revision > closed.revision);
    assert_eq!(store.update_cluster(&stored).await.unwrap(), None);
}

pub(crate) async fn an_update_swaps_only_the_revision_it_read(store: &dyn Store) {
    let stored = started(store, record("alpha", T0)).await;
    let mine = ClusterRecord {
        node_capacity: 7,
        updated_at: T0 + secs(1),
        ..stored.clone()
    };
    let theirs = ClusterRecord {
        node_capacity: 9,
        ..stored.clone()
    };
    let written = store.update_cluster(&mine).await.unwrap();
    assert_eq!(
        written,
        Some(ClusterRecord {
            revision: stored.revision + 1,
            ..mine
        })
    );
    // Read at the same revision, written second: refused, and nothing changes.
    assert_eq!(store.update_cluster(&theirs).await.unwrap(), None);
    assert_eq!(store.cluster("alpha").await.unwrap(), written);
}

pub(crate) async fn an_update_of_an_unknown_cluster_is_refused(store: &dyn Store) {
    assert_eq!(
        store.update_cluster(&record("ghost", T0)).await.unwrap(),
        None
    );
    assert_eq!(store.cluster("ghost").await.unwrap(), None);
}

pub(crate) async fn every_field_of_a_record_round_trips(store: &dyn Store) {
    let full = ClusterRecord {
        cluster: "team-a".into(),
        owner: "carol".into(),
        node_capacity: u32::MAX,
        version: "v4.9.2".into(),
        is_public: true,
        deadline: Some(T0 + ms(1)),
        stack_id: Some("arn:aws:cloudformation:us-west-2:000000000000:stack/x/y".into()),
        phase: ClusterPhase::Pending,
        created_at: T0,
        updated_at: T0 + ms(2),
        revision: 1,
        destroy: None,
    };
    started(store, full.clone()).await;
    assert_eq!(store.cluster("team-a").await.unwrap(), Some(full.clone()));

    let destroying = ClusterRecord {
        deadline: None,
        destroy: Some(DestroyIntent {
            requested_at: T0 + ms(3),
            requested_by: "reaper".into(),
            issued_at: Some(T0 + ms(4)),
            failures: u32::MAX,
            last_error: Some("the stack's nodes could not be deleted".into()),
            next_at: T0 + ms(5),
        }),
        ..full
    };
    let stored = store.update_cluster(&destroying).await.unwrap().unwrap();
    assert_eq!(
        stored,
        ClusterRecord {
            revision: 2,
            ..destroying.clone()
        }
    );
    assert_eq!(store.cluster("team-a").await.unwrap(), Some(stored.clone()));

    // An intent whose delete was not issued yet, with no failure, round-trips as well.
    let waiting = ClusterRecord {
        destroy: Some(DestroyIntent {
            issued_at: None,
            failures: 0,
            last_error: None,
            ..destroying.destroy.clone().unwrap()
        }),
        ..stored
    };
    let stored = store.update_cluster(&waiting).await.unwrap().unwrap();
    assert_eq!(stored.destroy, waiting.destroy);
}

pub(crate) async fn open_clusters_lists_pending_and_live_records_by_name(store: &dyn Store) {
    for name in ["charlie", "alpha", "bravo"] {
        started(store, record(name, T0)).await;
    }
    let bravo = store.cluster("bravo").await.unwrap().unwrap();
    close(store, bravo).await;
    let alpha = store.cluster("alpha").await.unwrap().unwrap();
    store
        .update_cluster(&ClusterRecord {
            phase: ClusterPhase::Live,
            ..alpha
        })
        .await
        .unwrap()
        .unwrap();

    let open = store.open_clusters().await.unwrap();
    let names: Vec<_> = open.iter().map(|r| (r.cluster.as_str(), r.phase)).collect();
    assert_eq!(
        names,
        [
            ("alpha", ClusterPhase::Live),
            ("charlie", ClusterPhase::Pending)
        ]
    );
}

pub(crate) async fn due_clusters_are_the_open_ones_past_their_deadline_soonest_first(
    store: &dyn Store,
) {
    let now = T0 + secs(3600);
    let deadlines = [
        ("later", Some(now + ms(1))),
        ("exactly-now", Some(now)),
        ("long-ago", Some(now - secs(600))),
        ("a-minute-ago", Some(now - secs(60))),
        ("no-deadline", None),
        ("closed-long-ago", Some(now - secs(900))),
    ];
    for (name, deadline) in deadlines {
        started(
            store,
            ClusterRecord {
                deadline,
                ..record(name, T0)
            },
        )
        .await;
    }
    let closed = store.cluster("closed-long-ago").await.unwrap().unwrap();
    close(store, closed).await;

    let due = store.due_clusters(now).await.unwrap();
    let names: Vec<_> = due.iter().map(|r| r.cluster.as_str()).collect();
    assert_eq!(names, ["long-ago", "a-minute-ago", "exactly-now"]);
}

pub(crate) async fn clusters_whose_destroy_is_due_are_due_with_the_others_soonest_first(
    store: &dyn Store,
) {
    let now = T0 + secs(3600);
    let intent = |next_at| DestroyIntent {
        requested_at: T0,
        requested_by: "bob".into(),
        issued_at: None,
        failures: 0,
        last_error: None,
        next_at,
    };
    let cases = [
        ("deadline-passed", Some(now - secs(30)), None),
        ("destroy-due", None, Some(intent(now - secs(60)))),
        ("destroy-due-now", None, Some(intent(now))),
        ("destroy-later", None, Some(intent(now + ms(1)))),
        // Whichever of the two comes first makes it due.
        ("both", Some(now + secs(600)), Some(intent(now - secs(10)))),
    ];
    for (name, deadline, destroy) in cases {
        started(
            store,
            ClusterRecord {
                deadline,
                destroy,
                ..record(name, T0)
            },
        )
        .await;
    }
    let due = store.due_clusters(now).await.unwrap();
    let names: Vec<_> = due.iter().map(|r| r.cluster.as_str()).collect();
    assert_eq!(
        names,
        ["destroy-due", "deadline-passed", "both", "destroy-due-now"]
    );
    assert_eq!(due[0].destroy, Some(intent(now - secs(60))));
}
