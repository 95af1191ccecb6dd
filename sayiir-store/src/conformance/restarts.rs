//! restart (from every status and block), save_definitions / definitions, version_counts.

use std::sync::Arc;

use super::leases::block;
use super::signals::{pending_ids, send, snapshot};
use super::versions::{def, new_under};
use super::{
    FP, VERSION, assert_conflict, assert_not_found, claim_ids, claim_of, claim_req, commit, create,
    create_with, event, fingerprint, finished, hash, id, key, key_fp, load, running, worker,
};
use crate::{
    BlockKind, DefinitionRecord, DefinitionRef, HistoryEntry, InstanceRecord, Restart, Status,
    Store, Timestamp, VersionCount,
};

/// A restart of `i` at `expected_seq` under `definition`, due at `due_at`, at time `now`.
pub(super) fn restart(
    i: &str,
    expected_seq: u64,
    definition: DefinitionRef,
    due_at: Option<i64>,
    now: i64,
) -> Restart {
    Restart {
        id: id(i),
        expected_seq,
        definition,
        input: format!("new input of {i}").into_bytes(),
        state: format!("new start of {i}").into_bytes(),
        state_id: "start#2".to_owned(),
        due_at: due_at.map(Timestamp),
        event: event("restarted", format!("restart of {i}").as_bytes()),
        now: Timestamp(now),
        trace_context: None,
    }
}

/// Restarts with `r`, which must succeed.
async fn restart_ok<S: Store>(s: &S, r: Restart) {
    let what = format!("restart of `{}` at expected_seq {}", r.id, r.expected_seq);
    if let Err(e) = s.restart(r).await {
        panic!("{what} failed: {e:?}");
    }
}

/// The head `r` leaves on an instance whose head was `before`.
fn restarted(before: InstanceRecord, r: &Restart) -> InstanceRecord {
    InstanceRecord {
        version: r.definition.version,
        hash: r.definition.hash,
        fingerprint: r.definition.fingerprint,
        seq: r.expected_seq + 1,
        status: Status::Running,
        state_id: Some(r.state_id.clone()),
        state: Some(r.state.clone()),
        output: None,
        due_at: r.due_at,
        blocked: None,
        updated_at: r.now,
        lease: None,
        ..before
    }
}

/// Restarts `i` (whose head is at `seq`) under a new definition and checks the head, the
/// history (kept, plus the new entry), the input and the lease.
async fn check_restart<S: Store>(s: &S, i: &str, seq: u64, what: &str) {
    let (before, history, signals) = snapshot(s, i).await;
    let r = restart(i, seq, def(VERSION + 1, 2, 0x0e), Some(500), 400);
    restart_ok(s, r.clone()).await;
    let head = load(s, i).await;
    assert_eq!(head, restarted(before, &r), "{what}: head after restart");
    let mut expected = history;
    expected.push(HistoryEntry {
        seq: seq + 1,
        at: Timestamp(400),
        kind: "restarted".to_owned(),
        payload: r.event.payload.clone(),
    });
    assert_eq!(
        s.history(&id(i), None, None).await.unwrap(),
        expected,
        "{what}: history after restart (kept, plus the new entry)"
    );
    assert_eq!(
        s.load_input(&id(i)).await.unwrap(),
        Some(r.input.clone()),
        "{what}: the input is replaced"
    );
    assert_eq!(
        pending_ids(s, i).await,
        signals.iter().map(|x| x.signal_id).collect::<Vec<_>>(),
        "{what}: buffered signals are kept"
    );
    assert!(
        claim_ids(s, claim_req("w-old", 600, 9000, 10, &[key("wf", 1)]))
            .await
            .is_empty(),
        "{what}: claimable by its old key"
    );
    let new_key = [key_fp("wf", 2, 0x0e)];
    assert!(
        claim_ids(s, claim_req("w-new", 499, 9000, 10, &new_key))
            .await
            .is_empty(),
        "{what}: claimable before its due time"
    );
    assert_eq!(
        claim_ids(s, claim_req("w-new", 500, 9000, 10, &new_key)).await,
        [i],
        "{what}: claimable by its new key at its due time, with no lease left"
    );
}

/// A running instance, leased, with history and buffered signals.
pub(super) async fn restart_running<S: Store>(s: Arc<S>) {
    create(&*s, "a", Some(100)).await;
    commit(&*s, running("a", 0, b"s1", Some(100), 110)).await;
    assert_eq!(
        claim_ids(&*s, claim_req("w1", 120, 10_000, 1, &[key("wf", 1)])).await,
        ["a"]
    );
    send(&*s, "a", "go", b"g", 130).await;
    check_restart(&*s, "a", 1, "restart of a running leased instance").await;
    let lost = s
        .renew(&worker("w1"), &[claim_of("a", 1)], Timestamp(20_000))
        .await
        .unwrap();
    assert_eq!(lost, [claim_of("a", 1)], "a restart drops the lease");

    // Waiting for an event: no due time, not claimable, not counted by next_due.
    create(&*s, "b", Some(100)).await;
    restart_ok(&*s, restart("b", 0, def(9, 9, 9), None, 200)).await;
    let b = load(&*s, "b").await;
    assert_eq!((b.seq, b.due_at), (1, None), "restart with no due time");
    let nine = [key_fp("wf", 9, 9)];
    assert_eq!(s.next_due(&nine).await.unwrap(), None);
    assert!(
        claim_ids(&*s, claim_req("w1", 10_000, 20_000, 10, &nine))
            .await
            .is_empty()
    );
}

/// A blocked instance (every kind, paused included) is restarted and unblocked.
pub(super) async fn restart_blocked<S: Store>(s: Arc<S>) {
    let kinds = [
        BlockKind::VersionMismatch,
        BlockKind::CorruptState,
        BlockKind::Panicked,
        BlockKind::IterationLimit,
        BlockKind::Paused,
        BlockKind::MigrationFailed,
    ];
    for kind in kinds {
        let i = format!("{kind:?}");
        create(&*s, &i, Some(100)).await;
        s.set_blocked(&id(&i), Some(block(kind))).await.unwrap();
        assert_eq!(
            load(&*s, &i).await.blocked,
            Some(block(kind)),
            "block {kind:?} stored"
        );
        check_restart(
            &*s,
            &i,
            0,
            &format!("restart of an instance blocked {kind:?}"),
        )
        .await;
    }
}

/// A finished instance (completed, failed, cancelled) runs again.
pub(super) async fn restart_finished<S: Store>(s: Arc<S>) {
    for status in [Status::Completed, Status::Failed, Status::Cancelled] {
        let i = format!("{status}");
        create(&*s, &i, Some(100)).await;
        commit(&*s, finished(&i, 0, status, b"out", 110)).await;
        check_restart(&*s, &i, 1, &format!("restart of a {status} instance")).await;
        commit(&*s, running(&i, 2, b"next", Some(100), 700)).await;
        assert_eq!(
            load(&*s, &i).await.state_id.as_deref(),
            Some("step#3"),
            "a restarted instance takes commits again"
        );
    }
}

/// A stale or future `expected_seq` is a conflict and changes nothing; an unknown id is not
/// found.
pub(super) async fn restart_conflict_and_not_found<S: Store>(s: Arc<S>) {
    create(&*s, "a", Some(100)).await;
    commit(&*s, running("a", 0, b"s1", Some(100), 110)).await;
    send(&*s, "a", "go", b"g", 120).await;
    s.set_blocked(&id("a"), Some(block(BlockKind::Panicked)))
        .await
        .unwrap();
    let before = snapshot(&*s, "a").await;
    let input = s.load_input(&id("a")).await.unwrap();
    let stale = s
        .restart(restart("a", 0, def(3, 3, 3), Some(100), 200))
        .await;
    assert_conflict(stale, "a", 0, 1, "restart with a stale expected_seq");
    let future = s
        .restart(restart("a", 5, def(3, 3, 3), Some(100), 200))
        .await;
    assert_conflict(future, "a", 5, 1, "restart with a future expected_seq");
    assert_eq!(
        snapshot(&*s, "a").await,
        before,
        "refused restarts changed `a`"
    );
    assert_eq!(s.load_input(&id("a")).await.unwrap(), input);
    let missing = s
        .restart(restart("missing", 0, def(3, 3, 3), Some(100), 200))
        .await;
    assert_not_found(missing, "missing", "restart of an unknown id");
}

fn definition(workflow: &str, version: u32, h: u8, f: u8, shape: &str) -> DefinitionRecord {
    DefinitionRecord {
        workflow: workflow.to_owned(),
        version,
        hash: hash(h),
        fingerprint: fingerprint(f),
        shape: shape.as_bytes().to_vec(),
        created_at: Timestamp(i64::from(version) * 10),
    }
}

/// save_definitions inserts the absent keys and leaves stored ones alone (the first
/// registration wins, within one call too); definitions filters and orders.
pub(super) async fn definitions_first_registration_wins<S: Store>(s: Arc<S>) {
    assert!(s.definitions(None).await.unwrap().is_empty());
    s.save_definitions(Vec::new()).await.unwrap();
    let a10 = definition("a", 10, 1, 1, "a v10");
    let a2 = definition("a", 2, 3, 1, "a v2");
    let a2_other_hash = definition("a", 2, 2, 9, "a v2 h2");
    let a2_other_fp = definition("a", 2, 3, 0, "a v2 f0");
    let upper = definition("B", 1, 1, 1, "B");
    s.save_definitions(vec![a10.clone(), a2.clone(), upper.clone()])
        .await
        .unwrap();
    // Stored keys keep their first record, even with another version or shape; in one call,
    // the first of a repeated key wins.
    let mut changed = a10.clone();
    changed.version = 11;
    changed.shape = b"changed".to_vec();
    let mut repeated = a2_other_hash.clone();
    repeated.shape = b"second".to_vec();
    s.save_definitions(vec![
        changed,
        a2_other_hash.clone(),
        repeated,
        a2_other_fp.clone(),
        a2.clone(),
    ])
    .await
    .unwrap();
    let all = s.definitions(None).await.unwrap();
    // Ordered by workflow (bytewise: `B` < `a`), version (numerically), hash, fingerprint.
    assert_eq!(
        all,
        [
            upper.clone(),
            a2_other_hash.clone(),
            a2_other_fp.clone(),
            a2.clone(),
            a10.clone()
        ],
        "definitions, ordered"
    );
    assert_eq!(
        s.definitions(Some("a")).await.unwrap(),
        [a2_other_hash, a2_other_fp, a2, a10],
        "definitions of `a`"
    );
    assert_eq!(s.definitions(Some("B")).await.unwrap(), [upper]);
    assert!(s.definitions(Some("b")).await.unwrap().is_empty());
}

fn count(
    workflow: &str,
    version: u32,
    h: u8,
    f: u8,
    status: Status,
    blocked: Option<BlockKind>,
    count: u64,
) -> VersionCount {
    VersionCount {
        workflow: workflow.to_owned(),
        version,
        hash: hash(h),
        fingerprint: fingerprint(f),
        status,
        blocked,
        count,
    }
}

/// version_counts groups by definition, status and block kind, ordered by those (status and
/// block kind by their codes, not blocked first).
pub(super) async fn version_counts_grouped<S: Store>(s: Arc<S>) {
    assert!(s.version_counts().await.unwrap().is_empty());
    let mut n = 0;
    let mut make = |workflow: &'static str, version: u32, h: u8, f: u8| {
        n += 1;
        new_under(&format!("i{n:02}"), workflow, version, h, f, Some(100))
    };
    // `a` v10, running: two free, one paused, one mismatched, one migration failed.
    for (block_kind, copies) in [
        (None, 2),
        (Some(BlockKind::Paused), 1),
        (Some(BlockKind::VersionMismatch), 1),
        (Some(BlockKind::MigrationFailed), 1),
    ] {
        for _ in 0..copies {
            let r = create_with(&*s, make("a", 10, 1, FP)).await;
            if let Some(kind) = block_kind {
                s.set_blocked(&r.id, Some(block(kind))).await.unwrap();
            }
        }
    }
    // `a` v10 finished: cancelled, completed twice, failed.
    for status in [
        Status::Cancelled,
        Status::Completed,
        Status::Failed,
        Status::Completed,
    ] {
        let r = create_with(&*s, make("a", 10, 1, FP)).await;
        commit(&*s, finished(r.id.as_str(), 0, status, b"out", 110)).await;
    }
    // `a` v2 (before v10 numerically), the same hash with another fingerprint, and `B`.
    create_with(&*s, make("a", 2, 9, FP)).await;
    create_with(&*s, make("a", 10, 1, 0x01)).await;
    create_with(&*s, make("B", 1, 1, FP)).await;
    let counts = s.version_counts().await.unwrap();
    let running = Status::Running;
    assert_eq!(
        counts,
        [
            count("B", 1, 1, FP, running, None, 1),
            count("a", 2, 9, FP, running, None, 1),
            count("a", 10, 1, 0x01, running, None, 1),
            count("a", 10, 1, FP, running, None, 2),
            count("a", 10, 1, FP, running, Some(BlockKind::VersionMismatch), 1),
            count("a", 10, 1, FP, running, Some(BlockKind::Paused), 1),
            count("a", 10, 1, FP, running, Some(BlockKind::MigrationFailed), 1),
            count("a", 10, 1, FP, Status::Completed, None, 2),
            count("a", 10, 1, FP, Status::Failed, None, 1),
            count("a", 10, 1, FP, Status::Cancelled, None, 1),
        ],
        "version counts"
    );
    // Every change of a counted column moves the instance between groups: an unblock, a
    // restart of a finished instance under another definition, a step that redefines a
    // running one, and steps that change none of them.
    s.set_blocked(&id("i03"), None).await.unwrap();
    s.restart(restart("i07", 1, def(2, 9, FP), None, 200))
        .await
        .unwrap();
    commit(
        &*s,
        super::running("i01", 0, b"s1", Some(120), 120).redefine(def(2, 9, FP)),
    )
    .await;
    commit(&*s, super::running("i02", 0, b"s1", Some(120), 120)).await;
    commit(&*s, super::running("i02", 1, b"s2", Some(130), 130)).await;
    let counts = s.version_counts().await.unwrap();
    assert_eq!(
        counts,
        [
            count("B", 1, 1, FP, running, None, 1),
            count("a", 2, 9, FP, running, None, 3),
            count("a", 10, 1, 0x01, running, None, 1),
            count("a", 10, 1, FP, running, None, 2),
            count("a", 10, 1, FP, running, Some(BlockKind::VersionMismatch), 1),
            count("a", 10, 1, FP, running, Some(BlockKind::MigrationFailed), 1),
            count("a", 10, 1, FP, Status::Completed, None, 1),
            count("a", 10, 1, FP, Status::Failed, None, 1),
            count("a", 10, 1, FP, Status::Cancelled, None, 1),
        ],
        "version counts after an unblock, a restart and a redefining step"
    );
}
