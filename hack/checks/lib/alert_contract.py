"""Checks what promtool cannot: every alert is complete (severity, summary, description, a runbook page with the
three sections), has a unit test where it fires and one where it stays silent, and every metric name a rule or
dashboard uses is listed in alerts/exported-metrics.txt. Prints one ok/FAIL line per promise; exit 1 on failure.
Usage: alert_contract.py REPO_ROOT"""
import glob
import json
import os
import re
import sys

import yaml

REQUIRED_ALERTS = {
    "ServiceDown", "HighAPILatency", "HighTaskQueueLength", "DatabaseConnectionHigh", "HighMemoryUsage",
    "DiskSpaceLow", "BackupMissing", "BackupFailed", "ReplicationLagHigh", "WorkerHeartbeatMissing",
    "LLMErrorRateHigh", "PVCAlmostFull",
}
RUNBOOK_SECTIONS = ("## What it means", "## How to check", "## How to fix")
RUNBOOK_URL_PREFIX = "https://github.com/aibid/aibid/blob/main/alerts/runbooks/"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan", "Inf", "NaN"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

failures = 0


def report(ok, what):
    global failures
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    failures += 0 if ok else 1


def metric_names(expr):
    """Metric names in a PromQL expression (a small scanner: PromQL has no Python parser on PyPI/Debian)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    expr = re.sub(r"\$\{?\w+\}?", "1", expr)  # Grafana variables
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)  # label lists
    expr = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", expr)  # numbers
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        rest = expr[match.end():].lstrip()
        if rest.startswith("(") or match.group(0) in PROMQL_WORDS:
            continue  # a function call or a keyword
        names.add(match.group(0))
    return names


def load_exported(path):
    exported = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].split()
        if line:
            name, exporter, kind = line[0], line[1], line[2]
            exported[name] = (exporter, kind)
    return exported


def is_exported(name, exported):
    if name in exported:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and exported.get(base, ("", ""))[1] == "histogram":
            return True
    return False


def dashboard_exprs(dashboard):
    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))
    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            yield panel.get("title", "?"), target.get("expr", "")
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or "")
        label_values = re.match(r"\s*label_values\((.*),\s*\w+\)\s*$", query)
        if label_values:
            yield f"variable {variable['name']}", label_values.group(1)


def main(root):
    rules = yaml.safe_load(open(os.path.join(root, "alerts/aibid-rules.yml"), encoding="utf-8"))
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    names = {rule["alert"] for rule in alerts}
    report(REQUIRED_ALERTS <= names, f"all {len(REQUIRED_ALERTS)} required alerts are defined (missing: {sorted(REQUIRED_ALERTS - names)})")

    for rule in alerts:
        name = rule["alert"]
        annotations = rule.get("annotations", {})
        complete = rule.get("labels", {}).get("severity") in {"critical", "warning", "info"} and all(
            annotations.get(key) for key in ("summary", "description", "runbook_url"))
        report(complete, f"{name} has severity, summary, description and runbook_url")
        url = annotations.get("runbook_url", "")
        page = os.path.join(root, "alerts/runbooks", url[len(RUNBOOK_URL_PREFIX):]) if url.startswith(RUNBOOK_URL_PREFIX) else ""
        report(page.endswith(f"/{name}.md") and os.path.isfile(page), f"{name} runbook_url points at alerts/runbooks/{name}.md, which exists")
        if os.path.isfile(page):
            text = open(page, encoding="utf-8").read()
            report(all(section in text for section in RUNBOOK_SECTIONS), f"runbook {name}.md says what it means, how to check, how to fix")

    fires, silent = set(), set()
    for test_file in glob.glob(os.path.join(root, "alerts/tests/*.yml")):
        for case in yaml.safe_load(open(test_file, encoding="utf-8")).get("tests", []):
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    for name in sorted(names):
        report(name in fires and name in silent, f"{name} has a promtool test where it fires and one where it stays silent")

    exported = load_exported(os.path.join(root, "alerts/exported-metrics.txt"))
    # The scanner itself must see a name that is not exported, or the cross-check below proves nothing.
    probe = 'sum by (pod) (rate(aibid_not_a_metric_total{namespace="$namespace"}[5m])) / on (pod) up'
    report(metric_names(probe) == {"aibid_not_a_metric_total", "up"} and not is_exported("aibid_not_a_metric_total", exported),
           "metric-name scanner finds an unexported name in a probe expression")
    used = {}
    for rule in rules["groups"]:
        for item in rule["rules"]:
            for metric in metric_names(item["expr"]):
                used.setdefault(metric, set()).add(f"rule {item.get('alert') or item.get('record')}")
    for path in sorted(glob.glob(os.path.join(root, "dashboards/*.json"))):
        dashboard = json.load(open(path, encoding="utf-8"))
        ids = [panel["id"] for panel in dashboard["panels"]]
        report(bool(dashboard.get("uid")) and bool(dashboard.get("title")) and len(ids) == len(set(ids)),
               f"{os.path.basename(path)} has a uid, a title and unique panel ids")
        exprs = list(dashboard_exprs(dashboard))
        report(len(exprs) >= 5, f"{os.path.basename(path)} has {len(exprs)} queries")
        for title, expr in exprs:
            for metric in metric_names(expr):
                used.setdefault(metric, set()).add(f"{os.path.basename(path)}: {title}")
    for metric in sorted(used):
        report(is_exported(metric, exported), f"metric {metric} is exported ({exported.get(metric, exported.get(re.sub('_(bucket|sum|count)$', '', metric), ('NOT LISTED',)))[0]}; used by {len(used[metric])})")
    unused = sorted(name for name in exported if not any(m == name or m.startswith(name + "_") for m in used))
    print(f"  note: listed but not used by rules or dashboards: {', '.join(unused) or 'none'}")
    return failures


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1]) else 0)
