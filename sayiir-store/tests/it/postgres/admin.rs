//! Operators' calls on PostgreSQL: the wake-ups of block changes, and a block code this build
//! does not know.

use sayiir_store::pg_harness::fresh_database;
use sayiir_store::{
    BlockChange, BlockKind, BlockWrite, Blocked, PgStore, Store, StoreError, Timestamp,
};

use super::{SOON, create, hint, id, quiet, raw, settle, step};

fn block(kind: BlockKind) -> Blocked {
    Blocked {
        kind,
        reason: kind.to_string(),
        at: Timestamp(150),
    }
}

/// A block change wakes idle workers when it leaves the instance claimable with a due time,
/// and only then; so does a commit, unless it blocks the instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_changes_wake_when_they_leave_the_instance_claimable() {
    let Some(db) = fresh_database("pg block wakeups").await else {
        return;
    };
    let worker = PgStore::connect(db.url()).await.unwrap();
    let client = PgStore::connect(db.url()).await.unwrap();
    let mut rx = worker.wakeups().unwrap();
    hint(&mut rx, "listening", SOON).await;
    create(&client, "x", Some(100)).await;
    create(&client, "w", None).await;
    settle(&mut rx).await;

    let change = |i: &str, from: Option<BlockKind>, to: Option<BlockKind>| {
        BlockChange::new(id(i), [from], to.map(block), Timestamp(150))
    };
    client
        .update_block(change("x", None, Some(BlockKind::Parked)))
        .await
        .unwrap();
    quiet(&mut rx, "parked").await;
    client
        .update_block(
            change(
                "x",
                Some(BlockKind::Parked),
                Some(BlockKind::RetryRequested),
            )
            .wake(true),
        )
        .await
        .unwrap();
    hint(&mut rx, "retry requested", SOON).await;

    client
        .update_block(change("w", None, Some(BlockKind::FailRequested)))
        .await
        .unwrap();
    quiet(&mut rx, "a request on an instance without a due time").await;
    client
        .update_block(
            change(
                "w",
                Some(BlockKind::FailRequested),
                Some(BlockKind::FailRequested),
            )
            .wake(true),
        )
        .await
        .unwrap();
    hint(&mut rx, "the same request, woken", SOON).await;

    // A commit that blocks the instance it leaves due wakes nobody; one that clears it does.
    let parks = step("x", 0, Some(200), 160).block(BlockWrite::Set(block(BlockKind::Parked)));
    client.commit(parks).await.unwrap();
    quiet(&mut rx, "a commit that parks").await;
    let clears = step("x", 1, Some(200), 170).block(BlockWrite::Clear);
    client.commit(clears).await.unwrap();
    hint(&mut rx, "a commit that clears the block", SOON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_block_reports_an_unknown_block_code_as_damage() {
    let Some(db) = fresh_database("pg unknown block code").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    create(&store, "a", Some(100)).await;
    let mut conn = raw(&db).await;
    sqlx::query(
        "UPDATE sayiir_instances SET blocked_kind = 42, blocked_reason = 'x', blocked_at = 1 \
         WHERE id = 'a'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let from = BlockKind::ALL.iter().copied().map(Some).chain([None]);
    let change = BlockChange::new(id("a"), from, block(BlockKind::Parked), Timestamp(5)).wake(true);
    match store.update_block(change).await {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "a");
            assert!(detail.contains("blocked_kind"), "{detail}");
            assert!(detail.contains("42"), "{detail}");
        }
        other => panic!("update_block over block code 42: {other:?}"),
    }
    let (kind, due): (i16, i64) =
        sqlx::query_as("SELECT blocked_kind, due_at FROM sayiir_instances WHERE id = 'a'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((kind, due), (42, 100), "the row is left as it was");
}

/// 3000 unleased instances and four leased ones: `leases` reads the leased ones through the
/// partial index `sayiir_instances_lease_owner`, never the table's every row.
#[tokio::test]
async fn leases_read_the_leased_instances_only() {
    let Some(db) = fresh_database("pg leases plan").await else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let news: Vec<_> = (0..3000)
        .map(|n| super::new_instance(&format!("idle-{n:04}"), Some(1_000_000 + n)))
        .collect();
    for chunk in news.chunks(500) {
        for r in store.create_batch(chunk.to_vec()).await.unwrap() {
            r.unwrap();
        }
    }
    for i in ["run-a", "run-b", "run-c", "run-d"] {
        create(&store, i, Some(100)).await;
    }
    assert_eq!(
        store
            .claim(super::claim("w1", 200, 10_000, 10))
            .await
            .unwrap()
            .len(),
        4
    );
    sqlx::query("ANALYZE sayiir_instances")
        .execute(&mut raw(&db).await)
        .await
        .unwrap();
    let plan = store
        .leases_plan_for_tests(Timestamp(300))
        .await
        .unwrap()
        .join("\n");
    println!("{plan}");
    assert!(plan.contains("sayiir_instances_lease_owner"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    let leases = store
        .leases(Timestamp(300), std::num::NonZeroUsize::new(10).unwrap())
        .await
        .unwrap();
    let ids: Vec<&str> = leases.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["run-a", "run-b", "run-c", "run-d"]);
}
