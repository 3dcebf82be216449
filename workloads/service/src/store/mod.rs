//! Persistence through sqlx for PostgreSQL (cluster) and SQLite (embedded), with one set of queries run over
//! `sqlx::Any` (`$N` placeholders and Unix-second integers work on both). One file per table group.

pub mod accounts;
pub mod audit;
pub mod documents;
pub mod ledger;
pub mod outlines;
pub mod projects;
pub mod sections;
pub mod tasks;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;
use std::time::Duration;

pub use sqlx::Error as DbError;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub pool: AnyPool,
    postgres: bool,
}

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Connects lazily: the pool opens connections on first use, so a process starts (and `/ready` reports 503)
    /// while the database is down, and recovers when it returns.
    pub async fn connect(url: &str, pool_size: u32) -> Result<Store, DbError> {
        install_default_drivers();
        let postgres = url.starts_with("postgres");
        if !postgres {
            create_sqlite_parent_dir(url);
        }
        let pool = AnyPoolOptions::new()
            // SQLite takes one writer at a time, and a transaction that reads and then writes fails at once with
            // "database is locked" when another connection wrote meanwhile (the busy timeout does not apply):
            // one connection serialises the embedded mode's few writers instead.
            .max_connections(if postgres { pool_size } else { 1 })
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if !postgres {
                        // WAL + busy timeout: the API and in-process workers write concurrently.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(url)?;
        Ok(Store { pool, postgres })
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let migrator = if self.postgres {
            &POSTGRES_MIGRATIONS
        } else {
            &SQLITE_MIGRATIONS
        };
        migrator.run(&self.pool).await
    }

    /// True when a trivial query answers (used by `/ready`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

fn create_sqlite_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            // A failure here surfaces as the connect error that names the file.
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// Seconds since the Unix epoch, the time representation of every table.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub mod testing {
    //! Databases for tests (used by unit and integration tests): a fresh SQLite file, a fresh database on the
    //! test PostgreSQL server, or a private PostgreSQL server a test may stop and start.
    use super::Store;
    use std::path::PathBuf;

    pub async fn sqlite() -> Store {
        let dir = std::env::temp_dir().join(format!("aibid-store-{}", super::new_id()));
        let url = format!("sqlite://{}/aibid.db?mode=rwc", dir.display());
        let store = Store::connect(&url, 4)
            .await
            .unwrap_or_else(|e| panic!("sqlite {url}: {e}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate sqlite: {e}"));
        store
    }

    /// A new database on the test PostgreSQL server (AIBID_TEST_DATABASE_URL), so tests do not share rows.
    pub async fn postgres() -> Store {
        postgres_with_url().await.0
    }

    /// Like [`postgres`], also returning the new database's URL (for processes started by a test).
    pub async fn postgres_with_url() -> (Store, String) {
        let base = std::env::var("AIBID_TEST_DATABASE_URL").unwrap_or_else(|_| {
            panic!("AIBID_TEST_DATABASE_URL is not set: run ./hack/test.sh (it starts PostgreSQL)")
        });
        let admin = Store::connect(&base, 2)
            .await
            .unwrap_or_else(|e| panic!("postgres {base}: {e}"));
        let name = format!("aibid_test_{}", super::new_id().replace('-', ""));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin.pool)
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
        let (prefix, _) = base
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("AIBID_TEST_DATABASE_URL has no database: {base}"));
        let url = format!("{prefix}/{name}");
        let store = Store::connect(&url, 8)
            .await
            .unwrap_or_else(|e| panic!("postgres: {e}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate postgres: {e}"));
        (store, url)
    }

    /// A private PostgreSQL server for a test that stops and starts it (the shared one stays up for other tests).
    pub struct PrivatePostgres {
        bin: PathBuf,
        data: PathBuf,
        port: u16,
    }

    impl PrivatePostgres {
        fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
            let path = self.bin.join(program);
            let mut command = if is_root() {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&path);
                c
            } else {
                std::process::Command::new(&path)
            };
            command
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }

        pub fn init() -> PrivatePostgres {
            let bin = PathBuf::from(std::env::var("AIBID_TEST_PG_BIN").unwrap_or_else(|_| {
                panic!("AIBID_TEST_PG_BIN is not set: run ./hack/test.sh (hack/env/postgres.sh exports it)")
            }));
            let dir = std::env::temp_dir().join(format!("aibid-pg-{}", super::new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            if is_root() {
                let chown = std::process::Command::new("chown")
                    .arg("postgres")
                    .arg(&dir)
                    .status()
                    .unwrap();
                assert!(chown.success());
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let pg = PrivatePostgres {
                bin,
                data: dir.join("data"),
                port,
            };
            let data = pg.data.display().to_string();
            let out = pg.run(
                "initdb",
                &["-D", &data, "-U", "aibid", "--auth=trust", "-E", "UTF8"],
            );
            assert!(
                out.status.success(),
                "initdb: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            pg.start();
            pg
        }

        pub fn start(&self) {
            let data = self.data.display().to_string();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
                self.port, data
            );
            let out = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &data,
                    "-w",
                    "-o",
                    &options,
                    "-l",
                    &format!("{data}/../log"),
                    "start",
                ],
            );
            assert!(
                out.status.success(),
                "pg_ctl start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        pub fn stop(&self) {
            let out = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
            assert!(
                out.status.success(),
                "pg_ctl stop: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        pub fn url(&self) -> String {
            format!("postgres://aibid@127.0.0.1:{}/postgres", self.port)
        }
    }

    impl Drop for PrivatePostgres {
        fn drop(&mut self) {
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-m",
                    "immediate",
                    "stop",
                ],
            );
            if let Some(dir) = self.data.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn is_root() -> bool {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests;
