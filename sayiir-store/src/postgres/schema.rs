//! The first connection: checking the server and the database, and migrating the schema.
//!
//! The migrations are embedded in the binary and applied through sqlx's migration support, which
//! records them (version and checksum) in the table `sayiir_migrations` (not sqlx's default `_sqlx_migrations`, which the
//! application may use for its own migrations in the same database). Each migration runs in
//! one transaction. Processes that connect at once are serialized by a session-level advisory
//! lock that sayiir takes around the whole check-and-migrate step, on a connection of its own
//! that is closed afterwards (closing it releases the lock, even after an error). A store made
//! from the application's pool takes that connection from the pool: it goes back to the pool
//! after a success (the lock released) and is closed after an error.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{Connection, PgConnection, SqlSafeStr};

use super::PgOptions;
use super::fail::{Target, map_connect, map_sqlx};
use crate::StoreError;

/// The migrations, oldest first: `(version, description, sql)`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "instances, history and signals",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "free space for HOT updates of instance heads",
        include_str!("../../migrations/postgres/0002_fillfactor.sql"),
    ),
    (
        3,
        "workflow versions: version, fingerprint, state id, input, definitions",
        include_str!("../../migrations/postgres/0003_versions.sql"),
    ),
    (
        4,
        "lease generations",
        include_str!("../../migrations/postgres/0004_lease_generation.sql"),
    ),
    (
        5,
        "worker registrations: what each worker runs and until when it is alive",
        include_str!("../../migrations/postgres/0005_workers.sql"),
    ),
    (
        6,
        "indexes of operators' listings: by status, workflow, block kind, creation time",
        include_str!("../../migrations/postgres/0006_admin.sql"),
    ),
    (
        7,
        "the trace context instances were started under",
        include_str!("../../migrations/postgres/0007_trace_context.sql"),
    ),
    (
        8,
        "concurrency limits: their slots, held under instances' leases",
        include_str!("../../migrations/postgres/0008_limits.sql"),
    ),
    (
        9,
        "schedules",
        include_str!("../../migrations/postgres/0009_schedules.sql"),
    ),
    (
        10,
        "claim priorities: priority and head start of each instance, the index of head starts",
        include_str!("../../migrations/postgres/0010_priority.sql"),
    ),
    (
        11,
        "admission gates: concurrency limits per workflow type and per key",
        include_str!("../../migrations/postgres/0011_gates.sql"),
    ),
    (
        12,
        "namespaces: the namespace of each instance, schedule and worker registration",
        include_str!("../../migrations/postgres/0012_namespaces.sql"),
    ),
    (
        13,
        "the audit log of the HTTP API's actions",
        include_str!("../../migrations/postgres/0013_audit.sql"),
    ),
    (
        14,
        "instance counts kept by triggers, for stats at any size",
        include_str!("../../migrations/postgres/0014_counts.sql"),
    ),
];

/// The table recording the applied migrations.
const TABLE: &str = "sayiir_migrations";

/// Key of the advisory lock held while migrating ("SYYRMIGR"). Advisory locks belong to one
/// database, so stores of different databases on one server do not wait for each other.
const LOCK_KEY: i64 = 0x5359_5952_4d49_4752;

/// The newest schema version this build knows.
pub(super) fn newest() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _, _)| *v)
}

/// The versions of the embedded migrations, oldest first.
pub(super) fn versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|(v, _, _)| *v).collect()
}

/// The embedded migrations, with their checksums.
fn migrations() -> Vec<Migration> {
    MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect()
}

/// Connects once to check the server and the database, and migrates the schema.
pub(super) async fn prepare(
    connect: &PgConnectOptions,
    options: &PgOptions,
    target: &Target,
) -> Result<(), StoreError> {
    let mut conn =
        match tokio::time::timeout(options.connect_timeout, PgConnection::connect_with(connect))
            .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(map_connect(e, target)),
            Err(_) => {
                return Err(StoreError::Unavailable {
                    detail: format!(
                        "{target} did not answer within {:?} (the connect timeout)",
                        options.connect_timeout
                    ),
                });
            }
        };
    let result = migrate(&mut conn, options.acquire_timeout, target).await;
    // Closing ends the session, which releases the lock whatever happened. If the connection
    // is broken, dropping it does the same.
    let _ = tokio::time::timeout(options.connect_timeout, conn.close()).await;
    result
}

/// Checks the server and the database and migrates the schema on a connection of `pool`,
/// waiting for the lock (and for the connection) as long as the pool's acquire timeout.
pub(super) async fn prepare_pool(pool: &PgPool, target: &Target) -> Result<(), StoreError> {
    let timeout = pool.options().get_acquire_timeout();
    let mut conn = pool.acquire().await.map_err(|e| map_connect(e, target))?;
    let result = migrate(&mut conn, timeout, target).await;
    if result.is_err() {
        // The session may still hold the lock (or a lock request may be pending): it must not
        // go back to the pool. Closing it ends the session.
        let _ = tokio::time::timeout(timeout, conn.detach().close()).await;
    }
    result
}

async fn migrate(
    conn: &mut PgConnection,
    lock_timeout: Duration,
    target: &Target,
) -> Result<(), StoreError> {
    let lock = sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn);
    match tokio::time::timeout(lock_timeout, lock).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(map_sqlx(e, target)),
        Err(_) => {
            return Err(StoreError::Unavailable {
                detail: format!(
                    "another process kept migrating the sayiir schema of {target} for longer \
                     than {lock_timeout:?} (the acquire timeout)"
                ),
            });
        }
    }
    apply_migrations(conn)
        .await
        .map_err(|e| map_migrate(e, target))?;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(|e| map_sqlx(e, target))?;
    Ok(())
}

/// Checks the applied migrations against this build's and applies the missing ones, each in
/// a transaction of its own that also records it (what sqlx's `Migrator::run` does, through
/// the public `Migrate` trait: an `async fn` awaiting `Migrator::run` is not provably `Send`,
/// "implementation of `Acquire` is not general enough"). The caller holds the lock.
async fn apply_migrations(conn: &mut PgConnection) -> Result<(), MigrateError> {
    let migrations = migrations();
    conn.ensure_migrations_table(TABLE).await?;
    if let Some(version) = conn.dirty_version(TABLE).await? {
        return Err(MigrateError::Dirty(version));
    }
    let applied = conn.list_applied_migrations(TABLE).await?;
    // The newest unknown version first, so that a newer schema reports its newest version.
    let mut unknown: Vec<i64> = applied
        .iter()
        .map(|a| a.version)
        .filter(|v| !migrations.iter().any(|m| m.version == *v))
        .collect();
    unknown.sort_unstable();
    if let Some(version) = unknown.pop() {
        return Err(MigrateError::VersionMissing(version));
    }
    for migration in &migrations {
        match applied.iter().find(|a| a.version == migration.version) {
            Some(a) if a.checksum != migration.checksum => {
                return Err(MigrateError::VersionMismatch(migration.version));
            }
            Some(_) => {}
            None => {
                conn.apply(TABLE, migration).await?;
            }
        }
    }
    Ok(())
}

fn map_migrate(e: MigrateError, target: &Target) -> StoreError {
    match e {
        MigrateError::Execute(e) => map_sqlx(e, target),
        MigrateError::ExecuteMigration(e, version) => match map_sqlx(e, target) {
            StoreError::Backend { detail } => StoreError::Backend {
                detail: format!("applying sayiir schema migration {version}: {detail}"),
            },
            other => other,
        },
        MigrateError::VersionMissing(found) if found > newest() => StoreError::SchemaTooNew {
            found,
            supported: newest(),
        },
        MigrateError::VersionMissing(version) => StoreError::Backend {
            detail: format!(
                "the database {target} has sayiir schema migration {version} applied, which \
                 this build does not know; it was migrated by a different build of sayiir"
            ),
        },
        MigrateError::VersionMismatch(version) => StoreError::Backend {
            detail: format!(
                "sayiir schema migration {version} applied to {target} differs from this \
                 build's; the database was migrated by a different build of sayiir"
            ),
        },
        MigrateError::Dirty(version) => StoreError::Backend {
            detail: format!(
                "sayiir schema migration {version} of {target} is partially applied \
                 (`{TABLE}`.success is false)"
            ),
        },
        other => StoreError::Backend {
            detail: format!("migrating the sayiir schema of {target}: {other}"),
        },
    }
}
