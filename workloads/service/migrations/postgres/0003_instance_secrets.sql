-- Secrets an embedded instance generates once and keeps: the session signing key of `aibid up` when JWT_SECRET is
-- not set, so a restart does not log everyone out. Cluster mode takes JWT_SECRET from its Secret instead.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
