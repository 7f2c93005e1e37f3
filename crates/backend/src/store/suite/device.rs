//! Device-flow poll bookkeeping.

use super::*;

pub(crate) async fn an_unknown_device_code_is_recorded_and_proceeds(store: &dyn Store) {
    let code = hash("device-1");
    let first = store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(first, DevicePoll::Proceed { interval: secs(5) });
    // Recorded: a poll one second later is too soon.
    let second = store
        .device_poll(&code, T0 + secs(1), DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(second, DevicePoll::SlowDown { interval: secs(10) });
}

pub(crate) async fn a_device_poll_too_soon_slows_down_and_one_after_the_interval_proceeds(
    store: &dyn Store,
) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    let poll = |at| store.device_poll(&code, at, DEFAULT_INTERVAL);

    assert_eq!(
        poll(T0).await.unwrap(),
        DevicePoll::Proceed { interval: secs(5) }
    );
    assert_eq!(
        poll(T0 + secs(1)).await.unwrap(),
        DevicePoll::SlowDown { interval: secs(10) }
    );
    assert_eq!(
        poll(T0 + secs(11)).await.unwrap(),
        DevicePoll::Proceed { interval: secs(10) }
    );
    assert_eq!(
        poll(T0 + secs(21)).await.unwrap(),
        DevicePoll::Proceed { interval: secs(10) }
    );
}

pub(crate) async fn a_device_client_that_keeps_polling_too_soon_keeps_slowing_down(
    store: &dyn Store,
) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    let poll = |at| store.device_poll(&code, at, DEFAULT_INTERVAL);

    assert_eq!(
        poll(T0).await.unwrap(),
        DevicePoll::Proceed { interval: secs(5) }
    );
    for (n, interval) in [(1, 10), (7, 15), (20, 20)] {
        assert_eq!(
            poll(T0 + secs(n)).await.unwrap(),
            DevicePoll::SlowDown {
                interval: secs(interval)
            },
            "poll at +{n}s"
        );
    }
}

pub(crate) async fn set_device_interval_changes_the_interval_in_force(store: &dyn Store) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    store.set_device_interval(&code, secs(30)).await.unwrap();

    let soon = store
        .device_poll(&code, T0 + secs(10), DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(soon, DevicePoll::SlowDown { interval: secs(35) });
    let later = store
        .device_poll(&code, T0 + secs(45), DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(later, DevicePoll::Proceed { interval: secs(35) });
}

pub(crate) async fn inserting_a_device_code_again_replaces_its_interval(store: &dyn Store) {
    let code = hash("device-1");
    let expires_at = T0 + secs(900);
    store
        .insert_device_code(&code, secs(5), expires_at, SCOPE)
        .await
        .unwrap();
    store
        .insert_device_code(&code, secs(8), expires_at, SCOPE)
        .await
        .unwrap();
    let poll = store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(poll, DevicePoll::Proceed { interval: secs(8) });
}

pub(crate) async fn a_finished_device_code_is_forgotten(store: &dyn Store) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(20), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    store.finish_device_code(&code).await.unwrap();

    // Remembered, this would be a slow_down at 25 s.
    let poll = store
        .device_poll(&code, T0 + secs(1), DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(poll, DevicePoll::Proceed { interval: secs(5) });
}

pub(crate) async fn a_device_code_keeps_the_scope_it_was_started_with(store: &dyn Store) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    assert_eq!(
        store.device_code_scope(&code).await.unwrap().as_deref(),
        Some(SCOPE)
    );
    // Polls and GitHub's slow_down leave it alone.
    store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    store
        .device_poll(&code, T0 + secs(1), DEFAULT_INTERVAL)
        .await
        .unwrap();
    store.set_device_interval(&code, secs(30)).await.unwrap();
    assert_eq!(
        store.device_code_scope(&code).await.unwrap().as_deref(),
        Some(SCOPE)
    );
    // Recorded again (GitHub handed out the same code), the new scope is the one in force.
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), "sliderule:admin")
        .await
        .unwrap();
    assert_eq!(
        store.device_code_scope(&code).await.unwrap().as_deref(),
        Some("sliderule:admin")
    );
}

pub(crate) async fn a_device_code_first_seen_in_a_poll_or_finished_has_no_scope(store: &dyn Store) {
    let never = hash("device-never");
    assert_eq!(store.device_code_scope(&never).await.unwrap(), None);
    let polled = hash("device-polled");
    store
        .device_poll(&polled, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(store.device_code_scope(&polled).await.unwrap(), None);

    let finished = hash("device-finished");
    store
        .insert_device_code(&finished, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    store.finish_device_code(&finished).await.unwrap();
    assert_eq!(store.device_code_scope(&finished).await.unwrap(), None);
}

pub(crate) async fn reading_a_device_codes_scope_does_not_count_as_a_poll(store: &dyn Store) {
    let code = hash("device-1");
    store
        .insert_device_code(&code, secs(5), T0 + secs(900), SCOPE)
        .await
        .unwrap();
    store.device_code_scope(&code).await.unwrap();
    let first = store
        .device_poll(&code, T0, DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(first, DevicePoll::Proceed { interval: secs(5) });
    store.device_code_scope(&code).await.unwrap();
    let too_soon = store
        .device_poll(&code, T0 + secs(1), DEFAULT_INTERVAL)
        .await
        .unwrap();
    assert_eq!(too_soon, DevicePoll::SlowDown { interval: secs(10) });
}
