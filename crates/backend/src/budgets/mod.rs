//! Budgets (provisioner.md, "Budgets"): who pays for a cluster, whether a request can be paid,
//! what running clusters are charged, and a budget as people read it (balance, forecast,
//! warning, ledger). Plain functions over the [`BudgetStore`]; the provisioner calls them on
//! deploy, extend and every change of a record, and its budget sweep
//! (`provisioner::budget_sweep`) credits allowances, writes charges and destroys what can no
//! longer be paid.
//!
//! An account is named after the cluster it pays for: a personal cluster (named after its
//! owner's login) is paid by that person, a team or organization cluster by the organization of
//! that name. This keeps the budget code independent of how an account's clusters are found.

pub mod cost_explorer;
pub mod reconcile;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sliderule_protocol::provisioner::budget::MAX_LEDGER_PAGE;
use sliderule_protocol::provisioner::{
    AdjustRequest, Budget, BudgetKind, LedgerKind, SettingsRequest,
};
use sliderule_protocol::{InsufficientFunds, Pricing, Usd};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{BudgetRow, Capacity, Meter, NewBudget, Posting, Store, StoreError};

/// The longest note an adjustment keeps.
pub const MAX_NOTE_CHARS: usize = 500;

/// What can go wrong with a budget, as the rules see it (`http/error.rs` answers it).
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The projected cost exceeds the balance: 422 `insufficient_funds`.
    #[error(transparent)]
    InsufficientFunds(#[from] InsufficientFunds),
    /// No budget of that name.
    #[error("no budget of account {0}")]
    UnknownAccount(String),
    /// Not the caller's to see or change.
    #[error("{0}")]
    Forbidden(String),
    /// A malformed request; says which field and why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counted for `/metrics`; clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct BudgetCounters {
    pub charges: Counter,
    pub refusals: Counter,
    pub exhaustion_destroys: Counter,
    pub reconciliations: Counter,
    pub reconciliation_failures: Counter,
}

/// Who pays for `cluster`, deployed by `owner`.
pub fn account_of(cluster: &str, owner: &str) -> (String, BudgetKind) {
    let kind = if cluster.eq_ignore_ascii_case(owner) {
        BudgetKind::Personal
    } else {
        BudgetKind::Organization
    };
    (cluster.to_owned(), kind)
}

/// The allowance period (`2026-12`) that `at` falls in.
pub fn period_of(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// A budget's standing as of `now`, with the forecast from the meters of its account.
pub fn view(row: &BudgetRow, meters: &[Meter], now: OffsetDateTime) -> Budget {
    let burn = meters
        .iter()
        .filter(|m| m.account == row.account)
        .fold(Usd::ZERO, |sum, m| sum.checked_add(m.hourly).unwrap_or(sum));
    let runs_out_at = runs_out(row.balance, burn, now);
    Budget {
        account: row.account.clone(),
        kind: row.kind,
        balance: row.balance,
        monthly_allowance: row.monthly_allowance,
        max_balance: row.max_balance,
        burn_rate_per_hour: burn,
        runs_out_at,
        // A v5 cluster does not grow on its own: its largest size is the size it runs at.
        runs_out_at_max: runs_out_at,
        warning: is_low(row),
        ledger: None,
    }
}

/// At most 10 % of the allowance is left.
pub fn is_low(row: &BudgetRow) -> bool {
    row.monthly_allowance.is_positive()
        && i128::from(row.balance.micros()) * 10 <= i128::from(row.monthly_allowance.micros())
}

/// When `balance` reaches zero at `burn` per hour; `None` when nothing runs.
fn runs_out(balance: Usd, burn: Usd, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if !burn.is_positive() {
        return None;
    }
    if !balance.is_positive() {
        return Some(now);
    }
    let seconds = i128::from(balance.micros()) * 3600 / i128::from(burn.micros());
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    now.checked_add(time::Duration::seconds(seconds))
}

/// The budget rules, built once from the configuration.
pub struct Budgets {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub pricing: Pricing,
    pub initial_balance: Usd,
    pub monthly_allowance: Usd,
    pub max_balance: Usd,
    /// How often charges are written (and the budget sweep runs).
    pub charge_period: Duration,
    pub counters: BudgetCounters,
}

impl Budgets {
    /// The budgets of `config`, or `None` when they are off.
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        counters: BudgetCounters,
    ) -> Option<Self> {
        config.budgets_enabled().then(|| Self {
            store,
            clock,
            pricing: config.budgets.pricing(),
            initial_balance: config.budgets.initial_balance,
            monthly_allowance: config.budgets.monthly_allowance,
            max_balance: config.budgets.max_balance,
            charge_period: config.charge_period(),
            counters,
        })
    }

    /// The account's budget, opened with the configured defaults at its first use.
    pub async fn open(&self, account: &str, kind: BudgetKind) -> Result<BudgetRow, StoreError> {
        if let Some(row) = self.store.budget(account).await? {
            return Ok(row);
        }
        let new = NewBudget {
            account: account.to_owned(),
            kind,
            balance: self.initial_balance,
            monthly_allowance: self.monthly_allowance,
            max_balance: self.max_balance,
            period: period_of(self.clock.now()),
        };
        self.store.open_budget(&new, self.clock.now()).await
    }

    /// Whether `nodes` for `minutes` can be paid from the account's balance; its cost if so.
    /// A refusal is counted.
    pub async fn afford(
        &self,
        (account, kind): (&str, BudgetKind),
        nodes: u32,
        minutes: u64,
    ) -> Result<Usd, BudgetError> {
        let row = self.open(account, kind).await?;
        self.pricing
            .check_affordable(account, row.balance, nodes, minutes)
            .map_err(|refused| {
                self.counters.refusals.inc();
                refused.into()
            })
    }

    /// Charges a cluster up to now and starts metering it at `nodes` (or stops, with `None`).
    pub async fn meter(
        &self,
        cluster: &str,
        owner: &str,
        nodes: Option<u32>,
    ) -> Result<Usd, StoreError> {
        let (account, kind) = account_of(cluster, owner);
        self.meter_to(cluster, &account, kind, nodes).await
    }

    /// [`Budgets::meter`] of the meter `meter` paid by `account` (a node group's, keyed
    /// `<cluster>/<user>` and paid by its user's own budget).
    pub async fn meter_to(
        &self,
        meter: &str,
        account: &str,
        kind: BudgetKind,
        nodes: Option<u32>,
    ) -> Result<Usd, StoreError> {
        let (cluster, account) = (meter, account.to_owned());
        let capacity = match nodes {
            Some(nodes) => {
                self.open(&account, kind).await?;
                Capacity::Run {
                    nodes,
                    hourly: self.pricing.hourly(nodes),
                }
            }
            None => Capacity::Stop,
        };
        let charged = self
            .store
            .settle(cluster, &account, self.clock.now(), capacity)
            .await?;
        if charged.is_positive() {
            self.counters.charges.inc();
        }
        Ok(charged)
    }

    /// Every budget, as of now.
    pub async fn views(&self) -> Result<Vec<Budget>, StoreError> {
        let now = self.clock.now();
        let meters = self.store.meters().await?;
        Ok(self
            .store
            .budgets()
            .await?
            .iter()
            .map(|row| view(row, &meters, now))
            .collect())
    }

    /// One budget as of now, without its ledger; `None` when it never opened.
    pub async fn view_of(&self, account: &str) -> Result<Option<Budget>, StoreError> {
        let Some(row) = self.store.budget(account).await? else {
            return Ok(None);
        };
        let meters = self.store.meters().await?;
        Ok(Some(view(&row, &meters, self.clock.now())))
    }

    /// One budget with a page of its ledger (newest first, before the entry `before`).
    pub async fn with_ledger(
        &self,
        account: &str,
        before: Option<i64>,
    ) -> Result<Budget, BudgetError> {
        let row = self
            .store
            .budget(account)
            .await?
            .ok_or_else(|| BudgetError::UnknownAccount(account.to_owned()))?;
        let meters = self.store.meters().await?;
        let mut budget = view(&row, &meters, self.clock.now());
        budget.ledger = Some(self.store.ledger(account, before, MAX_LEDGER_PAGE).await?);
        Ok(budget)
    }

    /// An owner's credit or debit, with its note, in the ledger.
    pub async fn adjust(
        &self,
        actor: &str,
        request: &AdjustRequest,
    ) -> Result<Budget, BudgetError> {
        request.check().map_err(BudgetError::Invalid)?;
        let note = request.note.trim();
        if note.is_empty() {
            return Err(BudgetError::Invalid(
                "note must say why the balance changes".into(),
            ));
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(BudgetError::Invalid(format!(
                "note of {} characters exceeds the maximum of {MAX_NOTE_CHARS}",
                note.chars().count()
            )));
        }
        let posting = Posting {
            kind: if request.amount.is_positive() {
                LedgerKind::Credit
            } else {
                LedgerKind::Debit
            },
            amount: request.amount,
            cluster: None,
            note: Some(note.to_owned()),
            actor: Some(actor.to_owned()),
        };
        self.store
            .post(&request.account, &posting, self.clock.now())
            .await?
            .ok_or_else(|| BudgetError::UnknownAccount(request.account.clone()))?;
        self.with_ledger(&request.account, None).await
    }

    /// An owner's change of an account's allowance or cap.
    pub async fn settings(&self, request: &SettingsRequest) -> Result<Budget, BudgetError> {
        if request.monthly_allowance.is_none() && request.max_balance.is_none() {
            return Err(BudgetError::Invalid(
                "give monthly_allowance, max_balance or both".into(),
            ));
        }
        for (field, value) in [
            ("monthly_allowance", request.monthly_allowance),
            ("max_balance", request.max_balance),
        ] {
            if let Some(value) = value
                && value < Usd::ZERO
            {
                return Err(BudgetError::Invalid(format!(
                    "{field} of {value} USD must not be negative"
                )));
            }
        }
        self.store
            .set_budget_limits(
                &request.account,
                request.monthly_allowance,
                request.max_balance,
            )
            .await?
            .ok_or_else(|| BudgetError::UnknownAccount(request.account.clone()))?;
        self.with_ledger(&request.account, None).await
    }

    /// Credits this month's allowance to every budget that has not had it; how many were.
    pub async fn credit_allowances(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let period = period_of(now);
        let mut credited = 0;
        for row in self.store.budgets().await? {
            if row.allowance_period < period
                && self
                    .store
                    .credit_allowance(&row.account, &period, now)
                    .await?
                    .is_some()
            {
                credited += 1;
            }
        }
        Ok(credited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(balance: Usd) -> BudgetRow {
        BudgetRow {
            account: "bob".into(),
            kind: BudgetKind::Personal,
            balance,
            monthly_allowance: Usd::from_dollars(100),
            max_balance: Usd::from_dollars(200),
            allowance_period: "2026-12".into(),
            warned_period: None,
            created_at: datetime!(2026-12-01 0:00 UTC),
        }
    }

    fn meter(account: &str, nodes: u32) -> Meter {
        Meter {
            cluster: account.into(),
            account: account.into(),
            nodes,
            hourly: Pricing::DEMO.hourly(nodes),
            segment_start: datetime!(2026-12-03 9:00 UTC),
            charged: Usd::ZERO,
            settled_at: datetime!(2026-12-03 9:00 UTC),
        }
    }

    #[test]
    fn a_personal_cluster_is_paid_by_its_owner_and_a_team_cluster_by_the_team() {
        assert_eq!(
            account_of("bob", "Bob"),
            ("bob".to_owned(), BudgetKind::Personal)
        );
        assert_eq!(
            account_of("icesat2", "bob"),
            ("icesat2".to_owned(), BudgetKind::Organization)
        );
    }

    #[test]
    fn the_forecast_runs_out_when_the_balance_does_at_the_current_burn() {
        let now = datetime!(2026-12-03 10:00 UTC);
        // 1.70 USD/h from 17.00 USD: ten hours.
        let budget = view(
            &row(Usd::from_dollars(17)),
            &[meter("bob", 3), meter("carol", 5)],
            now,
        );
        assert_eq!(budget.burn_rate_per_hour, Usd::from_cents(170));
        assert_eq!(budget.runs_out_at, Some(datetime!(2026-12-03 20:00 UTC)));
        assert_eq!(budget.runs_out_at_max, budget.runs_out_at);
        assert!(!budget.warning);
        let idle = view(&row(Usd::from_dollars(17)), &[], now);
        assert_eq!(
            (idle.burn_rate_per_hour, idle.runs_out_at),
            (Usd::ZERO, None)
        );
        let spent = view(&row(Usd::from_cents(-5)), &[meter("bob", 1)], now);
        assert_eq!(spent.runs_out_at, Some(now));
    }

    #[test]
    fn the_warning_is_at_ten_percent_of_the_allowance() {
        assert!(is_low(&row(Usd::from_dollars(10))));
        assert!(!is_low(&row(Usd::from_micros(10_000_001))));
        assert!(is_low(&row(Usd::from_dollars(-1))));
        let no_allowance = BudgetRow {
            monthly_allowance: Usd::ZERO,
            ..row(Usd::ZERO)
        };
        assert!(!is_low(&no_allowance));
    }

    #[test]
    fn periods_are_months() {
        assert_eq!(period_of(datetime!(2026-01-31 23:59 UTC)), "2026-01");
        assert_eq!(period_of(datetime!(2026-12-01 0:00 UTC)), "2026-12");
    }
}
