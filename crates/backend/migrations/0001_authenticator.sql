-- The authenticator's durable state. Times are unix milliseconds (UTC); durations are
-- milliseconds. Codes, nonces, device codes and refresh tokens are stored only as SHA-256 hex
-- hashes (TokenHash), never as the secrets themselves.

-- Registered OAuth clients (RFC 7591). `record` is the protocol's ClientRecord as JSON.
CREATE TABLE oauth_clients (
    client_id     TEXT PRIMARY KEY NOT NULL,
    record        TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
) STRICT;

-- The nonce inside each signed login `state`, so that state is accepted once.
CREATE TABLE pending_logins (
    nonce_hash TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- One-time authorization codes. A spent code is kept (spent_at set) so that a second
-- presentation is recognised as reuse and the family it issued (family_id) can be revoked.
CREATE TABLE auth_codes (
    code_hash      TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    grant_json     TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    spent_at       INTEGER,
    reused         INTEGER NOT NULL DEFAULT 0,
    -- No foreign key: the family may be purged while the spent code is still remembered.
    family_id      TEXT
) STRICT;

-- Device-flow polls we relay to GitHub (RFC 8628 §3.5). expires_at is NULL for a device code
-- first seen in a poll rather than recorded when we relayed it.
CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY NOT NULL,
    interval_ms      INTEGER NOT NULL,
    expires_at       INTEGER,
    last_poll_at     INTEGER
) STRICT;

-- Refresh-token families: every token descending from one sign-in.
CREATE TABLE refresh_families (
    id           TEXT PRIMARY KEY NOT NULL,
    login        TEXT NOT NULL,
    grant_json   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX refresh_families_login ON refresh_families (login);

-- Every refresh token of a family, live (spent_at NULL) or spent. sealed_successor is the
-- caller-sealed successor, kept only for the grace window so a lost response can be retried once.
CREATE TABLE refresh_tokens (
    token_hash       TEXT PRIMARY KEY NOT NULL,
    family_id        TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at        INTEGER NOT NULL,
    spent_at         INTEGER,
    successor_hash   TEXT,
    sealed_successor BLOB,
    replayed         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
