//! Operators' calls on SQLite: a block code this build does not know, and the index each
//! listing filter walks.

use sayiir_store::{
    BlockChange, BlockKind, Blocked, ListQuery, SqliteStore, Status, Store, StoreError, Timestamp,
};
use tempfile::TempDir;

use super::{create, db, id, raw};

#[tokio::test]
async fn update_block_reports_an_unknown_block_code_as_damage() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "a").await;
    raw(&path)
        .execute(
            "UPDATE sayiir_instances SET blocked_kind = 42, blocked_reason = 'x', \
             blocked_at = 1 WHERE id = 'a'",
            [],
        )
        .unwrap();
    let parked = Blocked {
        kind: BlockKind::Parked,
        reason: "p".into(),
        at: Timestamp(5),
    };
    let from = BlockKind::ALL.iter().copied().map(Some).chain([None]);
    let change = BlockChange::new(id("a"), from, parked, Timestamp(5)).wake(true);
    match store.update_block(change).await {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "a");
            assert!(detail.contains("blocked_kind"), "{detail}");
            assert!(detail.contains("42"), "{detail}");
        }
        other => panic!("update_block over block code 42: {other:?}"),
    }
    let (kind, due): (i64, i64) = raw(&path)
        .query_row(
            "SELECT blocked_kind, due_at FROM sayiir_instances WHERE id = 'a'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((kind, due), (42, 100), "the row is left as it was");
}

/// What a listing's plan must show: the index it walks (`None`: the primary key's), and
/// whether it sorts (only a created range, read by creation time, does).
fn expect_plan(plan: &[String], index: Option<&str>, sorts: bool, what: &str) {
    let index = index.unwrap_or("sqlite_autoindex_sayiir_instances_1");
    let walks = plan
        .iter()
        .any(|l| l.contains(&format!("USING INDEX {index} ")) || l.ends_with(index));
    assert!(walks, "{what}: walks {index}: {plan:#?}");
    let sorting = plan.iter().any(|l| l.contains("TEMP B-TREE"));
    assert_eq!(sorting, sorts, "{what}: sorts: {plan:#?}");
}

#[tokio::test]
async fn each_listing_filter_walks_its_index_in_id_order() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let q = ListQuery::new;
    let t = Timestamp;
    let cases: Vec<(&str, ListQuery, Option<&str>, bool)> = vec![
        ("everything", q(), None, false),
        (
            "status",
            q().status(Status::Failed),
            Some("sayiir_instances_status"),
            false,
        ),
        (
            "workflow",
            q().workflow("w"),
            Some("sayiir_instances_workflow_id"),
            false,
        ),
        (
            "workflow and status",
            q().workflow("w").status(Status::Running),
            Some("sayiir_instances_workflow_status"),
            false,
        ),
        (
            "workflow, version and status",
            q().workflow("w").version(1).status(Status::Running),
            Some("sayiir_instances_workflow"),
            false,
        ),
        (
            "one block kind",
            q().blocked_by([BlockKind::Parked]),
            Some("sayiir_instances_blocked"),
            false,
        ),
        (
            "one block kind and a status",
            q().blocked_by([BlockKind::Parked]).status(Status::Running),
            Some("sayiir_instances_blocked"),
            false,
        ),
        (
            "needs attention",
            q().needs_attention(),
            Some("sayiir_instances_attention"),
            false,
        ),
        (
            "needs attention, workflow and status",
            q().needs_attention().workflow("w").status(Status::Running),
            Some("sayiir_instances_attention"),
            false,
        ),
        ("id prefix", q().id_prefix("order-"), None, false),
        (
            "id prefix and status",
            q().id_prefix("order-").status(Status::Failed),
            Some("sayiir_instances_status"),
            false,
        ),
        (
            "created range",
            q().created_from(t(1)).created_until(t(2)),
            Some("sayiir_instances_created"),
            true,
        ),
    ];
    for (what, query, index, sorts) in cases {
        for after in [None, Some(id("m"))] {
            let query = query
                .clone()
                .after(after.clone())
                .limit(std::num::NonZeroUsize::new(50));
            let plan = store.list_plan_for_tests(query).await.unwrap();
            expect_plan(&plan, index, sorts, &format!("{what}, after {after:?}"));
        }
    }
}

#[tokio::test]
async fn the_backlog_walks_the_due_index() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    let plan = store.backlog_plan_for_tests(Timestamp(0)).await.unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_due (")),
        "{plan:#?}"
    );
    // Only the handle's namespace: the index leads with it (migration 0013).
    assert!(
        plan.iter()
            .any(|l| l.contains("USING INDEX sayiir_instances_due (namespace=? AND due_at")),
        "{plan:#?}"
    );
}

/// `leases` walks the partial index of leased instances (it names it: a plan without it
/// would be an error).
#[tokio::test]
async fn leases_walk_the_leased_index() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(db(&dir)).unwrap();
    create(&store, "a").await;
    create(&store, "b").await;
    assert_eq!(store.claim(super::claim("w1", 200)).await.unwrap().len(), 2);
    let plan = store
        .leases_plan_for_tests(Timestamp(300))
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("USING INDEX sayiir_instances_leased (namespace=? AND lease_until>?)"),
        "{plan}"
    );
    let leases = store
        .leases(Timestamp(300), std::num::NonZeroUsize::MIN)
        .await
        .unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].id.as_str(), "a");
}
