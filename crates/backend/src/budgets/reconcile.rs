//! Cost Explorer reconciliation: for each of the last few complete days (UTC), AWS's figure for
//! every tagged cluster against what we charged it that day, the difference written as one
//! `reconcile` entry of the cluster's account. Each (cluster, day) is written once, so running
//! it again (every few hours, from any replica) changes nothing, and a day whose query failed
//! is tried again by the next run while it is still in the window.

use time::{Date, OffsetDateTime, Time};

use super::Budgets;
use super::cost_explorer::{CostError, CostSource, day_text};
use crate::store::StoreError;

/// How many complete days back each run looks: Cost Explorer's figures settle within a day or
/// two, and a failed day gets this many chances.
pub const DAYS_BACK: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Costs(#[from] CostError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// `(cluster, day)` pairs written.
    pub written: Vec<(String, String)>,
    /// Days whose query failed (logged; tried again next run).
    pub failed_days: Vec<String>,
}

/// Reconciles one day; returns the clusters written.
pub async fn reconcile_day(
    budgets: &Budgets,
    source: &dyn CostSource,
    day: Date,
) -> Result<Vec<String>, ReconcileError> {
    let from = OffsetDateTime::new_utc(day, Time::MIDNIGHT);
    let to = from + time::Duration::days(1);
    let text = day_text(day);
    let mut written = Vec::new();
    for (cluster, aws) in source.daily_costs(day).await? {
        // Accounts are named after the clusters they pay for.
        let done = budgets
            .store
            .reconcile(
                &cluster,
                &cluster,
                &text,
                (from, to),
                aws,
                budgets.clock.now(),
            )
            .await?;
        if let Some(difference) = done {
            tracing::info!(%cluster, day = %text, %aws, %difference, "reconciled with Cost Explorer");
            budgets.counters.reconciliations.inc();
            written.push(cluster);
        }
    }
    Ok(written)
}

/// Reconciles the last [`DAYS_BACK`] complete days. A failing day is logged and counted; the
/// others still run.
pub async fn reconcile_recent(budgets: &Budgets, source: &dyn CostSource) -> Reconciled {
    let today = budgets.clock.now().date();
    let mut outcome = Reconciled::default();
    for back in 1..=DAYS_BACK {
        let Some(day) = today.checked_sub(time::Duration::days(i64::from(back))) else {
            continue;
        };
        match reconcile_day(budgets, source, day).await {
            Ok(clusters) => outcome
                .written
                .extend(clusters.into_iter().map(|c| (c, day_text(day)))),
            Err(error) => {
                tracing::warn!(%error, day = %day_text(day), "Cost Explorer reconciliation failed; trying again next run");
                budgets.counters.reconciliation_failures.inc();
                outcome.failed_days.push(day_text(day));
            }
        }
    }
    outcome
}
