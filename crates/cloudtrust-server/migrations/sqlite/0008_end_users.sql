-- End users: the people who sign in to a customer's Workspace applications (the OpenID
-- Connect server at /core). Passwords are Argon2id hashes. Keep in step with
-- migrations/postgres/0008_end_users.sql.
CREATE TABLE end_users (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    email         TEXT NOT NULL,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (customer_id, email)
);
