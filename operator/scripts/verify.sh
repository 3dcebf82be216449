#!/usr/bin/env bash
# Proves the newest database backup restores: `verify.sh [NAME|latest]`. Checks the dump's sha256 against its
# manifest, restores it into a scratch database, compares exact row counts with the manifest and drops the scratch
# database again (also on failure). Exit 3 when the dump was altered or counts differ.
# Env: PGHOST PGPORT PGUSER PGPASSWORD (a role that may CREATE DATABASE); BACKUP_DIR;
# VERIFY_DATABASE (scratch database name, default aibid_verify; it is dropped and recreated).
# shellcheck source=SCRIPTDIR/backup-lib.sh
source "$(dirname "$0")/backup-lib.sh"

require_env PGHOST PGUSER
target=${1:-latest}
scratch=${VERIFY_DATABASE:-aibid_verify}
[[ "$scratch" =~ ^[a-z_][a-z0-9_]*$ ]] || die "$EXIT_USAGE" "VERIFY_DATABASE '$scratch' must be a plain lower-case identifier"
maintenance_db=${PGMAINTENANCE_DATABASE:-postgres}

dir=$(resolve_backup "$target" db.dump)
name=$(basename "$dir")
log info "verifying backup $name by restoring it into scratch database $scratch"
check_part_checksum "$dir" db.dump db_sha256

drop_scratch() { psql -X -q -d "$maintenance_db" -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true; }
trap drop_scratch EXIT
drop_scratch
psql -X -q -v ON_ERROR_STOP=1 -d "$maintenance_db" -c "CREATE DATABASE \"$scratch\"" ||
  die "$EXIT_FAILED" "cannot create scratch database $scratch"
pg_restore --exit-on-error --no-owner --no-privileges --dbname="$scratch" "$dir/db.dump" ||
  die "$EXIT_FAILED" "pg_restore of $name into $scratch failed"
compare_row_counts "$dir/manifest.json" "$scratch" || die "$EXIT_INTEGRITY" "backup $name does not restore to the rows it recorded"
printf '%s result=success name=%s\n' "$SCRIPT_NAME" "$name" >&2
