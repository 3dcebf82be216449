#!/usr/bin/env bash
# Operator benchmarks (not tests), printing ratios against baselines run in the same script (TARGETS.md):
#  1. render time of one BiddingDeployment vs a serde JSON round-trip of the same CR (target: render < 1 ms);
#  2. operator RSS with 500 BiddingDeployments on the v1.20.2 test API server (target: < 64 MiB), against the
#     RSS of the same binary idle before any CR exists.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export AIBID_SHARED="${AIBID_SHARED:-$ROOT/../shared}"
export AIBID_TEST_TMP="${AIBID_TEST_TMP:-$(mktemp -d /tmp/aibid-bench.XXXXXX)}"
COUNT="${COUNT:-500}"
# PROFILE=dev uses the dev profile (dependencies at opt-level 2) when a release build is too slow to wait for.
if [[ "${PROFILE:-release}" == dev ]]; then build=(); bin=debug; else build=(--release); bin=release; fi
bin="${CARGO_TARGET_DIR:-target}/$bin"

echo "== 1. render one BiddingDeployment (${PROFILE:-release} build)"
cargo run -q "${build[@]}" -p aibid-operator --example bench_render -- manifests/samples/production.yaml

echo "== 2. operator memory with $COUNT BiddingDeployments"
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
cleanup() { for ((i=${#CLEANUPS[@]}-1; i>=0; i--)); do eval "${CLEANUPS[i]}" || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# shellcheck source=env/k8s.sh
# Four ClusterIP Services per CR: the default /24 range would run out after about 60 CRs.
export AIBID_K8S_SERVICE_CIDR=10.0.0.0/16
source hack/env/k8s.sh
export KUBECONFIG="$AIBID_TEST_KUBECONFIG"
cargo build -q "${build[@]}" -p aibid-operator --bin aibid-operator
# 1.20 does not know x-kubernetes-validations: client-side validation would refuse the CRD; the server drops them.
kubectl apply --validate=false -f crds/aibid.dev.yaml >/dev/null
kubectl wait --for=condition=Established crd/biddingdeployments.aibid.dev >/dev/null
kubectl create namespace bench >/dev/null
kubectl create namespace aibid-system >/dev/null

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
http_port=$(free_port)
"$bin/aibid-operator" run --http-addr "127.0.0.1:$http_port" --lease-namespace aibid-system --identity bench \
  > "$AIBID_TEST_TMP/operator-bench.log" 2>&1 &
operator_pid=$!
on_exit "kill $operator_pid 2>/dev/null"
sleep 5
idle=$(rss_kib "$operator_pid")

python3 - "$COUNT" > "$AIBID_TEST_TMP/crs.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"---\napiVersion: aibid.dev/v1alpha1\nkind: BiddingDeployment\nmetadata: {{name: bd-{i:03d}, namespace: bench}}\nspec: {{version: '1.0.0'}}")
PY
started=$(date +%s)
kubectl apply -f "$AIBID_TEST_TMP/crs.yaml" >/dev/null
# Converged when every CR has a status (each reconcile writes one after creating its children).
for _ in $(seq 1 600); do
  with_status=$(kubectl get bd -n bench -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | grep -c . || true)
  ((with_status >= COUNT)) && break
  sleep 1
done
elapsed=$(( $(date +%s) - started ))
loaded=$(rss_kib "$operator_pid")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$operator_pid/status")
reconciles=$(curl -s "http://127.0.0.1:$http_port/metrics" | awk '/^aibid_operator_reconcile_total/ {s+=$2} END {print s+0}')
printf 'CRs with status: %s/%s after %ss, reconciliations: %s\n' "$with_status" "$COUNT" "$elapsed" "$reconciles"
awk -v idle="$idle" -v loaded="$loaded" -v peak="$peak" -v n="$COUNT" 'BEGIN {
  printf "RSS idle: %.1f MiB   with %d CRs: %.1f MiB (peak %.1f MiB, target < 64 MiB)   ratio loaded/idle: %.2fx\n",
    idle/1024, n, loaded/1024, peak/1024, loaded/idle }'
