-- Budgets (provisioner.md, "Budgets"). Amounts are integer micro-dollars; times unix
-- milliseconds (UTC). Every movement of a balance is one transaction that writes the ledger
-- entry and the new balance together, so a crash loses or duplicates neither.

-- One row per account (a login or an organization). `allowance_period` and `warned_period`
-- name the month (`2026-12`) whose allowance was credited and whose 10 % warning was recorded,
-- so each happens once per month whatever the number of processes.
CREATE TABLE budgets (
    account           TEXT PRIMARY KEY NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('personal', 'organization')),
    balance           INTEGER NOT NULL,
    monthly_allowance INTEGER NOT NULL,
    max_balance       INTEGER NOT NULL,
    allowance_period  TEXT NOT NULL,
    warned_period     TEXT,
    created_at        INTEGER NOT NULL
) STRICT;

-- Append-only. AUTOINCREMENT so a page boundary (`before` an id) always means the same place.
CREATE TABLE ledger (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL REFERENCES budgets (account),
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('allowance', 'credit', 'debit', 'charge', 'reconcile')),
    amount  INTEGER NOT NULL,
    balance INTEGER NOT NULL,
    cluster TEXT,
    note    TEXT,
    actor   TEXT
) STRICT;

CREATE INDEX ledger_account ON ledger (account, id);
-- Reconciliation sums a cluster's charges of one day.
CREATE INDEX ledger_cluster ON ledger (cluster, at) WHERE cluster IS NOT NULL;

-- What runs and is being charged: one row per cluster while it is deployed. A segment is a
-- stretch of constant size and price; `charged` is what the segment has been charged so far, so
-- each settlement charges the segment's exact cost to now minus what it already paid (one
-- rounding per segment, however often it is settled).
CREATE TABLE meters (
    cluster       TEXT PRIMARY KEY NOT NULL,
    account       TEXT NOT NULL REFERENCES budgets (account),
    nodes         INTEGER NOT NULL,
    hourly        INTEGER NOT NULL,
    segment_start INTEGER NOT NULL,
    charged       INTEGER NOT NULL,
    settled_at    INTEGER NOT NULL
) STRICT;

-- Which (cluster, day) Cost Explorer figures were written, so a day is reconciled once.
CREATE TABLE reconciliations (
    cluster TEXT NOT NULL,
    day     TEXT NOT NULL,
    aws     INTEGER NOT NULL,
    ours    INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (cluster, day)
) STRICT;
