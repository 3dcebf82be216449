#!/usr/bin/env bash
# Restores a backup: `restore.sh NAME|latest database|files|both`, each part checked against its manifest.
# database: the dump's sha256 is checked, it is restored into a new database "<PGDATABASE>_restoring", row counts
#   are compared with the manifest, and only then the databases are swapped by rename; the previous database stays
#   as "<PGDATABASE>_pre_restore_<stamp>" (dropped when RESTORE_KEEP_PREVIOUS=0). A failure leaves the live
#   database untouched. Clients must be stopped first (the operator scales API, workers and scheduler to zero).
# files: the archive's sha256 is checked, every path in the manifest is replaced by its archived content (extracted
#   next to it first), then every file is checked against the per-file sha256 list.
# "latest" picks the newest complete backup holding the part (db or full for database, files or full for files).
# Env: PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (database); BACKUP_DIR; RESTORE_ROOT (default /, files are
# restored to RESTORE_ROOT + their original absolute path); RESTORE_KEEP_PREVIOUS (default 1).
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "$0")/backup-lib.sh"

[[ $# -eq 2 ]] || die "$EXIT_USAGE" "usage: restore.sh NAME|latest database|files|both"
target=$1 what=$2
case "$what" in
  database | files | both) ;;
  *) die "$EXIT_USAGE" "what to restore must be database, files or both, got '$what'" ;;
esac
: "${RESTORE_ROOT:=/}"
: "${RESTORE_KEEP_PREVIOUS:=1}"
maintenance_db=${PGMAINTENANCE_DATABASE:-postgres}
stamp=$(date -u +%Y%m%dT%H%M%SZ)

sql() { psql -X -At -q -v ON_ERROR_STOP=1 -d "$maintenance_db" "$@"; }
# psql substitutes :'db' only in statements read from stdin, never in -c.
sql_about() { psql -X -At -q -v ON_ERROR_STOP=1 -d "$maintenance_db" -v db="$1" <<<"$2"; }

restore_database() {
  require_env PGHOST PGUSER PGDATABASE
  local dir name live=$PGDATABASE staging="${PGDATABASE}_restoring" previous="${PGDATABASE}_pre_restore_$stamp" owner
  dir=$(resolve_backup "$target" db.dump)
  name=$(basename "$dir")
  log info "restoring database $live from backup $name"
  check_part_checksum "$dir" db.dump db_sha256
  owner=$(sql_about "$live" "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'") ||
    die "$EXIT_FAILED" "cannot reach $PGHOST:${PGPORT:-5432}/$maintenance_db as $PGUSER"
  [[ -n "$owner" ]] || owner=$PGUSER
  sql -c "DROP DATABASE IF EXISTS \"$staging\" WITH (FORCE)" -c "CREATE DATABASE \"$staging\" OWNER \"$owner\"" ||
    die "$EXIT_FAILED" "cannot create database $staging"
  local role_args=()
  [[ "$owner" == "$PGUSER" ]] || role_args=(--role="$owner")
  if ! pg_restore --exit-on-error --single-transaction --no-owner "${role_args[@]}" --dbname="$staging" "$dir/db.dump"; then
    sql -c "DROP DATABASE IF EXISTS \"$staging\" WITH (FORCE)" || true
    die "$EXIT_FAILED" "pg_restore of $name failed; database $live was not changed"
  fi
  if ! compare_row_counts "$dir/manifest.json" "$staging"; then
    sql -c "DROP DATABASE IF EXISTS \"$staging\" WITH (FORCE)" || true
    die "$EXIT_INTEGRITY" "restored rows differ from backup $name's manifest; database $live was not changed"
  fi
  # Swap by rename: both steps touch only the catalog, so the live name is missing for milliseconds.
  if [[ -n "$(sql_about "$live" "SELECT 1 FROM pg_database WHERE datname = :'db'")" ]]; then
    sql_about "$live" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid()" >/dev/null
    sql -c "ALTER DATABASE \"$live\" RENAME TO \"$previous\"" || die "$EXIT_FAILED" "cannot rename $live to $previous (clients still connected?)"
  else
    previous=""
  fi
  sql -c "ALTER DATABASE \"$staging\" RENAME TO \"$live\"" || die "$EXIT_FAILED" "cannot rename $staging to $live; the previous database is $previous"
  if [[ -n "$previous" && "$RESTORE_KEEP_PREVIOUS" == 0 ]]; then
    sql -c "DROP DATABASE \"$previous\"" && previous=""
  fi
  log info "database $live restored from $name${previous:+; previous content kept as database $previous}"
  restored+=("database=$name")
}

restore_files() {
  local dir name paths path rel target_dir staging components
  dir=$(resolve_backup "$target" files.tar.gz)
  name=$(basename "$dir")
  log info "restoring files under $RESTORE_ROOT from backup $name"
  check_part_checksum "$dir" files.tar.gz files_sha256
  check_part_checksum "$dir" files.sha256 files_checksums_sha256
  paths=$(manifest_get "$dir/manifest.json" files_paths)
  for path in $paths; do
    rel=${path#/}
    target_dir="${RESTORE_ROOT%/}/$rel"
    staging="$target_dir/.aibid-restore-$stamp"
    components=$(tr -cd / <<<"$rel/" | wc -c)
    mkdir -p "$staging" || die "$EXIT_FAILED" "cannot create $staging"
    # Extract first, replace after: a broken archive leaves the current files in place.
    if ! tar -xzf "$dir/files.tar.gz" -C "$staging" --strip-components="$components" "$rel"; then
      rm -rf "$staging"
      die "$EXIT_FAILED" "cannot extract $rel from $name; $target_dir was not changed"
    fi
    find "$target_dir" -mindepth 1 -maxdepth 1 ! -name ".aibid-restore-$stamp" -exec rm -rf {} +
    find "$staging" -mindepth 1 -maxdepth 1 -exec mv -t "$target_dir" {} +
    rmdir "$staging"
    log info "replaced the content of $target_dir"
  done
  (cd "$RESTORE_ROOT" && sha256sum --quiet --strict -c "$dir/files.sha256") >&2 ||
    die "$EXIT_INTEGRITY" "restored files differ from backup $name's checksums"
  log info "all $(wc -l <"$dir/files.sha256" | tr -d ' ') restored files match their sha256"
  restored+=("files=$name")
}

restored=()
case "$what" in
  database) restore_database ;;
  files) restore_files ;;
  both)
    restore_database
    restore_files
    ;;
esac
printf '%s result=success %s\n' "$SCRIPT_NAME" "${restored[*]}" >&2
