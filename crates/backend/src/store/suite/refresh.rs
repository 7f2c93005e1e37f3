//! Refresh-token families: rotation, grace, reuse, revocation, lifetimes.

use super::*;

pub(crate) async fn a_live_refresh_token_rotates_into_its_successor(store: &dyn Store) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();

    let rotated = rotate(store, "rt-1", "rt-2", T0 + secs(60), RULES).await;
    let expected = Family {
        last_used_at: T0 + secs(60),
        ..family("fam-1", "alice", T0)
    };
    assert_eq!(
        rotated,
        Rotation::Rotated {
            family: expected.clone()
        }
    );
    assert_eq!(
        store.family_of(&hash("rt-2")).await.unwrap(),
        Some(expected)
    );
    let next = rotate(store, "rt-2", "rt-3", T0 + secs(120), RULES).await;
    assert!(matches!(next, Rotation::Rotated { .. }));
}

pub(crate) async fn a_spent_token_inside_the_grace_window_gets_its_sealed_successor_every_time(
    store: &dyn Store,
) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();
    let rotated = rotate(store, "rt-1", "rt-2", T0, RULES).await;
    assert!(matches!(rotated, Rotation::Rotated { .. }));

    for (attempt, at) in [(1, secs(1)), (2, secs(4)), (3, secs(4)), (4, RULES.grace)] {
        let successor = format!("rt-2-attempt-{attempt}");
        let replayed = rotate(store, "rt-1", &successor, T0 + at, RULES).await;
        let Rotation::Replayed {
            family,
            sealed_successor,
        } = replayed
        else {
            panic!("attempt {attempt}: expected a replay, got {replayed:?}");
        };
        assert_eq!(family.id, "fam-1");
        assert_eq!(sealed_successor, b"sealed rt-2", "attempt {attempt}");
        // The caller's fresh successor was discarded, not made live.
        assert_eq!(store.family_of(&hash(&successor)).await.unwrap(), None);
    }
    assert!(!is_revoked(store, "rt-2").await);
    // The successor is still the family's live token.
    let next = rotate(store, "rt-2", "rt-3", T0 + secs(10), RULES).await;
    assert!(matches!(next, Rotation::Rotated { .. }), "{next:?}");
}

pub(crate) async fn a_spent_token_after_the_grace_window_revokes_the_family(store: &dyn Store) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();
    rotate(store, "rt-1", "rt-2", T0, RULES).await;

    let late = rotate(store, "rt-1", "rt-2b", T0 + secs(6), RULES).await;
    assert_eq!(
        late,
        Rotation::Reused {
            family_id: "fam-1".into()
        }
    );
    assert!(is_revoked(store, "rt-1").await);
    let successor = rotate(store, "rt-2", "rt-3", T0 + secs(7), RULES).await;
    assert_eq!(successor, Rotation::Invalid);
}

pub(crate) async fn an_unknown_refresh_token_is_invalid(store: &dyn Store) {
    assert_eq!(
        rotate(store, "nope", "rt-2", T0, RULES).await,
        Rotation::Invalid
    );
    assert_eq!(store.family_of(&hash("nope")).await.unwrap(), None);
}

pub(crate) async fn revoking_one_family_leaves_the_other_families_of_the_login_working(
    store: &dyn Store,
) {
    store
        .create_family(&family("fam-laptop", "alice", T0), &hash("rt-laptop"))
        .await
        .unwrap();
    store
        .create_family(&family("fam-desktop", "alice", T0), &hash("rt-desktop"))
        .await
        .unwrap();

    assert!(store.revoke_family_of(&hash("rt-laptop")).await.unwrap());

    let laptop = rotate(store, "rt-laptop", "rt-laptop-2", T0 + secs(1), RULES).await;
    assert_eq!(laptop, Rotation::Invalid);
    let desktop = rotate(store, "rt-desktop", "rt-desktop-2", T0 + secs(1), RULES).await;
    assert!(matches!(desktop, Rotation::Rotated { .. }));
}

pub(crate) async fn revoking_reports_whether_a_family_was_found(store: &dyn Store) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();
    assert!(!store.revoke_family("fam-unknown").await.unwrap());
    assert!(!store.revoke_family_of(&hash("rt-unknown")).await.unwrap());
    assert!(!is_revoked(store, "rt-1").await);

    assert!(store.revoke_family("fam-1").await.unwrap());
    assert!(is_revoked(store, "rt-1").await);
    // Revoking again still finds it.
    assert!(store.revoke_family_of(&hash("rt-1")).await.unwrap());
}

pub(crate) async fn a_family_past_its_absolute_lifetime_is_invalid_even_if_used_recently(
    store: &dyn Store,
) {
    let rules = RefreshRules {
        grace: secs(5),
        idle: secs(120),
        absolute: secs(600),
    };
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-0"))
        .await
        .unwrap();
    for minute in 1..=10u64 {
        let (presented, successor) = (format!("rt-{}", minute - 1), format!("rt-{minute}"));
        let at = T0 + secs(60 * minute);
        let outcome = rotate(store, &presented, &successor, at, rules).await;
        assert!(
            matches!(outcome, Rotation::Rotated { .. }),
            "minute {minute}"
        );
    }
    // Used a millisecond ago, but created more than `absolute` ago.
    let late = rotate(store, "rt-10", "rt-11", T0 + secs(600) + ms(1), rules).await;
    assert_eq!(late, Rotation::Invalid);
}

pub(crate) async fn a_family_idle_longer_than_its_idle_lifetime_is_invalid(store: &dyn Store) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();
    let just_in_time = rotate(store, "rt-1", "rt-2", T0 + RULES.idle, RULES).await;
    assert!(matches!(just_in_time, Rotation::Rotated { .. }));

    let too_late = T0 + RULES.idle * 2 + ms(1);
    assert_eq!(
        rotate(store, "rt-2", "rt-3", too_late, RULES).await,
        Rotation::Invalid
    );
}

pub(crate) async fn family_of_finds_the_family_of_spent_tokens_and_of_revoked_families(
    store: &dyn Store,
) {
    store
        .create_family(&family("fam-1", "alice", T0), &hash("rt-1"))
        .await
        .unwrap();
    rotate(store, "rt-1", "rt-2", T0 + secs(1), RULES).await;

    let of_spent = store.family_of(&hash("rt-1")).await.unwrap().unwrap();
    assert_eq!(of_spent.id, "fam-1");
    assert_eq!(of_spent.last_used_at, T0 + secs(1));

    store.revoke_family("fam-1").await.unwrap();
    let of_revoked = store.family_of(&hash("rt-2")).await.unwrap().unwrap();
    assert!(of_revoked.revoked);
}
