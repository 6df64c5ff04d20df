-- Sessions of the web console. Only the SHA-256 of the session token is stored. A session
-- starts with the administrators the sign-in matched (one per customer, in `choices`) and acts
-- as the one chosen. Keep in step with migrations/sqlite/0006_console_sessions.sql.
CREATE TABLE console_sessions (
    token_hash       TEXT PRIMARY KEY,
    administrator_id TEXT REFERENCES administrators (id) ON DELETE CASCADE,
    choices          TEXT NOT NULL,
    csrf_token       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_at);
