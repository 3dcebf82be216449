-- When the user last made an authenticated request (Unix seconds), written at most once a minute per user:
-- aibid_active_users counts it in the database so every pod reports the same number.
ALTER TABLE users ADD COLUMN last_seen BIGINT;
CREATE INDEX users_last_seen ON users (last_seen);
