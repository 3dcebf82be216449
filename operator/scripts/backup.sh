#!/usr/bin/env bash
# Takes one backup: `backup.sh db|files|full`. db = pg_dump custom format of $PGDATABASE with exact row counts
# taken in the dump's own snapshot; files = tar.gz of $FILES_PATHS with a sha256 per file; full = both.
# The backup is written to a hidden directory and renamed into place only when complete; retention of that kind
# (RETAIN_DAYS) runs only after that, so a failed backup never deletes anything.
# Env: PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (db, full); FILES_PATHS (files, full: absolute paths separated
# by spaces, default "/data/uploads /data/outputs /config"); BACKUP_DIR (default /backups); RETAIN_DAYS (default 30
# for db, 7 for files, 28 for full); GNU tar and coreutils.
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "$0")/backup-lib.sh"

kind=${1:-}
[[ $# -eq 1 ]] || die "$EXIT_USAGE" "usage: backup.sh db|files|full"
require_kind "$kind"
: "${FILES_PATHS:=/data/uploads /data/outputs /config}"

started=$(date -u +%s)
name="$kind-$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)"
final_dir="$BACKUP_DIR/$kind/$name"
work_dir="$BACKUP_DIR/$kind/.partial-$name"
[[ ! -e "$final_dir" ]] || die "$EXIT_FAILED" "backup $final_dir already exists"
mkdir -p "$work_dir" || die "$EXIT_FAILED" "cannot create $work_dir (is the backup volume mounted and writable?)"
# Whatever fails below leaves no half-written backup behind.
trap 'rm -rf "$work_dir"' EXIT
log info "starting $kind backup $name into $BACKUP_DIR/$kind"

manifest_fields=()
add_field() { manifest_fields+=("$(printf '  "%s": %s' "$1" "$2")"); }

# pg_dump and the row counts share one exported snapshot, so the manifest describes exactly what the dump holds.
dump_database() {
  require_env PGHOST PGUSER PGDATABASE
  local session_out="$work_dir/.session" snapshot="" line tables
  coproc SNAPSHOT_SESSION { psql -X -At -q -v ON_ERROR_STOP=1 2>&1; }
  local session_in=${SNAPSHOT_SESSION[1]} session_read=${SNAPSHOT_SESSION[0]}
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n%s\n\\echo __rows_done__\n' \
    "$ROW_COUNTS_SQL" >&"$session_in"
  : >"$session_out"
  while IFS= read -r -t 600 line <&"$session_read"; do
    [[ "$line" == __rows_done__ ]] && break
    printf '%s\n' "$line" >>"$session_out"
  done
  snapshot=$(sed -n '1p' "$session_out")
  tables=$(sed -n '2p' "$session_out")
  if [[ ! "$snapshot" =~ ^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$ || "${tables:0:1}" != "{" ]]; then
    die "$EXIT_FAILED" "cannot open a snapshot on $PGHOST:${PGPORT:-5432}/$PGDATABASE as $PGUSER: $(tr '\n' ' ' <"$session_out")"
  fi
  log info "snapshot $snapshot exported; dumping $PGDATABASE"
  pg_dump --format=custom --snapshot="$snapshot" --file="$work_dir/db.dump" ||
    die "$EXIT_FAILED" "pg_dump of $PGDATABASE failed"
  printf 'COMMIT;\n\\q\n' >&"$session_in"
  wait "$SNAPSHOT_SESSION_PID" 2>/dev/null || true
  add_field db_file '"db.dump"'
  add_field db_name "\"$PGDATABASE\""
  add_field db_size_bytes "$(size_of "$work_dir/db.dump")"
  add_field db_sha256 "\"$(sha256_of "$work_dir/db.dump")\""
  add_field tables "$tables"
  log info "database dump done: $(size_of "$work_dir/db.dump") bytes, $(grep -o '":' <<<"$tables" | wc -l | tr -d ' ') tables"
}

# Checksums are computed from the archive's own stream (GNU tar --to-command), so they describe exactly what a
# restore will write even when files change while the backup runs.
archive_files() {
  local path relative=()
  for path in $FILES_PATHS; do
    [[ "$path" == /* ]] || die "$EXIT_USAGE" "FILES_PATHS entry '$path' is not an absolute path"
    [[ -d "$path" ]] || die "$EXIT_FAILED" "FILES_PATHS entry $path is not a directory (volume not mounted?)"
    relative+=("${path#/}")
  done
  tar -C / -czf "$work_dir/files.tar.gz" "${relative[@]}" || die "$EXIT_FAILED" "tar of $FILES_PATHS failed"
  # shellcheck disable=SC2016 # expanded by the shell tar starts per file
  tar -xzf "$work_dir/files.tar.gz" --to-command='printf "%s  %s\n" "$(sha256sum | cut -d" " -f1)" "$TAR_FILENAME"' \
    >"$work_dir/files.sha256" || die "$EXIT_FAILED" "cannot read back $work_dir/files.tar.gz"
  add_field files_archive '"files.tar.gz"'
  add_field files_paths "\"$FILES_PATHS\""
  add_field files_count "$(wc -l <"$work_dir/files.sha256" | tr -d ' ')"
  add_field files_size_bytes "$(size_of "$work_dir/files.tar.gz")"
  add_field files_sha256 "\"$(sha256_of "$work_dir/files.tar.gz")\""
  add_field files_checksums_sha256 "\"$(sha256_of "$work_dir/files.sha256")\""
  log info "files archive done: $(size_of "$work_dir/files.tar.gz") bytes, $(wc -l <"$work_dir/files.sha256" | tr -d ' ') files"
}

case "$kind" in
  db) dump_database ;;
  files) archive_files ;;
  full)
    dump_database
    archive_files
    ;;
esac

total_size=$(du -sb "$work_dir" | cut -f1)
finished=$(date -u +%s)
{
  printf '{\n'
  printf '  "format": 1,\n  "name": "%s",\n  "kind": "%s",\n' "$name" "$kind"
  printf '  "created_at": "%s",\n' "$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "duration_seconds": %s,\n  "size_bytes": %s,\n' "$((finished - started))" "$total_size"
  printf '%s,\n' "${manifest_fields[@]}" | sed '$ s/,$//'
  printf '}\n'
} >"$work_dir/manifest.json"
sync "$work_dir" 2>/dev/null || sync
mv "$work_dir" "$final_dir" || die "$EXIT_FAILED" "cannot move the finished backup into $final_dir"
trap - EXIT
log info "backup $name complete"

# Retention runs only now that the new backup exists.
"$(dirname "$0")/retention.sh" "$kind" || log warn "retention of $kind backups failed; the new backup $name is kept"
printf '%s result=success kind=%s name=%s size_bytes=%s duration_seconds=%s\n' \
  "$SCRIPT_NAME" "$kind" "$name" "$total_size" "$((finished - started))" >&2
printf '%s\n' "$name"
