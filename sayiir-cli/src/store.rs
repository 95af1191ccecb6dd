//! Opening the store a `--store` URL names.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sayiir::store::Store;

use crate::error::CliError;

/// A store URL, read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(String),
}

fn parse(url: &str) -> Result<Target, CliError> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        // `sqlite://relative/app.db`, `sqlite:///absolute/app.db`, `sqlite:app.db`.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if path.is_empty() {
            return Err(CliError::Usage(
                "the store URL `sqlite:` names no file: write `sqlite://path/app.db`".into(),
            ));
        }
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
        return Ok(Target::Postgres(url.to_owned()));
    }
    Err(CliError::Usage(format!(
        "`{}` is not a store URL: write `sqlite://path/app.db`, `sqlite:path/app.db` or `postgres://user@host/database`",
        crate::output::clean(url)
    )))
}

/// Opens the store `url` names: `sqlite://path/app.db` (relative), `sqlite:///srv/app.db`
/// (absolute), `sqlite:path/app.db`, or `postgres://user:password@host:port/database` (with
/// the parameters libpq's URLs take: `sslmode`, `sslrootcert`...).
///
/// A SQLite file must exist (the command line never creates a store; exit code 5 otherwise).
/// Opening does not take the SQLite worker lock: the command line runs no worker, and works
/// beside the running worker process. Opening migrates an older schema as any engine does, and
/// refuses a newer one ([`StoreError::SchemaTooNew`](sayiir::store::StoreError::SchemaTooNew)).
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, CliError> {
    match parse(url)? {
        Target::Sqlite(path) => open_sqlite(&path).await,
        Target::Postgres(url) => open_postgres(&url).await,
    }
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>, CliError> {
    if !path.exists() {
        return Err(CliError::NoDatabase(path.to_path_buf()));
    }
    let path = path.to_path_buf();
    // Opening checks and may migrate the schema: blocking work.
    let store = tokio::task::spawn_blocking(move || sayiir::SqliteStore::open(path))
        .await
        .map_err(|e| CliError::Failed(format!("opening the SQLite store failed: {e}")))??;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_path: &Path) -> Result<Arc<dyn Store>, CliError> {
    Err(CliError::Unsupported(
        "this build of sayiir-cli has no SQLite support (feature `sqlite`)".into(),
    ))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Store>, CliError> {
    use std::time::Duration;
    // A few connections are plenty for one command; give up soon on a server that does not
    // answer.
    let options = sayiir::PgOptions::default()
        .max_connections(4)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10));
    Ok(Arc::new(sayiir::PgStore::connect_with(url, options).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn Store>, CliError> {
    Err(CliError::Unsupported(
        "this build of sayiir-cli has no PostgreSQL support (feature `postgres`)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        let sqlite = |p: &str| Some(Target::Sqlite(PathBuf::from(p)));
        assert_eq!(parse("sqlite://data/app.db").ok(), sqlite("data/app.db"));
        assert_eq!(parse("sqlite:///srv/app.db").ok(), sqlite("/srv/app.db"));
        assert_eq!(parse("sqlite:app.db").ok(), sqlite("app.db"));
        assert_eq!(parse("sqlite://app.db?mode=ro").ok(), sqlite("app.db"));
        let pg = |u: &str| Some(Target::Postgres(u.into()));
        assert_eq!(parse("postgres://u@h/db").ok(), pg("postgres://u@h/db"));
        assert_eq!(parse("PostgreSQL://u@h/db").ok(), pg("PostgreSQL://u@h/db"));
        for bad in ["app.db", "mysql://h/db", "sqlite:", "sqlite://"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::USAGE, "{bad}");
        }
    }
}
