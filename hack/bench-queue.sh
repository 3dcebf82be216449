#!/usr/bin/env bash
# Benchmark (not a test): 20,000 no-op tasks through Redis, 2 worker processes, each task acknowledged only after
# its state is stored. aibid: PostgreSQL task rows + Redis Streams. Baseline in the same run: Celery 5 + Redis
# (acks_late, each task does one Redis INCR so completion can be counted), 2 worker processes.
# Prints tasks/s of both and the ratio (target >= 10x, TARGETS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TASKS=${TASKS:-20000}
CONCURRENCY=${CONCURRENCY:-4}
source hack/bench-services.sh
# A worker that died would leave the drain loop waiting forever: stop with its name instead.
all_alive() { # name pid...
  local name=$1 pid; shift
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null || { echo "a $name worker (pid $pid) exited; see its output above" >&2; exit 1; }; done
}
export DATABASE_URL="$AIBID_TEST_DATABASE_URL" REDIS_URL="$AIBID_TEST_REDIS_URL" METRICS_ENABLED=false LOG_LEVEL=warn
export WORKER_CONCURRENCY=$CONCURRENCY DATABASE_POOL_SIZE=$((CONCURRENCY + 2))
STREAM="aibid-bench-$$"

echo "aibid: enqueueing $TASKS no-op tasks" >&2
PROJECT=$("$AIBID" bench-enqueue --count "$TASKS" --task-stream "$STREAM")
done_count() { psql -qtA "$DATABASE_URL" -c "SELECT COUNT(*) FROM tasks WHERE project_id = '$PROJECT' AND status = 'done'"; }
start=$(date +%s.%N)
read -r pg_cpu redis_cpu < <(echo "$(tree_cpu_seconds "$(postmaster_pid)") $(cpu_seconds "$(redis_pid)")")
pids=()
# Each worker serves its probes on a port of its own.
for _ in 1 2; do METRICS_PORT=$(free_port) "$AIBID" worker --task-stream "$STREAM" & pids+=($!); done
on_exit "kill ${pids[*]} 2>/dev/null"
until [[ $(done_count) -ge $TASKS ]]; do all_alive aibid "${pids[@]}"; sleep 0.2; done
end=$(date +%s.%N)
echo "aibid CPU: workers $(cpu_seconds "${pids[@]}") s, PostgreSQL $(python3 -c "print(round($(tree_cpu_seconds "$(postmaster_pid)") - $pg_cpu, 2))") s, Redis $(python3 -c "print(round($(cpu_seconds "$(redis_pid)") - $redis_cpu, 2))") s" >&2
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
aibid_rate=$(python3 -c "print(round($TASKS / ($end - $start)))")
echo "aibid: $TASKS tasks in $(python3 -c "print(round($end - $start, 2))") s = $aibid_rate tasks/s" >&2

# Baseline: Celery in a throwaway virtualenv.
VENV="$AIBID_TEST_TMP/celery-venv"
[[ -x "$VENV/bin/celery" ]] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q 'celery[redis]>=5,<6'; }
mkdir -p "$AIBID_TEST_TMP/celery"
cat > "$AIBID_TEST_TMP/celery/benchtasks.py" <<PY
import os, redis
from celery import Celery
app = Celery('bench', broker=os.environ['REDIS_URL'])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True)
counter = redis.Redis.from_url(os.environ['REDIS_URL'])
@app.task
def noop():
    counter.incr('bench:done')
PY
cd "$AIBID_TEST_TMP/celery"
redis-cli -u "$REDIS_URL" del bench:done >/dev/null
"$VENV/bin/python" - <<PY
from benchtasks import noop
for _ in range($TASKS):
    noop.delay()
PY
start=$(date +%s.%N)
redis_cpu=$(cpu_seconds "$(redis_pid)")
cpids=()
for n in 1 2; do "$VENV/bin/celery" -q -A benchtasks worker -c "$CONCURRENCY" -n "w$n@%h" --without-gossip --without-mingle --loglevel WARNING & cpids+=($!); done
on_exit "kill ${cpids[*]} 2>/dev/null"
until [[ $(redis-cli -u "$REDIS_URL" get bench:done) -ge $TASKS ]] 2>/dev/null; do all_alive celery "${cpids[@]}"; sleep 0.2; done
end=$(date +%s.%N)
echo "celery CPU: workers $(sum_of $(for pid in "${cpids[@]}"; do tree_cpu_seconds "$pid"; done)) s, Redis $(python3 -c "print(round($(cpu_seconds "$(redis_pid)") - $redis_cpu, 2))") s" >&2
kill "${cpids[@]}"; wait "${cpids[@]}" 2>/dev/null || true
celery_rate=$(python3 -c "print(round($TASKS / ($end - $start)))")
echo "celery: $TASKS tasks in $(python3 -c "print(round($end - $start, 2))") s = $celery_rate tasks/s" >&2
cd "$ROOT"
echo "queue drain: aibid $aibid_rate tasks/s, celery $celery_rate tasks/s, ratio $(python3 -c "print(round($aibid_rate / $celery_rate, 2))")x (target >= 10x)"
