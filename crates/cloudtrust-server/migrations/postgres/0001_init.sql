-- cloudtrust schema, PostgreSQL dialect. Portable types: ids TEXT, times BIGINT unix seconds,
-- flags as integers, JSON as TEXT. Keep in step with migrations/sqlite/0001_init.sql.

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    region     TEXT NOT NULL,
    site_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE administrators (
    id                    TEXT PRIMARY KEY,
    customer_id           TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    email                 TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    access_type           TEXT NOT NULL,
    permission_generation BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (customer_id, email)
);

CREATE TABLE administrator_permissions (
    administrator_id TEXT NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    permission       TEXT NOT NULL,
    PRIMARY KEY (administrator_id, permission)
);

CREATE TABLE api_clients (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    owner_id     TEXT NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_clients_by_owner ON api_clients (owner_id);
CREATE INDEX api_clients_by_customer ON api_clients (customer_id);

CREATE TABLE signing_keys (
    kid                   TEXT PRIMARY KEY,
    algorithm             TEXT NOT NULL,
    status                TEXT NOT NULL,
    encrypted_private_key TEXT NOT NULL,
    public_jwk            TEXT NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (algorithm) WHERE status = 'active';

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit_events (
    id                  TEXT PRIMARY KEY,
    at                  BIGINT NOT NULL,
    customer_id         TEXT,
    event_type          TEXT NOT NULL,
    actor_type          TEXT NOT NULL,
    actor_id            TEXT,
    actor_display_name  TEXT NOT NULL,
    target_type         TEXT,
    target_id           TEXT,
    target_display_name TEXT,
    before_changes      TEXT,
    after_changes       TEXT,
    message             TEXT NOT NULL
);
CREATE INDEX audit_events_by_customer ON audit_events (customer_id, at);

-- Every change that cached state depends on, so other nodes (and a server beside the CLI)
-- drop what they cached.
CREATE TABLE change_log (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX change_log_by_time ON change_log (at);

-- Wake every listening node as soon as a change commits.
CREATE FUNCTION cloudtrust_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('cloudtrust_changes', NEW.kind || ':' || NEW.key);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    FOR EACH ROW EXECUTE FUNCTION cloudtrust_notify_change();
