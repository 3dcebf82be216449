#!/usr/bin/env bash
# Runs the operator's backup, retention, verify and restore scripts (operator/scripts/) for real: a PostgreSQL
# server from the Debian binaries on a free loopback port, a schema with rows, real files; dump, restore into an
# empty database and over a changed one, identical row counts and table contents, identical file checksums;
# retention over backups dated across 40 days; failed dumps delete nothing; tampered backups are detected.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS="$ROOT/operator/scripts"
# shellcheck source=lib/services.bash
source "$ROOT/hack/checks/lib/services.bash"

echo "backup-scripts: starting PostgreSQL ($PG_BIN)"
pg_dir=$(scratch_dir pg)
PG_PORT=$(free_port)
PG_PASSWORD="pw-$RANDOM$RANDOM"
pg_init "$pg_dir/data" "$PG_PASSWORD" || { cat "$pg_dir/data.initdb.log"; exit 1; }
pg_start "$pg_dir/data" "$PG_PORT" || { cat "$pg_dir/data.log"; exit 1; }
at_exit "pg_stop '$pg_dir/data'"
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=$PG_PASSWORD PGDATABASE=aibid
psql_q() { psql -X -At -q -v ON_ERROR_STOP=1 "$@"; }

# --- fixture: a schema with rows in two schemas, an empty table, bytea, a view, and real files ---
psql_q -d postgres -c "CREATE DATABASE aibid"
psql_q <<'SQL'
CREATE TABLE projects (id serial PRIMARY KEY, name text NOT NULL, status text NOT NULL, created_at timestamptz DEFAULT now());
INSERT INTO projects (name, status) SELECT '投标项目 ' || g, (ARRAY['draft','writing','done'])[1 + g % 3] FROM generate_series(1, 137) g;
CREATE TABLE documents (id bigserial PRIMARY KEY, project_id int REFERENCES projects(id), body bytea, pages int);
INSERT INTO documents (project_id, body, pages) SELECT 1 + g % 137, sha256(g::text::bytea), g % 400 FROM generate_series(1, 2500) g;
CREATE SCHEMA queue;
CREATE TABLE queue.tasks (id int PRIMARY KEY, kind text, payload jsonb);
INSERT INTO queue.tasks SELECT g, 'section', jsonb_build_object('n', g) FROM generate_series(1, 41) g;
CREATE TABLE audit_log (id int);
CREATE VIEW done_projects AS SELECT * FROM projects WHERE status = 'done';
SQL
files_root=$(scratch_dir files)
mkdir -p "$files_root/data/uploads/org-1/p-7" "$files_root/data/outputs" "$files_root/config"
head -c 300000 /dev/urandom >"$files_root/data/uploads/org-1/p-7/招标文件.pdf"
printf 'name with spaces\n' >"$files_root/data/uploads/org-1/p-7/tender notes.txt"
printf 'hidden\n' >"$files_root/data/uploads/.keep"
head -c 50000 /dev/urandom >"$files_root/data/outputs/proposal-7.docx"
printf 'log_level = "info"\n' >"$files_root/config/aibid.toml"
export FILES_PATHS="$files_root/data/uploads $files_root/data/outputs $files_root/config"
file_checksums() { (cd / && find "${files_root#/}" -type f -print0 | sort -z | xargs -0 sha256sum); }
table_digest() { # content of every table, not just counts
  psql_q -d "$1" -c "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT 'p' || p::text AS x FROM projects p UNION ALL SELECT 'd' || d::text FROM documents d
    UNION ALL SELECT 't' || t::text FROM queue.tasks t) s"
}
row_counts_of() { psql_q -d "$1" -c "$(bash -c "source '$SCRIPTS/backup-lib.sh'; printf '%s' \"\$ROW_COUNTS_SQL\"")"; }
original_counts=$(row_counts_of aibid)
original_digest=$(table_digest aibid)
original_files=$(file_checksums)

export BACKUP_DIR="$CHECK_TMP/backups"
mkdir -p "$BACKUP_DIR"

echo "backup-scripts: database backup"
db_name=$("$SCRIPTS/backup.sh" db 2>"$CHECK_TMP/backup-db.log")
rc=$?
check "backup.sh db exits 0" test "$rc" = 0
check "backup.sh db prints its result line" grep -q 'result=success kind=db' "$CHECK_TMP/backup-db.log"
db_dir="$BACKUP_DIR/db/$db_name"
check "db backup directory $db_name holds a dump and a manifest" test -s "$db_dir/db.dump" -a -s "$db_dir/manifest.json"
check "dump is PostgreSQL custom format" bash -c "pg_restore --list '$db_dir/db.dump' | grep -q 'TABLE DATA public documents'"
check "manifest sha256 is the dump's" grep -q "\"db_sha256\": \"$(sha256sum "$db_dir/db.dump" | cut -d' ' -f1)\"" "$db_dir/manifest.json"
check "manifest size is the dump's" grep -q "\"db_size_bytes\": $(wc -c <"$db_dir/db.dump")," "$db_dir/manifest.json"
check "manifest row counts per table equal the database's" grep -qF "\"tables\": $original_counts" "$db_dir/manifest.json"
check "row counts include every table (137 projects, 2500 documents, 41 tasks, 0 audit)" \
  test "$original_counts" = '{ "public.audit_log" : 0, "public.documents" : 2500, "public.projects" : 137, "queue.tasks" : 41 }'
check "manifest is valid JSON" python3 -m json.tool "$db_dir/manifest.json" >/dev/null
cat "$db_dir/manifest.json"

sleep 1 # backup names carry the second
url_name=$(env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE \
  DATABASE_URL="postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/aibid?sslmode=disable" "$SCRIPTS/backup.sh" db 2>"$CHECK_TMP/backup-url.log")
check "an external database given only as DATABASE_URL is backed up" grep -qF "\"tables\": $original_counts" "$BACKUP_DIR/db/$url_name/manifest.json"

echo "backup-scripts: files and full backups"
sleep 1 # backup names carry the second
files_name=$("$SCRIPTS/backup.sh" files 2>"$CHECK_TMP/backup-files.log")
check "backup.sh files exits 0 and names its backup" test -n "$files_name" -a -s "$BACKUP_DIR/files/$files_name/files.tar.gz"
check "files manifest counts all 5 files" grep -q '"files_count": 5,' "$BACKUP_DIR/files/$files_name/manifest.json"
check "per-file sha256 list equals the files on disk" \
  diff <(sort -k2 "$BACKUP_DIR/files/$files_name/files.sha256") <(printf '%s\n' "$original_files" | sort -k2)
sleep 1
full_name=$("$SCRIPTS/backup.sh" full 2>"$CHECK_TMP/backup-full.log")
check "backup.sh full holds dump, archive and manifest" \
  test -s "$BACKUP_DIR/full/$full_name/db.dump" -a -s "$BACKUP_DIR/full/$full_name/files.tar.gz" -a -s "$BACKUP_DIR/full/$full_name/manifest.json"
check "full manifest is valid JSON" python3 -m json.tool "$BACKUP_DIR/full/$full_name/manifest.json" >/dev/null

echo "backup-scripts: restore into an empty database"
PGDATABASE=aibid_copy "$SCRIPTS/restore.sh" "$db_name" database 2>"$CHECK_TMP/restore-empty.log"
check "restore.sh $db_name database into a new database exits 0" test $? = 0
check "restored database has identical row counts" test "$(row_counts_of aibid_copy)" = "$original_counts"
check "restored database has identical table contents" test "$(table_digest aibid_copy)" = "$original_digest"
check "restored view works like the original" test "$(psql_q -d aibid_copy -c 'SELECT count(*) FROM done_projects')" = "$(psql_q -d aibid -c 'SELECT count(*) FROM done_projects')"

echo "backup-scripts: restore latest over a changed live database"
psql_q -c "DELETE FROM documents WHERE id % 2 = 0; CREATE TABLE added_later (x int); INSERT INTO added_later VALUES (1);"
RESTORE_KEEP_PREVIOUS=1 "$SCRIPTS/restore.sh" latest database 2>"$CHECK_TMP/restore-live.log"
check "restore.sh latest database exits 0" test $? = 0
check "restore latest used the newest backup holding a dump (the full one)" grep -q "from backup $full_name" "$CHECK_TMP/restore-live.log"
check "live database has the backup's row counts again" test "$(row_counts_of aibid)" = "$original_counts"
check "live database has the backup's contents again" test "$(table_digest aibid)" = "$original_digest"
check "previous content kept as a _pre_restore_ database" \
  test "$(psql_q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'aibid_pre_restore_%'")" = 1
check "no staging database left behind" test "$(psql_q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'aibid_restoring'")" = 0

echo "backup-scripts: restore files"
rm -rf "$files_root/data/uploads/org-1"
printf 'changed\n' >"$files_root/data/outputs/proposal-7.docx"
printf 'stray\n' >"$files_root/config/stray.tmp"
"$SCRIPTS/restore.sh" "$files_name" files 2>"$CHECK_TMP/restore-files.log"
check "restore.sh $files_name files exits 0" test $? = 0
check "restored files have identical checksums (deleted back, changed reverted, stray gone)" \
  test "$(file_checksums)" = "$original_files"
restore_root=$(scratch_dir restore-root)
RESTORE_ROOT=$restore_root "$SCRIPTS/restore.sh" latest files 2>"$CHECK_TMP/restore-files-root.log"
check "files restore into another RESTORE_ROOT reproduces every checksum" \
  test "$(cd "$restore_root" && find "${files_root#/}" -type f -print0 | sort -z | xargs -0 sha256sum)" = "$original_files"

echo "backup-scripts: verify"
"$SCRIPTS/verify.sh" latest 2>"$CHECK_TMP/verify.log"
check "verify.sh latest passes on a good backup" test $? = 0
check "verify.sh drops its scratch database" test "$(psql_q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'aibid_verify'")" = 0
tampered="$BACKUP_DIR/db/db-20200101T000000Z"
cp -r "$db_dir" "$tampered"
printf '\x00\x00\x00\x00' | dd of="$tampered/db.dump" bs=1 seek=2000 conv=notrunc status=none
"$SCRIPTS/verify.sh" db-20200101T000000Z 2>"$CHECK_TMP/verify-tampered.log"
rc=$?
check "verify.sh detects a tampered dump (exit 3)" test "$rc" = 3
check "verify.sh names the sha256 mismatch" grep -q 'sha256 is .* but the manifest says' "$CHECK_TMP/verify-tampered.log"
cp "$db_dir/db.dump" "$tampered/db.dump"
sed -i 's/"public.documents" : 2500/"public.documents" : 2501/' "$tampered/manifest.json"
"$SCRIPTS/verify.sh" db-20200101T000000Z 2>"$CHECK_TMP/verify-counts.log"
rc=$?
check "verify.sh detects row counts that differ from the manifest (exit 3)" test "$rc" = 3
check "verify.sh names the table whose count differs" grep -q 'public.documents: manifest 2501, restored 2500' "$CHECK_TMP/verify-counts.log"
PGDATABASE=aibid "$SCRIPTS/restore.sh" db-20200101T000000Z database 2>"$CHECK_TMP/restore-tampered.log"
rc=$?
check "restore.sh refuses a backup whose rows differ from its manifest (exit 3)" test "$rc" = 3
check "a refused restore leaves the live database unchanged" test "$(table_digest aibid)" = "$original_digest"
rm -rf "$tampered"
cp -r "$BACKUP_DIR/files/$files_name" "$BACKUP_DIR/files/files-20200101T000000Z"
printf 'x' >>"$BACKUP_DIR/files/files-20200101T000000Z/files.tar.gz"
printf 'keep me\n' >"$files_root/config/local-change"
"$SCRIPTS/restore.sh" files-20200101T000000Z files 2>"$CHECK_TMP/restore-files-tampered.log"
rc=$?
check "restore.sh refuses a tampered files archive (exit 3)" test "$rc" = 3
check "a refused files restore changes no file" test -f "$files_root/config/local-change"
rm -rf "$BACKUP_DIR/files/files-20200101T000000Z" "$files_root/config/local-change"

echo "backup-scripts: retention across 40 days"
# Backups dated 0.5, 1.5, ..., 39.5 days ago: with RETAIN_DAYS=30 exactly the 30 younger than 30 days survive.
make_fake_backups() { # DIR KIND FIRST_DAY LAST_DAY
  local day stamp
  for ((day = $3; day <= $4; day++)); do
    stamp=$(date -u -d "@$(($(date -u +%s) - day * 86400 - 43200))" +%Y%m%dT%H%M%SZ)
    mkdir -p "$1/$2/$2-$stamp"
    printf '{"kind": "%s"}\n' "$2" >"$1/$2/$2-$stamp/manifest.json"
    touch -d "@$(($(date -u +%s) - 3600))" "$1/$2/$2-$stamp" # mtimes lie (copied volume); names do not
  done
}
listing() { ls "$1/$2" | sort; }
retention_dir="$CHECK_TMP/retention"
make_fake_backups "$retention_dir" db 0 39
expected_kept=$(listing "$retention_dir" db | tail -n 30)
new_name=$(BACKUP_DIR=$retention_dir RETAIN_DAYS=30 "$SCRIPTS/backup.sh" db 2>"$CHECK_TMP/retention.log")
check "backup with RETAIN_DAYS=30 succeeds" test -n "$new_name"
check "retention keeps exactly the 30 backups younger than 30 days plus the new one" \
  test "$(listing "$retention_dir" db)" = "$(printf '%s\n%s\n' "$expected_kept" "$new_name" | sort)"
check "retention reports 10 deleted" grep -q 'retention result=success kind=db retain_days=30 kept=31 deleted=10' "$CHECK_TMP/retention.log"
make_fake_backups "$retention_dir" files 0 39
RETAIN_DAYS=7 BACKUP_DIR=$retention_dir "$SCRIPTS/retention.sh" files 2>/dev/null
check "files retention with 7 days keeps 7 of 40" test "$(listing "$retention_dir" files | wc -l)" = 7

old_dir="$CHECK_TMP/old-only"
make_fake_backups "$old_dir" db 40 45
newest_old=$(listing "$old_dir" db | tail -n 1)
BACKUP_DIR=$old_dir RETAIN_DAYS=30 "$SCRIPTS/retention.sh" db 2>"$CHECK_TMP/retention-old.log"
check "when every backup is older than RETAIN_DAYS the newest is kept" test "$(listing "$old_dir" db)" = "$newest_old"
mkdir -p "$old_dir/db/.partial-db-20200101T000000Z" "$old_dir/db/.partial-db-29991231T000000Z"
touch -d '2 days ago' "$old_dir/db/.partial-db-20200101T000000Z"
BACKUP_DIR=$old_dir "$SCRIPTS/retention.sh" db 2>/dev/null
check "stale incomplete backups are cleaned, a fresh one (maybe running) is not" \
  test ! -e "$old_dir/db/.partial-db-20200101T000000Z" -a -e "$old_dir/db/.partial-db-29991231T000000Z"

echo "backup-scripts: failed backups delete nothing"
fail_dir="$CHECK_TMP/failing"
make_fake_backups "$fail_dir" db 0 39
make_fake_backups "$fail_dir" files 0 39
before=$(find "$fail_dir" | sort)
PGPASSWORD=wrong BACKUP_DIR=$fail_dir RETAIN_DAYS=30 "$SCRIPTS/backup.sh" db 2>"$CHECK_TMP/fail-password.log"
rc=$?
check "dump with a wrong password exits 1" test "$rc" = 1
check "wrong password is named in the log" grep -q 'password authentication failed' "$CHECK_TMP/fail-password.log"
check "dump with a wrong password prints a failure result line" grep -q 'backup result=failure exit_code=1' "$CHECK_TMP/fail-password.log"
PGPORT=$(free_port) BACKUP_DIR=$fail_dir RETAIN_DAYS=30 "$SCRIPTS/backup.sh" db 2>"$CHECK_TMP/fail-port.log"
check "dump against a closed port exits 1" test $? = 1
FILES_PATHS="$files_root/missing" BACKUP_DIR=$fail_dir RETAIN_DAYS=7 "$SCRIPTS/backup.sh" files 2>"$CHECK_TMP/fail-files.log"
check "files backup of a missing path exits 1" test $? = 1
check "failed backups deleted nothing and left no partial directory" test "$(find "$fail_dir" | sort)" = "$before"
"$SCRIPTS/backup.sh" weekly 2>/dev/null
check "an unknown kind is a usage error (exit 2)" test $? = 2
"$SCRIPTS/restore.sh" latest everything 2>/dev/null
check "restore of an unknown part is a usage error (exit 2)" test $? = 2

finish backup-scripts
