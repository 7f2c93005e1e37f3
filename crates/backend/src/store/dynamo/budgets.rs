//! [`BudgetStore`] on DynamoDB. Budgets and meters live in one partition each; an account's
//! ledger in its own partition, by id. The budget item counts its ledger entries (`seq`): every
//! movement is one transaction that appends entry `seq + 1` and writes the new balance on
//! condition that `seq` is still the one read, so entries and balances never disagree and two
//! replicas cannot both move a balance from the same reading. Amounts are integer
//! micro-dollars, as in SQLite.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use sliderule_protocol::Usd;
use sliderule_protocol::provisioner::{BudgetKind, LedgerEntry, LedgerKind};
use time::OffsetDateTime;

use super::item::{Item, int, item, millis, n, ordered, s, text, text_opt, time, uint, with};
use super::{DynamoStore, Expr, MAX_ATTEMPTS, Query, contended};
use crate::store::{BudgetRow, BudgetStore, Capacity, Meter, NewBudget, Posting, StoreError};

const BUDGETS: &str = "budget";
const METERS: &str = "meter";

fn ledger_pk(account: &str) -> String {
    format!("ledger#{account}")
}

fn kind_text(kind: BudgetKind) -> &'static str {
    match kind {
        BudgetKind::Personal => "personal",
        BudgetKind::Organization => "organization",
    }
}

fn ledger_kind_text(kind: LedgerKind) -> &'static str {
    match kind {
        LedgerKind::Allowance => "allowance",
        LedgerKind::Credit => "credit",
        LedgerKind::Debit => "debit",
        LedgerKind::Charge => "charge",
        LedgerKind::Reconcile => "reconcile",
    }
}

fn ledger_kind(text: &str) -> Result<LedgerKind, StoreError> {
    Ok(match text {
        "allowance" => LedgerKind::Allowance,
        "credit" => LedgerKind::Credit,
        "debit" => LedgerKind::Debit,
        "charge" => LedgerKind::Charge,
        "reconcile" => LedgerKind::Reconcile,
        other => return Err(StoreError::Corrupt(format!("ledger kind {other:?}"))),
    })
}

fn usd(item: &Item, name: &str) -> Result<Usd, StoreError> {
    Ok(Usd::from_micros(int(item, name)?))
}

fn overflow(account: &str) -> StoreError {
    StoreError::Corrupt(format!("the balance of {account} overflowed"))
}

/// A budget as read, with the number of its ledger entries.
#[derive(Clone)]
struct Budget {
    row: BudgetRow,
    seq: i64,
}

fn budget(item: &Item) -> Result<Budget, StoreError> {
    Ok(Budget {
        row: BudgetRow {
            account: text(item, "account")?,
            kind: if text(item, "budget_kind")? == "organization" {
                BudgetKind::Organization
            } else {
                BudgetKind::Personal
            },
            balance: usd(item, "balance")?,
            monthly_allowance: usd(item, "monthly_allowance")?,
            max_balance: usd(item, "max_balance")?,
            allowance_period: text(item, "allowance_period")?,
            warned_period: text_opt(item, "warned_period")?,
            created_at: time(item, "created_at")?,
        },
        seq: int(item, "seq")?,
    })
}

fn entry(item: &Item) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        id: int(item, "id")?,
        at: time(item, "at")?,
        kind: ledger_kind(&text(item, "entry_kind")?)?,
        amount: usd(item, "amount")?,
        balance: usd(item, "balance")?,
        cluster: text_opt(item, "cluster")?,
        note: text_opt(item, "note")?,
        actor: text_opt(item, "actor")?,
    })
}

fn meter(item: &Item) -> Result<(Meter, i64), StoreError> {
    Ok((
        Meter {
            cluster: text(item, "cluster")?,
            account: text(item, "account")?,
            nodes: uint(item, "nodes")?,
            hourly: usd(item, "hourly")?,
            segment_start: time(item, "segment_start")?,
            charged: usd(item, "charged")?,
            settled_at: time(item, "settled_at")?,
        },
        int(item, "rev")?,
    ))
}

impl DynamoStore {
    async fn read_budget(&self, account: &str) -> Result<Option<Budget>, StoreError> {
        self.get(BUDGETS, account)
            .await?
            .map(|found| budget(&found))
            .transpose()
    }

    /// Appends `posting` to `budget` (in memory: the balance and `seq` move) and returns the
    /// write of its ledger entry, and the entry.
    fn posting(
        &self,
        budget: &mut Budget,
        posting: &Posting,
        now: OffsetDateTime,
    ) -> Result<(TransactWriteItem, LedgerEntry), StoreError> {
        let account = budget.row.account.clone();
        budget.row.balance = budget
            .row
            .balance
            .checked_add(posting.amount)
            .ok_or_else(|| overflow(&account))?;
        budget.seq += 1;
        let id = budget.seq;
        let at = millis(now);
        let charge = posting.kind == LedgerKind::Charge;
        let charges_of = posting.cluster.as_deref().filter(|_| charge);
        let written = with(
            item(ledger_pk(&account), ordered(id)),
            &[
                (
                    "grp",
                    charges_of.map(|cluster| s(format!("charges#{cluster}"))),
                ),
                (
                    "grp_sk",
                    charges_of.map(|_| s(format!("{}#{account}#{}", ordered(at), ordered(id)))),
                ),
                ("id", Some(n(id))),
                ("account", Some(s(account.as_str()))),
                ("at", Some(n(at))),
                ("entry_kind", Some(s(ledger_kind_text(posting.kind)))),
                ("amount", Some(n(posting.amount.micros()))),
                ("balance", Some(n(budget.row.balance.micros()))),
                ("cluster", posting.cluster.as_deref().map(s)),
                ("note", posting.note.as_deref().map(s)),
                ("actor", posting.actor.as_deref().map(s)),
            ],
        );
        let write = self.tx_put(
            written,
            Some("attribute_not_exists(#pk)"),
            Expr::names(&["pk"]),
        )?;
        let entry = LedgerEntry {
            id,
            at: super::item::time_at(at)?,
            kind: posting.kind,
            amount: posting.amount,
            balance: budget.row.balance,
            cluster: posting.cluster.clone(),
            note: posting.note.clone(),
            actor: posting.actor.clone(),
        };
        Ok((write, entry))
    }

    /// The write of a budget's new balance (and `seq`), on condition that `seq` is still
    /// `read_seq`.
    fn balance_write(
        &self,
        budget: &Budget,
        read_seq: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_update(
            (BUDGETS, &budget.row.account),
            "SET #balance = :balance, #seq = :seq",
            Some("#seq = :read"),
            Expr::names(&["balance", "seq"])
                .value(":balance", n(budget.row.balance.micros()))
                .value(":seq", n(budget.seq))
                .value(":read", n(read_seq)),
        )
    }

    async fn charges(
        &self,
        cluster: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Usd, StoreError> {
        let (from, to) = (millis(from), millis(to));
        let items = self
            .query(Query {
                index: Some("by_group"),
                key_condition: "#grp = :pk AND #grp_sk BETWEEN :from AND :to",
                expr: Expr::names(&["grp", "grp_sk"])
                    .value(":pk", s(format!("charges#{cluster}")))
                    .value(":from", s(ordered(from)))
                    .value(":to", s(ordered(to))),
                newest_first: false,
                limit: None,
            })
            .await?;
        let mut sum: i64 = 0;
        for item in &items {
            let at = int(item, "at")?;
            if at >= from && at < to {
                sum = sum
                    .checked_add(int(item, "amount")?)
                    .ok_or_else(|| overflow(cluster))?;
            }
        }
        Ok(Usd::from_micros(-sum))
    }
}

#[async_trait]
impl BudgetStore for DynamoStore {
    async fn open_budget(
        &self,
        new: &NewBudget,
        now: OffsetDateTime,
    ) -> Result<BudgetRow, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            if let Some(existing) = self.read_budget(&new.account).await? {
                return Ok(existing.row);
            }
            let mut opened = Budget {
                row: BudgetRow {
                    account: new.account.clone(),
                    kind: new.kind,
                    balance: Usd::ZERO,
                    monthly_allowance: new.monthly_allowance,
                    max_balance: new.max_balance,
                    allowance_period: new.period.clone(),
                    warned_period: None,
                    created_at: super::item::time_at(millis(now))?,
                },
                seq: 0,
            };
            let mut writes = Vec::new();
            if new.balance != Usd::ZERO {
                let opening = Posting {
                    kind: LedgerKind::Allowance,
                    amount: new.balance,
                    cluster: None,
                    note: Some("opening balance".into()),
                    actor: None,
                };
                writes.push(self.posting(&mut opened, &opening, now)?.0);
            }
            let row = &opened.row;
            let written = with(
                item(BUDGETS, row.account.as_str()),
                &[
                    ("account", Some(s(row.account.as_str()))),
                    ("budget_kind", Some(s(kind_text(row.kind)))),
                    ("balance", Some(n(row.balance.micros()))),
                    ("monthly_allowance", Some(n(row.monthly_allowance.micros()))),
                    ("max_balance", Some(n(row.max_balance.micros()))),
                    ("allowance_period", Some(s(row.allowance_period.as_str()))),
                    ("created_at", Some(n(millis(now)))),
                    ("seq", Some(n(opened.seq))),
                ],
            );
            writes.push(self.tx_put(
                written,
                Some("attribute_not_exists(#pk)"),
                Expr::names(&["pk"]),
            )?);
            if self.transact(writes).await? {
                return Ok(opened.row);
            }
        }
        Err(contended("opening a budget"))
    }

    async fn budget(&self, account: &str) -> Result<Option<BudgetRow>, StoreError> {
        Ok(self.read_budget(account).await?.map(|budget| budget.row))
    }

    async fn budgets(&self) -> Result<Vec<BudgetRow>, StoreError> {
        let items = self.query(Query::partition(BUDGETS)).await?;
        items
            .iter()
            .map(|item| budget(item).map(|budget| budget.row))
            .collect()
    }

    async fn post(
        &self,
        account: &str,
        posting: &Posting,
        now: OffsetDateTime,
    ) -> Result<Option<(BudgetRow, LedgerEntry)>, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(mut budget) = self.read_budget(account).await? else {
                return Ok(None);
            };
            let read_seq = budget.seq;
            let (write, entry) = self.posting(&mut budget, posting, now)?;
            let writes = vec![write, self.balance_write(&budget, read_seq)?];
            if self.transact(writes).await? {
                return Ok(Some((budget.row, entry)));
            }
        }
        Err(contended("posting to a budget"))
    }

    async fn set_budget_limits(
        &self,
        account: &str,
        monthly_allowance: Option<Usd>,
        max_balance: Option<Usd>,
    ) -> Result<Option<BudgetRow>, StoreError> {
        let mut sets = Vec::new();
        let mut names = vec!["pk"];
        let mut expr_values = Vec::new();
        if let Some(allowance) = monthly_allowance {
            sets.push("#monthly_allowance = :allowance");
            names.push("monthly_allowance");
            expr_values.push((":allowance", n(allowance.micros())));
        }
        if let Some(max) = max_balance {
            sets.push("#max_balance = :max");
            names.push("max_balance");
            expr_values.push((":max", n(max.micros())));
        }
        if sets.is_empty() {
            return self.budget(account).await;
        }
        let mut expr = Expr::names(&names);
        for (placeholder, value) in expr_values {
            expr = expr.value(placeholder, value);
        }
        let after = self
            .update(
                (BUDGETS, account),
                &format!("SET {}", sets.join(", ")),
                Some("attribute_exists(#pk)"),
                expr,
            )
            .await?;
        after.map(|item| budget(&item).map(|b| b.row)).transpose()
    }

    async fn credit_allowance(
        &self,
        account: &str,
        period: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(mut budget) = self.read_budget(account).await? else {
                return Ok(None);
            };
            if budget.row.allowance_period.as_str() >= period {
                return Ok(None);
            }
            let read = budget.clone();
            let room = budget
                .row
                .max_balance
                .checked_sub(budget.row.balance)
                .unwrap_or(Usd::ZERO)
                .max(Usd::ZERO);
            let amount = budget.row.monthly_allowance.min(room).max(Usd::ZERO);
            let mut writes = Vec::new();
            if amount.is_positive() {
                let posting = Posting {
                    kind: LedgerKind::Allowance,
                    amount,
                    cluster: None,
                    note: Some(format!("allowance for {period}")),
                    actor: None,
                };
                writes.push(self.posting(&mut budget, &posting, now)?.0);
            }
            // On what was read: the same entries, period and limits.
            writes.push(
                self.tx_update(
                    (BUDGETS, account),
                    "SET #balance = :balance, #seq = :seq, #allowance_period = :period",
                    Some(
                        "#seq = :read AND #allowance_period = :read_period \
                     AND #monthly_allowance = :allowance AND #max_balance = :max",
                    ),
                    Expr::names(&[
                        "balance",
                        "seq",
                        "allowance_period",
                        "monthly_allowance",
                        "max_balance",
                    ])
                    .value(":balance", n(budget.row.balance.micros()))
                    .value(":seq", n(budget.seq))
                    .value(":period", s(period))
                    .value(":read", n(read.seq))
                    .value(":read_period", s(read.row.allowance_period.as_str()))
                    .value(":allowance", n(read.row.monthly_allowance.micros()))
                    .value(":max", n(read.row.max_balance.micros())),
                )?,
            );
            if self.transact(writes).await? {
                return Ok(Some(amount));
            }
        }
        Err(contended("crediting an allowance"))
    }

    async fn mark_warned(&self, account: &str, period: &str) -> Result<bool, StoreError> {
        let marked = self
            .update(
                (BUDGETS, account),
                "SET #warned_period = :period",
                Some(
                    "attribute_exists(#pk) AND \
                     (attribute_not_exists(#warned_period) OR #warned_period < :period)",
                ),
                Expr::names(&["warned_period", "pk"]).value(":period", s(period)),
            )
            .await?;
        Ok(marked.is_some())
    }

    async fn ledger(
        &self,
        account: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let items = self
            .query(Query {
                index: None,
                key_condition: "#pk = :pk AND #sk < :before",
                expr: Expr::names(&["pk", "sk"])
                    .value(":pk", s(ledger_pk(account)))
                    .value(":before", s(ordered(before.unwrap_or(i64::MAX)))),
                newest_first: true,
                limit: Some(limit),
            })
            .await?;
        items.iter().map(entry).collect()
    }

    async fn meters(&self) -> Result<Vec<Meter>, StoreError> {
        let items = self.query(Query::partition(METERS)).await?;
        items
            .iter()
            .map(|item| meter(item).map(|(m, _)| m))
            .collect()
    }

    async fn settle(
        &self,
        cluster: &str,
        account: &str,
        now: OffsetDateTime,
        capacity: Capacity,
    ) -> Result<Usd, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let existing = self
                .get(METERS, cluster)
                .await?
                .map(|found| meter(&found))
                .transpose()?;
            let mut writes = Vec::new();
            let mut charged = Usd::ZERO;
            // The meter after charging, when charging changed it.
            let mut settled: Option<Meter> = None;
            if let Some((running, _)) = &existing
                && now > running.settled_at
            {
                let total = running.segment_cost(now);
                let due = total.checked_sub(running.charged).unwrap_or(Usd::ZERO);
                if due.is_positive() {
                    let posting = Posting {
                        kind: LedgerKind::Charge,
                        amount: Usd::from_micros(-due.micros()),
                        cluster: Some(cluster.to_owned()),
                        note: None,
                        actor: None,
                    };
                    // An account without a budget is charged nothing (as in SQLite).
                    if let Some(mut budget) = self.read_budget(&running.account).await? {
                        let read_seq = budget.seq;
                        writes.push(self.posting(&mut budget, &posting, now)?.0);
                        writes.push(self.balance_write(&budget, read_seq)?);
                    }
                    charged = due;
                }
                settled = Some(Meter {
                    charged: total,
                    settled_at: now,
                    ..running.clone()
                });
            }
            let current = settled
                .clone()
                .or_else(|| existing.as_ref().map(|(m, _)| m.clone()));
            // What the meter is once the capacity is applied: `None` for no meter.
            let after = match (capacity, &current) {
                (Capacity::Keep, _) | (Capacity::Stop, None) => current.clone(),
                (Capacity::Stop, Some(_)) => None,
                (Capacity::Run { nodes, hourly }, _) => {
                    let unchanged = existing
                        .as_ref()
                        .is_some_and(|(m, _)| m.nodes == nodes && m.hourly == hourly);
                    if unchanged {
                        current.clone()
                    } else {
                        let start = existing
                            .as_ref()
                            .map_or(now, |(m, _)| m.settled_at.max(now));
                        Some(Meter {
                            cluster: cluster.to_owned(),
                            account: existing
                                .as_ref()
                                .map_or_else(|| account.to_owned(), |(m, _)| m.account.clone()),
                            nodes,
                            hourly,
                            segment_start: start,
                            charged: Usd::ZERO,
                            settled_at: start,
                        })
                    }
                }
            };
            let before = existing.as_ref().map(|(m, _)| m);
            if after.as_ref() != before {
                let read_rev = existing.as_ref().map(|(_, rev)| *rev);
                let (condition, expr) = match read_rev {
                    Some(rev) => ("#rev = :rev", Expr::names(&["rev"]).value(":rev", n(rev))),
                    None => ("attribute_not_exists(#pk)", Expr::names(&["pk"])),
                };
                match &after {
                    Some(next) => {
                        let written = with(
                            item(METERS, cluster),
                            &[
                                ("cluster", Some(s(next.cluster.as_str()))),
                                ("account", Some(s(next.account.as_str()))),
                                ("nodes", Some(n(next.nodes))),
                                ("hourly", Some(n(next.hourly.micros()))),
                                ("segment_start", Some(n(millis(next.segment_start)))),
                                ("charged", Some(n(next.charged.micros()))),
                                ("settled_at", Some(n(millis(next.settled_at)))),
                                ("rev", Some(n(read_rev.unwrap_or(0) + 1))),
                            ],
                        );
                        writes.push(self.tx_put(written, Some(condition), expr)?);
                    }
                    None => {
                        writes.push(self.tx_delete((METERS, cluster), Some(condition), expr)?)
                    }
                }
            }
            if self.transact(writes).await? {
                return Ok(charged);
            }
        }
        Err(contended("settling a meter"))
    }

    async fn charges_for(
        &self,
        cluster: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Usd, StoreError> {
        self.charges(cluster, from, to).await
    }

    async fn reconcile(
        &self,
        cluster: &str,
        account: &str,
        day: &str,
        (from, to): (OffsetDateTime, OffsetDateTime),
        aws: Usd,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError> {
        let marker = format!("{cluster}#{day}");
        for _ in 0..MAX_ATTEMPTS {
            if self.get("reconciled", &marker).await?.is_some() {
                return Ok(None);
            }
            let Some(mut budget) = self.read_budget(account).await? else {
                return Ok(None);
            };
            let ours = self.charges(cluster, from, to).await?;
            let difference = aws.checked_sub(ours).ok_or_else(|| overflow(account))?;
            let done = with(
                item("reconciled", marker.as_str()),
                &[
                    ("aws", Some(n(aws.micros()))),
                    ("ours", Some(n(ours.micros()))),
                    ("at", Some(n(millis(now)))),
                ],
            );
            let mut writes = vec![self.tx_put(
                done,
                Some("attribute_not_exists(#pk)"),
                Expr::names(&["pk"]),
            )?];
            if difference != Usd::ZERO {
                let posting = Posting {
                    kind: LedgerKind::Reconcile,
                    amount: Usd::from_micros(-difference.micros()),
                    cluster: Some(cluster.to_owned()),
                    note: Some(format!(
                        "AWS Cost Explorer for {day}: {aws} USD, charged {ours} USD"
                    )),
                    actor: None,
                };
                let read_seq = budget.seq;
                writes.push(self.posting(&mut budget, &posting, now)?.0);
                writes.push(self.balance_write(&budget, read_seq)?);
            }
            if self.transact(writes).await? {
                return Ok(Some(difference));
            }
        }
        Err(contended("reconciling a day"))
    }
}
