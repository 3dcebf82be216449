# Sourced by hack/test.sh: starts a throwaway PostgreSQL 15 (Debian binaries) on a free loopback port and exports
# AIBID_TEST_DATABASE_URL. As root the server runs as the `postgres` user (initdb refuses to run as root).
# Needs from the caller: free_port, on_exit, AIBID_TEST_TMP.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=$(free_port)
PG_DIR=$(mktemp -d "${AIBID_TEST_TMP:-/tmp}/pg.XXXXXX")
pg_as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [[ $(id -u) == 0 ]]; then chown postgres "$PG_DIR"; chmod 700 "$PG_DIR"; fi
pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U aibid --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; return 1; }
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=300 -c fsync=off" \
  start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
on_exit "runuser -u postgres -- $PG_BIN/pg_ctl -D $PG_DIR/data -m immediate stop >/dev/null 2>&1 || $PG_BIN/pg_ctl -D $PG_DIR/data -m immediate stop >/dev/null 2>&1; rm -rf $PG_DIR"
pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U aibid aibid
export AIBID_TEST_DATABASE_URL="postgres://aibid@127.0.0.1:$PG_PORT/aibid"
# Tests that stop and restart the server (/ready while the database is down) need these.
export AIBID_TEST_PG_DATA="$PG_DIR/data" AIBID_TEST_PG_BIN="$PG_BIN" AIBID_TEST_PG_PORT="$PG_PORT"
echo "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)" >&2
