#!/usr/bin/env bash
# Browser test (DESIGN.md tier 7): `aibid up` on a free port, then headless Chromium (Debian `chromium`, driven by
# playwright-core from npm) walks the flow as a person: log in, upload a corpus tender, approve the outline,
# watch progress reach 100 %, download the .docx.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TMP="${AIBID_TEST_TMP:-$(mktemp -d)}/browser"
CORPUS="${AIBID_CORPUS:-$ROOT/../shared/corpus}"
mkdir -p "$TMP/node" "$TMP/data" "$TMP/downloads"
[[ -f "$CORPUS/yinchuan_logo_short.docx" ]] || { echo "corpus tender missing at $CORPUS" >&2; exit 1; }

if [[ ! -d "$TMP/node/node_modules/playwright-core" ]]; then
  npm install --silent --no-audit --no-fund --prefix "$TMP/node" playwright-core@1 >/dev/null
fi
cargo build -q -p aibid
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(
  cd "$TMP/data"
  exec env -u LLM_API_KEY -u DATABASE_URL -u REDIS_URL API_PORT="$PORT" ADMIN_EMAIL=admin@example.com \
    ADMIN_PASSWORD=browser-admin-pw LOG_LEVEL=warn "${CARGO_TARGET_DIR:-$ROOT/target}/debug/aibid" up
) &
AIBID_PID=$!
trap 'kill $AIBID_PID 2>/dev/null || true; wait $AIBID_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null

NODE_PATH="$TMP/node/node_modules" node "$ROOT/workloads/service/tests/browser/flow.js" \
  "http://127.0.0.1:$PORT" admin@example.com browser-admin-pw "$CORPUS/yinchuan_logo_short.docx" "$TMP/downloads"
