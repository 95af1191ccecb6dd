//! Claim priorities: claims take the due instances by rank (`due_at - head_start_ms`), then
//! id, so higher priorities first among instances that fell due close together, and an older
//! instance first once it has waited longer than the difference of head starts (aging). A
//! head start never makes an instance claimable before its due time, and it holds for every
//! step of the instance.

use std::sync::Arc;

use super::{claim_ids, claim_req, commit, create_with, key, lease, load, new_instance, running};
use crate::{Created, Store};

/// The priority step of these checks: a head start is `priority × STEP` milliseconds.
const STEP: i64 = 1_000;

/// Creates instance `i` of `wf` due at `due` with priority `p` (head start `p × STEP`).
async fn create_p<S: Store>(s: &S, i: &str, p: i8, due: i64) {
    let new = new_instance(i, "wf", 1, Some(due), 100).priority(p, i64::from(p) * STEP);
    let record = create_with(s, new).await;
    assert_eq!(
        (record.priority, record.head_start_ms),
        (p, i64::from(p) * STEP),
        "record returned by create of `{i}`"
    );
}

/// Claims one instance at a time at `now` (each under a lease that outlives the check) until
/// none is left; returns the ids in claim order.
async fn drain_one_by_one<S: Store>(s: &S, now: i64) -> Vec<String> {
    let mut order = Vec::new();
    loop {
        let got = claim_ids(s, claim_req("w1", now, 1_000_000, 1, &[key("wf", 1)])).await;
        if got.is_empty() {
            return order;
        }
        assert_eq!(got.len(), 1, "a claim of one took {got:?}");
        order.extend(got);
    }
}

/// Among instances due at the same time, higher priorities are claimed first (negative ones
/// after priority 0), in one claim and one at a time; records carry their priority.
pub(super) async fn priority_higher_first<S: Store>(s: Arc<S>) {
    create_p(&*s, "a-normal", 0, 100).await;
    create_p(&*s, "b-high", 2, 100).await;
    create_p(&*s, "c-mid", 1, 100).await;
    create_p(&*s, "d-low", -1, 100).await;
    let loaded = load(&*s, "b-high").await;
    assert_eq!(
        (loaded.priority, loaded.head_start_ms),
        (2, 2 * STEP),
        "load"
    );
    assert_eq!(
        (
            load(&*s, "d-low").await.priority,
            load(&*s, "d-low").await.head_start_ms
        ),
        (-1, -STEP),
        "load of a negative priority"
    );
    let all = s
        .claim(claim_req("w1", 500, 600, 10, &[key("wf", 1)]))
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["b-high", "c-mid", "a-normal", "d-low"], "one claim");
    // Once those leases are over, one at a time: the same order.
    assert_eq!(
        drain_one_by_one(&*s, 600).await,
        ["b-high", "c-mid", "a-normal", "d-low"],
        "one at a time"
    );
}

/// Within one priority, earlier due first; ties of rank (across priorities too) by id.
pub(super) async fn priority_then_due_then_id<S: Store>(s: Arc<S>) {
    create_p(&*s, "p1-late", 1, 1_300).await; // rank 300
    create_p(&*s, "p1-early", 1, 1_200).await; // rank 200
    create_p(&*s, "p0-late", 0, 400).await; // rank 400
    create_p(&*s, "p0-early", 0, 350).await; // rank 350
    // Rank 100 three times: by id.
    create_p(&*s, "tie-b", 1, 1_100).await;
    create_p(&*s, "tie-a", 0, 100).await;
    create_p(&*s, "tie-c", 2, 2_100).await;
    create_p(&*s, "tie-d", -1, -900).await;
    assert_eq!(
        drain_one_by_one(&*s, 5_000).await,
        [
            "tie-a", "tie-b", "tie-c", "tie-d", "p1-early", "p1-late", "p0-early", "p0-late"
        ]
    );
}

/// Aging: an instance of priority 0 that fell due more than `Δp × STEP` before one of priority
/// `p` is claimed first; one that fell due less than that before it is claimed after it.
pub(super) async fn priority_aging_bounds_the_wait<S: Store>(s: Arc<S>) {
    create_p(&*s, "old-p0", 0, 1_000).await; // rank 1000
    // Fell due 2100 after it, with a head start of 2000: still behind it.
    create_p(&*s, "newer-p2", 2, 3_100).await; // rank 1100
    // Fell due 1900 after it: ahead of it.
    create_p(&*s, "new-p2", 2, 2_900).await; // rank 900
    // Priority -1: behind priority 0 work that fell due up to 1000 later.
    create_p(&*s, "old-n1", -1, 200).await; // rank 1200
    create_p(&*s, "p0-after", 0, 1_150).await; // rank 1150
    assert_eq!(
        drain_one_by_one(&*s, 10_000).await,
        ["new-p2", "old-p0", "newer-p2", "p0-after", "old-n1"]
    );
}

/// A head start never makes an instance claimable before its due time, whatever its rank; a
/// negative priority never leaves a due instance unclaimed.
pub(super) async fn priority_not_due_not_claimed<S: Store>(s: Arc<S>) {
    // Rank -99_000, due at 1000.
    create_p(&*s, "sleeping-high", 100, 1_000).await;
    create_p(&*s, "due-low", -100, 400).await;
    create_p(&*s, "due-normal", 0, 450).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 500, 10_000, 10, &[key("wf", 1)])).await,
        ["due-normal", "due-low"],
        "at 500 only the due ones, by rank"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 999, 10_000, 10, &[key("wf", 1)])).await,
        Vec::<String>::new(),
        "at 999 nothing new is due"
    );
    assert_eq!(
        claim_ids(&*s, claim_req("w2", 1_000, 10_000, 10, &[key("wf", 1)])).await,
        ["sleeping-high"],
        "at its due time"
    );
}

/// The head start holds for every step: after a commit that makes the instance due again, it
/// is still ranked with it; and `create_batch` writes priorities as `create` does.
pub(super) async fn priority_survives_commits<S: Store>(s: Arc<S>) {
    create_p(&*s, "stepper", 3, 100).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 200, 10_000, 1, &[key("wf", 1)])).await,
        ["stepper"]
    );
    // Next step due at 5000 (rank 2000), lease released.
    commit(
        &*s,
        running("stepper", 0, b"step 1", Some(5_000), 300).release_lease(lease("w1", 1)),
    )
    .await;
    let head = load(&*s, "stepper").await;
    assert_eq!(
        (head.priority, head.head_start_ms),
        (3, 3 * STEP),
        "after a commit"
    );
    let batch = vec![
        new_instance("batch-p0", "wf", 1, Some(2_500), 100), // rank 2500
        new_instance("batch-p1", "wf", 1, Some(3_600), 100).priority(1, STEP), // rank 2600
        new_instance("batch-n1", "wf", 1, Some(1_000), 100).priority(-1, -STEP), // rank 2000
    ];
    for result in s.create_batch(batch).await.unwrap() {
        match result {
            Ok(Created::New(r)) => assert_eq!(
                r.head_start_ms,
                i64::from(r.priority) * STEP,
                "batch record of `{}`",
                r.id
            ),
            other => panic!("create_batch: {other:?}"),
        }
    }
    assert_eq!(
        load(&*s, "batch-p1").await.priority,
        1,
        "load after create_batch"
    );
    assert_eq!(
        drain_one_by_one(&*s, 6_000).await,
        ["batch-n1", "stepper", "batch-p0", "batch-p1"],
        "rank 2000 twice (by id), 2500, 2600"
    );
}

/// A mix of priorities, due times and sleepers, claimed a few at a time (so that each claim
/// merges partial walks): the order is the claimable instances sorted by `(rank, id)`, and
/// nothing that is not due is taken.
pub(super) async fn priority_merge_in_small_claims<S: Store>(s: Arc<S>) {
    let now = 50_000;
    let mut expected = Vec::new();
    // A fixed pseudo-random spread: priorities -3..=3, due times around `now`.
    let mut x: u64 = 0x2545_f491;
    for n in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = i8::try_from(x % 7).unwrap() - 3;
        let due = 40_000 + i64::try_from((x >> 8) % 14_000).unwrap();
        let i = format!("i{n:02}");
        create_p(&*s, &i, p, due).await;
        if due <= now {
            expected.push((due - i64::from(p) * STEP, i));
        }
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, i)| i).collect();
    assert!(expected.len() > 10 && expected.len() < 40, "{expected:?}");
    let mut got = Vec::new();
    loop {
        let batch = claim_ids(&*s, claim_req("w1", now, 1_000_000, 3, &[key("wf", 1)])).await;
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3);
        got.extend(batch);
    }
    assert_eq!(got, expected);
}
