-- Organizations (organizations.md): shared clusters, their admins, membership requests, members'
-- capacity requests, local accounts and their sign-in throttle. Times are unix milliseconds.
-- Names (organizations, logins, usernames) are stored lowercase.

-- `revision` is bumped by every write: changes are compare-and-swap, like cluster records.
CREATE TABLE organizations (
    name       TEXT PRIMARY KEY NOT NULL,
    min_nodes  INTEGER NOT NULL CHECK (min_nodes >= 0),
    max_nodes  INTEGER NOT NULL CHECK (max_nodes >= min_nodes),
    version    TEXT NOT NULL,
    is_public  INTEGER NOT NULL CHECK (is_public IN (0, 1)),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revision   INTEGER NOT NULL
) STRICT;

CREATE TABLE organization_admins (
    organization TEXT NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    user         TEXT NOT NULL,
    PRIMARY KEY (organization, user)
) STRICT;

-- One row per (organization, person): the latest request and the latest decision on it.
CREATE TABLE memberships (
    organization TEXT NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    user         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'denied', 'deactivated')),
    requested_at INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT,
    PRIMARY KEY (organization, user)
) STRICT;

CREATE INDEX memberships_user ON memberships (user);

-- A member's request for nodes until `expires_at`. Live while `expires_at` is in the future;
-- expired rows are purged.
CREATE TABLE capacity_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    organization TEXT NOT NULL REFERENCES organizations (name) ON DELETE CASCADE,
    user         TEXT NOT NULL,
    nodes        INTEGER NOT NULL CHECK (nodes >= 0),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX capacity_requests_live ON capacity_requests (organization, expires_at);

-- `password_hash` is an Argon2id PHC string; the password itself is never stored.
CREATE TABLE local_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email         TEXT,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL
) STRICT;

-- Failed sign-ins per username, whether or not the account exists (so a lockout says nothing
-- about existence): a window of `failures` since `window_start`, and a lock until `locked_until`.
CREATE TABLE sign_in_throttle (
    username     TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER
) STRICT;

-- An organization's history (its requests, wakes, sleeps, bounds) is read by cluster.
CREATE INDEX audit_log_cluster ON audit_log (cluster, id);

-- Request signatures seen (provisioner.md, "Request signing"): a signature is accepted once,
-- and remembered past the window in which its timestamp is valid.
CREATE TABLE used_signatures (
    signature  TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
