#!/usr/bin/env bash
# Deletes backups of one kind older than RETAIN_DAYS: `retention.sh db|files|full`.
# Age comes from the timestamp in the backup's name (copies and restores of the volume change mtimes, never names).
# The newest complete backup is always kept, however old; incomplete (.partial-*) directories are removed once they
# are more than a day old, which no running backup reaches (the CronJobs' activeDeadlineSeconds is shorter).
# backup.sh runs this only after its own backup succeeded.
# Env: BACKUP_DIR (default /backups); RETAIN_DAYS (default 30 for db, 7 for files, 28 for full).
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "$0")/backup-lib.sh"

kind=${1:-}
[[ $# -eq 1 ]] || die "$EXIT_USAGE" "usage: retention.sh db|files|full"
require_kind "$kind"
case "$kind" in
  db) default_days=30 ;;
  files) default_days=7 ;;
  full) default_days=28 ;;
esac
retain_days=${RETAIN_DAYS:-$default_days}
[[ "$retain_days" =~ ^[0-9]+$ && "$retain_days" -ge 1 ]] || die "$EXIT_USAGE" "RETAIN_DAYS must be a whole number >= 1, got '$retain_days'"

now=$(date -u +%s)
cutoff=$((now - retain_days * 86400))
mapfile -t backups < <(complete_backups "$kind")
if ((${#backups[@]} == 0)); then
  log info "no complete $kind backups under $BACKUP_DIR/$kind; nothing to delete"
  exit 0
fi
newest=${backups[-1]}
deleted=0 kept=0
for dir in "${backups[@]}"; do
  epoch=$(backup_epoch "$(basename "$dir")")
  if ((epoch < cutoff)) && [[ "$dir" != "$newest" ]]; then
    rm -rf -- "$dir" || die "$EXIT_FAILED" "cannot delete $dir"
    log info "deleted $(basename "$dir") (older than $retain_days days)"
    deleted=$((deleted + 1))
  else
    kept=$((kept + 1))
  fi
done
if (($(backup_epoch "$(basename "$newest")") < cutoff)); then
  log warn "the newest $kind backup $(basename "$newest") is older than $retain_days days; kept because it is the newest"
fi
find "$BACKUP_DIR/$kind" -mindepth 1 -maxdepth 1 -type d -name '.partial-*' -mmin +1440 -print -exec rm -rf {} + |
  while read -r stale; do log info "removed incomplete backup directory $stale"; done
printf '%s result=success kind=%s retain_days=%s kept=%s deleted=%s\n' "$SCRIPT_NAME" "$kind" "$retain_days" "$kept" "$deleted" >&2
