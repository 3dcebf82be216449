-- Replication lag in seconds as postgres-exporter's replication collector reports it (pg_replication_lag_seconds):
-- 0 on a primary and on a standby that has replayed everything it received, else the age of the last replayed
-- transaction. Used by `aibid-operator diagnose` and the replication check.
SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN 0
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
         ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
       END AS lag_seconds;
