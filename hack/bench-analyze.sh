#!/usr/bin/env bash
# Benchmark (not a test): our full analysis (parse + ledger) of every corpus tender against the
# Python peer doing text extraction only (PyMuPDF for PDF, python-docx for DOCX, plain read for TXT).
# Median of 5 rounds each, run side by side; prints both times and the ratio (target <= 0.5x).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS="${AIBID_CORPUS:-$PWD/../shared/corpus}"
ROUNDS="${ROUNDS:-5}"
[[ -d "$CORPUS" ]] || { echo "ERROR: corpus not found at $CORPUS (set AIBID_CORPUS)" >&2; exit 1; }
python3 -c "import pymupdf, docx" 2>/dev/null || python3 -m pip install -q pymupdf python-docx

cargo build --release -q -p aibid
AIBID="${CARGO_TARGET_DIR:-target}/release/aibid"

# One `aibid analyze` process per tender, as a user runs it; scanned PDFs end in the OCR-needed
# error by design, so a non-zero exit is not a benchmark failure.
analyze_all() {
  local file
  for file in "$1"/*.pdf "$1"/*.docx "$1"/*.txt; do
    "$AIBID" analyze "$file" --json >/dev/null 2>&1 || true
  done
}

PEER=$(mktemp /tmp/aibid-peer.XXXXXX.py)
trap 'rm -f "$PEER"' EXIT
cat >"$PEER" <<'PY'
import pathlib, sys
import docx
import pymupdf as fitz
chars = 0
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    if path.suffix == ".pdf":
        with fitz.open(path) as doc:
            chars += sum(len(page.get_text()) for page in doc)
    elif path.suffix == ".docx":
        d = docx.Document(str(path))
        chars += sum(len(p.text) for p in d.paragraphs)
        chars += sum(len(c.text) for t in d.tables for r in t.rows for c in r.cells)
    elif path.suffix == ".txt":
        chars += len(path.read_text(encoding="utf-8", errors="replace"))
print(chars, "characters")
PY

# Wall time of one run, in seconds.
time_once() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

analyze_all "$CORPUS"        # warm the page cache
python3 "$PEER" "$CORPUS"
ours=(); peer=()
for ((i = 0; i < ROUNDS; i++)); do
  ours+=("$(time_once analyze_all "$CORPUS")")
  peer+=("$(time_once python3 "$PEER" "$CORPUS")")
done
ours_median=$(printf '%s\n' "${ours[@]}" | median)
peer_median=$(printf '%s\n' "${peer[@]}" | median)
ratio=$(echo "$ours_median / $peer_median" | bc -l)
printf 'aibid analyze (parse + ledger), median of %d: %.3f s\n' "$ROUNDS" "$ours_median"
printf 'peer PyMuPDF + python-docx (text only), median of %d: %.3f s\n' "$ROUNDS" "$peer_median"
printf 'ratio ours/peer: %.2fx (target <= 0.5x)\n' "$ratio"
