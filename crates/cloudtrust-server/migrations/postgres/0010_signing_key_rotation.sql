-- Signing-key rotation: a key replaced by a new one ('previous') stays published and accepted
-- until retire_at, when every token it signed has expired and no JWKS cache still holds it;
-- 'retired' keys are neither. Keep in step with migrations/sqlite/0010_signing_key_rotation.sql.
ALTER TABLE signing_keys ADD COLUMN retire_at BIGINT;
