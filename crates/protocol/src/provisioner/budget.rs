//! Budgets (provisioner.md, "Budgets"): an account's balance, allowance and forecast, its
//! ledger, and the owner's adjustments and settings. Amounts are exact [`Usd`] (micro-dollars
//! inside, cents on the wire).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Usd;

/// The largest adjustment an owner may make at once, in either direction.
pub const MAX_ADJUSTMENT: Usd = Usd::from_dollars(1_000_000);

/// Ledger entries a page holds at most.
pub const MAX_LEDGER_PAGE: u32 = 500;

/// Whose budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// A person's, for their personal cluster.
    Personal,
    /// An organization's, for its shared cluster.
    Organization,
}

/// A budget's standing and forecast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    /// A login, a local account or an organization.
    pub account: String,
    /// A person's or an organization's.
    pub kind: BudgetKind,
    /// What is left (negative once overdrawn).
    pub balance: Usd,
    /// Credited on the 1st of each month (UTC), up to `max_balance`.
    pub monthly_allowance: Usd,
    /// The allowance never lifts the balance above this.
    pub max_balance: Usd,
    /// What the account's live clusters cost per hour now.
    pub burn_rate_per_hour: Usd,
    /// When the balance reaches zero at that rate; `null` when nothing runs.
    #[serde(default, with = "crate::timestamp::option")]
    pub runs_out_at: Option<OffsetDateTime>,
    /// The same at every live cluster's largest size.
    #[serde(default, with = "crate::timestamp::option")]
    pub runs_out_at_max: Option<OffsetDateTime>,
    /// At most 10 % of the allowance is left.
    pub warning: bool,
    /// Newest first, when one budget was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Vec<LedgerEntry>>,
}

/// What moved a balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// The monthly allowance.
    Allowance,
    /// An owner's credit.
    Credit,
    /// An owner's debit.
    Debit,
    /// Usage of a cluster.
    Charge,
    /// A correction from AWS Cost Explorer.
    Reconcile,
}

/// One movement of a balance, and the balance after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    /// Its position in the account's ledger, increasing: `/budget`'s `before` pages by it.
    #[serde(default)]
    pub id: i64,
    /// When.
    #[serde(with = "crate::timestamp")]
    pub at: OffsetDateTime,
    /// What moved it.
    pub kind: LedgerKind,
    /// Positive credits, negative charges and debits.
    pub amount: Usd,
    /// The balance after it.
    pub balance: Usd,
    /// The cluster a charge is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Why, for an adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who made an adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// `/budget`: every budget the caller may see, or one with its ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetRequest {
    /// One account (with its ledger); every visible budget without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A ledger entry's position: only entries before it (paging back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// 200 of `/budget`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetsResponse {
    /// By account.
    pub budgets: Vec<Budget>,
}

/// `/budget/adjust` (owners): a credit (positive) or a debit (negative), with a note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdjustRequest {
    /// Whose budget.
    pub account: String,
    /// USD: positive credits, negative debits.
    pub amount: Usd,
    /// Why (kept in the ledger).
    pub note: String,
}

impl AdjustRequest {
    /// Refuses a zero amount and one beyond [`MAX_ADJUSTMENT`], naming the value and the limit.
    pub fn check(&self) -> Result<(), String> {
        if self.amount == Usd::ZERO {
            return Err(
                "amount must not be 0: credit a positive amount or debit a negative one".into(),
            );
        }
        if self.amount.micros().unsigned_abs() > MAX_ADJUSTMENT.micros().unsigned_abs() {
            return Err(format!(
                "amount {} USD is beyond the largest adjustment, {} USD either way",
                self.amount, MAX_ADJUSTMENT
            ));
        }
        Ok(())
    }
}

/// `/budget/settings` (owners): the allowance and the cap of one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsRequest {
    /// Whose budget.
    pub account: String,
    /// A new monthly allowance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_allowance: Option<Usd>,
    /// A new cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_balance: Option<Usd>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_budget_round_trips_with_cents_on_the_wire() {
        let budget = Budget {
            account: "bob".into(),
            kind: BudgetKind::Personal,
            balance: Usd::from_cents(9745),
            monthly_allowance: Usd::from_dollars(100),
            max_balance: Usd::from_dollars(200),
            burn_rate_per_hour: Usd::from_cents(170),
            runs_out_at: Some(datetime!(2026-12-05 18:19 UTC)),
            runs_out_at_max: None,
            warning: false,
            ledger: Some(vec![LedgerEntry {
                id: 7,
                at: datetime!(2026-12-03 09:00 UTC),
                kind: LedgerKind::Charge,
                amount: Usd::from_cents(-255),
                balance: Usd::from_cents(9745),
                cluster: Some("bob".into()),
                note: None,
                actor: None,
            }]),
        };
        let json = serde_json::to_value(&budget).unwrap();
        assert_eq!(json["balance"], 97.45);
        assert_eq!(json["kind"], "personal");
        assert_eq!(json["ledger"][0]["amount"], -2.55);
        assert_eq!(json["ledger"][0]["kind"], "charge");
        assert!(json["ledger"][0].get("note").is_none());
        assert_eq!(serde_json::from_value::<Budget>(json).unwrap(), budget);
    }

    #[test]
    fn adjustments_name_the_limit_and_refuse_zero_and_non_numbers() {
        let adjust = |amount: &str| {
            serde_json::from_str::<AdjustRequest>(&format!(
                r#"{{"account":"bob","amount":{amount},"note":"n"}}"#
            ))
        };
        assert_eq!(adjust("1000000").unwrap().check(), Ok(()));
        assert_eq!(adjust("-1000000").unwrap().check(), Ok(()));
        let huge = adjust("1000000.01").unwrap().check().unwrap_err();
        assert!(
            huge.contains("1000000.01 USD") && huge.contains("1000000.00 USD"),
            "{huge}"
        );
        assert!(adjust("0").unwrap().check().is_err());
        assert!(adjust("\"ten\"").is_err());
        assert!(adjust("null").is_err());
    }
}
