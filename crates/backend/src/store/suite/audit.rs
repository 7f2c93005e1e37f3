//! The audit log.

use super::*;

fn entry(n: u32) -> AuditEntry {
    let actor = if n.is_multiple_of(2) {
        "alice"
    } else {
        "reaper"
    };
    AuditEntry {
        id: 0,
        at: T0 + secs(u64::from(n)),
        actor: actor.into(),
        action: "deploy".into(),
        cluster: format!("c{n}"),
        parameters: format!(r#"{{"node_capacity":{n}}}"#),
        outcome: "ok".into(),
    }
}

pub(crate) async fn audit_entries_get_increasing_ids_and_round_trip(store: &dyn Store) {
    let first = store.append_audit(&entry(1)).await.unwrap();
    let second = store.append_audit(&entry(2)).await.unwrap();
    assert!(second > first);
    let page = store.audit_page(None, 10).await.unwrap();
    assert_eq!(
        page,
        [
            AuditEntry {
                id: second,
                ..entry(2)
            },
            AuditEntry {
                id: first,
                ..entry(1)
            },
        ]
    );
}

pub(crate) async fn audit_pages_run_newest_first_before_an_exclusive_id(store: &dyn Store) {
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(store.append_audit(&entry(n)).await.unwrap());
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_page(before, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page.iter().map(|e| e.id));
    }
    ids.reverse();
    assert_eq!(seen, ids);
    // `before` itself is not included.
    let after_newest = store.audit_page(Some(ids[0]), 1).await.unwrap();
    assert_eq!(after_newest[0].id, ids[1]);
    assert!(store.audit_page(None, 0).await.unwrap().is_empty());
}

pub(crate) async fn a_clusters_audit_entries_are_read_newest_first_without_the_others(
    store: &dyn Store,
) {
    for n in 0..6 {
        let mut e = entry(n);
        e.cluster = if n % 2 == 0 { "icesat2" } else { "bob" }.into();
        store.append_audit(&e).await.unwrap();
    }
    let mine = store.audit_of("icesat2", 2).await.unwrap();
    let times: Vec<_> = mine.iter().map(|e| e.at).collect();
    assert_eq!(
        times,
        [T0 + secs(4), T0 + secs(2)],
        "newest first, at most 2"
    );
    assert!(mine.iter().all(|e| e.cluster == "icesat2"));
    assert!(store.audit_of("nobody", 10).await.unwrap().is_empty());
}

pub(crate) async fn a_request_signature_is_accepted_once(store: &dyn Store) {
    let signature = TokenHash::of("c2lnbmF0dXJl");
    assert!(
        store
            .first_use_of_signature(&signature, T0 + secs(120))
            .await
            .unwrap()
    );
    assert!(
        !store
            .first_use_of_signature(&signature, T0 + secs(120))
            .await
            .unwrap()
    );
    let other = TokenHash::of("b3RoZXI=");
    assert!(
        store
            .first_use_of_signature(&other, T0 + secs(120))
            .await
            .unwrap()
    );
}
