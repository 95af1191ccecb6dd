//! The stores the scenarios run on: a fresh SQLite file or a fresh PostgreSQL database each.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sayiir::{PgOptions, PgStore, SqliteOptions, SqliteStore, Synchronous};
use sayiir_store::Store;
use sqlx::Connection;

use crate::BoxError;

/// Which store to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    SqliteFull,
    SqliteNormal,
    Postgres,
}

impl StoreKind {
    pub(crate) const ALL: [StoreKind; 3] = [
        StoreKind::SqliteFull,
        StoreKind::SqliteNormal,
        StoreKind::Postgres,
    ];

    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreKind::SqliteFull => "sqlite-full",
            StoreKind::SqliteNormal => "sqlite-normal",
            StoreKind::Postgres => "postgres",
        }
    }

    fn sqlite_options(self) -> SqliteOptions {
        let sync = if self == StoreKind::SqliteNormal {
            Synchronous::Normal
        } else {
            Synchronous::Full
        };
        SqliteOptions::default().synchronous(sync)
    }
}

/// Where a fresh store lives: removed (file) or dropped (database) when this is dropped.
pub(crate) enum Place {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
    /// A database of the throwaway cluster this program started (no `--pg-url`).
    Throwaway(sayiir_store::pg_harness::PgTestDb),
}

impl Place {
    /// A fresh place for `kind` named after `label`.
    pub(crate) async fn new(
        kind: StoreKind,
        pg_url: Option<&str>,
        label: &str,
    ) -> Result<Self, BoxError> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let unique = format!("{label}_{}_{n}_{nanos}", std::process::id());
        match kind {
            StoreKind::SqliteFull | StoreKind::SqliteNormal => {
                let dir = std::env::var_os("SAYIIR_BENCH_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir)
                    .join(format!("sayiir-bench-{unique}"));
                std::fs::create_dir_all(&dir)?;
                Ok(Place::Sqlite { dir })
            }
            StoreKind::Postgres => {
                let Some(admin) = pg_url.map(str::to_owned) else {
                    return sayiir_store::pg_harness::fresh_database(label)
                        .await
                        .map(Place::Throwaway)
                        .ok_or_else(|| {
                            "no --pg-url given and no PostgreSQL binaries found to start a \
                             throwaway server"
                                .into()
                        });
                };
                let name = format!("sayiir_bench_{unique}");
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL at {admin}: {e}"))?;
                // The name is made of ASCII letters, digits and `_`.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("cannot create database {name}: {e}"))?;
                let url = sayiir_store::pg_harness::with_database(&admin, &name);
                Ok(Place::Postgres { url, admin, name })
            }
        }
    }

    /// What a child process opens: the SQLite file's path or the database's URL.
    pub(crate) fn locator(&self) -> String {
        match self {
            Place::Sqlite { dir } => dir.join("bench.db").display().to_string(),
            Place::Postgres { url, .. } => url.clone(),
            Place::Throwaway(db) => db.url().to_owned(),
        }
    }

    /// Opens the store the engine would use.
    pub(crate) async fn open(&self, kind: StoreKind) -> Result<Arc<dyn Store>, BoxError> {
        open(kind, &self.locator()).await
    }
}

/// Opens `kind` at `locator` (a SQLite path or a PostgreSQL URL).
pub(crate) async fn open(kind: StoreKind, locator: &str) -> Result<Arc<dyn Store>, BoxError> {
    Ok(match kind {
        StoreKind::SqliteFull | StoreKind::SqliteNormal => {
            Arc::new(SqliteStore::open_with(locator, kind.sqlite_options())?)
        }
        StoreKind::Postgres => {
            Arc::new(PgStore::connect_with(locator, PgOptions::default()).await?)
        }
    })
}

impl Drop for Place {
    fn drop(&mut self) {
        match self {
            Place::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { admin, name, .. } => {
                sayiir_store::pg_harness::drop_database(admin, name);
            }
            // Dropping the harness's handle drops its database.
            Place::Throwaway(_) => {}
        }
    }
}
