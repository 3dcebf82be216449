#!/usr/bin/env bash
# Alerts and dashboards: promtool check/test of alerts/aibid-rules.yml, amtool check of the Alertmanager example
# and its routing (critical pages, warning does not), and the contract checks of hack/checks/lib/alert_contract.py
# (complete alerts, runbooks, a firing and a silent test per alert, every metric name exported by someone).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=lib/services.bash
source "$ROOT/hack/checks/lib/services.bash"

check "promtool check rules alerts/aibid-rules.yml" promtool check rules alerts/aibid-rules.yml
for test_file in alerts/tests/*.yml; do
  check "promtool test rules $test_file" promtool test rules "$test_file"
done
check "amtool check-config alerts/alertmanager.example.yml" amtool check-config alerts/alertmanager.example.yml
routes() { amtool config routes test --config.file=alerts/alertmanager.example.yml "$@" 2>/dev/null; }
check "a critical alert pages (receiver pager)" bash -c "$(declare -f routes); routes severity=critical alertname=ServiceDown | grep -qw pager"
check "a warning does not page" bash -c "$(declare -f routes); ! routes severity=warning alertname=HighAPILatency | grep -qw pager"
for dashboard in dashboards/*.json; do
  check "$dashboard is valid JSON" python3 -m json.tool "$dashboard" >/dev/null
done
if python3 hack/checks/lib/alert_contract.py "$ROOT"; then pass "alert contract"; else fail "alert contract (see FAIL lines above)"; fi
check "shellcheck of operator/scripts and the ops checks (warnings and errors)" \
  shellcheck -x -P SCRIPTDIR -S warning operator/scripts/*.sh hack/checks/{alerts,backup-scripts,replication}.sh hack/checks/lib/*.bash
finish alerts
