//! Rows the store cannot read back: each one blocks its own instance, visibly, and nothing
//! else (issue 13, item 9). The store tests check claims and listings row by row; these check
//! that a running worker finishes the healthy instances and what the engine reports.

use sayiir::store::{BlockKind, InstanceId, StoreError, WorkflowKey};
use sayiir::{Engine, EngineError, InstanceStatus, ListQuery, SqliteStore};
use sqlx::Connection;

use super::{raw, twice};

/// A damage: the instance it is done to, the SQL that does it (`?1` / `$1` is the row), the
/// column its problem names, and whether a claim meets the row (and so marks it blocked).
type Damage = (&'static str, &'static str, &'static str, bool);

const HEALTHY: u64 = 5;

/// Starts the damaged instances of `damage` (not run: no worker yet) and the healthy ones.
async fn start_all(engine: &Engine, damage: &[Damage]) -> WorkflowKey {
    for d in damage {
        engine.start::<twice>(d.0, 1).await.unwrap();
    }
    for i in 0..HEALTHY {
        engine.start::<twice>(&format!("ok-{i}"), i).await.unwrap();
    }
    let id = InstanceId::new("ok-0").unwrap();
    engine.store().load(&id).await.unwrap().key()
}

/// Runs a worker until every healthy instance finished (within a few seconds), then checks
/// what the engine reports: the damaged rows listed beside the healthy instances with their
/// problem, and no due time left for the worker.
async fn healthy_finish_and_damage_is_reported(
    engine: &Engine,
    key: WorkflowKey,
    listed: &[(&str, &str)],
) {
    let worker = engine.spawn_worker();
    for i in 0..HEALTHY {
        let id = format!("ok-{i}");
        let out =
            crate::common::within(&format!("`{id}` to finish"), engine.result::<twice>(&id)).await;
        assert_eq!(out.unwrap(), i * 4, "{id}");
    }
    worker.shutdown().await.unwrap();

    let listing = engine.list(&ListQuery::default()).await.unwrap();
    let completed: Vec<String> = listing
        .instances
        .iter()
        .filter(|i| i.status == InstanceStatus::Completed)
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(
        completed,
        (0..HEALTHY).map(|i| format!("ok-{i}")).collect::<Vec<_>>()
    );
    let damaged: Vec<&str> = listing.damaged.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<&str> = listed.iter().map(|d| d.0).collect();
    assert_eq!(damaged, expected, "{listing:?}");
    for (d, (_, column)) in listing.damaged.iter().zip(listed) {
        assert!(
            d.problem.contains(&format!("column `{column}`")),
            "{d}: {}",
            d.problem
        );
        assert_eq!(d.workflow.as_deref(), Some("twice"));
        assert!(!d.to_string().contains('\n'), "{d}");
    }
    assert_eq!(
        engine.store().next_due(&[key]).await.unwrap(),
        None,
        "a damaged row is still due: the worker would spin on it"
    );
}

/// `status` of a damaged instance is a typed error naming the column.
async fn status_names_the_column(engine: &Engine, id: &str, column: &str) {
    match engine.status(id).await {
        Err(EngineError::Store(StoreError::InvalidData { id: found, detail })) => {
            assert_eq!(found, id);
            assert!(detail.contains(&format!("column `{column}`")), "{detail}");
        }
        other => panic!("status of `{id}`: expected InvalidData, got {other:?}"),
    }
}

const SQLITE_DAMAGE: &[Damage] = &[
    (
        "bad-time",
        "UPDATE sayiir_instances SET created_at = 'garbage', due_at = 0 WHERE rowid = ?1",
        "created_at",
        true,
    ),
    (
        "bad-status",
        "UPDATE sayiir_instances SET status = 9 WHERE rowid = ?1",
        "status",
        false,
    ),
    (
        "bad-id",
        "UPDATE sayiir_instances SET id = 'bad' || char(10) || 'id' WHERE rowid = ?1",
        "id",
        true,
    ),
    (
        "bad-type",
        "UPDATE sayiir_instances SET seq = 'seven' WHERE rowid = ?1",
        "seq",
        true,
    ),
];

/// Every column of the row but the block columns, quoted.
fn sqlite_row(db: &std::path::Path, rowid: i64) -> Vec<String> {
    raw(db)
        .query_row(
            "SELECT quote(id), quote(workflow), quote(definition_hash), quote(seq), \
             quote(status), quote(state), quote(output), quote(due_at), quote(lease_owner), \
             quote(lease_until), quote(created_at), quote(updated_at), quote(version), \
             quote(fingerprint), quote(state_id) FROM sayiir_instances WHERE rowid = ?1",
            [rowid],
            |r| (0..15).map(|i| r.get::<_, String>(i)).collect(),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_damaged_rows_block_themselves_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("damaged.db");
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<twice>()
        .build()
        .unwrap();
    let key = start_all(&engine, SQLITE_DAMAGE).await;
    let mut damaged = Vec::new();
    for d in SQLITE_DAMAGE {
        let conn = raw(&db);
        let rowid: i64 = conn
            .query_row(
                "SELECT rowid FROM sayiir_instances WHERE id = ?1",
                [d.0],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(d.1, [rowid]).unwrap();
        damaged.push((d, rowid, sqlite_row(&db, rowid)));
    }
    // The history of a healthy instance gets a bad entry once it finished.
    healthy_finish_and_damage_is_reported(
        &engine,
        key,
        &[
            ("bad\nid", "id"),
            ("bad-status", "status"),
            ("bad-time", "created_at"),
            ("bad-type", "seq"),
        ],
    )
    .await;
    for (d, rowid, before) in &damaged {
        assert_eq!(&sqlite_row(&db, *rowid), before, "`{}` was changed", d.0);
        let (kind, reason): (Option<i64>, Option<String>) = raw(&db)
            .query_row(
                "SELECT blocked_kind, blocked_reason FROM sayiir_instances WHERE rowid = ?1",
                [rowid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if d.3 {
            assert_eq!(kind, Some(BlockKind::CorruptRow.code()), "`{}`", d.0);
            assert!(reason.unwrap().contains(&format!("column `{}`", d.2)));
        } else {
            assert_eq!(kind, None, "`{}`", d.0);
        }
    }
    status_names_the_column(&engine, "bad-time", "created_at").await;
    status_names_the_column(&engine, "bad-type", "seq").await;

    raw(&db)
        .execute(
            "UPDATE sayiir_history SET at = 'noon' WHERE instance_id = 'ok-1' AND seq = 2",
            [],
        )
        .unwrap();
    match engine.history("ok-1").await {
        Err(EngineError::Store(StoreError::InvalidData { detail, .. })) => assert!(
            detail.starts_with("history entry 2: column `sayiir_history.at`"),
            "{detail}"
        ),
        other => panic!("expected InvalidData, got {other:?}"),
    }
}

const PG_DAMAGE: &[Damage] = &[
    (
        "bad-id",
        "UPDATE sayiir_instances SET id = 'bad' || chr(10) || 'id' WHERE id = $1",
        "id",
        true,
    ),
    (
        "bad-version",
        "UPDATE sayiir_instances SET version = -1 WHERE id = $1",
        "version",
        true,
    ),
    (
        "bad-block",
        "UPDATE sayiir_instances SET blocked_kind = 99, blocked_reason = 'x', blocked_at = 1 \
         WHERE id = $1",
        "blocked_kind",
        false,
    ),
    (
        "bad-status",
        "UPDATE sayiir_instances SET status = 9 WHERE id = $1",
        "status",
        false,
    ),
];

/// The row of `id` as JSON, without its block columns.
async fn pg_row(conn: &mut sqlx::PgConnection, id: &str) -> String {
    sqlx::query_scalar(
        // The claim that blocks a row took it first: its lease generation counts that claim.
        "SELECT (to_jsonb(i) - 'blocked_kind' - 'blocked_reason' - 'blocked_at' \
         - 'lease_generation')::text \
         FROM sayiir_instances i WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_damaged_rows_block_themselves_and_nothing_else() {
    let Some(db) = sayiir_store::pg_harness::fresh_database("damaged rows").await else {
        return;
    };
    let engine = Engine::builder(sayiir_store::PgStore::connect(db.url()).await.unwrap())
        .register::<twice>()
        .build()
        .unwrap();
    let key = start_all(&engine, PG_DAMAGE).await;
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    let mut damaged = Vec::new();
    for d in PG_DAMAGE {
        sqlx::query(d.1).bind(d.0).execute(&mut conn).await.unwrap();
        let id = if d.0 == "bad-id" { "bad\nid" } else { d.0 };
        damaged.push((d, id, pg_row(&mut conn, id).await));
    }
    healthy_finish_and_damage_is_reported(
        &engine,
        key,
        &[
            ("bad\nid", "id"),
            ("bad-block", "blocked_kind"),
            ("bad-status", "status"),
            ("bad-version", "version"),
        ],
    )
    .await;
    for (d, id, before) in &damaged {
        assert_eq!(&pg_row(&mut conn, id).await, before, "`{id}` was changed");
        let (kind, reason): (Option<i16>, Option<String>) = sqlx::query_as(
            "SELECT blocked_kind, blocked_reason FROM sayiir_instances WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if d.3 {
            assert_eq!(kind, Some(7), "`{id}`: {reason:?}");
            assert!(reason.unwrap().contains(&format!("column `{}`", d.2)));
        } else {
            assert_ne!(kind, Some(7), "`{id}`");
        }
    }
    status_names_the_column(&engine, "bad-version", "version").await;
}
