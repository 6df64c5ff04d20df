-- An administrator's API clients in the order they are listed (created_at, id): a page, and each
-- read it is made of, comes from the index without a sort. It also serves every lookup by owner,
-- so the owner-only index goes. Keep in step with migrations/sqlite/0012_api_clients_in_listing_order.sql.
CREATE INDEX api_clients_by_owner_in_order ON api_clients (owner_id, created_at, id);
DROP INDEX api_clients_by_owner;
