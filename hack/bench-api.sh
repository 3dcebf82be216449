#!/usr/bin/env bash
# Benchmark (not a test): GET a page of 50 projects of one organisation (PostgreSQL, 10,000 rows) and GET /health,
# 50 connections, with wrk. Baseline in the same run: FastAPI + uvicorn (2 workers) + asyncpg answering the same
# query on the same database (from PyPI, in a throwaway virtualenv).
# Prints req/s and p99 of both and the ratios (targets: >= 5x req/s, p99 < 20 ms; /health >= 5x).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
source hack/bench-services.sh
PORT=$(free_port)
export DATABASE_URL="$AIBID_TEST_DATABASE_URL" REDIS_URL="$AIBID_TEST_REDIS_URL" LOG_LEVEL=warn
export JWT_SECRET=bench-jwt-secret-0123456789abcdefghijklmn ADMIN_EMAIL=bench@example.com ADMIN_PASSWORD=bench-password
export API_PORT=$PORT UI_PORT=$PORT METRICS_PORT=$PORT DATABASE_POOL_SIZE=20
"$AIBID" migrate
ORG=$(psql -qtA "$DATABASE_URL" -c "SELECT org_id FROM users WHERE email = 'bench@example.com'")
USER_ID=$(psql -qtA "$DATABASE_URL" -c "SELECT id FROM users WHERE email = 'bench@example.com'")
# 10,000 projects: 5,000 in the benchmark's organisation, 5,000 in others.
psql -q "$DATABASE_URL" <<SQL
INSERT INTO organisations (id, name, created_at) VALUES ('other-org', 'other', 0) ON CONFLICT DO NOTHING;
INSERT INTO projects (id, org_id, name, status, created_by, created_at, updated_at)
SELECT md5(g::text), CASE WHEN g % 2 = 0 THEN '$ORG' ELSE 'other-org' END, '项目 ' || g, 'created', '$USER_ID', g, g
FROM generate_series(1, 10000) g;
ANALYZE projects;
SQL
"$AIBID" api & API_PID=$!
on_exit "kill $API_PID 2>/dev/null"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench-password"}' \
  "http://127.0.0.1:$PORT/api/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Baseline: FastAPI + uvicorn (2 workers) + asyncpg.
VENV="$AIBID_TEST_TMP/fastapi-venv"
[[ -x "$VENV/bin/uvicorn" ]] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q fastapi 'uvicorn[standard]' asyncpg; }
mkdir -p "$AIBID_TEST_TMP/fastapi"
cat > "$AIBID_TEST_TMP/fastapi/peer.py" <<PY
import os, asyncpg
from fastapi import FastAPI
app = FastAPI()
pool = None
@app.on_event("startup")
async def startup():
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=5, max_size=10)
@app.get("/health")
async def health():
    return "ok"
@app.get("/api/projects")
async def projects():
    rows = await pool.fetch("SELECT id, name, status, created_at, updated_at FROM projects WHERE org_id = \$1 "
                            "ORDER BY created_at DESC, id LIMIT 50 OFFSET 0", "$ORG")
    return [dict(r) for r in rows]
PY
PEER_PORT=$(free_port)
(cd "$AIBID_TEST_TMP/fastapi" && exec "$VENV/bin/uvicorn" peer:app --port "$PEER_PORT" --workers 2 --log-level warning) & PEER_PID=$!
on_exit "kill $PEER_PID 2>/dev/null"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PEER_PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done

# wrk prints "Requests/sec:" and, with --latency, the 99% line.
measure() { # url [header]
  local out
  if [[ -n "${2:-}" ]]; then out=$(wrk -t2 -c50 -d"$DURATION" --latency -H "$2" "$1"); else out=$(wrk -t2 -c50 -d"$DURATION" --latency "$1"); fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps $p99"
}
to_ms() { python3 -c "import re,sys; v=sys.argv[1]; n=float(re.sub('[a-z]+','',v)); u=re.sub('[0-9.]+','',v); print(round(n*{'us':0.001,'ms':1,'s':1000}[u],2))" "$1"; }

median() { python3 -c 'import statistics, sys; print(round(statistics.median(map(float, sys.argv[1:])), 2))' "$@"; }

# Rounds alternate aibid and the peer, so a slow spell of the machine hits both; medians are reported.
a_list=(); a_p99=(); p_list=(); p_p99=(); a_health=(); p_health=()
for round in $(seq "$ROUNDS"); do
  read -r api_cpu pg_cpu < <(echo "$(cpu_seconds "$API_PID") $(tree_cpu_seconds "$(postmaster_pid)")")
  read -r rps p99 < <(measure "http://127.0.0.1:$PORT/api/projects?limit=50" "Authorization: Bearer $TOKEN")
  echo "round $round: aibid list $rps req/s (p99 $p99); CPU aibid $(python3 -c "print(round($(cpu_seconds "$API_PID") - $api_cpu, 2))") s, PostgreSQL $(python3 -c "print(round($(tree_cpu_seconds "$(postmaster_pid)") - $pg_cpu, 2))") s of $DURATION on $(nproc) cores, the rest wrk" >&2
  a_list+=("$rps"); a_p99+=("$(to_ms "$p99")")
  read -r rps p99 < <(measure "http://127.0.0.1:$PEER_PORT/api/projects")
  echo "round $round: fastapi list $rps req/s (p99 $p99)" >&2
  p_list+=("$rps"); p_p99+=("$(to_ms "$p99")")
  read -r rps _ < <(measure "http://127.0.0.1:$PORT/health"); a_health+=("$rps")
  read -r rps _ < <(measure "http://127.0.0.1:$PEER_PORT/health"); p_health+=("$rps")
  echo "round $round: /health aibid ${a_health[-1]} req/s, fastapi ${p_health[-1]} req/s" >&2
done
al=$(median "${a_list[@]}"); pl=$(median "${p_list[@]}"); ah=$(median "${a_health[@]}"); ph=$(median "${p_health[@]}")
echo "list 50 projects (median of $ROUNDS): aibid $al req/s (p99 $(median "${a_p99[@]}") ms), fastapi $pl req/s (p99 $(median "${p_p99[@]}") ms), ratio $(python3 -c "print(round($al / $pl, 2))")x (target >= 5x, p99 < 20 ms)"
echo "/health (median of $ROUNDS): aibid $ah req/s, fastapi $ph req/s, ratio $(python3 -c "print(round($ah / $ph, 2))")x (target >= 5x)"
