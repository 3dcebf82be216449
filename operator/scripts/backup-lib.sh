# shellcheck shell=bash
# Shared helpers of the aibid backup, retention, verify and restore scripts (sourced, not run).
# The operator mounts every file of operator/scripts/ into one directory, so siblings are found next to $0.
#
# Layout under $BACKUP_DIR (one directory per backup, renamed into place only when complete):
#   db/db-20261203T020000Z/      manifest.json db.dump
#   files/files-20261203T030000Z/ manifest.json files.tar.gz files.sha256
#   full/full-20261206T040000Z/  manifest.json db.dump files.tar.gz files.sha256
# Exit codes of every script: 0 success, 1 operation failed, 2 usage or configuration error,
# 3 integrity error (checksum or row counts differ from the manifest).

set -euo pipefail

readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_INTEGRITY=3
readonly BACKUP_KINDS="db files full"
SCRIPT_NAME=$(basename "$0" .sh)

: "${BACKUP_DIR:=/backups}"
: "${PGCONNECT_TIMEOUT:=10}"
export PGCONNECT_TIMEOUT

# An external database comes as one URL (postgresql://user:password@host:port/database) from a Secret; the
# scripts work with the libpq PG* variables, so split it. PG* variables set explicitly win.
percent_decode() { printf '%b' "${1//%/\\x}"; }
if [[ -n "${DATABASE_URL:-}" ]]; then
  if [[ "$DATABASE_URL" =~ ^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/?]+)(:([0-9]+))?/([^?]+)(\?.*)?$ ]]; then
    : "${PGUSER:=$(percent_decode "${BASH_REMATCH[2]}")}" "${PGPASSWORD:=$(percent_decode "${BASH_REMATCH[4]}")}"
    : "${PGHOST:=${BASH_REMATCH[5]}}" "${PGPORT:=${BASH_REMATCH[7]:-5432}}"
    : "${PGDATABASE:=$(percent_decode "${BASH_REMATCH[8]}")}"
    [[ "${BASH_REMATCH[9]}" =~ [?\&]sslmode=([a-z-]+) ]] && : "${PGSSLMODE:=${BASH_REMATCH[1]}}" && export PGSSLMODE
    export PGUSER PGPASSWORD PGHOST PGPORT PGDATABASE
  else
    printf 'DATABASE_URL is not of the form postgresql://user:password@host[:port]/database\n' >&2
    exit 2
  fi
fi

now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# logfmt lines on stderr, so stdout stays free for values a caller captures.
log() {
  local level=$1
  shift
  printf '%s %s level=%s msg="%s"\n' "$(now_utc)" "$SCRIPT_NAME" "$level" "$*" >&2
}
die() {
  local code=$1
  shift
  log error "$*"
  printf '%s result=failure exit_code=%s reason="%s"\n' "$SCRIPT_NAME" "$code" "$*" >&2
  exit "$code"
}
require_env() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || die "$EXIT_USAGE" "environment variable $name must be set"
  done
}
require_kind() {
  case " $BACKUP_KINDS " in
    *" $1 "*) ;;
    *) die "$EXIT_USAGE" "unknown backup kind '$1' (expected one of: $BACKUP_KINDS)" ;;
  esac
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { wc -c <"$1" | tr -d ' '; }

# "db-20261203T020000Z" -> seconds since the epoch; fails on names that do not carry a timestamp.
backup_epoch() {
  local stamp=${1##*-}
  [[ "$stamp" =~ ^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$ ]] || return 1
  date -u -d "${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}:${BASH_REMATCH[5]}:${BASH_REMATCH[6]}" +%s
}

# Complete backups of one kind, oldest first (names sort by time because the stamp is fixed-width UTC).
complete_backups() {
  local kind=$1 dir
  for dir in "$BACKUP_DIR/$kind/$kind"-*; do
    [[ -f "$dir/manifest.json" ]] && backup_epoch "$(basename "$dir")" >/dev/null && printf '%s\n' "$dir"
  done | sort
}

# The directory of a backup given by name, or the newest complete backup that has PART (db.dump or files.tar.gz).
resolve_backup() {
  local name=$1 part=$2 dir
  if [[ "$name" == latest ]]; then
    dir=$(for kind in $BACKUP_KINDS; do complete_backups "$kind"; done |
      while read -r d; do [[ -f "$d/$part" ]] && printf '%s %s\n' "${d##*-}" "$d"; done | sort | tail -n 1 | cut -d' ' -f2-)
    [[ -n "$dir" ]] || die "$EXIT_FAILED" "no complete backup containing $part under $BACKUP_DIR"
  else
    [[ "$name" =~ ^(db|files|full)-[0-9]{8}T[0-9]{6}Z$ ]] || die "$EXIT_USAGE" "backup name '$name' is not of the form <db|files|full>-YYYYMMDDTHHMMSSZ or 'latest'"
    dir="$BACKUP_DIR/${name%%-*}/$name"
    [[ -f "$dir/manifest.json" ]] || die "$EXIT_FAILED" "backup $name not found (no $dir/manifest.json)"
    [[ -f "$dir/$part" ]] || die "$EXIT_USAGE" "backup $name has no $part"
  fi
  printf '%s\n' "$dir"
}

# Manifests are written by write_manifest below with one key per line, so a line match reads them without jq
# (which the postgres images do not ship).
manifest_get() {
  local file=$1 key=$2 value
  value=$(sed -n "s/^  \"$key\": \(.*\)$/\1/p" "$file" | sed 's/,$//')
  [[ -n "$value" ]] || die "$EXIT_INTEGRITY" "manifest $file has no \"$key\""
  value=${value#\"}
  printf '%s\n' "${value%\"}"
}

# Integrity of one part of a backup against the sha256 its manifest recorded.
check_part_checksum() {
  local dir=$1 part=$2 key=$3 expected actual
  expected=$(manifest_get "$dir/manifest.json" "$key")
  actual=$(sha256_of "$dir/$part")
  [[ "$expected" == "$actual" ]] ||
    die "$EXIT_INTEGRITY" "$(basename "$dir")/$part sha256 is $actual but the manifest says $expected: the backup is damaged or was altered"
  log info "$(basename "$dir")/$part sha256 matches the manifest"
}

# Exact row counts of every user table as one JSON object with sorted keys ("schema.table": rows).
# Extension-owned tables are left out: pg_dump does not dump their rows either.
readonly ROW_COUNTS_SQL="SELECT coalesce(json_object_agg(t.name, t.n ORDER BY t.name), '{}')::text FROM (
  SELECT format('%s.%s', n.nspname, c.relname) AS name,
         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                                              false, true, '')))[1]::text::bigint AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')) t;"

row_counts() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$ROW_COUNTS_SQL"; }

# Compares the manifest's row counts with those of DATABASE; names every table that differs.
compare_row_counts() {
  local manifest=$1 database=$2 expected actual differences
  expected=$(manifest_get "$manifest" tables) || return 1
  actual=$(row_counts "$database") || die "$EXIT_FAILED" "could not count rows in database $database"
  differences=$(psql -X -At -v ON_ERROR_STOP=1 -d "$database" -v expected="$expected" -v actual="$actual" <<'SQL'
SELECT format('%s: manifest %s, restored %s', coalesce(e.key, a.key),
              coalesce(e.value::text, 'absent'), coalesce(a.value::text, 'absent'))
FROM json_each_text(:'expected'::json) e FULL JOIN json_each_text(:'actual'::json) a ON a.key = e.key
WHERE e.value IS DISTINCT FROM a.value
ORDER BY 1;
SQL
  ) || die "$EXIT_FAILED" "could not compare row counts in database $database"
  if [[ -n "$differences" ]]; then
    log error "row counts differ from the manifest: ${differences//$'\n'/; }"
    return 1
  fi
  log info "row counts of $(grep -o '":' <<<"$expected" | wc -l | tr -d ' ') tables match the manifest"
}
