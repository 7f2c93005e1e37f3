//! Registered clients and pending browser logins.

use super::*;

pub(crate) async fn a_pending_login_is_taken_exactly_once(store: &dyn Store) {
    let nonce = hash("nonce-1");
    store
        .insert_pending_login(&nonce, T0 + secs(600))
        .await
        .unwrap();
    assert!(
        store
            .take_pending_login(&nonce, T0 + secs(600))
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_pending_login(&nonce, T0 + secs(601))
            .await
            .unwrap()
    );
}

pub(crate) async fn an_expired_or_unknown_pending_login_is_refused(store: &dyn Store) {
    let nonce = hash("nonce-1");
    store
        .insert_pending_login(&nonce, T0 + secs(600))
        .await
        .unwrap();
    let late = T0 + secs(600) + ms(1);
    assert!(!store.take_pending_login(&nonce, late).await.unwrap());
    assert!(
        !store
            .take_pending_login(&hash("nonce-2"), T0)
            .await
            .unwrap()
    );
}

pub(crate) async fn a_client_used_within_its_window_is_returned_and_its_window_extends(
    store: &dyn Store,
) {
    let window = secs(3600);
    store.insert_client(&client("client-1", T0)).await.unwrap();

    let used = store
        .use_client("client-1", T0 + window, window)
        .await
        .unwrap();
    let expected = StoredClient {
        last_used_at: T0 + window,
        ..client("client-1", T0)
    };
    assert_eq!(used, Some(expected));
    // Two windows after registration, but one after the last use.
    let again = store
        .use_client("client-1", T0 + window * 2, window)
        .await
        .unwrap();
    assert!(again.is_some());
}

pub(crate) async fn a_client_unused_beyond_its_window_is_gone(store: &dyn Store) {
    let window = secs(3600);
    store.insert_client(&client("client-1", T0)).await.unwrap();
    let late = T0 + window + ms(1);
    assert_eq!(
        store.use_client("client-1", late, window).await.unwrap(),
        None
    );
    assert_eq!(
        store.use_client("client-1", late, window).await.unwrap(),
        None
    );
    assert_eq!(
        store.use_client("client-2", T0, window).await.unwrap(),
        None
    );
}
