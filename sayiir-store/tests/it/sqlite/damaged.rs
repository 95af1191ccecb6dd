//! Rows that do not decode block their own instance and nothing else (issue 13, item 9).

use std::num::NonZeroUsize;

use std::path::Path;

use sayiir_store::{
    BlockKind, ListQuery, SqliteStore, Status, Store, StoreError, Timestamp, WorkerId,
};
use tempfile::TempDir;

use super::{claim, create, db, id, key, raw};

/// A damage: the id of the instance it is done to, the SQL (`?1` is the row's rowid), the
/// column its problem names, and whether a claim meets the row.
type Damage = (&'static str, &'static str, &'static str, bool);

/// Damaged rows between the healthy ones (`a`, `c`, `e`, `g`, `i`), by id. The claimable ones
/// are due at 0, before every healthy one.
const DAMAGE: &[Damage] = &[
    (
        "b-time",
        "UPDATE sayiir_instances SET created_at = 'garbage', due_at = 0 WHERE rowid = ?1",
        "created_at",
        true,
    ),
    (
        "d-seq",
        "UPDATE sayiir_instances SET seq = 'seven', due_at = 0 WHERE rowid = ?1",
        "seq",
        true,
    ),
    (
        "f-version",
        "UPDATE sayiir_instances SET version = -1, due_at = 0 WHERE rowid = ?1",
        "version",
        true,
    ),
    (
        "h-block",
        "UPDATE sayiir_instances SET blocked_kind = 1, due_at = 0 WHERE rowid = ?1",
        "blocked_reason",
        true,
    ),
    (
        "j-status",
        "UPDATE sayiir_instances SET status = 9, due_at = 0 WHERE rowid = ?1",
        "status",
        false,
    ),
    (
        "k-id",
        "UPDATE sayiir_instances SET id = 'k' || char(10) || 'id', due_at = 0 WHERE rowid = ?1",
        "id",
        true,
    ),
    (
        "l-due",
        "UPDATE sayiir_instances SET due_at = 'soon' WHERE rowid = ?1",
        "due_at",
        false,
    ),
];

const HEALTHY: [&str; 5] = ["a", "c", "e", "g", "i"];

/// Every column of the row but the block columns, quoted.
fn snapshot(path: &Path, rowid: i64) -> Vec<String> {
    let cols = [
        "id",
        "workflow",
        "definition_hash",
        "seq",
        "status",
        "state",
        "output",
        "due_at",
        "lease_owner",
        "lease_until",
        "created_at",
        "updated_at",
        "version",
        "fingerprint",
        "state_id",
    ];
    let sql = format!(
        "SELECT {} FROM sayiir_instances WHERE rowid = ?1",
        cols.map(|c| format!("quote({c})")).join(", ")
    );
    raw(path)
        .query_row(&sql, [rowid], |r| {
            (0..cols.len()).map(|i| r.get::<_, String>(i)).collect()
        })
        .unwrap()
}

/// The block columns of the row.
fn block(path: &Path, rowid: i64) -> (Option<i64>, Option<String>, Option<i64>) {
    raw(path)
        .query_row(
            "SELECT blocked_kind, blocked_reason, blocked_at FROM sayiir_instances \
             WHERE rowid = ?1",
            [rowid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// Creates the healthy instances (due at 100) and the damaged ones; returns each damage with
/// its rowid and the snapshot of its row after the damage.
async fn populate(store: &SqliteStore, path: &Path) -> Vec<(Damage, i64, Vec<String>)> {
    for i in HEALTHY {
        create(store, i).await;
    }
    let mut out = Vec::new();
    for d in DAMAGE {
        create(store, d.0).await;
        let conn = raw(path);
        let rowid: i64 = conn
            .query_row(
                "SELECT rowid FROM sayiir_instances WHERE id = ?1",
                [d.0],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(d.1, [rowid]).unwrap();
        out.push((*d, rowid, snapshot(path, rowid)));
    }
    out
}

#[tokio::test]
async fn a_claim_blocks_the_rows_it_cannot_decode_and_returns_the_others() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let damaged = populate(&store, &path).await;
    assert_eq!(
        store.next_due(&[key()]).await.unwrap(),
        Some(Timestamp(0)),
        "the damaged rows are due first"
    );

    let mut req = claim("w", 1_000);
    req.limit = HEALTHY.len();
    let claimed = store.claim(req.clone()).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|r| r.record.id.as_str()).collect();
    assert_eq!(ids, HEALTHY, "the claim went on past the damaged rows");

    for ((i, _, column, claimable), rowid, before) in &damaged {
        assert_eq!(
            &snapshot(&path, *rowid),
            before,
            "`{i}`: only the block columns may change"
        );
        let (kind, reason, at) = block(&path, *rowid);
        if *claimable {
            assert_eq!(kind, Some(BlockKind::CorruptRow.code()), "`{i}`");
            let reason = reason.unwrap();
            assert!(
                reason.contains(&format!("column `{column}`")),
                "`{i}`: {reason}"
            );
            assert_eq!(at, Some(1_000), "`{i}`");
        } else {
            assert_eq!(kind, None, "`{i}` is not claimable and was not met");
        }
    }
    // Blocked rows are out of dispatch: the next due time is the healthy leases' expiry, and
    // another claim meets nothing and changes nothing.
    assert_eq!(
        store.next_due(&[key()]).await.unwrap(),
        Some(req.lease_until)
    );
    let blocks: Vec<_> = damaged.iter().map(|d| block(&path, d.1)).collect();
    let mut later = claim("other", 2_000);
    later.lease_until = Timestamp(3_000);
    assert_eq!(store.claim(later).await.unwrap(), []);
    let again: Vec<_> = damaged.iter().map(|d| block(&path, d.1)).collect();
    assert_eq!(again, blocks, "a later claim rewrote a block");

    // `load` names the column; a bad id is escaped in messages.
    match store.load(&id("b-time")).await {
        Err(e @ StoreError::InvalidData { .. }) => {
            assert!(e.to_string().contains("column `created_at`"), "{e}")
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    let e = StoreError::InvalidData {
        id: "k\nid".into(),
        detail: "column `id`: …".into(),
    };
    assert!(e.to_string().contains("`k\\nid`"), "{e}");
    assert!(!e.to_string().contains('\n'), "{e}");
}

#[tokio::test]
async fn a_listing_reports_the_damaged_rows_and_never_fails_because_of_them() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    populate(&store, &path).await;
    // A damaged state only shows in a claim, which reads the state: it then lists as blocked.
    create(&store, "m-state").await;
    raw(&path)
        .execute(
            "UPDATE sayiir_instances SET state = 'text', due_at = 0 WHERE id = 'm-state'",
            [],
        )
        .unwrap();
    store.claim(claim("w", 1_000)).await.unwrap();
    store
        .unregister_worker(&WorkerId("w".into()))
        .await
        .unwrap();

    let listing = store.list(&ListQuery::default()).await.unwrap();
    let ids: Vec<&str> = listing.instances.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "c", "e", "g", "h-block", "i", "m-state"]);
    // Rows whose damage the claim could not see past the block (`h-block`: the block was
    // the damage) or that a listing does not read (`m-state`) list as blocked instances.
    for (s, column) in [
        (&listing.instances[4], "blocked_reason"),
        (&listing.instances[6], "state"),
    ] {
        let b = s.blocked.as_ref().unwrap();
        assert_eq!(b.kind, BlockKind::CorruptRow, "{}", s.id);
        assert!(
            b.reason.contains(&format!("column `{column}`")),
            "{}",
            b.reason
        );
        assert_eq!(s.status, Status::Running);
    }
    let still: Vec<&Damage> = DAMAGE.iter().filter(|d| d.0 != "h-block").collect();
    let damaged: Vec<(&str, Option<&str>)> = listing
        .damaged
        .iter()
        .map(|d| (d.id.as_str(), d.workflow.as_deref()))
        .collect();
    let expected: Vec<(&str, Option<&str>)> = ["b-time", "d-seq", "f-version", "j-status"]
        .into_iter()
        .chain(["k\nid", "l-due"])
        .map(|i| (i, Some("wf")))
        .collect();
    assert_eq!(damaged, expected);
    for (d, (_, _, column, _)) in listing.damaged.iter().zip(still) {
        assert!(
            d.problem.contains(&format!("column `{column}`")),
            "{d}: {}",
            d.problem
        );
    }
    let shown = listing.damaged[4].to_string();
    assert!(shown.starts_with("`k\\nid` (workflow `wf`): "), "{shown}");

    // Pages of two: every instance once, every damaged row once, none counted as an instance.
    let (mut instances, mut damaged) = (Vec::new(), Vec::new());
    let mut query = ListQuery::new().limit(NonZeroUsize::new(2));
    loop {
        let page = store.list(&query).await.unwrap();
        assert!(page.instances.len() <= 2);
        damaged.extend(page.damaged.into_iter().map(|d| d.id));
        // A page with fewer instances than its limit is the last one.
        let last = page.instances.len() < 2;
        query.after = page.instances.last().map(|s| s.id.clone());
        instances.extend(page.instances.into_iter().map(|s| s.id.to_string()));
        if last {
            break;
        }
    }
    assert_eq!(instances, ["a", "c", "e", "g", "h-block", "i", "m-state"]);
    assert_eq!(damaged, expected.iter().map(|d| d.0).collect::<Vec<_>>());

    // Filters apply to damaged rows as to the others.
    let blocked = store.list(&ListQuery::new().blocked(true)).await.unwrap();
    let ids: Vec<&str> = blocked.damaged.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["b-time", "d-seq", "f-version", "k\nid"]);
    let ids: Vec<&str> = blocked.instances.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["h-block", "m-state"]);
}

#[tokio::test]
async fn a_bad_history_entry_is_invalid_data_naming_the_entry_and_the_column() {
    let dir = TempDir::new().unwrap();
    let path = db(&dir);
    let store = SqliteStore::open(&path).unwrap();
    create(&store, "a").await;
    store
        .commit(super::step("a", 0, b"one".to_vec()))
        .await
        .unwrap();
    raw(&path)
        .execute(
            "UPDATE sayiir_history SET at = 'noon' WHERE instance_id = 'a' AND seq = 1",
            [],
        )
        .unwrap();
    match store.history(&id("a"), None, None).await {
        Err(StoreError::InvalidData { id, detail }) => {
            assert_eq!(id, "a");
            assert!(
                detail.starts_with("history entry 1: column `sayiir_history.at` holds the text"),
                "{detail}"
            );
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert_eq!(
        store
            .history(&id("a"), None, std::num::NonZeroUsize::new(1))
            .await
            .unwrap()
            .len(),
        1
    );
}
