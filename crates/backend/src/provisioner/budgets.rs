//! Where the provisioner meets the budgets: deploys and extends are refused when the account
//! cannot pay to the new deadline, every change of a record closes a charge interval, and
//! `/info`, `/budget`, `/budget/adjust` and `/budget/settings` read and change budgets for the
//! callers allowed to.

use serde_json::json;
use sliderule_protocol::provisioner::{
    AdjustRequest, Budget, BudgetKind, BudgetRequest, BudgetsResponse, SettingsRequest,
};
use sliderule_protocol::{ClusterName, Ttl};

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use crate::budgets::{BudgetError, Budgets, account_of};
use crate::store::{ClusterPhase, ClusterRecord};

impl Provisioner {
    fn budgets_on(&self) -> Result<&Budgets, ProvisionerError> {
        self.budgets.as_deref().ok_or_else(|| {
            ProvisionerError::DoesNotExist("budgets are not enabled on this service".into())
        })
    }

    /// 422 `insufficient_funds` unless the account paying for `cluster` (deployed by `owner`)
    /// can pay `nodes` for `ttl`. Nothing is recorded either way.
    pub(super) async fn afford(
        &self,
        cluster: &ClusterName,
        owner: &str,
        nodes: u32,
        ttl: Ttl,
    ) -> Result<(), ProvisionerError> {
        let Some(budgets) = &self.budgets else {
            return Ok(());
        };
        let (account, kind) = account_of(cluster.as_str(), owner);
        budgets
            .afford((&account, kind), nodes, u64::from(ttl.minutes()))
            .await?;
        Ok(())
    }

    /// Closes the record's charge interval after a change: charges what ran, then meters its
    /// new size (or stops, once closed). A failure is logged: the budget sweep settles it.
    pub(super) async fn metered(&self, record: &ClusterRecord) {
        let Some(budgets) = &self.budgets else {
            return;
        };
        let nodes = (record.phase != ClusterPhase::Closed).then_some(record.node_capacity);
        if let Err(error) = budgets.meter(&record.cluster, &record.owner, nodes).await {
            tracing::warn!(cluster = %record.cluster, %error, "cannot write the cluster's charge; the budget sweep will");
        }
    }

    /// `/info`'s `budget`: the caller's personal budget, when budgets are on.
    pub async fn personal_budget(&self, login: &str) -> Option<Budget> {
        let budgets = self.budgets.as_deref()?;
        let account = login.to_ascii_lowercase();
        // One row and the meters, not every budget: `/info` is called on every page load.
        let opened = budgets.open(&account, BudgetKind::Personal).await;
        let view = match opened {
            Ok(_) => budgets.view_of(&account).await,
            Err(error) => Err(error),
        };
        match view {
            Ok(view) => view,
            Err(error) => {
                tracing::warn!(%error, "cannot read the caller's budget for /info");
                None
            }
        }
    }

    /// `/budget`: every budget the caller may see, or one with its ledger.
    pub async fn budgets_for(
        &self,
        caller: &Caller,
        request: &BudgetRequest,
    ) -> Result<BudgetsResponse, ProvisionerError> {
        let budgets = self.budgets_on()?;
        let own = caller.login().to_ascii_lowercase();
        budgets.open(&own, BudgetKind::Personal).await?;
        if let Some(account) = &request.account {
            if !may_see(caller, account) {
                return Err(BudgetError::Forbidden(format!(
                    "you may not see the budget of {account}: only your own, your organizations' and, for owners, every budget"
                ))
                .into());
            }
            // The caller's own clusters' accounts open at first sight, as at a first deploy, so
            // a deploy form can show what it would cost them.
            let deployable = caller
                .claims
                .deployable_clusters()
                .iter()
                .any(|c| c.eq_ignore_ascii_case(account));
            if deployable {
                let (account, kind) = account_of(account, caller.login());
                budgets.open(&account, kind).await?;
            }
            let budget = budgets.with_ledger(account, request.before).await?;
            return Ok(BudgetsResponse {
                budgets: vec![budget],
            });
        }
        let mut visible = budgets.views().await?;
        visible.retain(|budget| may_see(caller, &budget.account));
        Ok(BudgetsResponse { budgets: visible })
    }

    /// `/budget/adjust` (owners): a credit or debit with a note, audited.
    pub async fn adjust_budget(
        &self,
        caller: &Caller,
        request: &AdjustRequest,
    ) -> Result<Budget, ProvisionerError> {
        caller.must_be_owner("adjusting a budget")?;
        let budget = self.budgets_on()?.adjust(caller.login(), request).await?;
        self.audit_account(
            caller.login(),
            "budget_adjust",
            &request.account,
            json!({ "amount": request.amount, "note": request.note.trim(), "balance": budget.balance }),
        )
        .await;
        Ok(budget)
    }

    /// `/budget/settings` (owners): an account's allowance and cap, audited.
    pub async fn budget_settings(
        &self,
        caller: &Caller,
        request: &SettingsRequest,
    ) -> Result<Budget, ProvisionerError> {
        caller.must_be_owner("changing a budget's settings")?;
        let budget = self.budgets_on()?.settings(request).await?;
        self.audit_account(
            caller.login(),
            "budget_settings",
            &request.account,
            json!({
                "monthly_allowance": budget.monthly_allowance,
                "max_balance": budget.max_balance,
            }),
        )
        .await;
        Ok(budget)
    }

    /// An audit entry about an account (named like the cluster it pays for).
    pub(super) async fn audit_account(
        &self,
        actor: &str,
        action: &str,
        account: &str,
        parameters: serde_json::Value,
    ) {
        match ClusterName::parse(account) {
            Ok(name) => self.audit(actor, action, &name, parameters, Ok(())).await,
            Err(_) => tracing::info!(actor, action, account, %parameters, "audit"),
        }
    }
}

/// Owners see every budget; others their own and those of the clusters they may use.
fn may_see(caller: &Caller, account: &str) -> bool {
    caller.is_owner()
        || account.eq_ignore_ascii_case(caller.login())
        || ClusterName::parse(account).is_ok_and(|name| caller.claims.may_use_cluster(&name))
}
