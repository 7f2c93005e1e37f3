//! [`BudgetStore`] on SQLite: the `budgets`, `ledger`, `meters` and `reconciliations` tables
//! of `0006_budgets.sql`. Every balance movement is one `BEGIN IMMEDIATE` transaction that
//! reads the balance, appends the ledger entry with the balance after it, and writes the
//! balance back.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use sliderule_protocol::Usd;
use sliderule_protocol::provisioner::{BudgetKind, LedgerEntry, LedgerKind};
use time::OffsetDateTime;

use super::{SqliteStore, millis, time_at};
use crate::store::{BudgetRow, BudgetStore, Capacity, Meter, NewBudget, Posting, StoreError};

const BUDGET_COLUMNS: &str = "account, kind, balance, monthly_allowance, max_balance, \
                              allowance_period, warned_period, created_at";

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

fn overflow(account: &str) -> StoreError {
    StoreError::Corrupt(format!("the balance of {account} overflowed"))
}

fn read_budget(row: &Row<'_>) -> rusqlite::Result<(BudgetRow, i64)> {
    let kind: String = row.get(1)?;
    Ok((
        BudgetRow {
            account: row.get(0)?,
            kind: if kind == "organization" {
                BudgetKind::Organization
            } else {
                BudgetKind::Personal
            },
            balance: Usd::from_micros(row.get(2)?),
            monthly_allowance: Usd::from_micros(row.get(3)?),
            max_balance: Usd::from_micros(row.get(4)?),
            allowance_period: row.get(5)?,
            warned_period: row.get(6)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
        row.get(7)?,
    ))
}

fn finish_budget((mut budget, created_at): (BudgetRow, i64)) -> Result<BudgetRow, StoreError> {
    budget.created_at = time_at(created_at)?;
    Ok(budget)
}

fn get(conn: &Connection, account: &str) -> Result<Option<BudgetRow>, StoreError> {
    conn.query_row(
        &format!("SELECT {BUDGET_COLUMNS} FROM budgets WHERE account = ?1"),
        [account],
        read_budget,
    )
    .optional()?
    .map(finish_budget)
    .transpose()
}

fn all(conn: &Connection) -> Result<Vec<BudgetRow>, StoreError> {
    let mut statement = conn.prepare(&format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets ORDER BY account"
    ))?;
    let rows = statement.query_map([], read_budget)?;
    rows.map(|row| finish_budget(row?)).collect()
}

/// Adds the posting to the balance and appends it; the budget after it, and the entry.
fn post(
    tx: &Transaction<'_>,
    account: &str,
    posting: &Posting,
    now: OffsetDateTime,
) -> Result<Option<(BudgetRow, LedgerEntry)>, StoreError> {
    let Some(mut budget) = get(tx, account)? else {
        return Ok(None);
    };
    budget.balance = budget
        .balance
        .checked_add(posting.amount)
        .ok_or_else(|| overflow(account))?;
    let id: i64 = tx.query_row(
        "INSERT INTO ledger (account, at, kind, amount, balance, cluster, note, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![
            account,
            millis(now),
            ledger_kind_text(posting.kind),
            posting.amount.micros(),
            budget.balance.micros(),
            posting.cluster,
            posting.note,
            posting.actor
        ],
        |row| row.get(0),
    )?;
    tx.execute(
        "UPDATE budgets SET balance = ?2 WHERE account = ?1",
        params![account, budget.balance.micros()],
    )?;
    let entry = LedgerEntry {
        id,
        at: now,
        kind: posting.kind,
        amount: posting.amount,
        balance: budget.balance,
        cluster: posting.cluster.clone(),
        note: posting.note.clone(),
        actor: posting.actor.clone(),
    };
    Ok(Some((budget, entry)))
}

fn open(
    tx: &Transaction<'_>,
    new: &NewBudget,
    now: OffsetDateTime,
) -> Result<BudgetRow, StoreError> {
    if let Some(existing) = get(tx, &new.account)? {
        return Ok(existing);
    }
    tx.execute(
        &format!("INSERT INTO budgets ({BUDGET_COLUMNS}) VALUES (?1, ?2, 0, ?3, ?4, ?5, NULL, ?6)"),
        params![
            new.account,
            kind_text(new.kind),
            new.monthly_allowance.micros(),
            new.max_balance.micros(),
            new.period,
            millis(now)
        ],
    )?;
    if new.balance != Usd::ZERO {
        let opening = Posting {
            kind: LedgerKind::Allowance,
            amount: new.balance,
            cluster: None,
            note: Some("opening balance".into()),
            actor: None,
        };
        post(tx, &new.account, &opening, now)?;
    }
    get(tx, &new.account)?.ok_or_else(|| StoreError::Corrupt("a budget vanished".into()))
}

fn set_limits(
    tx: &Transaction<'_>,
    account: &str,
    allowance: Option<Usd>,
    max_balance: Option<Usd>,
) -> Result<Option<BudgetRow>, StoreError> {
    tx.execute(
        "UPDATE budgets SET monthly_allowance = COALESCE(?2, monthly_allowance),
                            max_balance = COALESCE(?3, max_balance)
         WHERE account = ?1",
        params![
            account,
            allowance.map(Usd::micros),
            max_balance.map(Usd::micros)
        ],
    )?;
    get(tx, account)
}

fn credit_allowance(
    tx: &Transaction<'_>,
    account: &str,
    period: &str,
    now: OffsetDateTime,
) -> Result<Option<Usd>, StoreError> {
    let Some(budget) = get(tx, account)? else {
        return Ok(None);
    };
    if budget.allowance_period.as_str() >= period {
        return Ok(None);
    }
    tx.execute(
        "UPDATE budgets SET allowance_period = ?2 WHERE account = ?1",
        params![account, period],
    )?;
    let room = budget
        .max_balance
        .checked_sub(budget.balance)
        .unwrap_or(Usd::ZERO)
        .max(Usd::ZERO);
    let amount = budget.monthly_allowance.min(room).max(Usd::ZERO);
    if amount.is_positive() {
        let posting = Posting {
            kind: LedgerKind::Allowance,
            amount,
            cluster: None,
            note: Some(format!("allowance for {period}")),
            actor: None,
        };
        post(tx, account, &posting, now)?;
    }
    Ok(Some(amount))
}

fn mark_warned(tx: &Transaction<'_>, account: &str, period: &str) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE budgets SET warned_period = ?2
         WHERE account = ?1 AND (warned_period IS NULL OR warned_period < ?2)",
        params![account, period],
    )?;
    Ok(changed == 1)
}

fn ledger(
    conn: &Connection,
    account: &str,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT id, at, kind, amount, balance, cluster, note, actor FROM ledger
         WHERE account = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = statement.query_map(params![account, before.unwrap_or(i64::MAX), limit], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, Option<String>>(5)?,
            row.get::<_, Option<String>>(6)?,
            row.get::<_, Option<String>>(7)?,
        ))
    })?;
    rows.map(|row| {
        let (id, at, kind, amount, balance, cluster, note, actor) = row?;
        Ok(LedgerEntry {
            id,
            at: time_at(at)?,
            kind: ledger_kind(&kind)?,
            amount: Usd::from_micros(amount),
            balance: Usd::from_micros(balance),
            cluster,
            note,
            actor,
        })
    })
    .collect()
}

const METER_COLUMNS: &str = "cluster, account, nodes, hourly, segment_start, charged, settled_at";

fn read_meter(row: &Row<'_>) -> rusqlite::Result<(Meter, i64, i64)> {
    Ok((
        Meter {
            cluster: row.get(0)?,
            account: row.get(1)?,
            nodes: row.get(2)?,
            hourly: Usd::from_micros(row.get(3)?),
            segment_start: OffsetDateTime::UNIX_EPOCH,
            charged: Usd::from_micros(row.get(5)?),
            settled_at: OffsetDateTime::UNIX_EPOCH,
        },
        row.get(4)?,
        row.get(6)?,
    ))
}

fn finish_meter((mut meter, start, settled): (Meter, i64, i64)) -> Result<Meter, StoreError> {
    meter.segment_start = time_at(start)?;
    meter.settled_at = time_at(settled)?;
    Ok(meter)
}

fn meter(conn: &Connection, cluster: &str) -> Result<Option<Meter>, StoreError> {
    conn.query_row(
        &format!("SELECT {METER_COLUMNS} FROM meters WHERE cluster = ?1"),
        [cluster],
        read_meter,
    )
    .optional()?
    .map(finish_meter)
    .transpose()
}

fn meters(conn: &Connection) -> Result<Vec<Meter>, StoreError> {
    let mut statement = conn.prepare(&format!(
        "SELECT {METER_COLUMNS} FROM meters ORDER BY cluster"
    ))?;
    let rows = statement.query_map([], read_meter)?;
    rows.map(|row| finish_meter(row?)).collect()
}

fn write_meter(tx: &Transaction<'_>, meter: &Meter) -> Result<(), StoreError> {
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO meters ({METER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![
            meter.cluster,
            meter.account,
            meter.nodes,
            meter.hourly.micros(),
            millis(meter.segment_start),
            meter.charged.micros(),
            millis(meter.settled_at)
        ],
    )?;
    Ok(())
}

fn settle(
    tx: &Transaction<'_>,
    cluster: &str,
    account: &str,
    now: OffsetDateTime,
    capacity: Capacity,
) -> Result<Usd, StoreError> {
    let mut charged = Usd::ZERO;
    let existing = meter(tx, cluster)?;
    if let Some(mut running) = existing.clone()
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
            post(tx, &running.account, &posting, now)?;
            charged = due;
        }
        running.charged = total;
        running.settled_at = now;
        write_meter(tx, &running)?;
    }
    match (capacity, existing) {
        (Capacity::Keep, _) | (Capacity::Stop, None) => {}
        (Capacity::Stop, Some(_)) => {
            tx.execute("DELETE FROM meters WHERE cluster = ?1", [cluster])?;
        }
        (Capacity::Run { nodes, hourly }, existing) => {
            let unchanged = existing
                .as_ref()
                .is_some_and(|m| m.nodes == nodes && m.hourly == hourly);
            if !unchanged {
                let start = existing.as_ref().map_or(now, |m| m.settled_at.max(now));
                write_meter(
                    tx,
                    &Meter {
                        cluster: cluster.to_owned(),
                        account: existing.map_or_else(|| account.to_owned(), |m| m.account),
                        nodes,
                        hourly,
                        segment_start: start,
                        charged: Usd::ZERO,
                        settled_at: start,
                    },
                )?;
            }
        }
    }
    Ok(charged)
}

fn charges_for(
    conn: &Connection,
    cluster: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Usd, StoreError> {
    let sum: i64 = conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger
         WHERE cluster = ?1 AND kind = 'charge' AND at >= ?2 AND at < ?3",
        params![cluster, millis(from), millis(to)],
        |row| row.get(0),
    )?;
    Ok(Usd::from_micros(-sum))
}

#[allow(clippy::too_many_arguments)]
fn reconcile(
    tx: &Transaction<'_>,
    cluster: &str,
    account: &str,
    day: &str,
    (from, to): (OffsetDateTime, OffsetDateTime),
    aws: Usd,
    now: OffsetDateTime,
) -> Result<Option<Usd>, StoreError> {
    let done: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM reconciliations WHERE cluster = ?1 AND day = ?2",
            params![cluster, day],
            |row| row.get(0),
        )
        .optional()?;
    if done.is_some() || get(tx, account)?.is_none() {
        return Ok(None);
    }
    let ours = charges_for(tx, cluster, from, to)?;
    let difference = aws.checked_sub(ours).ok_or_else(|| overflow(account))?;
    tx.execute(
        "INSERT INTO reconciliations (cluster, day, aws, ours, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![cluster, day, aws.micros(), ours.micros(), millis(now)],
    )?;
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
        post(tx, account, &posting, now)?;
    }
    Ok(Some(difference))
}

#[async_trait]
impl BudgetStore for SqliteStore {
    async fn open_budget(
        &self,
        new: &NewBudget,
        now: OffsetDateTime,
    ) -> Result<BudgetRow, StoreError> {
        let new = new.clone();
        self.write(move |tx| open(tx, &new, now)).await
    }

    async fn budget(&self, account: &str) -> Result<Option<BudgetRow>, StoreError> {
        let account = account.to_owned();
        self.with_conn(move |conn| get(conn, &account)).await
    }

    async fn budgets(&self) -> Result<Vec<BudgetRow>, StoreError> {
        self.with_conn(|conn| all(conn)).await
    }

    async fn post(
        &self,
        account: &str,
        posting: &Posting,
        now: OffsetDateTime,
    ) -> Result<Option<(BudgetRow, LedgerEntry)>, StoreError> {
        let (account, posting) = (account.to_owned(), posting.clone());
        self.write(move |tx| post(tx, &account, &posting, now))
            .await
    }

    async fn set_budget_limits(
        &self,
        account: &str,
        monthly_allowance: Option<Usd>,
        max_balance: Option<Usd>,
    ) -> Result<Option<BudgetRow>, StoreError> {
        let account = account.to_owned();
        self.write(move |tx| set_limits(tx, &account, monthly_allowance, max_balance))
            .await
    }

    async fn credit_allowance(
        &self,
        account: &str,
        period: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError> {
        let (account, period) = (account.to_owned(), period.to_owned());
        self.write(move |tx| credit_allowance(tx, &account, &period, now))
            .await
    }

    async fn mark_warned(&self, account: &str, period: &str) -> Result<bool, StoreError> {
        let (account, period) = (account.to_owned(), period.to_owned());
        self.write(move |tx| mark_warned(tx, &account, &period))
            .await
    }

    async fn ledger(
        &self,
        account: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let account = account.to_owned();
        self.with_conn(move |conn| ledger(conn, &account, before, limit))
            .await
    }

    async fn meters(&self) -> Result<Vec<Meter>, StoreError> {
        self.with_conn(|conn| meters(conn)).await
    }

    async fn settle(
        &self,
        cluster: &str,
        account: &str,
        now: OffsetDateTime,
        capacity: Capacity,
    ) -> Result<Usd, StoreError> {
        let (cluster, account) = (cluster.to_owned(), account.to_owned());
        self.write(move |tx| settle(tx, &cluster, &account, now, capacity))
            .await
    }

    async fn charges_for(
        &self,
        cluster: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Usd, StoreError> {
        let cluster = cluster.to_owned();
        self.with_conn(move |conn| charges_for(conn, &cluster, from, to))
            .await
    }

    async fn reconcile(
        &self,
        cluster: &str,
        account: &str,
        day: &str,
        span: (OffsetDateTime, OffsetDateTime),
        aws: Usd,
        now: OffsetDateTime,
    ) -> Result<Option<Usd>, StoreError> {
        let (cluster, account, day) = (cluster.to_owned(), account.to_owned(), day.to_owned());
        self.write(move |tx| reconcile(tx, &cluster, &account, &day, span, aws, now))
            .await
    }
}
