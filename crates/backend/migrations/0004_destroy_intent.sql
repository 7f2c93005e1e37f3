-- A destroy that was asked for (by a person or the reaper at a deadline) and is carried out as
-- soon as CloudFormation allows: kept with the cluster's record so it survives a crash.
-- `destroy_next_at` is when the reaper looks at it next (watching a delete, waiting for an
-- update to finish, or backing off after a failure). Times are unix milliseconds (UTC).
ALTER TABLE clusters ADD COLUMN destroy_requested_at INTEGER;
ALTER TABLE clusters ADD COLUMN destroy_requested_by TEXT;
ALTER TABLE clusters ADD COLUMN destroy_issued_at INTEGER;
ALTER TABLE clusters ADD COLUMN destroy_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clusters ADD COLUMN destroy_error TEXT;
ALTER TABLE clusters ADD COLUMN destroy_next_at INTEGER;

CREATE INDEX clusters_destroy_due ON clusters (destroy_next_at) WHERE phase <> 'closed';
