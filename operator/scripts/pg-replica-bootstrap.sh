#!/usr/bin/env bash
# Init step of a PostgreSQL streaming replica pod: clones the primary with pg_basebackup -R when the data directory
# is empty, so the server then starts as a hot standby that streams from the primary. The primary is addressed by
# its stable Service DNS name (PRIMARY_HOST), which pg_basebackup writes into primary_conninfo: a pod IP would break
# after the primary restarts.
# The clone goes to "$PGDATA.partial" and is renamed into place when complete, so a pod killed mid-copy retries from
# scratch instead of starting on half a data directory. An existing standby is left alone; an existing primary's
# data directory (no standby.signal) is refused, because promoting and demoting are manual (see the runbook).
# Env: PGDATA; PRIMARY_HOST; PRIMARY_PORT (default 5432); REPLICATION_USER (default replicator);
# REPLICATION_PASSWORD; REPLICA_SLOT (physical slot to create/use on the primary; default: POD_NAME with - turned
# into _, so each StatefulSet pod has its own slot; none when both are unset: only WAL kept by wal_keep_size);
# PRIMARY_WAIT_SECONDS (default 300).
set -euo pipefail
SCRIPT_NAME=pg-replica-bootstrap
log() { printf '%s %s level=%s msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$1" "$2" >&2; }
die() { log error "$2"; printf '%s result=failure exit_code=%s\n' "$SCRIPT_NAME" "$1" >&2; exit "$1"; }

for name in PGDATA PRIMARY_HOST REPLICATION_PASSWORD; do
  [[ -n "${!name:-}" ]] || die 2 "environment variable $name must be set"
done
[[ ! "$PRIMARY_HOST" =~ ^[0-9.]+$ && "$PRIMARY_HOST" != *:* ]] ||
  die 2 "PRIMARY_HOST must be the primary's DNS name, not an IP address ($PRIMARY_HOST changes when the pod restarts)"
primary_port=${PRIMARY_PORT:-5432}
replication_user=${REPLICATION_USER:-replicator}
slot=${REPLICA_SLOT:-}
if [[ -z "$slot" && -n "${POD_NAME:-}" ]]; then slot=${POD_NAME//-/_}; fi
[[ -z "$slot" || "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || die 2 "REPLICA_SLOT '$slot' may only hold a-z, 0-9 and _"
export PGPASSWORD=$REPLICATION_PASSWORD PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}

if [[ -f "$PGDATA/PG_VERSION" ]]; then
  [[ -f "$PGDATA/standby.signal" ]] ||
    die 2 "$PGDATA holds a data directory without standby.signal (a primary's?); refusing to overwrite it"
  log info "$PGDATA is already a standby; it resumes streaming from its primary_conninfo"
  printf '%s result=success action=none\n' "$SCRIPT_NAME" >&2
  exit 0
fi
if [[ -d "$PGDATA" && -n "$(ls -A "$PGDATA")" ]]; then
  die 2 "$PGDATA is not empty but holds no PostgreSQL data directory; refusing to clone into it"
fi

waited=0
until pg_isready -q -h "$PRIMARY_HOST" -p "$primary_port"; do
  ((waited < ${PRIMARY_WAIT_SECONDS:-300})) || die 1 "primary $PRIMARY_HOST:$primary_port not ready after ${waited}s"
  sleep 2
  waited=$((waited + 2))
done

slot_args=()
if [[ -n "$slot" ]]; then
  pg_receivewal -h "$PRIMARY_HOST" -p "$primary_port" -U "$replication_user" --slot="$slot" --create-slot --if-not-exists ||
    die 1 "cannot create replication slot $slot on $PRIMARY_HOST:$primary_port"
  slot_args=(--slot="$slot")
fi

partial="$PGDATA.partial"
rm -rf "$partial"
log info "cloning $PRIMARY_HOST:$primary_port as $replication_user into $PGDATA${slot:+ using slot $slot}"
pg_basebackup -h "$PRIMARY_HOST" -p "$primary_port" -U "$replication_user" -D "$partial" \
  --write-recovery-conf --wal-method=stream --checkpoint=fast "${slot_args[@]}" ||
  { rm -rf "$partial"; die 1 "pg_basebackup from $PRIMARY_HOST:$primary_port failed"; }
chmod 700 "$partial"
if [[ -d "$PGDATA" ]]; then
  # PGDATA may be a mount point, which cannot be replaced by rename: move the content instead.
  find "$partial" -mindepth 1 -maxdepth 1 -exec mv -t "$PGDATA" {} +
  rmdir "$partial"
  chmod 700 "$PGDATA"
else
  mv "$partial" "$PGDATA"
fi
log info "standby data directory ready; primary_conninfo points at $PRIMARY_HOST:$primary_port"
printf '%s result=success action=cloned\n' "$SCRIPT_NAME" >&2
