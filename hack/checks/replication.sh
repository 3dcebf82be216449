#!/usr/bin/env bash
# Streaming replication with the commands the StatefulSets run (operator/scripts/): a PostgreSQL primary prepared by
# pg-primary-setup.sh and a standby cloned by pg-replica-bootstrap.sh, both real servers on loopback; writes on the
# primary appear on the standby, which refuses writes, reports its lag and keeps streaming after the primary
# restarts. A Redis replica started by redis-start.sh follows its primary by host NAME ("localhost" stands for the
# headless-Service DNS name) and keeps following after the primary restarts.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS="$ROOT/operator/scripts"
# shellcheck source=lib/services.bash
source "$ROOT/hack/checks/lib/services.bash"

# wait_for SECONDS command...: polls until the command succeeds.
# wait_for_output SECONDS EXPECTED command...: polls until the command prints EXPECTED.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}
output_is() { [[ "$("${@:2}" 2>/dev/null)" == "$1" ]]; }
wait_for_output() { wait_for "$1" output_is "${@:2}"; }

echo "replication: PostgreSQL primary"
primary_dir=$(scratch_dir pg-primary)
replica_dir=$(scratch_dir pg-replica)
primary_port=$(free_port)
replica_port=$(free_port)
super_password="super-$RANDOM$RANDOM"
replication_password="repl-$RANDOM$RANDOM"
pg_init "$primary_dir/data" "$super_password" || { cat "$primary_dir/data.initdb.log"; exit 1; }
pg_start "$primary_dir/data" "$primary_port" || { cat "$primary_dir/data.log"; exit 1; }
at_exit "pg_stop '$primary_dir/data'"
on_primary() { PGPASSWORD=$super_password psql -X -At -q -h 127.0.0.1 -p "$primary_port" -U postgres -d postgres "$@"; }
on_replica() { PGPASSWORD=$super_password psql -X -At -q -h 127.0.0.1 -p "$replica_port" -U postgres -d postgres "$@"; }

# As in the container: the setup script runs as the database user, over the local socket.
as_db_user env PGHOST="$primary_dir" PGPORT="$primary_port" PGUSER=postgres REPLICATION_PASSWORD="$replication_password" \
  "$SCRIPTS/pg-primary-setup.sh" 2>"$CHECK_TMP/primary-setup.log"
check "pg-primary-setup.sh exits 0" test $? = 0
check "replication role exists with REPLICATION" test "$(on_primary -c "SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator'")" = t
as_db_user env PGHOST="$primary_dir" PGPORT="$primary_port" PGUSER=postgres REPLICATION_PASSWORD="$replication_password" \
  "$SCRIPTS/pg-primary-setup.sh" 2>"$CHECK_TMP/primary-setup-again.log"
check "pg-primary-setup.sh is idempotent (second run adds no second hba rule)" \
  test "$(grep -c '^host replication replicator all scram-sha-256$' "$primary_dir/data/pg_hba.conf")" = 1

echo "replication: PostgreSQL standby cloned by pg-replica-bootstrap.sh"
replica_env=(PGDATA="$replica_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port"
  REPLICATION_PASSWORD="$replication_password" REPLICA_SLOT=aibid_postgres_1 PRIMARY_WAIT_SECONDS=20)
as_db_user env "${replica_env[@]}" "$SCRIPTS/pg-replica-bootstrap.sh" 2>"$CHECK_TMP/bootstrap.log"
check "pg-replica-bootstrap.sh exits 0" test $? = 0 || cat "$CHECK_TMP/bootstrap.log"
check "clone is a standby (standby.signal written)" test -f "$replica_dir/data/standby.signal"
check "primary_conninfo names the primary by host name, not IP" grep -q "host=localhost" "$replica_dir/data/postgresql.auto.conf"
check "primary_conninfo uses the slot" grep -q "primary_slot_name = 'aibid_postgres_1'" "$replica_dir/data/postgresql.auto.conf"
pg_start "$replica_dir/data" "$replica_port" || cat "$replica_dir/data.log"
at_exit "pg_stop '$replica_dir/data'"
check "standby is in recovery" test "$(on_replica -c 'SELECT pg_is_in_recovery()')" = t
check "primary sees one streaming standby on the slot" wait_for_output 20 1 on_primary -c \
  "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE r.state = 'streaming' AND s.slot_name = 'aibid_postgres_1'"

echo "replication: writes on the primary, reads on the standby"
on_primary -c "CREATE TABLE ledger (id int PRIMARY KEY, item text)" -c "INSERT INTO ledger SELECT g, '需求 ' || g FROM generate_series(1, 1000) g"
check "1000 rows written on the primary appear on the standby" wait_for_output 30 1000 on_replica -c 'SELECT count(*) FROM ledger'
on_replica -c "INSERT INTO ledger VALUES (5000, 'x')" 2>"$CHECK_TMP/replica-write.log"
check "standby refuses writes" grep -q 'read-only transaction' "$CHECK_TMP/replica-write.log"
lag=$(on_replica -f "$SCRIPTS/pg-replication-lag.sql")
check "lag query returns a number on the standby ($lag s)" grep -Eqx '[0-9]+(\.[0-9]+)?' <<<"$lag"
check "lag query returns 0 on the primary" test "$(on_primary -f "$SCRIPTS/pg-replication-lag.sql")" = 0
check "standby has replayed everything the primary sent (0 bytes behind)" wait_for_output 20 0 on_primary -c \
  "SELECT pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication"

echo "replication: standby keeps streaming after the primary restarts"
pg_stop "$primary_dir/data"
pg_start "$primary_dir/data" "$primary_port" || cat "$primary_dir/data.log"
on_primary -c "INSERT INTO ledger SELECT g, 'after restart' FROM generate_series(1001, 1500) g"
check "rows written after the primary restart reach the standby" wait_for_output 40 1500 on_replica -c 'SELECT count(*) FROM ledger'

echo "replication: bootstrap guards"
as_db_user env "${replica_env[@]}" "$SCRIPTS/pg-replica-bootstrap.sh" 2>"$CHECK_TMP/bootstrap-again.log"
check "bootstrap on an existing standby does nothing and exits 0" grep -q 'result=success action=none' "$CHECK_TMP/bootstrap-again.log"
as_db_user env PGDATA="$primary_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port" \
  REPLICATION_PASSWORD="$replication_password" "$SCRIPTS/pg-replica-bootstrap.sh" 2>/dev/null
check "bootstrap refuses to overwrite a primary's data directory (exit 2)" test $? = 2
as_db_user env PGDATA="$replica_dir/other" PRIMARY_HOST=127.0.0.1 REPLICATION_PASSWORD=x "$SCRIPTS/pg-replica-bootstrap.sh" 2>/dev/null
check "bootstrap refuses a primary given by IP address (exit 2)" test $? = 2
second_dir=$(scratch_dir pg-replica-2)
as_db_user env PGDATA="$second_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port" \
  REPLICATION_PASSWORD=wrong PRIMARY_WAIT_SECONDS=5 "$SCRIPTS/pg-replica-bootstrap.sh" 2>"$CHECK_TMP/bootstrap-wrong.log"
check "bootstrap with a wrong password fails (exit 1) and leaves no data directory" \
  test $? = 1 -a ! -e "$second_dir/data" -a ! -e "$second_dir/data.partial"

echo "replication: Redis replica follows its primary by name"
redis_dir=$(scratch_dir redis)
mkdir -p "$redis_dir/primary" "$redis_dir/replica"
# The same settings the operator renders into redis.conf (render/redis.rs), bound to loopback here.
cat >"$redis_dir/base.conf" <<CONF
bind 127.0.0.1
protected-mode yes
appendonly yes
appendfsync everysec
maxmemory 64mb
maxmemory-policy allkeys-lru
rename-command FLUSHALL ""
rename-command FLUSHDB ""
rename-command DEBUG ""
rename-command CONFIG ""
CONF
redis_password="redis-$RANDOM$RANDOM"
redis_primary_port=$(free_port)
redis_replica_port=$(free_port)
start_redis_primary() {
  REDIS_ROLE=auto HOSTNAME=aibid-redis-0 REDIS_PASSWORD=$redis_password REDIS_RUNTIME_CONF="$redis_dir/primary.conf" \
    "$SCRIPTS/redis-start.sh" "$redis_dir/base.conf" --port "$redis_primary_port" --dir "$redis_dir/primary" \
    --logfile "$redis_dir/primary.log" &
  redis_primary_pid=$!
}
on_redis() { local port=$1; shift; REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p "$port" "$@"; }
start_redis_primary
at_exit 'kill $redis_primary_pid 2>/dev/null'
REDIS_ROLE=auto HOSTNAME=aibid-redis-1 REDIS_PASSWORD=$redis_password REDIS_PRIMARY_HOST=localhost \
  REDIS_PRIMARY_PORT=$redis_primary_port REDIS_RUNTIME_CONF="$redis_dir/replica.conf" \
  "$SCRIPTS/redis-start.sh" "$redis_dir/base.conf" --port "$redis_replica_port" --dir "$redis_dir/replica" \
  --logfile "$redis_dir/replica.log" &
redis_replica_pid=$!
at_exit "kill $redis_replica_pid 2>/dev/null"
link_up() { on_redis "$redis_replica_port" INFO replication | grep -q '^master_link_status:up'; }
check "replica links up to its primary" wait_for 20 link_up
check "replica follows the primary by the name localhost" bash -c "REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p $redis_replica_port INFO replication | grep -q '^master_host:localhost'"
check "runtime config of the replica has replicaof with the name, no IP" grep -qx "replicaof localhost $redis_primary_port" "$redis_dir/replica.conf"
check "AOF is on" bash -c "REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p $redis_primary_port INFO persistence | grep -q '^aof_enabled:1'"
check "CONFIG is disabled (renamed away)" bash -c "REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p $redis_primary_port CONFIG GET maxmemory | grep -q 'unknown command'"
on_redis "$redis_primary_port" SET tender:1 '招标文件' >/dev/null
check "a key set on the primary is read on the replica" wait_for_output 10 '招标文件' on_redis "$redis_replica_port" GET tender:1
check "the replica refuses writes" bash -c "REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p $redis_replica_port SET x 1 | grep -q READONLY"
check "the replica refuses clients without the password" bash -c "redis-cli -p $redis_replica_port GET tender:1 | grep -q NOAUTH"
on_redis "$redis_primary_port" SHUTDOWN >/dev/null 2>&1
wait "$redis_primary_pid" 2>/dev/null
check "replica notices the primary is gone" wait_for 20 bash -c "! REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p $redis_replica_port INFO replication | grep -q '^master_link_status:up'"
start_redis_primary
check "replica links up again after the primary restarts" wait_for 30 link_up
check "the primary kept its data over the restart (AOF)" test "$(on_redis "$redis_primary_port" GET tender:1)" = '招标文件'
on_redis "$redis_primary_port" SET tender:2 'after restart' >/dev/null
check "a key set after the restart reaches the replica" wait_for_output 10 'after restart' on_redis "$redis_replica_port" GET tender:2
REDIS_ROLE=replica REDIS_PASSWORD=x REDIS_PRIMARY_HOST=10.0.0.7 REDIS_RUNTIME_CONF="$redis_dir/bad.conf" \
  "$SCRIPTS/redis-start.sh" "$redis_dir/base.conf" 2>/dev/null
check "redis-start.sh refuses a primary given by IP address (exit 2)" test $? = 2

finish replication
