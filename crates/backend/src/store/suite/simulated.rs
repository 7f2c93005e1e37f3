//! The simulated cloud's stacks.

use super::*;

fn stack(id: &str, cluster: &str, current: bool, state: &str) -> SimulatedStackRow {
    SimulatedStackRow {
        stack_id: id.into(),
        cluster: cluster.into(),
        current,
        state: state.into(),
    }
}

pub(crate) async fn a_new_current_stack_replaces_the_clusters_previous_one(store: &dyn Store) {
    store
        .put_simulated_stack(&stack("s1", "alpha", true, "{1}"))
        .await
        .unwrap();
    store
        .put_simulated_stack(&stack("b1", "bravo", true, "{b}"))
        .await
        .unwrap();
    assert_eq!(
        store.current_simulated_stack("alpha").await.unwrap(),
        Some(stack("s1", "alpha", true, "{1}"))
    );

    store
        .put_simulated_stack(&stack("s2", "alpha", true, "{2}"))
        .await
        .unwrap();
    assert_eq!(
        store.current_simulated_stack("alpha").await.unwrap(),
        Some(stack("s2", "alpha", true, "{2}"))
    );
    // The old stack is kept, no longer current; the other cluster's is untouched.
    assert_eq!(
        store.simulated_stack("s1").await.unwrap(),
        Some(stack("s1", "alpha", false, "{1}"))
    );
    assert_eq!(
        store.current_simulated_stacks().await.unwrap(),
        [
            stack("s2", "alpha", true, "{2}"),
            stack("b1", "bravo", true, "{b}")
        ]
    );
}

pub(crate) async fn putting_a_stack_again_replaces_its_state(store: &dyn Store) {
    store
        .put_simulated_stack(&stack("s1", "alpha", true, "{old}"))
        .await
        .unwrap();
    store
        .put_simulated_stack(&stack("s1", "alpha", true, "{new}"))
        .await
        .unwrap();
    assert_eq!(
        store.current_simulated_stack("alpha").await.unwrap(),
        Some(stack("s1", "alpha", true, "{new}"))
    );
    // A stack put as not current does not unmark the current one.
    store
        .put_simulated_stack(&stack("s0", "alpha", false, "{}"))
        .await
        .unwrap();
    assert_eq!(
        store
            .current_simulated_stack("alpha")
            .await
            .unwrap()
            .map(|s| s.stack_id),
        Some("s1".into())
    );
    assert_eq!(store.simulated_stack("nope").await.unwrap(), None);
    assert_eq!(store.current_simulated_stack("nope").await.unwrap(), None);
}
