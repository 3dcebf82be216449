#!/usr/bin/env bash
# Streaming replication with exactly the commands the rendered StatefulSets run: `aibid-operator render -f` of
# manifests/samples/production.yaml is read by lib/rendered_pods.py, which writes the rendered ConfigMaps (scripts,
# redis.conf, exporter queries) to disk and prints each pod step's command and plain env. A PostgreSQL primary is
# prepared by the primary's postStart command (pg-primary-setup.sh) and a standby cloned by the replica
# StatefulSet's init container (pg-replica-bootstrap.sh), both real servers on loopback; writes on the primary
# appear on the standby, which refuses writes, reports its lag through the exporter's custom query and keeps
# streaming after the primary restarts. Redis primary and replica start with the rendered redis-start.sh command
# and redis.conf; the replica follows its primary by host NAME and keeps following after the primary restarts.
# Only what cannot be the same on loopback is overridden: host names ("localhost" stands for the headless-Service
# DNS name, which is checked), ports, data/socket paths, and the values the pods get from Secrets.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
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
# env_value NAME ENTRY...: the value of NAME among NAME=value entries.
env_value() {
  local name=$1 entry
  shift
  for entry in "$@"; do [[ "$entry" == "$name="* ]] && printf '%s\n' "${entry#*=}"; done
}

echo "replication: the commands of the rendered StatefulSets (manifests/samples/production.yaml)"
operator="${CARGO_TARGET_DIR:-$ROOT/target}/debug/aibid-operator"
(cd "$ROOT" && cargo build -q -p aibid-operator) || { echo "cannot build aibid-operator"; exit 1; }
rendered_dir=$(scratch_dir rendered)
"$operator" render -f "$ROOT/manifests/samples/production.yaml" >"$rendered_dir/rendered.yaml" || exit 1
python3 "$ROOT/hack/checks/lib/rendered_pods.py" "$rendered_dir/rendered.yaml" "$rendered_dir" >"$rendered_dir/steps.bash" ||
  exit 1
chmod -R a+rX "$rendered_dir"
# shellcheck source=/dev/null
source "$rendered_dir/steps.bash"
SCRIPTS=$CONFIGMAP_AIBID_DATABASE_SCRIPTS
check "the sample asks for one PostgreSQL and one Redis replica" test "$PG_REPLICA_BOOTSTRAP_REPLICAS/$REDIS_REPLICA_REPLICAS" = 1/1
same_as_repository() {
  local file
  for file in "$SCRIPTS"/*.sh "$SCRIPTS"/*.sql; do cmp -s "$file" "$ROOT/operator/scripts/${file##*/}" || return 1; done
}
check "the rendered scripts are the repository's scripts" same_as_repository
check "primary postStart runs pg-primary-setup.sh from the scripts ConfigMap" test "${PG_PRIMARY_SETUP_CMD[*]}" = "bash $SCRIPTS/pg-primary-setup.sh"
check "replica init container runs pg-replica-bootstrap.sh from the scripts ConfigMap" \
  test "${PG_REPLICA_BOOTSTRAP_CMD[*]}" = "bash $SCRIPTS/pg-replica-bootstrap.sh"
check "replicas stream from the primary's headless-Service DNS name" \
  test "$(env_value PRIMARY_HOST "${PG_REPLICA_BOOTSTRAP_ENV[@]}")" = aibid-postgres-0.aibid-postgres-headless.aibid.svc
check "the Redis replica follows the primary's headless-Service DNS name" \
  test "$(env_value REDIS_PRIMARY_HOST "${REDIS_REPLICA_ENV[@]}")" = aibid-redis-0.aibid-redis-headless.aibid.svc
check "Secrets supply only the passwords (and the pod name for the slot)" test \
  "${PG_PRIMARY_SETUP_SUPPLIED_ENV[*]}|${PG_REPLICA_BOOTSTRAP_SUPPLIED_ENV[*]}|${REDIS_REPLICA_SUPPLIED_ENV[*]}" = \
  "POSTGRES_PASSWORD REPLICATION_PASSWORD|REPLICATION_PASSWORD POD_NAME|REDIS_PASSWORD"
lag_query_file="$rendered_dir/lag.sql"
python3 -c 'import sys, yaml; sys.stdout.write(yaml.safe_load(open(sys.argv[1]))["aibid_pg_replica"]["query"])' \
  "$SCRIPTS/postgres-exporter-queries.yaml" >"$lag_query_file"
check "the exporter's lag query is pg-replication-lag.sql" diff -q "$lag_query_file" "$ROOT/operator/scripts/pg-replication-lag.sql"

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

# The image makes POSTGRES_USER the superuser; the rendered PGUSER connects as it.
db_superuser=$(env_value POSTGRES_USER "${PG_PRIMARY_SETUP_ENV[@]}")
on_primary -c "CREATE ROLE \"$db_superuser\" SUPERUSER LOGIN"
# As in the container (postStart hook): the rendered command and env, over the local socket.
primary_setup() {
  as_db_user env "${PG_PRIMARY_SETUP_ENV[@]}" PGHOST="$primary_dir" PGPORT="$primary_port" \
    REPLICATION_PASSWORD="$replication_password" "${PG_PRIMARY_SETUP_CMD[@]}"
}
primary_setup 2>"$CHECK_TMP/primary-setup.log"
check "pg-primary-setup.sh exits 0" test $? = 0 || cat "$CHECK_TMP/primary-setup.log"
check "replication role exists with REPLICATION" test "$(on_primary -c "SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator'")" = t
primary_setup 2>"$CHECK_TMP/primary-setup-again.log"
check "pg-primary-setup.sh is idempotent (second run adds no second hba rule)" \
  test "$(grep -c '^host replication replicator all scram-sha-256$' "$primary_dir/data/pg_hba.conf")" = 1

echo "replication: PostgreSQL standby cloned by pg-replica-bootstrap.sh"
replica_pod="$PG_REPLICA_BOOTSTRAP_STATEFULSET-0"
replica_slot=${replica_pod//-/_}
replica_env=("${PG_REPLICA_BOOTSTRAP_ENV[@]}" PGDATA="$replica_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port"
  REPLICATION_PASSWORD="$replication_password" POD_NAME="$replica_pod" PRIMARY_WAIT_SECONDS=20)
as_db_user env "${replica_env[@]}" "${PG_REPLICA_BOOTSTRAP_CMD[@]}" 2>"$CHECK_TMP/bootstrap.log"
check "pg-replica-bootstrap.sh exits 0" test $? = 0 || cat "$CHECK_TMP/bootstrap.log"
check "clone is a standby (standby.signal written)" test -f "$replica_dir/data/standby.signal"
check "primary_conninfo names the primary by host name, not IP" grep -q "host=localhost" "$replica_dir/data/postgresql.auto.conf"
check "primary_conninfo uses the pod's own slot ($replica_slot)" grep -q "primary_slot_name = '$replica_slot'" "$replica_dir/data/postgresql.auto.conf"
pg_start "$replica_dir/data" "$replica_port" || cat "$replica_dir/data.log"
at_exit "pg_stop '$replica_dir/data'"
check "standby is in recovery" test "$(on_replica -c 'SELECT pg_is_in_recovery()')" = t
check "primary sees one streaming standby on the slot" wait_for_output 20 1 on_primary -c \
  "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE r.state = 'streaming' AND s.slot_name = '$replica_slot'"

echo "replication: writes on the primary, reads on the standby"
on_primary -c "CREATE TABLE ledger (id int PRIMARY KEY, item text)" -c "INSERT INTO ledger SELECT g, '需求 ' || g FROM generate_series(1, 1000) g"
check "1000 rows written on the primary appear on the standby" wait_for_output 30 1000 on_replica -c 'SELECT count(*) FROM ledger'
on_replica -c "INSERT INTO ledger VALUES (5000, 'x')" 2>"$CHECK_TMP/replica-write.log"
check "standby refuses writes" grep -q 'read-only transaction' "$CHECK_TMP/replica-write.log"
lag=$(on_replica -f "$lag_query_file")
check "exporter lag query returns a number on the standby ($lag s)" grep -Eqx '[0-9]+(\.[0-9]+)?' <<<"$lag"
check "exporter lag query returns 0 on the primary" test "$(on_primary -f "$lag_query_file")" = 0
check "standby has replayed everything the primary sent (0 bytes behind)" wait_for_output 20 0 on_primary -c \
  "SELECT pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication"

echo "replication: standby keeps streaming after the primary restarts"
pg_stop "$primary_dir/data"
pg_start "$primary_dir/data" "$primary_port" || cat "$primary_dir/data.log"
on_primary -c "INSERT INTO ledger SELECT g, 'after restart' FROM generate_series(1001, 1500) g"
check "rows written after the primary restart reach the standby" wait_for_output 40 1500 on_replica -c 'SELECT count(*) FROM ledger'
check "exporter lag query returns 0 once the idle standby has replayed everything" wait_for_output 20 0 on_replica -f "$lag_query_file"

echo "replication: bootstrap guards"
as_db_user env "${replica_env[@]}" "${PG_REPLICA_BOOTSTRAP_CMD[@]}" 2>"$CHECK_TMP/bootstrap-again.log"
check "bootstrap on an existing standby does nothing and exits 0" grep -q 'result=success action=none' "$CHECK_TMP/bootstrap-again.log"
as_db_user env PGDATA="$primary_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port" \
  REPLICATION_PASSWORD="$replication_password" "${PG_REPLICA_BOOTSTRAP_CMD[@]}" 2>/dev/null
check "bootstrap refuses to overwrite a primary's data directory (exit 2)" test $? = 2
as_db_user env PGDATA="$replica_dir/other" PRIMARY_HOST=127.0.0.1 REPLICATION_PASSWORD=x "${PG_REPLICA_BOOTSTRAP_CMD[@]}" 2>/dev/null
check "bootstrap refuses a primary given by IP address (exit 2)" test $? = 2
second_dir=$(scratch_dir pg-replica-2)
as_db_user env PGDATA="$second_dir/data" PRIMARY_HOST=localhost PRIMARY_PORT="$primary_port" \
  REPLICATION_PASSWORD=wrong PRIMARY_WAIT_SECONDS=5 "${PG_REPLICA_BOOTSTRAP_CMD[@]}" 2>"$CHECK_TMP/bootstrap-wrong.log"
check "bootstrap with a wrong password fails (exit 1) and leaves no data directory" \
  test $? = 1 -a ! -e "$second_dir/data" -a ! -e "$second_dir/data.partial"

echo "replication: Redis replica follows its primary by name"
redis_dir=$(scratch_dir redis)
mkdir -p "$redis_dir/primary" "$redis_dir/replica"
redis_conf=${REDIS_PRIMARY_CMD[2]}
check "Redis starts through redis-start.sh with the rendered redis.conf" \
  test "${REDIS_PRIMARY_CMD[*]}|${REDIS_REPLICA_CMD[*]}" = \
  "bash $SCRIPTS/redis-start.sh $CONFIGMAP_AIBID_REDIS/redis.conf|bash $SCRIPTS/redis-start.sh $CONFIGMAP_AIBID_REDIS/redis.conf"
check "rendered redis.conf: AOF on, maxmemory policy from the spec" \
  bash -c "grep -qx 'appendonly yes' '$redis_conf' && grep -qx 'maxmemory-policy allkeys-lru' '$redis_conf'"
check "Redis writes its files into the data volume (working directory /data)" \
  python3 -c 'import sys, yaml
sets = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "StatefulSet" and "redis" in d["metadata"]["name"]]
assert len(sets) == 2 and all(s["spec"]["template"]["spec"]["containers"][0]["workingDir"] == "/data" for s in sets)' \
  "$rendered_dir/rendered.yaml"
redis_password="redis-$RANDOM$RANDOM"
redis_primary_port=$(free_port)
redis_replica_port=$(free_port)
# Loopback only, own ports and directories: the rendered config binds 0.0.0.0 and writes to /data.
primary_args=(--bind 127.0.0.1 --port "$redis_primary_port" --dir "$redis_dir/primary" --logfile "$redis_dir/primary.log")
replica_args=(--bind 127.0.0.1 --port "$redis_replica_port" --dir "$redis_dir/replica" --logfile "$redis_dir/replica.log")
start_redis_primary() {
  env "${REDIS_PRIMARY_ENV[@]}" REDIS_PASSWORD="$redis_password" REDIS_RUNTIME_CONF="$redis_dir/primary.conf" \
    "${REDIS_PRIMARY_CMD[@]}" "${primary_args[@]}" &
  redis_primary_pid=$!
}
on_redis() { local port=$1; shift; REDISCLI_AUTH=$redis_password redis-cli --no-auth-warning -p "$port" "$@"; }
start_redis_primary
at_exit 'kill $redis_primary_pid 2>/dev/null'
env "${REDIS_REPLICA_ENV[@]}" REDIS_PASSWORD="$redis_password" REDIS_PRIMARY_HOST=localhost \
  REDIS_PRIMARY_PORT="$redis_primary_port" REDIS_RUNTIME_CONF="$redis_dir/replica.conf" \
  "${REDIS_REPLICA_CMD[@]}" "${replica_args[@]}" &
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
env "${REDIS_REPLICA_ENV[@]}" REDIS_PASSWORD=x REDIS_PRIMARY_HOST=10.0.0.7 REDIS_RUNTIME_CONF="$redis_dir/bad.conf" \
  "${REDIS_REPLICA_CMD[@]}" 2>/dev/null
check "redis-start.sh refuses a primary given by IP address (exit 2)" test $? = 2

finish replication
