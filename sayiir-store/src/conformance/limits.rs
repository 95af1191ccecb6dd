//! Concurrency limits: slots are held under instances' leases, never beyond the limit (also
//! when many callers ask at once), given back, and free again once the holder's lease is
//! released, expires or is taken by a later claim; usage counts live holders and the waiting
//! attempts workers report.

use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;

use super::{claim_req, create, id, key, lease, worker};
use crate::{LimitUsage, RateRequest, SlotHolder, SlotRequest, Store, Timestamp};

fn holder(i: &str, call: &str, owner: &str, generation: u64) -> SlotHolder {
    SlotHolder::new(id(i), call, lease(owner, generation))
}

fn req(key: &str, limit: u32, h: &SlotHolder, now: i64) -> SlotRequest {
    SlotRequest::new(
        key,
        NonZeroU32::new(limit).unwrap(),
        h.clone(),
        Timestamp(now),
    )
}

/// Creates instances `ids` due at 100 and claims them all for `owner` until `until`.
async fn claimed<S: Store>(s: &S, ids: &[&str], owner: &str, until: i64) {
    for i in ids {
        create(s, i, Some(100)).await;
    }
    let got = s
        .claim(claim_req(owner, 200, until, ids.len(), &[key("wf", 1)]))
        .await
        .unwrap();
    assert_eq!(got.len(), ids.len(), "claimed {got:?}");
}

fn usage(key: &str, limit: u32, in_use: u64, waiting: u64) -> LimitUsage {
    LimitUsage {
        key: key.to_owned(),
        limit,
        in_use,
        waiting,
    }
}

pub(super) async fn slots_up_to_the_limit<S: Store>(s: Arc<S>) {
    claimed(&*s, &["a", "b", "c"], "w1", 1000).await;
    let (a, b, c) = (
        holder("a", "0", "w1", 1),
        holder("b", "0", "w1", 1),
        holder("c", "0", "w1", 1),
    );
    assert!(s.acquire_slot(req("task:t", 2, &a, 300)).await.unwrap());
    assert!(
        s.acquire_slot(req("task:t", 2, &a, 300)).await.unwrap(),
        "a holder asking again keeps its slot"
    );
    assert!(s.acquire_slot(req("task:t", 2, &b, 300)).await.unwrap());
    assert!(
        !s.acquire_slot(req("task:t", 2, &c, 300)).await.unwrap(),
        "a third holder of a limit of 2"
    );
    let a2 = holder("a", "1", "w1", 1);
    assert!(
        s.acquire_slot(req("task:u", 1, &a2, 300)).await.unwrap(),
        "limits are counted by key"
    );
    assert_eq!(
        s.limit_usage(Timestamp(300)).await.unwrap(),
        [usage("task:t", 2, 2, 1), usage("task:u", 1, 1, 0)]
    );
    s.release_slot("task:t", &holder("a", "0", "w2", 1))
        .await
        .unwrap();
    assert!(
        !s.acquire_slot(req("task:t", 2, &c, 310)).await.unwrap(),
        "a release under another lease gives nothing back"
    );
    s.release_slot("task:t", &a).await.unwrap();
    assert!(
        s.acquire_slot(req("task:t", 2, &c, 320)).await.unwrap(),
        "a released slot is taken by the waiter"
    );
    assert_eq!(
        s.limit_usage(Timestamp(320)).await.unwrap(),
        [usage("task:t", 2, 2, 0), usage("task:u", 1, 1, 0)]
    );
    assert!(
        !s.acquire_slot(req("task:t", 2, &a, 330)).await.unwrap(),
        "a holder that gave its slot back asks like any other"
    );
    assert!(
        s.acquire_slot(req("task:t", 3, &a, 340)).await.unwrap(),
        "a higher limit asked admits more"
    );
    assert_eq!(s.limit_usage(Timestamp(340)).await.unwrap()[0].limit, 3);
}

pub(super) async fn slots_end_with_their_lease<S: Store>(s: Arc<S>) {
    claimed(&*s, &["a", "b"], "w1", 1000).await;
    let a = holder("a", "0", "w1", 1);
    let b = holder("b", "0", "w1", 1);
    assert!(s.acquire_slot(req("k", 1, &a, 300)).await.unwrap());
    assert!(!s.acquire_slot(req("k", 1, &b, 300)).await.unwrap());
    assert_eq!(
        s.limit_usage(Timestamp(1000)).await.unwrap(),
        [usage("k", 1, 0, 0)],
        "holders and waiters of expired leases are not counted"
    );
    // The lease of `a` expired at 1000: `b` (whose lease is renewed) takes the slot.
    let renewed = s
        .renew(&worker("w1"), &[super::claim_of("b", 1)], Timestamp(5000))
        .await
        .unwrap();
    assert!(renewed.is_empty());
    assert!(
        s.acquire_slot(req("k", 1, &b, 1000)).await.unwrap(),
        "the slot of an expired lease is free"
    );
    // `a` is claimed again (generation 2): its earlier slot is not its own any more.
    let again = s
        .claim(claim_req("w2", 1000, 2000, 1, &[key("wf", 1)]))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].generation, 2);
    let a_again = holder("a", "0", "w2", 2);
    assert!(!s.acquire_slot(req("k", 1, &a_again, 1100)).await.unwrap());
    s.release(&worker("w1"), &[super::claim_of("b", 1)])
        .await
        .unwrap();
    assert!(
        s.acquire_slot(req("k", 1, &a_again, 1100)).await.unwrap(),
        "the slot of a released lease is free"
    );
    assert!(
        !s.acquire_slot(req("k", 1, &a, 1100)).await.unwrap(),
        "an earlier claim's holder does not get the slot back"
    );
    assert_eq!(
        s.limit_usage(Timestamp(1100)).await.unwrap(),
        [usage("k", 1, 1, 0)]
    );
}

pub(super) async fn slots_concurrent_never_exceed<S: Store>(s: Arc<S>) {
    const CALLERS: usize = 12;
    let ids: Vec<String> = (0..CALLERS).map(|i| format!("i{i:02}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    claimed(&*s, &refs, "w1", 10_000).await;
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in &ids {
            let s = Arc::clone(&s);
            let h = holder(i, &format!("r{round}"), "w1", 1);
            tasks.push(tokio::spawn(async move {
                s.acquire_slot(req("hot", 3, &h, 300)).await.unwrap()
            }));
        }
        let mut granted = 0;
        for t in tasks {
            granted += usize::from(t.await.unwrap());
        }
        assert_eq!(granted, 3, "round {round}: exactly the limit is granted");
        let u = s.limit_usage(Timestamp(300)).await.unwrap();
        assert_eq!((u.len(), u[0].in_use), (1, 3), "round {round}: {u:?}");
        for i in &ids {
            s.release_slot("hot", &holder(i, &format!("r{round}"), "w1", 1))
                .await
                .unwrap();
        }
    }
}

pub(super) async fn waiters_reported_per_worker<S: Store>(s: Arc<S>) {
    claimed(&*s, &["a", "b"], "w1", 1000).await;
    let a = holder("a", "0", "w1", 1);
    let b = holder("b", "0", "w1", 1);
    assert!(s.acquire_slot(req("k", 1, &a, 300)).await.unwrap());
    assert!(
        !s.acquire_slot(req("k", 1, &b, 300).waiting(5))
            .await
            .unwrap()
    );
    assert_eq!(
        s.limit_usage(Timestamp(300)).await.unwrap(),
        [usage("k", 1, 1, 5)],
        "a refused request reports its worker's waiting attempts"
    );
    for i in ["c", "d"] {
        create(&*s, i, Some(100)).await;
    }
    let got = s
        .claim(claim_req("w2", 200, 800, 2, &[key("wf", 1)]))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    let c = holder("c", "0", "w2", 1);
    assert!(
        !s.acquire_slot(req("k", 1, &c, 310).waiting(2))
            .await
            .unwrap()
    );
    assert_eq!(
        s.limit_usage(Timestamp(310)).await.unwrap(),
        [usage("k", 1, 1, 7)],
        "workers' reports add up"
    );
    assert!(
        !s.acquire_slot(req("k", 1, &b, 320).waiting(4))
            .await
            .unwrap()
    );
    assert_eq!(
        s.limit_usage(Timestamp(320)).await.unwrap()[0].waiting,
        6,
        "a worker's last report replaces its earlier one"
    );
    assert_eq!(
        s.limit_usage(Timestamp(800)).await.unwrap()[0].waiting,
        4,
        "a report does not count once its holder's lease ended (w2's, at 800)"
    );
    s.release_slot("k", &a).await.unwrap();
    assert!(
        s.acquire_slot(req("k", 1, &b, 330).waiting(4))
            .await
            .unwrap()
    );
    assert_eq!(
        s.limit_usage(Timestamp(330)).await.unwrap(),
        [usage("k", 1, 1, 5)],
        "a granted request reports the others still waiting"
    );
    s.release_slot("k", &b).await.unwrap();
    assert!(s.acquire_slot(req("k", 1, &a, 340)).await.unwrap());
    assert_eq!(
        s.limit_usage(Timestamp(340)).await.unwrap(),
        [usage("k", 1, 1, 2)],
        "the last of a worker's waiting attempts clears its report"
    );
}

fn rate(key: &str, interval_us: u64, burst: u32, now: i64) -> RateRequest {
    RateRequest::new(
        key,
        NonZeroU64::new(interval_us).unwrap(),
        NonZeroU32::new(burst).unwrap(),
        Timestamp(now),
    )
}

async fn starts<S: Store>(s: &S, req: RateRequest, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(s.reserve_start(req.clone()).await.unwrap().0);
    }
    out
}

pub(super) async fn rate_starts_are_spaced<S: Store>(s: Arc<S>) {
    assert_eq!(
        starts(&*s, rate("r", 100_000, 2, 1000), 4).await,
        [1000, 1000, 1100, 1200],
        "a burst of 2, then one start per interval"
    );
    assert_eq!(
        starts(&*s, rate("other", 100_000, 1, 1000), 2).await,
        [1000, 1100],
        "keys are apart"
    );
    assert_eq!(
        starts(&*s, rate("r", 100_000, 2, 5000), 3).await,
        [5000, 5000, 5100],
        "an idle key has its burst again"
    );
    assert_eq!(
        starts(&*s, rate("r", 100_000, 2, 5050), 1).await,
        [5200],
        "reservations made and not used still count"
    );
    assert_eq!(
        starts(&*s, rate("fine", 1500, 1, 20_000), 3).await,
        [20_000, 20_002, 20_003],
        "microsecond intervals, starts rounded up to the millisecond"
    );
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            s.reserve_start(rate("hot", 10_000, 1, 30_000))
                .await
                .unwrap()
                .0
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    got.sort_unstable();
    let want: Vec<i64> = (0..20).map(|k| 30_000 + 10 * k).collect();
    assert_eq!(got, want, "concurrent reservations get distinct starts");
}

/// `rate_usage` reports each key with the interval and burst last asked, and its state reads
/// as the starts of the burst in use and the starts reserved for later.
pub(super) async fn rate_usage_reads_burst_and_waiting<S: Store>(s: Arc<S>) {
    assert_eq!(s.rate_usage().await.unwrap(), []);
    assert_eq!(
        starts(&*s, rate("u", 100_000, 2, 1000), 5).await,
        [1000, 1000, 1100, 1200, 1300]
    );
    starts(&*s, rate("a", 1000, 3, 1000), 1).await;
    let usage = s.rate_usage().await.unwrap();
    let keys: Vec<&str> = usage.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["a", "u"], "ordered by key");
    let u = &usage[1];
    assert_eq!((u.interval_us, u.burst, u.tat_us), (100_000, 2, 1_500_000));
    let at = |ms| (u.in_use(Timestamp(ms)), u.waiting(Timestamp(ms)));
    assert_eq!(at(1000), (2, 3), "the burst and three starts ahead");
    assert_eq!(at(1150), (2, 2), "1100 has started");
    assert_eq!(at(1400), (1, 0));
    assert_eq!(at(1500), (0, 0), "idle again");
    assert_eq!(at(999_999), (0, 0));
}
