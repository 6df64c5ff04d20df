-- Failed token requests counted across nodes (throttle_shared): one row per key and minute.
-- Keep in step with migrations/sqlite/0003_shared_throttle.sql.
CREATE TABLE failed_attempts (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX failed_attempts_by_window ON failed_attempts (window_start);
