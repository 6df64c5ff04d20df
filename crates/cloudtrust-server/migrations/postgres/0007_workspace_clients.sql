-- Workspace OAuth clients (rpclients): private ones with a secret that expires and is rotated
-- with overlap, public ones without. Lists of URIs are JSON arrays. Keep in step with
-- migrations/sqlite/0007_workspace_clients.sql.
CREATE TABLE workspace_clients (
    name                      TEXT PRIMARY KEY,
    customer_id               TEXT NOT NULL REFERENCES customers (id),
    client_id                 TEXT NOT NULL UNIQUE,
    display_name              TEXT NOT NULL,
    client_type               TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    require_user_consent      BIGINT NOT NULL,
    require_pkce              BIGINT NOT NULL,
    allow_offline_access      BIGINT NOT NULL,
    enabled                   BIGINT NOT NULL,
    owner                     TEXT NOT NULL,
    owner_contact             TEXT NOT NULL,
    secret_hash               TEXT,
    secret_updated_at         BIGINT,
    secret_expires_at         BIGINT,
    old_secret_hash           TEXT,
    old_secret_updated_at     BIGINT,
    old_secret_expires_at     BIGINT,
    created_at                BIGINT NOT NULL
);
CREATE INDEX workspace_clients_by_customer ON workspace_clients (customer_id, created_at);
CREATE INDEX workspace_clients_by_secret_expiry ON workspace_clients (secret_expires_at);

-- The last number given to each kind of client of a customer, so names are never reused.
CREATE TABLE workspace_client_numbers (
    customer_id TEXT NOT NULL,
    client_type TEXT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (customer_id, client_type)
);

-- One row per reminder sent before a secret expires (client, secret, days before expiry):
-- whichever node inserts it sends it, so each is sent once. A secret is named by the start of
-- its keyed hash, which differs for two secrets made in the same second.
CREATE TABLE workspace_secret_reminders (
    client_name TEXT NOT NULL,
    secret_id   TEXT NOT NULL,
    days_before BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (client_name, secret_id, days_before)
);
