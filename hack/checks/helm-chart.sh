#!/usr/bin/env bash
# The Helm chart renders offline (PyPI helm-python-sdk, Helm's Go SDK through a C ABI; no helm binary, no network)
# in cluster-wide and namespaced mode with the ServiceMonitor on, lints clean, its CRDs equal crds/, and every
# rendered built-in object passes `kubernetes-validate --strict` for 1.33.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${AIBID_TEST_TMP:-$(mktemp -d)}/helm-chart"
mkdir -p "$out"
cmp -s crds/aibid.dev.yaml charts/aibid-operator/crds/aibid.dev.yaml \
  || { echo "FAIL charts/aibid-operator/crds/aibid.dev.yaml differs from crds/aibid.dev.yaml"; exit 1; }

python3 - "$out" <<'PY'
import sys, pathlib
import helm_python as helm

out = pathlib.Path(sys.argv[1])
chart_dir = "charts/aibid-operator"
report = helm.lint(chart_dir, strict=True, kube_version="v1.33.0")
problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2] + report.get("errors", [])
if problems:
    sys.exit(f"helm lint: {problems}")
chart = helm.Chart.load(chart_dir)
modes = {
    "cluster": {},
    "namespaced": {"namespaced": True, "watchNamespace": "tenders", "serviceMonitor": {"enabled": True}},
}
for mode, values in modes.items():
    manifests = chart.render(values, name="aibid-operator", namespace="aibid-system", is_install=True)
    text = "\n---\n".join(body for path, body in sorted(manifests.items()) if body.strip() and not path.endswith("NOTES.txt"))
    kinds = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("kind:")]
    expected = {"Deployment", "ServiceAccount", "Service", "RoleBinding"}
    expected |= {"Role", "ServiceMonitor"} if mode == "namespaced" else {"ClusterRole", "ClusterRoleBinding"}
    missing = expected - set(kinds)
    if missing:
        sys.exit(f"{mode}: rendered chart lacks {sorted(missing)}")
    if mode == "namespaced" and "WATCH_NAMESPACE" not in text:
        sys.exit("namespaced mode must pass WATCH_NAMESPACE")
    # kubernetes-validate knows built-in kinds only; the ServiceMonitor CR is checked for presence above.
    builtin = "\n---\n".join(doc for doc in text.split("\n---\n") if "kind: ServiceMonitor" not in doc)
    (out / f"{mode}.yaml").write_text(builtin)
    print(f"rendered {mode}: {', '.join(sorted(set(kinds)))}")
PY
for mode in cluster namespaced; do
  kubernetes-validate -k 1.33.0 --strict --quiet "$out/$mode.yaml" > "$out/$mode.report" 2>&1 || { cat "$out/$mode.report"; exit 1; }
  if grep -qiE "error|invalid" "$out/$mode.report"; then cat "$out/$mode.report"; exit 1; fi
  echo "ok    chart ($mode) validates against 1.33"
done
