//! The stores the scenarios run on: a fresh SQLite file or a fresh PostgreSQL database each.

use std::path::PathBuf;
use std::sync::Arc;

use sayiir::{PgOptions, PgStore, SqliteOptions, SqliteStore, Synchronous};
use sayiir_store::Store;
use sayiir_store::pg_harness::{self, PgTestDb};

use crate::BoxError;

/// `--sqlite-cache-mib`, set once from the command line (`None`: the store's default).
pub(crate) static SQLITE_CACHE_MIB: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();

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

    pub(crate) fn sqlite_options(self) -> SqliteOptions {
        let sync = if self == StoreKind::SqliteNormal {
            Synchronous::Normal
        } else {
            Synchronous::Full
        };
        let options = SqliteOptions::default().synchronous(sync);
        match SQLITE_CACHE_MIB.get().copied().flatten() {
            Some(mib) => options.cache_mib(mib),
            None => options,
        }
    }
}

/// Where a fresh store lives: removed (directory) or dropped (database) with this value.
pub(crate) enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(PgTestDb),
}

impl Place {
    /// A fresh place for `kind` named after `label`: a directory under `$SAYIIR_BENCH_DIR`
    /// (default: the temp dir), or a database on the server of `pg_url` (default: a throwaway
    /// local cluster).
    pub(crate) async fn new(
        kind: StoreKind,
        pg_url: Option<&str>,
        label: &str,
    ) -> Result<Self, BoxError> {
        match kind {
            StoreKind::SqliteFull | StoreKind::SqliteNormal => {
                let base = std::env::var_os("SAYIIR_BENCH_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir);
                let dir = tempfile::Builder::new()
                    .prefix(&format!("sayiir-bench-{label}-"))
                    .tempdir_in(base)?;
                Ok(Place::Sqlite(dir))
            }
            StoreKind::Postgres => match pg_url {
                Some(admin) => Ok(Place::Postgres(
                    pg_harness::create_database(admin, &format!("bench_{label}")).await?,
                )),
                None => pg_harness::fresh_database(&format!("bench_{label}"))
                    .await
                    .map(Place::Postgres)
                    .ok_or_else(|| {
                        "no --pg-url given and no PostgreSQL binaries found to start a \
                         throwaway server"
                            .into()
                    }),
            },
        }
    }

    /// A fresh place for a scenario that runs the engine: [`Place::new`], then filled with
    /// `args.prefill` finished instances (`--prefill`).
    pub(crate) async fn prefilled(
        kind: StoreKind,
        args: &crate::args::Args,
        label: &str,
    ) -> Result<Self, BoxError> {
        let place = Place::new(kind, args.pg_url.as_deref(), label).await?;
        crate::list::prefill(kind, &place, args.prefill, label).await?;
        Ok(place)
    }

    /// What a child process opens: the SQLite file's path or the database's URL.
    pub(crate) fn locator(&self) -> String {
        match self {
            Place::Sqlite(dir) => dir.path().join("bench.db").display().to_string(),
            Place::Postgres(db) => db.url().to_owned(),
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
