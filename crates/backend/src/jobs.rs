//! The periodic work, as one-shot jobs over the [`AppState`]: the reaper's sweep (with the
//! re-evaluation of every organization's pooled capacity), the
//! reconciliation of records and stacks, the budget sweep, the purge of expired sign-in records and the reload
//! of the keyring. A server runs them in loops ([`start`]); `sliderule-backend reap` runs the
//! reaper once; a scheduled event (cron, EventBridge, a Lambda schedule) runs [`all`] once.
//! Each job logs its own failures and never fails its caller: the next run catches up.

use std::time::Duration;

use crate::app::AppState;
use crate::budgets::reconcile::{Reconciled, reconcile_recent};
use crate::keys::RELOAD_INTERVAL;
use crate::provisioner::budget_sweep::BudgetSweep;
use crate::provisioner::reaper::Sweep;
use crate::store::StoreError;

/// How often expired sign-in records are purged.
pub const PURGE_PERIOD: Duration = Duration::from_secs(600);

/// What a sweep of the reaper did, and how many destroys are pending after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaped {
    pub sweep: Sweep,
    pub destroys_pending: usize,
    /// Organizations whose cluster is busy, with a target still to apply.
    pub organizations_waiting: usize,
    /// The soonest deadline of an open record after the sweep (the next thing due).
    pub next_deadline: Option<time::OffsetDateTime>,
}

/// One sweep of the reaper, counted in the metrics. Fails only when the clusters that are due
/// cannot be read at all (logged here too).
pub async fn reap(state: &AppState) -> Result<Reaped, StoreError> {
    let result = state.provisioner.reap().await;
    // Then every organization: targets that waited for a busy cluster, clusters that slept
    // while requests came in.
    let organizations_waiting = match state.provisioner.sweep_organizations().await {
        Ok(waiting) => waiting,
        Err(error) => {
            tracing::warn!(%error, "cannot read the organizations; trying again next sweep");
            1
        }
    };
    // Then node groups: deadlines, and deletes to finish.
    let node_groups = match state.provisioner.sweep_node_groups().await {
        Ok(sweep) => sweep,
        Err(error) => {
            tracing::warn!(%error, "cannot read the node groups; trying again next sweep");
            crate::provisioner::node_groups::NodeGroupSweep {
                pending: 1,
                ..Default::default()
            }
        }
    };
    // Then the test runner, whose stack goes when its time is up.
    let test_runner = state
        .provisioner
        .sweep_test_runner()
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reaper: cannot look at the test runner; trying again next sweep");
            None
        });
    // Counted after the sweep: what it finished is no longer pending.
    let open = state.provisioner.store.open_clusters().await.ok();
    let pending = open.as_ref().map_or(0, |open| {
        open.iter().filter(|r| r.destroy.is_some()).count()
    }) + node_groups.pending;
    let next_deadline = open
        .as_ref()
        .and_then(|open| open.iter().filter_map(|r| r.deadline).min())
        .into_iter()
        .chain(node_groups.next_deadline)
        .chain(test_runner)
        .min();
    let open = open.as_ref().map(Vec::len);
    match result {
        Ok(sweep) => {
            state.metrics.record_sweep(&sweep, open, pending);
            Ok(Reaped {
                sweep,
                destroys_pending: pending,
                organizations_waiting,
                next_deadline,
            })
        }
        Err(error) => {
            tracing::warn!(%error, "reaper: cannot read the clusters that are due");
            let failed = Sweep {
                failed: vec![String::new()],
                ..Sweep::default()
            };
            state.metrics.record_sweep(&failed, None, pending);
            Err(error)
        }
    }
}

/// One budget sweep (allowances, charges, the warning, exhaustion); `None` when budgets are
/// off or it failed (logged).
pub async fn budgets(state: &AppState) -> Option<BudgetSweep> {
    state.provisioner.budgets.as_ref()?;
    match state.provisioner.sweep_budgets().await {
        Ok(sweep) => Some(sweep),
        Err(error) => {
            tracing::warn!(%error, "budget sweep failed; trying again next period");
            None
        }
    }
}

/// How often Cost Explorer is asked (each query costs money; its figures change daily).
pub const COST_RECONCILE_PERIOD: Duration = Duration::from_secs(6 * 3600);

/// Reconciles the budgets with Cost Explorer's last few days, at most once per
/// [`COST_RECONCILE_PERIOD`] across every process (the lease `cost-explorer`). `None` when
/// budgets or Cost Explorer are off, or another process ran it within the period.
pub async fn reconcile_costs(state: &AppState) -> Option<Reconciled> {
    let budgets = state.provisioner.budgets.as_ref()?;
    let costs = state.costs.as_ref()?;
    let now = state.clock.now();
    // A holder of its own per run, kept for the whole period and never released: that is what
    // spaces the runs, in this process too (a lease is always granted to its own holder).
    let holder = format!("{}-{}", state.provisioner.instance, uuid::Uuid::new_v4());
    match state
        .store
        .acquire_lease("cost-explorer", &holder, now, now + COST_RECONCILE_PERIOD)
        .await
    {
        Ok(true) => {}
        Ok(false) => return None,
        Err(error) => {
            tracing::warn!(%error, "Cost Explorer reconciliation: cannot take the lease");
            return None;
        }
    }
    Some(reconcile_recent(budgets, costs.as_ref()).await)
}

/// Reconciles records and stacks (adopts orphans, closes vanished records, finishes deploys
/// whose process died).
pub async fn reconcile(state: &AppState) {
    match state.provisioner.reconcile().await {
        Ok(done) => state.metrics.record_cluster_states(&done.states),
        Err(error) => tracing::warn!(%error, "reconciliation failed; trying again next period"),
    }
}

/// Deletes what has expired in the store (codes, pending logins, device codes, dead refresh
/// token families, stale client registrations); returns how many rows went.
pub async fn purge(state: &AppState) -> u64 {
    let auth = &state.authenticator;
    let purged = auth
        .store
        .purge_expired(
            state.clock.now(),
            auth.refresh_rules,
            auth.client_unused_for,
        )
        .await;
    match purged {
        Ok(purged) => {
            if purged > 0 {
                tracing::info!(purged, "expired sign-in records deleted");
            }
            purged
        }
        Err(error) => {
            // Nothing is lost by skipping a purge; the next one catches up.
            tracing::warn!(%error, "could not delete expired sign-in records");
            0
        }
    }
}

/// Re-reads the keyring (a rotation or retirement by `sliderule-backend keys`); the keys in
/// force stay when it cannot be read. True when it was read.
pub async fn reload_keys(state: &AppState) -> bool {
    let keys = state.keys.clone();
    // File reads block: keep them off the async workers.
    match tokio::task::spawn_blocking(move || keys.reload()).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot reload the keyring; the keys loaded before stay in force");
            false
        }
        Err(error) => {
            tracing::warn!(%error, "the keyring reload failed");
            false
        }
    }
}

/// What [`all`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `None` when the due clusters could not be read.
    pub reaped: Option<Reaped>,
    pub purged: u64,
    pub keys_reloaded: bool,
    /// `None` when budgets are off or the sweep failed.
    pub budgets: Option<BudgetSweep>,
    /// `None` when Cost Explorer is off or was asked within its period.
    pub costs: Option<Reconciled>,
}

/// Every job once, for a schedule: keys first (a rotation applies to what follows), then the
/// reconciliation (so orphans are adopted before the reaper looks), the budget sweep (so an
/// exhausted account's destroy is recorded before the reaper looks), the reaper, the purge.
pub async fn all(state: &AppState) -> Report {
    let keys_reloaded = reload_keys(state).await;
    reconcile(state).await;
    let budgets = budgets(state).await;
    let costs = reconcile_costs(state).await;
    let reaped = reap(state).await.ok();
    let purged = purge(state).await;
    Report {
        reaped,
        purged,
        keys_reloaded,
        budgets,
        costs,
    }
}

/// What a server does before it accepts requests: records and stacks agree, what is overdue
/// is destroyed, and what expired while it was down is purged.
pub async fn at_start(state: &AppState) {
    reconcile(state).await;
    // A failure is logged; the loop tries again.
    let _ = reap(state).await;
    purge(state).await;
}

/// The loops of a server; dropping this stops them.
pub struct Background {
    _tasks: Vec<AbortOnDrop>,
    _key_reloader: Option<crate::keys::ReloadTask>,
}

/// Starts every job in a loop of its own: the reaper every `reaper_period` (every
/// `destroy_poll` while a destroy is pending, and at once when one is recorded here), the
/// reconciliation every `reconcile_period`, the budget sweep every `charge_period` (when budgets
/// are on), the purge every [`PURGE_PERIOD`], the keyring
/// reload every [`RELOAD_INTERVAL`].
pub fn start(state: &AppState) -> Background {
    let mut tasks = vec![
        AbortOnDrop(tokio::spawn(reap_loop(state.clone()))),
        AbortOnDrop(tokio::spawn(every(
            state.provisioner.reconcile_period,
            state.clone(),
            |state| async move { reconcile(&state).await },
        ))),
        AbortOnDrop(tokio::spawn(every(
            PURGE_PERIOD,
            state.clone(),
            |state| async move {
                purge(&state).await;
            },
        ))),
    ];
    if state.costs.is_some() {
        tasks.push(AbortOnDrop(tokio::spawn(every(
            // Tried every hour; the lease lets one run per period through.
            Duration::from_secs(3600),
            state.clone(),
            |state| async move {
                reconcile_costs(&state).await;
            },
        ))));
    }
    if let Some(budgets) = &state.provisioner.budgets {
        tasks.push(AbortOnDrop(tokio::spawn(every(
            budgets.charge_period,
            state.clone(),
            |state| async move {
                self::budgets(&state).await;
            },
        ))));
    }
    Background {
        _tasks: tasks,
        // The keyring reloads itself (it keeps only a weak reference, and a fixed key has
        // nothing to reload).
        _key_reloader: state.keys.spawn_reloader(RELOAD_INTERVAL),
    }
}

async fn reap_loop(state: AppState) {
    let period = state.provisioner.reaper_period;
    let poll = state.provisioner.destroy_poll.min(period);
    let recorded = state.provisioner.destroy_recorded.clone();
    let mut wait = period;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = recorded.notified() => {}
        }
        wait = match reap(&state).await {
            Ok(reaped) => {
                let busy = reaped.destroys_pending > 0 || reaped.organizations_waiting > 0;
                let wait = if busy { poll } else { period };
                // Wake at the next deadline to the second (a capacity request's expiry, a
                // cluster's TTL), not at the end of the period.
                match reaped.next_deadline {
                    Some(deadline) => {
                        // One still due after a sweep (its evaluation had to wait) is looked at
                        // again a second later, not in a tight loop.
                        let until: Duration = (deadline - state.clock.now())
                            .try_into()
                            .unwrap_or(Duration::ZERO);
                        let until = if until.is_zero() {
                            Duration::from_secs(1)
                        } else {
                            until
                        };
                        wait.min(until)
                    }
                    None => wait,
                }
            }
            Err(_) => period,
        };
    }
}

/// Runs `job` every `period`, the first time one period from now.
async fn every<F, Fut>(period: Duration, state: AppState, job: F)
where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        job(state.clone()).await;
    }
}

/// Aborts a background task when dropped, however its owner stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
