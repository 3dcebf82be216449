#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts real services on free loopback
# ports, runs every test tier (DESIGN.md "Tests"), and stops the services again.
#   hack/env/*.sh     sourced in order: each starts one service and exports its address (AIBID_TEST_*)
#   hack/checks/*.sh  run in order after `cargo test`: checks that are not Rust tests (promtool, schemas, browser)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export AIBID_CORPUS="${AIBID_CORPUS:-$ROOT/../shared/corpus}"
export AIBID_SHARED="${AIBID_SHARED:-$ROOT/../shared}"
export AIBID_TEST_TMP="${AIBID_TEST_TMP:-$(mktemp -d /tmp/aibid-test.XXXXXX)}"
# Services started as other users (PostgreSQL runs as `postgres`) keep their data below it.
chmod 755 "$AIBID_TEST_TMP"

log() { printf '\n==> %s\n' "$*" >&2; }

# 1. Debian packages (only the missing ones; apt-get update once).
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < hack/apt-packages.txt
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  pip_missing=1; python3 -m pip show -q "${pkg%%[=<>]*}" >/dev/null 2>&1 && pip_missing=0
  ((pip_missing)) && python3 -m pip install -q "$pkg"
done < <(cat hack/pip-packages.txt 2>/dev/null || true)

# 2. The corpus is an input, never copied into the repo: say loudly when it is absent.
if [[ ! -d "$AIBID_CORPUS" ]]; then
  echo "ERROR: tender corpus not found at $AIBID_CORPUS (set AIBID_CORPUS); corpus tests cannot run." >&2
  exit 1
fi

# 3. Services. Each env script registers its own cleanup through `on_exit`.
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
cleanup() { for ((i=${#CLEANUPS[@]}-1; i>=0; i--)); do eval "${CLEANUPS[i]}" || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for env_script in hack/env/*.sh; do
  [[ -e "$env_script" ]] || continue
  log "starting $(basename "$env_script" .sh)"
  # shellcheck source=/dev/null
  source "$env_script"
done

# 4. Rust: format, lints, unit + integration tests (real services above).
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test"
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$AIBID_TEST_TMP/cargo-test.log"
status=${PIPESTATUS[0]}
set -e
results=$(grep -E '^test result: ' "$AIBID_TEST_TMP/cargo-test.log" || true)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$results" | awk '{s+=$1} END {print s+0}')
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$results" | awk '{s+=$1} END {print s+0}')
if ((status != 0)); then
  echo "cargo test failed (exit $status): $passed passed, $failed failed" >&2
  exit "$status"
fi

# 5. Checks that are not Rust tests.
for check in hack/checks/*.sh; do
  [[ -e "$check" ]] || continue
  log "check $(basename "$check" .sh)"
  if bash "$check"; then passed=$((passed + 1)); else echo "FAILED: $check" >&2; failed=$((failed + 1)); fi
done
echo
echo "all: $passed passed, $failed failed"
((failed == 0))
