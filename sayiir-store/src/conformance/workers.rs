//! Worker registrations: heartbeat replaces, workers lists in order, old ones are pruned;
//! the live leases of workers.

use std::sync::Arc;

use std::num::NonZeroUsize;

use super::{
    claim_of, claim_req, commit, create, create_with, finished, key, key_fp, load, new_instance,
    worker,
};
use crate::{LeaseInfo, Namespace, Status, Store, Timestamp, WorkerRecord};

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

/// `(id, owner, until)` of each lease.
fn held(leases: &[LeaseInfo]) -> Vec<(&str, &str, i64)> {
    leases
        .iter()
        .map(|l| (l.id.as_str(), l.owner.0.as_str(), l.until.0))
        .collect()
}

/// `leases` lists the running instances of the namespace whose lease is live, by owner then
/// id, with their workflow and state, up to the limit; not expired, released or finished
/// ones, nor another namespace's.
pub(super) async fn leases_list_live_leases<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    for (i, due) in [("c", 10), ("a", 20), ("b", 30), ("d", 40)] {
        create(&*s, i, Some(due)).await;
    }
    for (i, due) in [("e-expired", 50), ("f-released", 60), ("g-finished", 70)] {
        create(&*s, i, Some(due)).await;
    }
    create(&*s, "h-unclaimed", Some(5000)).await;
    let claim = |owner, until, limit| claim_req(owner, 200, until, limit, &known);
    assert_eq!(s.claim(claim("w2", 1000, 2)).await.unwrap().len(), 2);
    assert_eq!(s.claim(claim("w1", 1000, 2)).await.unwrap().len(), 2);
    assert_eq!(s.claim(claim("w1", 300, 1)).await.unwrap().len(), 1);
    assert_eq!(s.claim(claim("w3", 1000, 2)).await.unwrap().len(), 2);
    s.release(&worker("w3"), &[claim_of("f-released", 1)])
        .await
        .unwrap();
    commit(
        &*s,
        finished("g-finished", 0, Status::Completed, b"out", 250),
    )
    .await;
    let other = s.in_namespace(&Namespace::new("b").unwrap()).unwrap();
    create_with(&*other, new_instance("x-other", "wf", 1, Some(10), 100)).await;
    assert_eq!(other.claim(claim("w1", 1000, 5)).await.unwrap().len(), 1);

    let ten = NonZeroUsize::new(10).unwrap();
    let leases = s.leases(Timestamp(400), ten).await.unwrap();
    assert_eq!(
        held(&leases),
        [
            ("b", "w1", 1000),
            ("d", "w1", 1000),
            ("a", "w2", 1000),
            ("c", "w2", 1000)
        ],
        "live leases by owner then id; expired, released, finished, unclaimed and other \
         namespaces' ones left out"
    );
    for l in &leases {
        let head = load(&*s, l.id.as_str()).await;
        assert_eq!(l.workflow, head.workflow, "{}", l.id);
        assert_eq!(l.state_id, head.state_id, "{}", l.id);
    }
    assert_eq!(
        held(
            &s.leases(Timestamp(400), NonZeroUsize::new(3).unwrap())
                .await
                .unwrap()
        ),
        [("b", "w1", 1000), ("d", "w1", 1000), ("a", "w2", 1000)],
        "the limit holds"
    );
    assert_eq!(
        held(&s.leases(Timestamp(250), ten).await.unwrap())[2],
        ("e-expired", "w1", 300),
        "a lease is live before its expiry"
    );
    assert!(
        s.leases(Timestamp(1000), ten).await.unwrap().is_empty(),
        "a lease expiring at `now` is not live"
    );
    assert_eq!(
        held(&other.leases(Timestamp(400), ten).await.unwrap()),
        [("x-other", "w1", 1000)],
        "the other namespace sees its own leases only"
    );
}
