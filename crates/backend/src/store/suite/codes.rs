//! One-time authorization codes.

use super::*;

pub(crate) async fn a_code_is_redeemed_once_and_then_reused_with_its_family(store: &dyn Store) {
    let code = hash("code-1");
    store
        .insert_code(&code, &grant(T0 + secs(60)))
        .await
        .unwrap();

    let first = store.redeem_code(&code, T0 + secs(1)).await.unwrap();
    assert_eq!(first, CodeRedemption::Redeemed(grant(T0 + secs(60))));
    assert!(!store.attach_code_family(&code, "fam-1").await.unwrap());

    let second = store.redeem_code(&code, T0 + secs(2)).await.unwrap();
    assert_eq!(
        second,
        CodeRedemption::Reused {
            family: Some("fam-1".into())
        }
    );
}

pub(crate) async fn a_reuse_before_the_family_is_attached_is_reported_by_attach(store: &dyn Store) {
    let code = hash("code-1");
    store
        .insert_code(&code, &grant(T0 + secs(60)))
        .await
        .unwrap();
    let first = store.redeem_code(&code, T0).await.unwrap();
    assert!(matches!(first, CodeRedemption::Redeemed(_)));

    let reuse = store.redeem_code(&code, T0 + secs(1)).await.unwrap();
    assert_eq!(reuse, CodeRedemption::Reused { family: None });
    assert!(store.attach_code_family(&code, "fam-1").await.unwrap());
}

pub(crate) async fn a_code_is_redeemable_until_its_expiry_and_unknown_after(store: &dyn Store) {
    let (on_time, late) = (hash("code-on-time"), hash("code-late"));
    store.insert_code(&on_time, &grant(T0)).await.unwrap();
    store.insert_code(&late, &grant(T0)).await.unwrap();

    let redeemed = store.redeem_code(&on_time, T0).await.unwrap();
    assert!(matches!(redeemed, CodeRedemption::Redeemed(_)));
    let expired = store.redeem_code(&late, T0 + ms(1)).await.unwrap();
    assert_eq!(expired, CodeRedemption::Unknown);
    // Expiry does not spend it: it stays unknown rather than turning into a reuse.
    let again = store.redeem_code(&late, T0 + ms(2)).await.unwrap();
    assert_eq!(again, CodeRedemption::Unknown);
}

pub(crate) async fn an_unknown_code_is_unknown(store: &dyn Store) {
    let outcome = store.redeem_code(&hash("never-issued"), T0).await.unwrap();
    assert_eq!(outcome, CodeRedemption::Unknown);
}

pub(crate) async fn a_redeemed_code_presented_after_its_expiry_is_still_reused(store: &dyn Store) {
    let code = hash("code-1");
    store
        .insert_code(&code, &grant(T0 + secs(60)))
        .await
        .unwrap();
    store.redeem_code(&code, T0).await.unwrap();
    store.attach_code_family(&code, "fam-1").await.unwrap();

    let outcome = store.redeem_code(&code, T0 + secs(3600)).await.unwrap();
    assert_eq!(
        outcome,
        CodeRedemption::Reused {
            family: Some("fam-1".into())
        }
    );
}
