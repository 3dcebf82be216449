#!/usr/bin/env bash
# Prepares a PostgreSQL primary for streaming replicas; idempotent, so it runs at every primary start: the primary
# pod's postStart hook runs it, and it first waits until the server accepts connections (SETUP_WAIT_SECONDS,
# default 120). On the very first start the image's temporary init server may stop under it; the hook then fails,
# the container restarts once, and the next run succeeds on the initialised data directory.
# Creates or updates the replication role and makes sure pg_hba.conf lets it connect for replication with
# scram-sha-256, then reloads. wal_level=replica, max_wal_senders and wal_keep_size are PostgreSQL defaults or come
# from the rendered postgresql.conf; nothing here restarts the server.
# Env: PGHOST PGPORT PGUSER PGPASSWORD (a superuser; the local socket in the container), REPLICATION_USER
# (default replicator), REPLICATION_PASSWORD, SETUP_WAIT_SECONDS.
set -euo pipefail
SCRIPT_NAME=pg-primary-setup
log() { printf '%s %s level=%s msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$1" "$2" >&2; }
die() { log error "$2"; printf '%s result=failure exit_code=%s\n' "$SCRIPT_NAME" "$1" >&2; exit "$1"; }

replication_user=${REPLICATION_USER:-replicator}
[[ -n "${REPLICATION_PASSWORD:-}" ]] || die 2 "REPLICATION_PASSWORD must be set"
[[ "$replication_user" =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "REPLICATION_USER '$replication_user' must be a plain lower-case identifier"
psql_admin() { psql -X -At -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" "$@"; }

waited=0
until pg_isready -q; do
  ((waited < ${SETUP_WAIT_SECONDS:-120})) || die 1 "server at ${PGHOST:-socket}:${PGPORT:-5432} not ready after ${waited}s"
  sleep 1
  waited=$((waited + 1))
done

psql_admin -v user="$replication_user" -v password="$REPLICATION_PASSWORD" <<'SQL' || die 1 "cannot create or update the replication role"
SELECT format('CREATE ROLE %I WITH REPLICATION LOGIN', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SET password_encryption = 'scram-sha-256';
SELECT format('ALTER ROLE %I WITH REPLICATION LOGIN PASSWORD %L', :'user', :'password') \gexec
SQL
log info "replication role $replication_user is ready"

hba_file=$(psql_admin -c 'SHOW hba_file') || die 1 "cannot read the location of pg_hba.conf"
rule="host replication $replication_user all scram-sha-256"
if grep -qxF "$rule" "$hba_file"; then
  log info "pg_hba.conf already allows replication for $replication_user"
else
  # Prepended: pg_hba.conf is first-match, and a broad reject rule further down must not shadow it.
  if ! { printf '# added by pg-primary-setup.sh: streaming replicas\n%s\n' "$rule" && cat "$hba_file"; } >"$hba_file.new" ||
    ! cat "$hba_file.new" >"$hba_file"; then
    die 1 "cannot write $hba_file"
  fi
  rm -f "$hba_file.new"
  psql_admin -c 'SELECT pg_reload_conf()' >/dev/null || die 1 "cannot reload the configuration"
  log info "pg_hba.conf now allows replication for $replication_user; configuration reloaded"
fi
printf '%s result=success user=%s\n' "$SCRIPT_NAME" "$replication_user" >&2
