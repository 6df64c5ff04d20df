-- The administration API: administrators' names, pending invitations, optimistic concurrency
-- (eTag), and reading the system log by time. Keep in step with migrations/postgres/0002_administration_api.sql.

ALTER TABLE administrators ADD COLUMN first_name TEXT;
ALTER TABLE administrators ADD COLUMN last_name TEXT;
-- 1 while an invited administrator has not accepted; pending administrators own nothing.
ALTER TABLE administrators ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
-- Changes on every update; compared with If-Match.
ALTER TABLE administrators ADD COLUMN etag TEXT NOT NULL DEFAULT '';
-- SHA-256 (hex) of the invitation token, and when it stops being accepted.
ALTER TABLE administrators ADD COLUMN invitation_hash TEXT;
ALTER TABLE administrators ADD COLUMN invitation_expires_at BIGINT;
UPDATE administrators SET etag = id WHERE etag = '';
CREATE UNIQUE INDEX administrators_by_invitation ON administrators (invitation_hash);

CREATE INDEX audit_events_by_time ON audit_events (at);
