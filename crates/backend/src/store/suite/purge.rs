//! Purging what expired.

use super::*;

pub(crate) async fn purge_deletes_what_expired_and_keeps_what_lives(store: &dyn Store) {
    let now = T0 + secs(2 * 24 * 3600);
    let window = secs(3600);
    // Gone: an expired login, an expired unredeemed code, an expired device code, a revoked and
    // an idle family with one token each, a stale client: 8 rows.
    store
        .insert_pending_login(&hash("nonce-old"), now - secs(1))
        .await
        .unwrap();
    store
        .insert_code(&hash("code-old"), &grant(now - secs(1)))
        .await
        .unwrap();
    store
        .insert_device_code(&hash("dev-old"), secs(5), now - secs(1), SCOPE)
        .await
        .unwrap();
    store
        .create_family(&family("fam-revoked", "alice", now), &hash("rt-revoked"))
        .await
        .unwrap();
    store.revoke_family("fam-revoked").await.unwrap();
    store
        .create_family(&family("fam-idle", "alice", T0), &hash("rt-idle"))
        .await
        .unwrap();
    store
        .insert_client(&client("client-old", now - window - ms(1)))
        .await
        .unwrap();
    // Kept: live ones, and a code redeemed then expired (its reuse must still be seen).
    store
        .insert_pending_login(&hash("nonce-new"), now + secs(60))
        .await
        .unwrap();
    store
        .insert_code(&hash("code-new"), &grant(now + secs(60)))
        .await
        .unwrap();
    store
        .insert_code(&hash("code-spent"), &grant(now - secs(60)))
        .await
        .unwrap();
    store
        .redeem_code(&hash("code-spent"), now - secs(120))
        .await
        .unwrap();
    store
        .insert_device_code(&hash("dev-new"), secs(5), now + secs(60), SCOPE)
        .await
        .unwrap();
    store
        .create_family(&family("fam-live", "alice", now), &hash("rt-live"))
        .await
        .unwrap();
    store
        .insert_client(&client("client-new", now))
        .await
        .unwrap();

    assert_eq!(store.purge_expired(now, RULES, window).await.unwrap(), 8);
    assert_eq!(store.purge_expired(now, RULES, window).await.unwrap(), 0);

    assert_eq!(store.family_of(&hash("rt-revoked")).await.unwrap(), None);
    assert_eq!(store.family_of(&hash("rt-idle")).await.unwrap(), None);
    assert!(
        store
            .take_pending_login(&hash("nonce-new"), now)
            .await
            .unwrap()
    );
    let code = store.redeem_code(&hash("code-new"), now).await.unwrap();
    assert!(matches!(code, CodeRedemption::Redeemed(_)));
    let spent = store.redeem_code(&hash("code-spent"), now).await.unwrap();
    assert_eq!(spent, CodeRedemption::Reused { family: None });
    let device = store
        .device_poll(&hash("dev-new"), now, secs(99))
        .await
        .unwrap();
    assert_eq!(device, DevicePoll::Proceed { interval: secs(5) });
    assert!(matches!(
        rotate(store, "rt-live", "rt-live-2", now, RULES).await,
        Rotation::Rotated { .. }
    ));
    assert!(
        store
            .use_client("client-new", now, window)
            .await
            .unwrap()
            .is_some()
    );
}

pub(crate) async fn purge_forgets_a_redeemed_code_once_no_family_it_issued_can_live(
    store: &dyn Store,
) {
    let expires_at = T0 + secs(60);
    store
        .insert_code(&hash("code-1"), &grant(expires_at))
        .await
        .unwrap();
    store.redeem_code(&hash("code-1"), T0).await.unwrap();

    let window = secs(3600);
    let kept = store
        .purge_expired(expires_at + RULES.absolute, RULES, window)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    let gone = expires_at + RULES.absolute + ms(1);
    assert_eq!(store.purge_expired(gone, RULES, window).await.unwrap(), 1);
    assert_eq!(
        store.redeem_code(&hash("code-1"), gone).await.unwrap(),
        CodeRedemption::Unknown
    );
}
