-- API-client bearer tokens revoked before they expire (RFC 7009), by token id; a row is needed
-- only until the token's own expiry, when the purge job deletes it. Keep in step with
-- migrations/sqlite/0011_revoked_bearer_tokens.sql.
CREATE TABLE revoked_bearer_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_bearer_tokens_expiry ON revoked_bearer_tokens (expires_at);
