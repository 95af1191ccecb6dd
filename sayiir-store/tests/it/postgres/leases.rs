//! Lease generations on PostgreSQL: upgrading a database of schema 3 in place.

use std::borrow::Cow;

use sayiir_store::conformance::after_upgrade_to_lease_generations;
use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{PgStore, Store};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, Migration, MigrationType};

use super::{id, raw};

#[tokio::test]
async fn a_version_3_database_is_upgraded_in_place() {
    let Some(db) = fresh_database("pg upgrade from 3").await else {
        return;
    };
    {
        // A database as migrated by a build that knew migrations 1 to 3 (same table, same
        // checksums), with an instance leased by a worker of that build and a free one.
        let mut conn = raw(&db).await;
        conn.ensure_migrations_table("sayiir_migrations")
            .await
            .unwrap();
        let old = [
            (
                1,
                include_str!("../../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                include_str!("../../../migrations/postgres/0002_fillfactor.sql"),
            ),
            (
                3,
                include_str!("../../../migrations/postgres/0003_versions.sql"),
            ),
        ];
        for (version, sql) in old {
            let m = Migration::new(
                version,
                Cow::Borrowed("old"),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            );
            conn.apply("sayiir_migrations", &m).await.unwrap();
        }
        sqlx::query(
            "INSERT INTO sayiir_instances (id, workflow, definition_hash, seq, status, state, \
             due_at, lease_owner, lease_until, created_at, updated_at, version, fingerprint, \
             state_id) VALUES \
             ('held', 'wf', $1, 0, 0, '\\x01', 100, 'gone', 150, 100, 100, 1, $2, 'start'), \
             ('free', 'wf', $1, 0, 0, '\\x01', 100, NULL, NULL, 100, 100, 1, $2, 'start')",
        )
        .bind([1u8; 32].as_slice())
        .bind([2u8; 32].as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO sayiir_history (instance_id, seq, at, kind, payload) VALUES \
             ('held', 0, 100, 'started', '\\x02'), ('free', 0, 100, 'started', '\\x02')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let store = PgStore::connect(db.url()).await.unwrap();
    let mut conn = raw(&db).await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM sayiir_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        applied,
        PgStore::schema_versions(),
        "migration 4 and the later ones applied on top of 1 to 3"
    );
    after_upgrade_to_lease_generations(&store).await;
    drop(store);

    // Connecting again migrates nothing and keeps the generations counting.
    let store = PgStore::connect(db.url()).await.unwrap();
    let generation: i64 =
        sqlx::query_scalar("SELECT lease_generation FROM sayiir_instances WHERE id = 'held'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(generation, 2);
    assert_eq!(store.load(&id("held")).await.unwrap().seq, 1);
}
