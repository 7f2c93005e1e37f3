//! The budget sweep, every `charge_period` (5 s in the demo): credits the month's allowances,
//! writes the charges of every running cluster up to now, records the 10 % warning once a month,
//! and destroys the clusters of every account whose balance reached zero.
//!
//! Replicas share the work through the lease `budget-sweep`: one sweep per period however many
//! processes run. Charges themselves are idempotent (see `store::budgets`), so a sweep that dies
//! half-way is finished by the next without double charging.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use sliderule_protocol::ClusterName;

use sliderule_protocol::provisioner::BudgetKind;

use super::Provisioner;
use super::node_groups::meter_key;
use crate::budgets::{account_of, is_low, period_of};
use crate::store::NodeGroupPhase;
use crate::store::StoreError;

/// The audit log's actor, and the destroy intent's, for what the budget sweep does.
pub const ACTOR: &str = "budget";

const LEASE: &str = "budget-sweep";

/// What one budget sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetSweep {
    /// False when another process holds the sweep's lease (it sweeps instead).
    pub swept: bool,
    /// Accounts credited their monthly allowance.
    pub allowances: usize,
    /// Clusters charged.
    pub charged: usize,
    /// Accounts warned at 10 % of their allowance.
    pub warned: Vec<String>,
    /// Clusters destroyed because their account ran out.
    pub exhausted: Vec<String>,
    /// How long it took.
    pub took: Duration,
}

impl Provisioner {
    /// One budget sweep; nothing when budgets are off.
    pub async fn sweep_budgets(&self) -> Result<BudgetSweep, StoreError> {
        let Some(budgets) = self.budgets.clone() else {
            return Ok(BudgetSweep::default());
        };
        let started = std::time::Instant::now();
        let now = self.clock.now();
        // Held for a period (less a little, so the next period's sweep finds it free).
        let hold = budgets
            .charge_period
            .saturating_sub(Duration::from_millis(100));
        let until = now + hold.max(Duration::from_millis(100));
        if !self
            .store
            .acquire_lease(LEASE, &self.instance, now, until)
            .await?
        {
            return Ok(BudgetSweep::default());
        }
        let mut sweep = BudgetSweep {
            swept: true,
            ..BudgetSweep::default()
        };
        sweep.allowances = budgets.credit_allowances().await?;

        // Charges: every open record runs at its size; a meter without one has stopped.
        let open = self.store.open_clusters().await?;
        let mut running = HashSet::new();
        for record in &open {
            running.insert(record.cluster.clone());
            match budgets
                .meter(&record.cluster, &record.owner, Some(record.node_capacity))
                .await
            {
                Ok(charged) if charged.is_positive() => sweep.charged += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(cluster = %record.cluster, %error, "budget sweep: cannot charge the cluster");
                }
            }
        }
        // Node groups run at their size too, paid by their user's own budget.
        let node_groups = self.store.open_node_groups().await?;
        for group in &node_groups {
            if matches!(group.phase, NodeGroupPhase::Pending | NodeGroupPhase::Live) {
                running.insert(meter_key(&group.cluster, &group.user));
                match budgets
                    .meter_to(
                        &meter_key(&group.cluster, &group.user),
                        &group.user,
                        BudgetKind::Personal,
                        Some(group.node_capacity),
                    )
                    .await
                {
                    Ok(charged) if charged.is_positive() => sweep.charged += 1,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(cluster = %group.cluster, user = %group.user, %error, "budget sweep: cannot charge the node group");
                    }
                }
            }
        }
        for meter in self.store.meters().await? {
            if !running.contains(&meter.cluster) {
                budgets.meter(&meter.cluster, &meter.account, None).await?;
            }
        }

        let period = period_of(now);
        for row in self.store.budgets().await? {
            if !row.balance.is_positive() {
                let clusters = open.iter().filter(|r| {
                    r.destroy.is_none() && account_of(&r.cluster, &r.owner).0 == row.account
                });
                for record in clusters {
                    let Ok(cluster) = ClusterName::parse(&record.cluster) else {
                        continue;
                    };
                    self.exhausted(&cluster, &row.account, row.balance).await;
                    budgets.counters.exhaustion_destroys.inc();
                    sweep.exhausted.push(record.cluster.clone());
                }
                let groups = node_groups.iter().filter(|g| {
                    g.user == row.account
                        && matches!(g.phase, NodeGroupPhase::Pending | NodeGroupPhase::Live)
                });
                for group in groups {
                    let Ok(cluster) = ClusterName::parse(&group.cluster) else {
                        continue;
                    };
                    tracing::warn!(%cluster, user = %group.user, balance = %row.balance, "budget exhausted: destroying the node group");
                    if let Err(error) = self.destroy_node_group(ACTOR, &cluster, &group.user).await
                    {
                        tracing::warn!(%cluster, user = %group.user, %error, "budget sweep: cannot destroy the node group");
                        continue;
                    }
                    budgets.counters.exhaustion_destroys.inc();
                    sweep.exhausted.push(meter_key(&group.cluster, &group.user));
                }
            } else if is_low(&row) && self.store.mark_warned(&row.account, &period).await? {
                self.audit_account(
                    ACTOR,
                    "budget_warning",
                    &row.account,
                    json!({
                        "balance": row.balance,
                        "monthly_allowance": row.monthly_allowance,
                        "reason": "at most 10 % of the monthly allowance is left",
                    }),
                )
                .await;
                sweep.warned.push(row.account.clone());
            }
        }
        sweep.took = started.elapsed();
        Ok(sweep)
    }

    /// Destroys a cluster whose account ran out, saying why in the audit log.
    async fn exhausted(
        &self,
        cluster: &ClusterName,
        account: &str,
        balance: sliderule_protocol::Usd,
    ) {
        tracing::warn!(%cluster, account, %balance, "budget exhausted: destroying the cluster");
        self.audit_account(
            ACTOR,
            "budget_exhausted",
            cluster.as_str(),
            json!({
                "account": account,
                "balance": balance,
                "reason": format!("the balance of {account} is {balance} USD: the cluster is destroyed"),
            }),
        )
        .await;
        if let Err(error) = self.destroy(ACTOR, cluster).await {
            // The intent may not be recorded: the next sweep tries again.
            tracing::warn!(%cluster, %error, "budget sweep: cannot destroy the exhausted cluster");
        }
    }
}
