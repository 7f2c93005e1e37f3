//! The budgets' durable facts (provisioner.md, "Budgets"): a balance per account, its
//! append-only ledger, a meter per running cluster, and which Cost Explorer days were
//! reconciled.
//!
//! Every movement of a balance writes the ledger entry and the new balance in one atomic
//! operation, so a crash between "charge" and "ledger" cannot happen: either both are stored or
//! neither. A meter remembers how much of its current segment (a stretch of constant size and
//! price) was charged, so settling again (after a crash, or from another replica) charges only
//! what is new, and a segment's total is rounded once.

use async_trait::async_trait;
use sliderule_protocol::provisioner::{BudgetKind, LedgerEntry, LedgerKind};
use sliderule_protocol::{Pricing, Usd};
use time::OffsetDateTime;

use super::StoreError;

/// An account's budget, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRow {
    pub account: String,
    pub kind: BudgetKind,
    pub balance: Usd,
    pub monthly_allowance: Usd,
    pub max_balance: Usd,
    /// The month (`2026-12`) whose allowance was credited last.
    pub allowance_period: String,
    /// The month whose 10 % warning was recorded, if any.
    pub warned_period: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A budget to open when the account has none: its opening balance is its first ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBudget {
    pub account: String,
    pub kind: BudgetKind,
    pub balance: Usd,
    pub monthly_allowance: Usd,
    pub max_balance: Usd,
    /// The month it opens in: its opening balance stands for that month's allowance.
    pub period: String,
}

/// One movement to write: the amount is added to the balance (negative for charges and debits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub kind: LedgerKind,
    pub amount: Usd,
    pub cluster: Option<String>,
    pub note: Option<String>,
    pub actor: Option<String>,
}

/// What a running cluster is being charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub cluster: String,
    pub account: String,
    pub nodes: u32,
    /// The price per hour of the current segment.
    pub hourly: Usd,
    pub segment_start: OffsetDateTime,
    /// What the current segment has been charged so far.
    pub charged: Usd,
    pub settled_at: OffsetDateTime,
}

impl Meter {
    /// The current segment's exact cost from its start to `at` (one rounding).
    pub fn segment_cost(&self, at: OffsetDateTime) -> Usd {
        let seconds = (at - self.segment_start).whole_seconds().max(0);
        let flat = Pricing {
            node_usd_per_hour: Usd::ZERO,
            cluster_usd_per_hour: self.hourly,
        };
        flat.cost(0, u64::try_from(seconds).unwrap_or(0))
    }
}

/// What a settlement does to the meter after charging it up to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// The same size: charge what accrued, keep going.
    Keep,
    /// This size and price from now: charge what accrued at the old one, then start a new
    /// segment (or the first, if the cluster had no meter).
    Run { nodes: u32, hourly: Usd },
    /// The cluster is gone: charge what accrued and remove the meter.
    Stop,
}

#[async_trait]
pub trait BudgetStore: Send + Sync + 'static {
    /// The account's budget, opening it as `new` says when it has none (two processes opening
    /// one account at once: one opening, both see it).
    async fn open_budget(
        &self,
        new: &NewBudget,
        now: OffsetDateTime,
    ) -> Result<BudgetRow, StoreError>;

    async fn budget(&self, account: &str) -> Result<Option<BudgetRow>, StoreError>;

    /// Every budget, by account.
    async fn budgets(&self) -> Result<Vec<BudgetRow>, StoreError>;

    /// Adds `posting.amount` to the balance and appends the entry, atomically. `None` when the
    /// account has no budget.
    async fn post(
        &self,
        account: &str,
        posting: &Posting,
        now: OffsetDateTime,
    ) -> Result<Option<(BudgetRow, LedgerEntry)>, StoreError>;

    /// Changes the allowance and the cap; `None` when the account has no budget.
    async fn set_budget_limits(
        &self,
        account: &str,
        monthly_allowance: Option<Usd>,
        max_balance: Option<Usd>,
    ) -> Result<Option<BudgetRow>, StoreError>;

    /// Credits the monthly allowance for `period` unless it was credited already, never lifting
    /// the balance above the cap. `Some(amount)` only for the one call that credited it (the
    /// amount may be 0 at the cap; no entry is written then).
    async fn credit_allowance(
        &self,
        account: &str,
        period: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError>;

    /// Records the 10 % warning of `period`; true only for the call that recorded it.
    async fn mark_warned(&self, account: &str, period: &str) -> Result<bool, StoreError>;

    /// Ledger entries newest first, `limit` at most, older than `before` (an id) when given.
    async fn ledger(
        &self,
        account: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError>;

    /// Every running meter.
    async fn meters(&self) -> Result<Vec<Meter>, StoreError>;

    /// Charges `cluster`'s meter up to `now` (to `account`, for a meter it starts) and applies
    /// `capacity`, in one transaction; returns what was charged. A meter settled at or after
    /// `now` (another replica got there first) is charged nothing.
    async fn settle(
        &self,
        cluster: &str,
        account: &str,
        now: OffsetDateTime,
        capacity: Capacity,
    ) -> Result<Usd, StoreError>;

    /// What `cluster` was charged (a positive amount) by entries at `from` or later and before
    /// `to`.
    async fn charges_for(
        &self,
        cluster: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Usd, StoreError>;

    /// Writes AWS's figure for `cluster` on `day` (`2026-12-02`, from `from` to `to`) against our
    /// charges of that day as one `reconcile` entry of `account`, once per cluster and day.
    /// Returns the difference (AWS's minus ours) for the call that wrote it; `None` when the day
    /// was reconciled before or the account has no budget.
    async fn reconcile(
        &self,
        cluster: &str,
        account: &str,
        day: &str,
        (from, to): (OffsetDateTime, OffsetDateTime),
        aws: Usd,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError>;
}
