-- The Workspace OpenID Connect server (/core): end users' sign-in sessions, authorization
-- requests waiting for sign-in or consent, consents, and what each authorization produced (a
-- grant: its code, its refresh tokens). Codes, refresh tokens, sessions and pending requests
-- are stored only as SHA-256 hashes, so a copy of the database redeems nothing. Keep in step
-- with migrations/postgres/0009_workspace_sign_in.sql.
CREATE TABLE workspace_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX workspace_sessions_by_user ON workspace_sessions (user_id);
CREATE INDEX workspace_sessions_by_last_seen ON workspace_sessions (last_seen_at);

CREATE TABLE workspace_interactions (
    id_hash    TEXT PRIMARY KEY,
    request    TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    user_id    TEXT,
    auth_time  BIGINT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX workspace_interactions_by_expiry ON workspace_interactions (expires_at);

CREATE TABLE workspace_consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE workspace_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    scope       TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX workspace_grants_by_user ON workspace_grants (user_id, client_id);
CREATE INDEX workspace_grants_by_expiry ON workspace_grants (expires_at);

CREATE TABLE workspace_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX workspace_codes_by_expiry ON workspace_codes (expires_at);

CREATE TABLE workspace_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX workspace_refresh_tokens_by_grant ON workspace_refresh_tokens (grant_id);
CREATE INDEX workspace_refresh_tokens_by_expiry ON workspace_refresh_tokens (expires_at);

-- Access tokens revoked before their expiry (RFC 7009), by their jti.
CREATE TABLE workspace_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX workspace_revoked_tokens_by_expiry ON workspace_revoked_tokens (expires_at);
