//! The instance counts of `version_counts` follow every write that creates instances or
//! changes a counted column (workflow, version, definition hash, fingerprint, status, block
//! kind): after each write below they equal a recount of every instance the listing returns.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use super::gates::gated;
use super::leases::block;
use super::restarts::restart;
use super::versions::{def, new_under};
use super::{FP, claim_req, commit, finished, id, key_fp, new_instance, running};
use crate::{
    BlockChange, BlockKind, BlockWrite, CreateResult, Created, ListQuery, ScheduleWrite, Status,
    Store, Timestamp,
};

/// A count's key: workflow, version, hash byte, fingerprint byte, status and block kind codes.
type CountKey = (String, u32, Vec<u8>, Vec<u8>, i64, Option<i64>);

/// Recounts every instance of the listing.
async fn recount<S: Store>(s: &S) -> BTreeMap<CountKey, u64> {
    let mut out = BTreeMap::new();
    let mut after = None;
    loop {
        let page = s
            .list(
                &ListQuery::new()
                    .after(after.clone())
                    .limit(NonZeroUsize::new(100)),
            )
            .await
            .unwrap();
        assert!(page.damaged.is_empty(), "no damaged rows");
        for i in &page.instances {
            let k = (
                i.workflow.clone(),
                i.version,
                i.hash.0.to_vec(),
                i.fingerprint.0.to_vec(),
                i.status.code(),
                i.blocked.as_ref().map(|b| b.kind.code()),
            );
            *out.entry(k).or_insert(0) += 1;
        }
        if page.instances.len() < 100 {
            return out;
        }
        after = page.instances.last().map(|i| i.id.clone());
    }
}

/// Asserts that `version_counts` equals the recount, after `what`.
async fn same<S: Store>(s: &S, what: &str) {
    let counted: BTreeMap<CountKey, u64> = s
        .version_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            let k = (
                c.workflow,
                c.version,
                c.hash.0.to_vec(),
                c.fingerprint.0.to_vec(),
                c.status.code(),
                c.blocked.map(BlockKind::code),
            );
            (k, c.count)
        })
        .collect();
    assert_eq!(counted, recount(s).await, "version_counts after {what}");
}

fn all_new(results: &[CreateResult]) -> usize {
    results
        .iter()
        .filter(|r| matches!(r, Ok(Created::New(_))))
        .count()
}

/// Creates (alone, in a batch with an existing and a repeated id, by a schedule's write),
/// steps, finishes, blocks and unblocks in every way, pauses and resumes, claims clearing a
/// version mismatch, redefines, restarts, and gated instances waiting and admitted: the
/// counts stay equal to a recount after each.
pub(super) async fn counts_follow_every_write<S: Store>(s: Arc<S>) {
    same(&*s, "nothing").await;
    super::create(&*s, "a1", Some(100)).await;
    same(&*s, "a create").await;
    let batch = vec![
        new_instance("a1", "wf", 1, Some(100), 100),
        new_instance("a2", "wf", 1, Some(100), 100),
        new_instance("a3", "wf", 1, None, 100),
        new_instance("a2", "wf", 1, Some(100), 100),
        new_under("b1", "other", 7, 2, 3, Some(100)),
        new_under("b2", "other", 7, 2, 3, Some(100)),
    ];
    let results = s.create_batch(batch).await.unwrap();
    assert_eq!(all_new(&results), 4, "created by the batch: {results:?}");
    same(&*s, "a batch of creates").await;

    // One batch: a step that changes no counted column, a completion, a failure, a step that
    // sets a block, one that redefines, and a conflict that writes nothing.
    let results = s
        .commit_batch(vec![
            running("a1", 0, b"s", Some(120), 120),
            finished("a2", 0, Status::Completed, b"ok", 120),
            finished("b1", 0, Status::Failed, b"no", 120),
            running("a3", 0, b"s", None, 120).block(BlockWrite::Set(block(BlockKind::Parked))),
            running("b2", 0, b"s", Some(120), 120).redefine(def(8, 2, 3)),
            running("a1", 5, b"s", Some(120), 120),
        ])
        .await
        .unwrap();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        5,
        "{results:?}"
    );
    same(&*s, "a batch of commits").await;

    // Blocks: set and cleared by set_blocked, by a commit, and an operator's pause and resume.
    s.set_blocked(&id("a1"), Some(block(BlockKind::VersionMismatch)))
        .await
        .unwrap();
    same(&*s, "set_blocked").await;
    commit(
        &*s,
        running("a3", 1, b"s", Some(130), 130).block(BlockWrite::Clear),
    )
    .await;
    same(&*s, "a commit clearing a block").await;
    let pause = BlockChange::new(id("a3"), [None], block(BlockKind::Paused), Timestamp(140));
    s.update_block(pause).await.unwrap();
    same(&*s, "a pause").await;
    let resume = BlockChange::new(id("a3"), [Some(BlockKind::Paused)], None, Timestamp(150));
    s.update_block(resume.wake(true)).await.unwrap();
    same(&*s, "a resume").await;

    // A claim takes the version-mismatched `a1` and clears its block.
    let claimed = s
        .claim(claim_req("w", 1_000, 9_000, 10, &[key_fp("wf", 1, FP)]))
        .await
        .unwrap();
    assert!(claimed.iter().any(|c| c.record.id.as_str() == "a1"));
    same(&*s, "a claim clearing a version mismatch").await;

    // A cancel, a restart of a finished instance under another definition, and of a running one.
    let a1 = s.load(&id("a1")).await.unwrap();
    commit(&*s, finished("a1", a1.seq, Status::Cancelled, b"", 1_100)).await;
    same(&*s, "a cancel").await;
    s.restart(restart("a2", 1, def(9, 4, 5), Some(1_200), 1_200))
        .await
        .unwrap();
    same(&*s, "a restart of a finished instance").await;
    let b2 = s.load(&id("b2")).await.unwrap();
    s.restart(restart("b2", b2.seq, def(7, 2, 3), None, 1_300))
        .await
        .unwrap();
    same(&*s, "a restart of a running instance").await;

    // Gates of limit 1: the second waits (blocked), is admitted when the first finishes; the
    // third waits, is cancelled while waiting; a restart of the finished first queues again.
    for i in ["g1", "g2", "g3"] {
        s.create(gated(i, 100, &[("workflow:wf", 1)], None))
            .await
            .unwrap();
        same(&*s, "a gated create").await;
    }
    commit(&*s, finished("g1", 0, Status::Completed, b"", 1_400)).await;
    same(&*s, "a finish admitting a waiter").await;
    commit(&*s, finished("g3", 0, Status::Cancelled, b"", 1_500)).await;
    same(&*s, "a waiter cancelled").await;
    s.restart(restart("g1", 1, def(2, 1, FP), Some(1_600), 1_600))
        .await
        .unwrap();
    same(&*s, "a restart of a finished gated instance").await;

    // A schedule's write creates its tick's instance.
    s.create_schedule(super::schedules::schedule("daily", "report", Some(1_000)))
        .await
        .unwrap();
    let claimed = s
        .claim_schedules(super::schedules::claim("w1", 1_000, 9_000, 1, &["report"]))
        .await
        .unwrap()
        .remove(0);
    let mut w = ScheduleWrite::of(&claimed, Timestamp(1_002));
    w.fire = vec![
        new_instance("daily@1", "report", 1, Some(1_000), 1_002),
        new_instance("a3", "wf", 1, Some(1_000), 1_002),
    ];
    s.write_schedule(w).await.unwrap();
    same(&*s, "a schedule's write").await;
}
