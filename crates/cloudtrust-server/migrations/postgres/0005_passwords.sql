-- Administrators' console passwords (Argon2id, PHC string). Keep in step with
-- migrations/sqlite/0005_passwords.sql.
ALTER TABLE administrators ADD COLUMN password_hash TEXT;
