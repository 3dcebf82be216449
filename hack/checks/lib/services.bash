# shellcheck shell=bash
# Helpers shared by the ops checks (sourced; not matched by hack/test.sh's hack/checks/*.sh glob): assertions with a
# pass/fail tally, a free loopback port, and real PostgreSQL / Redis servers from the Debian binaries that are
# stopped again when the check exits.

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$*"; }
# check "what is promised" command...: passes when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# Prints the result line and exits non-zero when anything failed (or nothing was checked).
finish() {
  local name=$1
  printf '%s: %d passed, %d failed\n' "$name" "$PASSED" "$FAILED"
  ((FAILED == 0 && PASSED > 0))
}

CLEANUP_STEPS=()
at_exit() { CLEANUP_STEPS+=("$1"); }
run_cleanup() { [[ -n "${KEEP_CHECK_TMP:-}" ]] && CLEANUP_STEPS=("${CLEANUP_STEPS[@]/rm -rf*/true}");  local i; for ((i = ${#CLEANUP_STEPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUP_STEPS[i]}" || true; done; }
trap run_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root; the Debian package's postgres user runs the servers then.
as_db_user() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# One scratch root per check under /tmp, not $AIBID_TEST_TMP: that one is mode 700 root-owned and the postgres
# user must reach its data directories. Removed when the check exits.
CHECK_TMP=$(mktemp -d /tmp/aibid-check.XXXXXX)
chmod 755 "$CHECK_TMP"
at_exit "rm -rf '$CHECK_TMP'"
# scratch_dir NAME: a directory under CHECK_TMP that the postgres user owns when we run as root.
scratch_dir() {
  mkdir -p "$CHECK_TMP/$1"
  [[ $(id -u) != 0 ]] || chown postgres: "$CHECK_TMP/$1"
  printf '%s\n' "$CHECK_TMP/$1"
}

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
export PATH="$PG_BIN:$PATH"

# pg_init DATADIR PASSWORD: initdb with superuser postgres, password (scram) over TCP, trust on the socket.
pg_init() {
  local datadir=$1 password=$2
  printf '%s\n' "$password" >"$datadir.pw"
  [[ $(id -u) != 0 ]] || chown postgres: "$datadir.pw"
  as_db_user "$PG_BIN/initdb" -D "$datadir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$datadir.pw" -E UTF8 --locale=C.UTF-8 >"$datadir.initdb.log" 2>&1
}
# pg_start DATADIR PORT: start on 127.0.0.1:PORT (the socket sits next to the data directory).
pg_start() {
  local datadir=$1 port=$2
  as_db_user "$PG_BIN/pg_ctl" -D "$datadir" -l "$datadir.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $(dirname "$datadir") -c fsync=off" start >/dev/null
}
pg_stop() { as_db_user "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true; }
