#!/usr/bin/env bash
# Entry point of a managed Redis pod: `redis-start.sh BASE_CONF [redis-server options...]`.
# Writes a runtime config that includes the rendered BASE_CONF (AOF, maxmemory, policy, disabled commands) and adds
# the password and, on a replica, `replicaof <primary DNS name> <port>`. Redis resolves that name again on every
# reconnect, so a replica keeps following after the primary pod restarts with a new IP (never write an IP here).
# Role: REDIS_ROLE=primary|replica, or auto (default): ordinal 0 of a StatefulSet pod name (redis-0) is the primary.
# Env: REDIS_PASSWORD; REDIS_PRIMARY_HOST (replicas: the primary pod's headless-Service DNS name);
# REDIS_PRIMARY_PORT (default 6379); REDIS_RUNTIME_CONF (default /tmp/redis-runtime.conf); HOSTNAME.
set -euo pipefail
SCRIPT_NAME=redis-start
log() { printf '%s %s level=%s msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$1" "$2" >&2; }
die() { log error "$2"; printf '%s result=failure exit_code=%s\n' "$SCRIPT_NAME" "$1" >&2; exit "$1"; }

base_conf=${1:-}
[[ -n "$base_conf" && -r "$base_conf" ]] || die 2 "usage: redis-start.sh BASE_CONF [redis-server options...] (got '${base_conf}')"
shift
[[ -n "${REDIS_PASSWORD:-}" ]] || die 2 "REDIS_PASSWORD must be set"
[[ "$REDIS_PASSWORD" != *[[:space:]\"]* ]] || die 2 "REDIS_PASSWORD must not contain whitespace or quotes"
runtime_conf=${REDIS_RUNTIME_CONF:-/tmp/redis-runtime.conf}

role=${REDIS_ROLE:-auto}
if [[ "$role" == auto ]]; then
  pod=${HOSTNAME:-$(hostname)}
  [[ "$pod" =~ -([0-9]+)$ ]] || die 2 "REDIS_ROLE=auto needs a StatefulSet pod name ending in -<ordinal>, got '$pod'"
  if ((BASH_REMATCH[1] == 0)); then role=primary; else role=replica; fi
fi

{
  printf 'include %s\n' "$base_conf"
  printf 'requirepass "%s"\nmasterauth "%s"\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"
} >"$runtime_conf"
chmod 600 "$runtime_conf"
case "$role" in
  primary) log info "starting as primary" ;;
  replica)
    primary_host=${REDIS_PRIMARY_HOST:-}
    [[ -n "$primary_host" ]] || die 2 "a replica needs REDIS_PRIMARY_HOST (the primary's headless-Service DNS name)"
    [[ ! "$primary_host" =~ ^[0-9.]+$ && "$primary_host" != *:* ]] ||
      die 2 "REDIS_PRIMARY_HOST must be a DNS name, not an IP address ($primary_host breaks when the primary restarts)"
    printf 'replicaof %s %s\nreplica-read-only yes\nreplica-serve-stale-data yes\n' \
      "$primary_host" "${REDIS_PRIMARY_PORT:-6379}" >>"$runtime_conf"
    log info "starting as replica of $primary_host:${REDIS_PRIMARY_PORT:-6379}"
    ;;
  *) die 2 "REDIS_ROLE must be primary, replica or auto, got '$role'" ;;
esac
exec redis-server "$runtime_conf" "$@"
