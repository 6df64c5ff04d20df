-- Smart Tools authentication: a numeric company id per customer, and API keys of
-- administrators. Keep in step with migrations/sqlite/0004_smart_tools.sql.
ALTER TABLE customers ADD COLUMN company_id BIGINT;
UPDATE customers SET company_id = (SELECT 10000 + COUNT(*) FROM customers c2 WHERE c2.created_at < customers.created_at OR (c2.created_at = customers.created_at AND c2.id < customers.id));
CREATE UNIQUE INDEX customers_by_company ON customers (company_id);

CREATE TABLE smart_keys (
    api_key          TEXT PRIMARY KEY,
    administrator_id TEXT NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    secret_hash      TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX smart_keys_by_administrator ON smart_keys (administrator_id);
