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
