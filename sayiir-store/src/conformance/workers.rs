//! Worker registrations: heartbeat replaces, workers lists in order, old ones are pruned.

use std::sync::Arc;

use super::{key_fp, worker};
use crate::{Store, Timestamp, WorkerRecord};

pub(super) fn record(
    id: &str,
    seen: i64,
    alive_until: i64,
    runs: &[(&str, u8, u8)],
) -> WorkerRecord {
    WorkerRecord {
        id: worker(id),
        started_at: Timestamp(10),
        seen_at: Timestamp(seen),
        alive_until: Timestamp(alive_until),
        runs: runs.iter().map(|(w, h, f)| key_fp(w, *h, *f)).collect(),
    }
}

/// A heartbeat inserts, a later one replaces times and keys; `workers` orders ids and keys.
pub(super) async fn heartbeat_records_and_replaces<S: Store>(s: Arc<S>) {
    assert!(s.workers().await.unwrap().is_empty());
    s.heartbeat(record(
        "w-b",
        100,
        5_100,
        &[("orders", 2, 1), ("mails", 1, 1)],
    ))
    .await
    .unwrap();
    s.heartbeat(record("w-a", 100, 5_100, &[])).await.unwrap();
    let got = s.workers().await.unwrap();
    assert_eq!(
        got.iter().map(|w| w.id.0.as_str()).collect::<Vec<_>>(),
        ["w-a", "w-b"]
    );
    assert!(got[0].runs.is_empty());
    assert_eq!(
        got[1].runs,
        [key_fp("mails", 1, 1), key_fp("orders", 2, 1)],
        "keys ordered by workflow"
    );
    assert_eq!(got[1].seen_at, Timestamp(100));
    assert!(got[1].alive_at(Timestamp(5_000)));
    assert!(!got[1].alive_at(Timestamp(5_100)));

    // The same worker again: times and keys replaced, not added.
    s.heartbeat(record("w-b", 2_000, 7_000, &[("orders", 3, 1)]))
        .await
        .unwrap();
    let got = s.workers().await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].runs, [key_fp("orders", 3, 1)]);
    assert_eq!(
        (got[1].started_at, got[1].seen_at, got[1].alive_until),
        (Timestamp(10), Timestamp(2_000), Timestamp(7_000))
    );
    // Stopping: alive_until = seen_at.
    s.heartbeat(record("w-b", 3_000, 3_000, &[("orders", 3, 1)]))
        .await
        .unwrap();
    let got = s.workers().await.unwrap();
    assert!(!got[1].alive_at(Timestamp(3_000)));
}

/// Registrations dead for more than a day before a heartbeat's `seen_at` are deleted with
/// their keys; younger ones are kept.
pub(super) async fn heartbeat_prunes_long_dead_workers<S: Store>(s: Arc<S>) {
    const DAY: i64 = 86_400_000;
    s.heartbeat(record("old", 100, 1_000, &[("orders", 1, 1)]))
        .await
        .unwrap();
    s.heartbeat(record("recent", 100, 2 * DAY, &[("orders", 1, 1)]))
        .await
        .unwrap();
    s.heartbeat(record("now", DAY + 1_001, DAY + 6_000, &[("orders", 1, 1)]))
        .await
        .unwrap();
    let ids: Vec<String> = s
        .workers()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id.0)
        .collect();
    assert_eq!(ids, ["now", "recent"], "`old` died more than a day ago");
    // Its keys went with it: registering `old` again starts from its new keys only.
    s.heartbeat(record("old", DAY + 2_000, DAY + 7_000, &[]))
        .await
        .unwrap();
    let old = s
        .workers()
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.id.0 == "old")
        .unwrap();
    assert!(old.runs.is_empty());
}
