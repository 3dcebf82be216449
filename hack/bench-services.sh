# Sourced by the service benchmarks (hack/bench-api.sh, hack/bench-queue.sh): a scratch directory, cleanup on exit,
# PostgreSQL and Redis on free loopback ports (hack/env), and the release build of `aibid` in $AIBID.
export AIBID_TEST_TMP="${AIBID_TEST_TMP:-$(mktemp -d /tmp/aibid-bench.XXXXXX)}"
# PostgreSQL runs as the `postgres` user and keeps its data below it.
chmod 755 "$AIBID_TEST_TMP"
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
cleanup() { for ((i=${#CLEANUPS[@]}-1; i>=0; i--)); do eval "${CLEANUPS[i]}" || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU seconds (user + system) used so far by the given processes, to show where the time of a run went.
cpu_seconds() { # pid...
  local ticks=0 pid
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  python3 -c "print(round($ticks / $(getconf CLK_TCK), 2))"
}
# CPU seconds used so far by a process and all its children, living or exited (an exited child's time is in its
# parent's cutime/cstime once the parent has reaped it, as PostgreSQL's postmaster and celery's main process do).
tree_cpu_seconds() { # pid
  local ticks child
  ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat")
  for child in $(pgrep -P "$1"); do
    [[ -r /proc/$child/stat ]] && ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$child/stat")))
  done
  python3 -c "print(round($ticks / $(getconf CLK_TCK), 2))"
}
sum_of() { python3 -c 'import sys; print(round(sum(map(float, sys.argv[1:])), 2))' "$@"; }
postmaster_pid() { head -1 "$AIBID_TEST_PG_DATA/postmaster.pid"; }
redis_pid() { cat "$AIBID_TEST_TMP/redis-$REDIS_PORT.pid"; }
source hack/env/postgres.sh
source hack/env/redis.sh
cargo build -q --release -p aibid
AIBID="${CARGO_TARGET_DIR:-$ROOT/target}/release/aibid"
