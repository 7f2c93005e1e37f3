//! Budgets: opening, postings, the monthly allowance and its cap, the warning, the ledger's
//! pages, meters settled to the second, and Cost Explorer reconciliations.

use sliderule_protocol::provisioner::{BudgetKind, LedgerKind};
use sliderule_protocol::{Pricing, Usd};

use super::*;
use crate::store::{Capacity, NewBudget, Posting};

fn usd(dollars: i64) -> Usd {
    Usd::from_dollars(dollars)
}

fn new_budget(account: &str) -> NewBudget {
    NewBudget {
        account: account.into(),
        kind: BudgetKind::Personal,
        balance: usd(100),
        monthly_allowance: usd(100),
        max_balance: usd(200),
        period: "2024-05".into(),
    }
}

fn credit(amount: Usd) -> Posting {
    Posting {
        kind: LedgerKind::Credit,
        amount,
        cluster: None,
        note: Some("n".into()),
        actor: Some("alice".into()),
    }
}

/// Three nodes at the demo prices.
fn three_nodes() -> Capacity {
    Capacity::Run {
        nodes: 3,
        hourly: Pricing::DEMO.hourly(3),
    }
}

async fn balance(store: &dyn Store, account: &str) -> Usd {
    store.budget(account).await.unwrap().unwrap().balance
}

pub(crate) async fn opening_a_budget_writes_its_opening_balance_once(store: &dyn Store) {
    let opened = store.open_budget(&new_budget("bob"), T0).await.unwrap();
    assert_eq!(opened.balance, usd(100));
    assert_eq!(opened.allowance_period, "2024-05");
    let again = NewBudget {
        balance: usd(5),
        ..new_budget("bob")
    };
    assert_eq!(
        store.open_budget(&again, T0 + secs(1)).await.unwrap(),
        opened
    );
    let ledger = store.ledger("bob", None, 10).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].kind, LedgerKind::Allowance);
    assert_eq!(ledger[0].balance, usd(100));
    assert!(store.budget("carol").await.unwrap().is_none());
}

pub(crate) async fn a_posting_moves_the_balance_and_records_the_balance_after_it(
    store: &dyn Store,
) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    let (budget, entry) = store
        .post("bob", &credit(Usd::from_cents(-250)), T0 + secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(budget.balance, Usd::from_cents(9750));
    assert_eq!(entry.balance, Usd::from_cents(9750));
    assert_eq!(entry.note.as_deref(), Some("n"));
    assert_eq!(entry.actor.as_deref(), Some("alice"));
    assert_eq!(balance(store, "bob").await, Usd::from_cents(9750));
    assert!(
        store
            .post("nobody", &credit(usd(1)), T0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.ledger("nobody", None, 10).await.unwrap().is_empty());
}

pub(crate) async fn the_allowance_is_credited_once_a_month_up_to_the_cap(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    // The opening month's allowance is the opening balance.
    assert_eq!(
        store.credit_allowance("bob", "2024-05", T0).await.unwrap(),
        None
    );
    // 100 + 100 reaches the cap of 200 exactly.
    assert_eq!(
        store.credit_allowance("bob", "2024-06", T0).await.unwrap(),
        Some(usd(100))
    );
    assert_eq!(
        store.credit_allowance("bob", "2024-06", T0).await.unwrap(),
        None
    );
    assert_eq!(balance(store, "bob").await, usd(200));
    // At the cap nothing is credited, and no entry is written.
    assert_eq!(
        store.credit_allowance("bob", "2024-07", T0).await.unwrap(),
        Some(Usd::ZERO)
    );
    assert_eq!(store.ledger("bob", None, 10).await.unwrap().len(), 2);
    // Below the cap, only what fits.
    store.post("bob", &credit(usd(-30)), T0).await.unwrap();
    assert_eq!(
        store.credit_allowance("bob", "2024-08", T0).await.unwrap(),
        Some(usd(30))
    );
    assert_eq!(balance(store, "bob").await, usd(200));
}

pub(crate) async fn limits_change_only_what_is_given(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    let changed = store
        .set_budget_limits("bob", Some(usd(50)), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (changed.monthly_allowance, changed.max_balance),
        (usd(50), usd(200))
    );
    let changed = store
        .set_budget_limits("bob", None, Some(usd(75)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (changed.monthly_allowance, changed.max_balance),
        (usd(50), usd(75))
    );
    assert!(
        store
            .set_budget_limits("nobody", Some(usd(1)), None)
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) async fn the_warning_is_marked_once_a_month(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    assert!(store.mark_warned("bob", "2024-05").await.unwrap());
    assert!(!store.mark_warned("bob", "2024-05").await.unwrap());
    assert!(store.mark_warned("bob", "2024-06").await.unwrap());
    let budget = store.budget("bob").await.unwrap().unwrap();
    assert_eq!(budget.warned_period.as_deref(), Some("2024-06"));
}

pub(crate) async fn ledger_pages_run_newest_first_before_an_exclusive_id(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    store.open_budget(&new_budget("carol"), T0).await.unwrap();
    for n in 1..=5 {
        store
            .post("bob", &credit(usd(n)), T0 + secs(n as u64))
            .await
            .unwrap();
    }
    let first = store.ledger("bob", None, 3).await.unwrap();
    let amounts: Vec<Usd> = first.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![usd(5), usd(4), usd(3)]);
    let rest = store.ledger("bob", Some(first[2].id), 3).await.unwrap();
    let amounts: Vec<Usd> = rest.iter().map(|e| e.amount).collect();
    // The opening balance is the oldest entry; carol's are not bob's.
    assert_eq!(amounts, vec![usd(2), usd(1), usd(100)]);
    assert_eq!(first[0].at, T0 + secs(5));
}

pub(crate) async fn three_nodes_for_ninety_minutes_settled_every_five_seconds_cost_exactly_2_55(
    store: &dyn Store,
) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    assert_eq!(
        store.settle("bob", "bob", T0, three_nodes()).await.unwrap(),
        Usd::ZERO
    );
    let mut charged = Usd::ZERO;
    for step in 1..=(90 * 60 / 5) {
        let at = T0 + secs(step * 5);
        charged = charged
            .checked_add(
                store
                    .settle("bob", "bob", at, Capacity::Keep)
                    .await
                    .unwrap(),
            )
            .unwrap();
    }
    assert_eq!(charged, Usd::from_cents(255));
    assert_eq!(balance(store, "bob").await, Usd::from_cents(10_000 - 255));
    let charges = store
        .charges_for("bob", T0, T0 + secs(90 * 60 + 1))
        .await
        .unwrap();
    assert_eq!(charges, Usd::from_cents(255));
}

pub(crate) async fn a_capacity_change_splits_the_interval(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    store.settle("bob", "bob", T0, three_nodes()).await.unwrap();
    // 30 minutes at 3 nodes (0.85), then 60 at 1 node (0.70).
    let one_node = Capacity::Run {
        nodes: 1,
        hourly: Pricing::DEMO.hourly(1),
    };
    let first = store
        .settle("bob", "bob", T0 + secs(1800), one_node)
        .await
        .unwrap();
    assert_eq!(first, Usd::from_cents(85));
    let meter = store.meters().await.unwrap().pop().unwrap();
    assert_eq!((meter.nodes, meter.segment_start), (1, T0 + secs(1800)));
    let second = store
        .settle("bob", "bob", T0 + secs(5400), Capacity::Stop)
        .await
        .unwrap();
    assert_eq!(second, Usd::from_cents(70));
    assert!(store.meters().await.unwrap().is_empty());
    assert_eq!(balance(store, "bob").await, Usd::from_cents(10_000 - 155));
    // A stopped meter charges nothing more.
    assert_eq!(
        store
            .settle("bob", "bob", T0 + secs(9000), Capacity::Stop)
            .await
            .unwrap(),
        Usd::ZERO
    );
}

pub(crate) async fn settling_again_at_the_same_time_or_earlier_charges_nothing(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    store.settle("bob", "bob", T0, three_nodes()).await.unwrap();
    let at = T0 + secs(3600);
    let first = store
        .settle("bob", "bob", at, Capacity::Keep)
        .await
        .unwrap();
    assert_eq!(first, Usd::from_cents(170));
    // A replica (or a restarted process) settling the same instant, or a lagging clock.
    for when in [at, at - secs(10)] {
        assert_eq!(
            store
                .settle("bob", "bob", when, Capacity::Keep)
                .await
                .unwrap(),
            Usd::ZERO
        );
    }
    let charges = store.ledger("bob", None, 10).await.unwrap();
    assert_eq!(
        charges
            .iter()
            .filter(|e| e.kind == LedgerKind::Charge)
            .count(),
        1
    );
}

pub(crate) async fn a_day_is_reconciled_once_with_aws_figure_minus_ours(store: &dyn Store) {
    store.open_budget(&new_budget("bob"), T0).await.unwrap();
    store.settle("bob", "bob", T0, three_nodes()).await.unwrap();
    store
        .settle("bob", "bob", T0 + secs(3600), Capacity::Stop)
        .await
        .unwrap();
    let day = (T0 - secs(12 * 3600), T0 + secs(12 * 3600));
    let aws = Usd::from_cents(200);
    let difference = store
        .reconcile("bob", "bob", "2024-05-01", day, aws, T0 + secs(86_400))
        .await
        .unwrap();
    assert_eq!(difference, Some(Usd::from_cents(30)));
    assert_eq!(
        store
            .reconcile("bob", "bob", "2024-05-01", day, aws, T0 + secs(86_401))
            .await
            .unwrap(),
        None
    );
    let newest = store.ledger("bob", None, 1).await.unwrap().remove(0);
    assert_eq!(newest.kind, LedgerKind::Reconcile);
    assert_eq!(newest.amount, Usd::from_cents(-30));
    assert_eq!(balance(store, "bob").await, Usd::from_cents(10_000 - 200));
    // No budget, nothing written.
    assert_eq!(
        store
            .reconcile("x", "nobody", "2024-05-01", day, aws, T0)
            .await
            .unwrap(),
        None
    );
}
