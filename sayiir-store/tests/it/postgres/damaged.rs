//! Rows that do not decode block their own instance and nothing else (issue 13, item 9).

use std::num::NonZeroUsize;

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{ListQuery, PgStore, Store, Timestamp};

use super::{claim, claim_ids, create, key, raw};

/// Damaged rows between the healthy ones (`a`, `c`, `e`, `g`, `i`): the id the row ends up
/// with, the SQL that damages it (`$1` is its id before), the column its problem names and
/// whether a claim meets it. All are due at 0, before every healthy one.
const DAMAGE: &[(&str, &str, &str, bool)] = &[
    (
        "b\nid",
        "UPDATE sayiir_instances SET id = 'b' || chr(10) || 'id' WHERE id = $1",
        "id",
        true,
    ),
    (
        "d-version",
        "UPDATE sayiir_instances SET version = 4294967296 WHERE id = $1",
        "version",
        true,
    ),
    (
        "f-block",
        "UPDATE sayiir_instances SET blocked_kind = 99, blocked_reason = 'x', blocked_at = 1 \
         WHERE id = $1",
        "blocked_kind",
        false,
    ),
    (
        "h-status",
        "UPDATE sayiir_instances SET status = 9 WHERE id = $1",
        "status",
        false,
    ),
    (
        "j-hash",
        "UPDATE sayiir_instances SET definition_hash = '\\x0102' WHERE id = $1",
        "definition_hash",
        false,
    ),
];

const HEALTHY: [&str; 5] = ["a", "c", "e", "g", "i"];

/// The row as JSON, without its block columns.
async fn row(conn: &mut sqlx::PgConnection, id: &str) -> String {
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
async fn damaged_rows_are_blocked_by_claims_and_reported_by_listings() {
    let Some(db) = fresh_database("pg damaged rows").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let mut conn = raw(&db).await;
    for i in HEALTHY {
        create(&store, i, Some(100)).await;
    }
    let mut before = Vec::new();
    for (i, sql, _, _) in DAMAGE {
        let created = i.replace('\n', "-");
        create(&store, &created, Some(0)).await;
        sqlx::query(*sql)
            .bind(&created)
            .execute(&mut conn)
            .await
            .unwrap();
        before.push(row(&mut conn, i).await);
    }

    // Limits of 2: the claims go on past the damaged rows (due first) to fill their places.
    let mut claimed = Vec::new();
    for _ in 0..3 {
        claimed.extend(claim_ids(&store, claim("w", 1_000, 60_000, 2)).await);
    }
    assert_eq!(claimed, HEALTHY);
    for ((i, _, column, claimable), before) in DAMAGE.iter().zip(&before) {
        assert_eq!(&row(&mut conn, i).await, before, "`{i}` changed");
        let (kind, reason, at): (Option<i16>, Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT blocked_kind, blocked_reason, blocked_at FROM sayiir_instances WHERE id = $1",
        )
        .bind(i)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if *claimable {
            assert_eq!(kind, Some(7), "`{i}`");
            let reason = reason.unwrap();
            assert!(
                reason.contains(&format!("column `{column}`")),
                "`{i}`: {reason}"
            );
            assert_eq!(at, Some(1_000));
        } else {
            assert_ne!(kind, Some(7), "`{i}`");
        }
    }
    assert_eq!(
        store.next_due(&[key()]).await.unwrap(),
        Some(Timestamp(60_000)),
        "only the healthy leases are left to wait for"
    );

    // Pages of two: every instance once, every damaged row once.
    let (mut instances, mut damaged) = (Vec::new(), Vec::new());
    let mut query = ListQuery::new().limit(NonZeroUsize::new(2));
    loop {
        let page = store.list(&query).await.unwrap();
        assert!(page.instances.len() <= 2);
        damaged.extend(page.damaged.into_iter().map(|d| (d.id, d.problem)));
        // A page with fewer instances than its limit is the last one.
        let last = page.instances.len() < 2;
        query.after = page.instances.last().map(|s| s.id.clone());
        instances.extend(page.instances.into_iter().map(|s| s.id.to_string()));
        if last {
            break;
        }
    }
    assert_eq!(instances, HEALTHY);
    let still: Vec<_> = DAMAGE.iter().collect();
    assert_eq!(
        damaged.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        still.iter().map(|d| d.0).collect::<Vec<_>>()
    );
    for ((_, problem), (i, _, column, _)) in damaged.iter().zip(&still) {
        assert!(
            problem.contains(&format!("column `{column}`")),
            "`{i}`: {problem}"
        );
    }
}
