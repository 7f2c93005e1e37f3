-- The provisioner's durable state. Times are unix milliseconds (UTC).

-- One row per cluster name: its open record (phase 'pending' or 'live'), or the last closed one,
-- kept for history until the name is deployed again. `revision` is bumped by every write and
-- compared by updates (optimistic concurrency).
CREATE TABLE clusters (
    cluster       TEXT PRIMARY KEY NOT NULL,
    owner         TEXT NOT NULL,
    node_capacity INTEGER NOT NULL,
    version       TEXT NOT NULL,
    is_public     INTEGER NOT NULL,
    deadline      INTEGER,
    stack_id      TEXT,
    phase         TEXT NOT NULL CHECK (phase IN ('pending', 'live', 'closed')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    revision      INTEGER NOT NULL
) STRICT;

-- The reaper's question: which open clusters are due, soonest first.
CREATE INDEX clusters_due ON clusters (deadline) WHERE phase <> 'closed';

-- Named leases (e.g. the reaper's, or one per cluster being destroyed) so replicas do a job once.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;

-- Who did what to which cluster. AUTOINCREMENT: ids are never reused, even after the newest
-- rows are deleted, so a page boundary (`before` an id) always means the same place. The id is
-- the rowid, so paging newest first (`id < before ORDER BY id DESC`) walks the table's own
-- b-tree backwards: that is the paging index.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    cluster    TEXT NOT NULL,
    parameters TEXT NOT NULL,
    outcome    TEXT NOT NULL
) STRICT;

-- The simulated cloud's stacks; `state` is JSON the simulated driver owns. A deleted stack stays
-- (its events remain readable by id) but stops being its cluster's current one.
CREATE TABLE simulated_stacks (
    stack_id TEXT PRIMARY KEY NOT NULL,
    cluster  TEXT NOT NULL,
    current  INTEGER NOT NULL,
    state    TEXT NOT NULL
) STRICT;

CREATE INDEX simulated_stacks_cluster ON simulated_stacks (cluster, current);
-- At most one current stack per cluster, whatever a writer does.
CREATE UNIQUE INDEX simulated_stacks_one_current ON simulated_stacks (cluster) WHERE current = 1;
