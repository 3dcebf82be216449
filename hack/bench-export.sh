#!/usr/bin/env bash
# Benchmark (not a test): a 60-section proposal .docx (4 heading levels, ~1,500 characters and one 21x4
# table per section) written by aibid's exporter (release build) vs python-docx doing the same, side by
# side; median wall time of 5 runs each (process start included for both); prints the ratio. Target <= 0.1x.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import docx' 2>/dev/null || python3 -m pip install -q python-docx
cargo build --release -q -p aibid-proposal --example export_bench
ours="${CARGO_TARGET_DIR:-target}/release/examples/export_bench"
work=$(mktemp -d /tmp/aibid-bench-export.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat > "$work/peer.py" <<'PY'
import sys
from docx import Document
levels = [1, 2, 3, 4, 4, 4, 2, 3, 4, 4, 4, 2, 3, 4, 4, 4, 2, 3, 4, 4] * 3
sentence = "我方将严格按照招标文件要求组织实施，确保项目质量、进度和安全全面受控，"
doc = Document()
doc.add_heading("基准测试项目", 0)
doc.add_paragraph("目录")
for i, level in enumerate(levels):
    doc.add_heading(f"第{i + 1}节 技术方案与实施保障", level)
    for _ in range(3):
        doc.add_paragraph(sentence * 14)
    table = doc.add_table(rows=21, cols=4)
    table.style = "Table Grid"
    for c, text in enumerate(["序号", "招标要求", "投标响应", "偏离情况"]):
        table.cell(0, c).text = text
    for r in range(1, 21):
        for c, text in enumerate([str(r), f"参数{r}≥{r}0", f"{r}2", "无偏离"]):
            table.cell(r, c).text = text
doc.save(sys.argv[1])
PY

# Milliseconds of one run of the given command.
time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N); echo $(((end - start) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ours_runs=(); peer_runs=()
for _ in 1 2 3 4 5; do
  ours_runs+=("$(time_ms "$ours" "$work/ours.docx")")
  peer_runs+=("$(time_ms python3 "$work/peer.py" "$work/peer.docx")")
done
ours_ms=$(printf '%s\n' "${ours_runs[@]}" | median)
peer_ms=$(printf '%s\n' "${peer_runs[@]}" | median)
echo "aibid export_docx : ${ours_runs[*]} ms -> median ${ours_ms} ms ($(stat -c %s "$work/ours.docx") bytes)"
echo "python-docx       : ${peer_runs[*]} ms -> median ${peer_ms} ms ($(stat -c %s "$work/peer.docx") bytes)"
awk -v a="$ours_ms" -v b="$peer_ms" 'BEGIN { r = (b > 0) ? a / b : 0; printf "ratio aibid/python-docx = %.3fx (target <= 0.1x): %s\n", r, (r <= 0.1) ? "met" : "NOT met" }'
