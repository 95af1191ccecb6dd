//! Lease generations: every claim of an instance leases it under a new generation, and only
//! the lease of the claim named (owner and generation) is renewed or released, also when the
//! same worker claimed the instance again after its earlier lease expired.

use std::sync::Arc;

use super::{claim_of, claim_req, commit, create, key, lease, running, worker};
use crate::{ClaimRequest, Claimed, Store, Timestamp};

/// Claims with `req` and returns `(id, generation)` of each claimed instance, in order.
async fn claim_gens<S: Store>(s: &S, req: ClaimRequest) -> Vec<(String, u64)> {
    let what = format!("claim by `{}` at {:?}", req.owner, req.now);
    let claimed: Vec<Claimed> = s
        .claim(req)
        .await
        .unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    claimed
        .into_iter()
        .map(|c| (c.record.id.as_str().to_owned(), c.generation))
        .collect()
}

fn gens(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(i, g)| ((*i).to_owned(), *g)).collect()
}

/// Claims with `req`: `(id, took_over)` of each claimed instance, in order.
async fn claim_takeovers<S: Store>(s: &S, req: ClaimRequest) -> Vec<(String, bool)> {
    let claimed: Vec<Claimed> = s.claim(req).await.unwrap();
    claimed
        .into_iter()
        .map(|c| (c.record.id.as_str().to_owned(), c.took_over))
        .collect()
}

/// A claim says whether it took a lease that was never given up (expired), not one released
/// or given up by a commit.
pub(super) async fn claims_report_takeovers<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    let pairs = |p: &[(&str, bool)]| -> Vec<(String, bool)> {
        p.iter().map(|(i, t)| ((*i).to_owned(), *t)).collect()
    };
    create(&*s, "a", Some(100)).await;
    create(&*s, "b", Some(100)).await;
    assert_eq!(
        claim_takeovers(&*s, claim_req("w1", 100, 1000, 10, &known)).await,
        pairs(&[("a", false), ("b", false)]),
        "never claimed"
    );
    assert_eq!(
        claim_takeovers(&*s, claim_req("w2", 1000, 2000, 10, &known)).await,
        pairs(&[("a", true), ("b", true)]),
        "expired leases taken over by another worker"
    );
    s.release(&worker("w2"), &[claim_of("a", 2)]).await.unwrap();
    let mut park = running("b", 0, b"b1", Some(100), 1002);
    park.release_lease = Some(lease("w2", 2));
    commit(&*s, park).await;
    assert_eq!(
        claim_takeovers(&*s, claim_req("w1", 1003, 3000, 10, &known)).await,
        pairs(&[("a", false), ("b", false)]),
        "released, and given up by a commit"
    );
}

pub(super) async fn reclaim_gets_a_new_generation<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    create(&*s, "b", Some(100)).await;
    assert_eq!(
        claim_gens(&*s, claim_req("w1", 100, 1000, 10, &known)).await,
        gens(&[("a", 1), ("b", 1)]),
        "first claims"
    );
    assert!(
        claim_gens(&*s, claim_req("w1", 999, 2000, 10, &known))
            .await
            .is_empty(),
        "a worker re-claimed its own live leases"
    );
    assert_eq!(
        claim_gens(&*s, claim_req("w1", 1000, 2000, 10, &known)).await,
        gens(&[("a", 2), ("b", 2)]),
        "the same worker claiming again after its leases expired gets new generations"
    );
    s.release(&worker("w1"), &[claim_of("a", 2)]).await.unwrap();
    assert_eq!(
        claim_gens(&*s, claim_req("w2", 1001, 3000, 10, &known)).await,
        gens(&[("a", 3)]),
        "a claim after a release, by another worker, gets the next generation"
    );
    let mut park = running("b", 0, b"b1", Some(100), 1002);
    park.release_lease = Some(lease("w1", 2));
    commit(&*s, park).await;
    assert_eq!(
        claim_gens(&*s, claim_req("w1", 1003, 3000, 10, &known)).await,
        gens(&[("b", 3)]),
        "a claim after a commit that released the lease gets the next generation"
    );
}

pub(super) async fn stale_generation_is_fenced<S: Store>(s: Arc<S>) {
    let known = [key("wf", 1)];
    create(&*s, "a", Some(100)).await;
    assert_eq!(
        claim_gens(&*s, claim_req("w1", 100, 1000, 1, &known)).await,
        gens(&[("a", 1)])
    );
    assert_eq!(
        claim_gens(&*s, claim_req("w1", 1000, 5000, 1, &known)).await,
        gens(&[("a", 2)]),
        "claimed again by the same worker once the first lease expired"
    );
    let lease_until = |s: Arc<S>| async move { s.next_due(&[key("wf", 1)]).await.unwrap() };

    // The first claim's lease is gone: renewing it fails and extends nothing.
    let lost = s
        .renew(&worker("w1"), &[claim_of("a", 1)], Timestamp(9000))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("a", 1)], "renew of a stale generation");
    assert_eq!(
        lease_until(Arc::clone(&s)).await,
        Some(Timestamp(5000)),
        "a stale generation's renew extended the current lease"
    );
    // Releasing it frees nothing.
    s.release(&worker("w1"), &[claim_of("a", 1)]).await.unwrap();
    assert!(
        claim_gens(&*s, claim_req("w2", 4999, 9000, 1, &known))
            .await
            .is_empty(),
        "a stale generation's release freed the current lease"
    );
    // A commit by the stale claim's driver passes the sequence check, but releases nothing.
    let mut stale = running("a", 0, b"a1", Some(100), 2000);
    stale.release_lease = Some(lease("w1", 1));
    commit(&*s, stale).await;
    assert!(
        claim_gens(&*s, claim_req("w2", 4999, 9000, 1, &known))
            .await
            .is_empty(),
        "a commit releasing a stale generation freed the current lease"
    );
    assert_eq!(lease_until(Arc::clone(&s)).await, Some(Timestamp(5000)));

    // The current claim renews and releases, also named in one call with the stale one (a
    // worker renews every claim it still has a driver of).
    let lost = s
        .renew(
            &worker("w1"),
            &[claim_of("a", 1), claim_of("a", 2)],
            Timestamp(6000),
        )
        .await
        .unwrap();
    assert_eq!(
        lost,
        [claim_of("a", 1)],
        "renew of the stale and the current generation"
    );
    assert_eq!(
        lease_until(Arc::clone(&s)).await,
        Some(Timestamp(6000)),
        "the current generation's renew"
    );
    let mut current = running("a", 1, b"a2", Some(100), 3000);
    current.release_lease = Some(lease("w1", 2));
    commit(&*s, current).await;
    assert_eq!(
        claim_gens(&*s, claim_req("w2", 3001, 9000, 1, &known)).await,
        gens(&[("a", 3)]),
        "a commit releasing the current generation frees the instance at once"
    );
    let lost = s
        .renew(&worker("w1"), &[claim_of("a", 2)], Timestamp(9500))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("a", 2)], "released, then taken by w2");
    s.release(&worker("w2"), &[claim_of("a", 3)]).await.unwrap();
    assert_eq!(
        claim_gens(&*s, claim_req("w3", 3002, 9000, 1, &known)).await,
        gens(&[("a", 4)]),
        "a release of the current generation frees the instance at once"
    );
}
