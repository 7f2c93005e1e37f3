//! Node groups: created once, changed by compare-and-swap, listed while open, reused after
//! they closed.

use super::*;
use crate::store::{NodeGroupPhase, NodeGroupRecord};

fn group(cluster: &str, user: &str) -> NodeGroupRecord {
    NodeGroupRecord {
        cluster: cluster.into(),
        user: user.into(),
        node_capacity: 2,
        deadline: Some(T0 + secs(3600)),
        stack_id: None,
        phase: NodeGroupPhase::Pending,
        created_at: T0,
        updated_at: T0,
        revision: 0,
    }
}

pub(crate) async fn a_node_group_is_created_once_and_read_back(store: &dyn Store) {
    let stored = store
        .put_node_group(&group("public", "bob"))
        .await
        .unwrap()
        .expect("the first write of a new group wins");
    assert_eq!(stored.revision, 1);
    assert_eq!(
        store.node_group("public", "bob").await.unwrap(),
        Some(stored)
    );
    assert_eq!(
        store.put_node_group(&group("public", "bob")).await.unwrap(),
        None,
        "a second new group of the same user and cluster loses"
    );
    assert_eq!(store.node_group("public", "carol").await.unwrap(), None);
    assert_eq!(store.node_group("other", "bob").await.unwrap(), None);
}

pub(crate) async fn a_node_group_changes_only_from_the_revision_it_was_read_at(store: &dyn Store) {
    let read = store
        .put_node_group(&group("public", "bob"))
        .await
        .unwrap()
        .unwrap();
    let mut live = read.clone();
    live.phase = NodeGroupPhase::Live;
    live.stack_id = Some("stack-1".into());
    let live = store.put_node_group(&live).await.unwrap().expect("current");
    assert_eq!(live.revision, 2);
    let mut stale = read;
    stale.node_capacity = 9;
    assert_eq!(store.put_node_group(&stale).await.unwrap(), None);
    let now = store.node_group("public", "bob").await.unwrap().unwrap();
    assert_eq!((now.node_capacity, now.phase), (2, NodeGroupPhase::Live));
    assert_eq!(now.stack_id.as_deref(), Some("stack-1"));
}

pub(crate) async fn open_node_groups_leave_out_closed_ones_and_a_closed_one_is_reused(
    store: &dyn Store,
) {
    for (cluster, user) in [("public", "carol"), ("public", "bob"), ("alpha", "bob")] {
        store
            .put_node_group(&group(cluster, user))
            .await
            .unwrap()
            .unwrap();
    }
    let mut closed = store.node_group("public", "carol").await.unwrap().unwrap();
    closed.phase = NodeGroupPhase::Closed;
    closed.deadline = None;
    let closed = store.put_node_group(&closed).await.unwrap().unwrap();
    let open: Vec<(String, String)> = store
        .open_node_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.cluster, g.user))
        .collect();
    assert_eq!(
        open,
        [
            ("alpha".to_owned(), "bob".to_owned()),
            ("public".to_owned(), "bob".to_owned())
        ]
    );
    // A new deploy reuses the closed row from its revision.
    let mut again = closed;
    again.phase = NodeGroupPhase::Pending;
    again.deadline = Some(T0 + secs(60));
    let again = store.put_node_group(&again).await.unwrap().unwrap();
    assert_eq!(again.revision, 3);
    assert_eq!(store.open_node_groups().await.unwrap().len(), 3);
}
