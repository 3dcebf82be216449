#!/usr/bin/env bash
# Every object the operator renders for the samples, the CRDs and the kustomize base must pass
# `kubernetes-validate --strict` against Kubernetes 1.33 (PyPI kubernetes-validate; see hack/pip-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${AIBID_TEST_TMP:-$(mktemp -d)}/k8s-schemas"
mkdir -p "$out"
version=1.33.0

cargo build -q -p aibid-operator
operator="${CARGO_TARGET_DIR:-target}/debug/aibid-operator"
failed=0
check() {
  local file=$1
  if kubernetes-validate -k "$version" --strict --quiet "$file" >"$file.report" 2>&1 && ! grep -qiE "error|invalid" "$file.report"; then
    echo "ok    $file ($(grep -c '^kind:' "$file") objects)"
  else
    echo "FAIL  $file"; cat "$file.report"; failed=1
  fi
}

for sample in manifests/samples/*.yaml; do
  rendered="$out/$(basename "$sample" .yaml).rendered.yaml"
  "$operator" render -f "$sample" > "$rendered"
  check "$rendered"
done
"$operator" crdgen > "$out/crds.yaml"
check "$out/crds.yaml"
kubectl kustomize manifests/base > "$out/kustomize-base.yaml"
check "$out/kustomize-base.yaml"
exit "$failed"
