//! Leases between replicas.

use super::*;

const LEASE: &str = "reaper";

pub(crate) async fn a_held_lease_is_refused_to_another_holder(store: &dyn Store) {
    assert!(
        store
            .acquire_lease(LEASE, "a", T0, T0 + secs(30))
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_lease(LEASE, "b", T0 + secs(29), T0 + secs(60))
            .await
            .unwrap()
    );
    // Other names are other leases.
    assert!(
        store
            .acquire_lease("other", "b", T0, T0 + secs(30))
            .await
            .unwrap()
    );
}

pub(crate) async fn an_expired_lease_is_taken_over(store: &dyn Store) {
    assert!(
        store
            .acquire_lease(LEASE, "a", T0, T0 + secs(30))
            .await
            .unwrap()
    );
    // Expired at its `until`, to the millisecond.
    assert!(
        !store
            .acquire_lease(LEASE, "b", T0 + secs(30) - ms(1), T0 + secs(60))
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease(LEASE, "b", T0 + secs(30), T0 + secs(60))
            .await
            .unwrap()
    );
    // The old holder lost it.
    assert!(
        !store
            .acquire_lease(LEASE, "a", T0 + secs(31), T0 + secs(61))
            .await
            .unwrap()
    );
}

pub(crate) async fn the_holder_renews_its_lease(store: &dyn Store) {
    assert!(
        store
            .acquire_lease(LEASE, "a", T0, T0 + secs(30))
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease(LEASE, "a", T0 + secs(20), T0 + secs(50))
            .await
            .unwrap()
    );
    // Renewed to the new `until`: still held after the first one passed.
    assert!(
        !store
            .acquire_lease(LEASE, "b", T0 + secs(40), T0 + secs(70))
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease(LEASE, "b", T0 + secs(50), T0 + secs(80))
            .await
            .unwrap()
    );
}

pub(crate) async fn a_released_lease_is_free_and_only_its_holder_releases_it(store: &dyn Store) {
    assert!(
        store
            .acquire_lease(LEASE, "a", T0, T0 + secs(30))
            .await
            .unwrap()
    );
    store.release_lease(LEASE, "b").await.unwrap();
    assert!(
        !store
            .acquire_lease(LEASE, "b", T0 + secs(1), T0 + secs(31))
            .await
            .unwrap()
    );
    store.release_lease(LEASE, "a").await.unwrap();
    assert!(
        store
            .acquire_lease(LEASE, "b", T0 + secs(1), T0 + secs(31))
            .await
            .unwrap()
    );
    // Releasing what one does not hold, or what does not exist, is fine.
    store.release_lease("never-taken", "a").await.unwrap();
}
