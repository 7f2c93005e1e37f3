-- Per-user node groups (provisioner.md, "Per-user node groups"): a person's own nodes attached
-- to a running cluster, as the stack `<cluster>-cluster-<user>-asg`. One row per (cluster, user),
-- changed by compare-and-swap on `revision`; a destroyed group's row stays closed (its stack id
-- kept for `/events/<user>`) until the next deploy reuses it. Times are unix milliseconds.
CREATE TABLE node_groups (
    cluster       TEXT NOT NULL,
    user          TEXT NOT NULL,
    node_capacity INTEGER NOT NULL CHECK (node_capacity >= 1),
    deadline      INTEGER,
    stack_id      TEXT,
    phase         TEXT NOT NULL CHECK (phase IN ('pending', 'live', 'destroying', 'closed')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    revision      INTEGER NOT NULL,
    PRIMARY KEY (cluster, user)
) STRICT;

CREATE INDEX node_groups_open ON node_groups (phase) WHERE phase <> 'closed';
