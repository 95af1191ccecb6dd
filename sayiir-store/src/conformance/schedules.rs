//! Schedules: created once, claimed under a lease by one worker, written by compare-and-swap
//! on their revision together with the instances of the ticks fired, deleted.

use std::sync::Arc;

use super::{load, new_instance, worker};
use crate::{ScheduleClaim, ScheduleRecord, ScheduleWrite, Status, Store, StoreError, Timestamp};

pub(super) fn schedule(id: &str, workflow: &str, due_at: Option<i64>) -> ScheduleRecord {
    ScheduleRecord {
        id: id.to_owned(),
        workflow: workflow.to_owned(),
        spec: format!("{{\"cron\":\"spec of {id}\"}}"),
        input: format!("input of {id}").into_bytes(),
        paused: false,
        next_tick: due_at.map(Timestamp),
        buffered: None,
        due_at: due_at.map(Timestamp),
        last_instance: None,
        note: None,
        // Ignored by creation: a new schedule is stored at revision 0 without a lease.
        revision: 7,
        lease: None,
        created_at: Timestamp(100),
        updated_at: Timestamp(100),
    }
}

pub(super) fn claim(
    owner: &str,
    now: i64,
    until: i64,
    limit: usize,
    served: &[&str],
) -> ScheduleClaim {
    ScheduleClaim {
        owner: worker(owner),
        now: Timestamp(now),
        lease_until: Timestamp(until),
        limit,
        served: served.iter().map(|s| (*s).to_owned()).collect(),
    }
}

async fn claimed_ids<S: Store>(s: &S, c: ScheduleClaim) -> Vec<String> {
    s.claim_schedules(c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn assert_schedule_conflict<T: std::fmt::Debug>(
    r: Result<T, StoreError>,
    id: &str,
    expected: u64,
    actual: u64,
) {
    match r {
        Err(StoreError::ScheduleConflict {
            id: got,
            expected: e,
            actual: a,
        }) if got == id && e == expected && a == actual => {}
        other => panic!(
            "got {other:?}, expected ScheduleConflict {{ id: {id:?}, expected: {expected}, actual: {actual} }}"
        ),
    }
}

fn assert_schedule_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, id: &str) {
    match r {
        Err(StoreError::ScheduleNotFound { id: got }) if got == id => {}
        other => panic!("got {other:?}, expected ScheduleNotFound {{ id: {id:?} }}"),
    }
}

/// Creation stores revision 0 without a lease and is idempotent on the id (the stored one is
/// returned unchanged); load and the listing read it back, ordered by id.
pub(super) async fn schedules_created_once<S: Store>(s: Arc<S>) {
    assert_eq!(s.schedules().await.unwrap(), []);
    assert_schedule_not_found(s.load_schedule("nightly").await, "nightly");
    let stored = s
        .create_schedule(schedule("nightly", "report", Some(1_000)))
        .await
        .unwrap();
    let mut expected = schedule("nightly", "report", Some(1_000));
    expected.revision = 0;
    assert_eq!(stored, expected);
    assert_eq!(s.load_schedule("nightly").await.unwrap(), expected);

    let mut other = schedule("nightly", "other", Some(5));
    other.spec = "another spec".into();
    other.input = b"another input".to_vec();
    assert_eq!(
        s.create_schedule(other).await.unwrap(),
        expected,
        "an existing schedule is returned unchanged"
    );
    s.create_schedule(schedule("hourly", "report", None))
        .await
        .unwrap();
    s.create_schedule(schedule("Z-upper", "report", None))
        .await
        .unwrap();
    let ids: Vec<String> = s
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["Z-upper", "hourly", "nightly"], "ordered by bytes");
    assert_eq!(
        s.load_schedule("nightly").await.unwrap().input,
        b"input of nightly"
    );
}

/// Claims take due, unpaused schedules of the served workflows whose lease is free or
/// expired, earliest due first then by id, up to the limit; each claim bumps the revision and
/// sets the lease.
pub(super) async fn schedules_claimed_under_lease<S: Store>(s: Arc<S>) {
    s.create_schedule(schedule("b", "report", Some(1_000)))
        .await
        .unwrap();
    s.create_schedule(schedule("a", "report", Some(1_000)))
        .await
        .unwrap();
    s.create_schedule(schedule("early", "report", Some(500)))
        .await
        .unwrap();
    s.create_schedule(schedule("later", "report", Some(5_000)))
        .await
        .unwrap();
    s.create_schedule(schedule("never", "report", None))
        .await
        .unwrap();
    s.create_schedule(schedule("mail", "mail", Some(10)))
        .await
        .unwrap();
    let mut paused = schedule("paused", "report", Some(10));
    paused.paused = true;
    s.create_schedule(paused).await.unwrap();

    assert_eq!(
        claimed_ids(&*s, claim("w1", 1_000, 2_000, 2, &["report"])).await,
        ["early", "a"]
    );
    let a = s.load_schedule("a").await.unwrap();
    assert_eq!(a.revision, 1, "a claim bumps the revision");
    let lease = a.lease.expect("claimed with a lease");
    assert_eq!((lease.owner, lease.until), (worker("w1"), Timestamp(2_000)));
    assert_eq!(a.updated_at, Timestamp(1_000));
    // Held leases exclude; the rest is taken by another worker.
    assert_eq!(
        claimed_ids(&*s, claim("w2", 1_000, 2_000, 10, &["report", "mail"])).await,
        ["mail", "b"]
    );
    assert_eq!(
        claimed_ids(&*s, claim("w2", 1_999, 3_000, 10, &["report"])).await,
        Vec::<String>::new()
    );
    // Expired at 2 000: taken again, by anyone.
    assert_eq!(
        claimed_ids(&*s, claim("w3", 2_000, 3_000, 10, &["report"])).await,
        ["early", "a", "b"]
    );
    assert_eq!(s.load_schedule("a").await.unwrap().revision, 2);
    assert_eq!(
        claimed_ids(&*s, claim("w1", 10_000, 20_000, 0, &["report"])).await,
        Vec::<String>::new(),
        "limit 0"
    );
    assert_eq!(
        claimed_ids(&*s, claim("w1", 10_000, 20_000, 10, &[])).await,
        Vec::<String>::new(),
        "no workflow served"
    );
}

/// A write is a compare-and-swap on the revision: a stale one fails and creates nothing; a
/// current one creates the fired instances (an existing id is left as it is), sets the fields,
/// bumps the revision and drops the lease, atomically.
pub(super) async fn schedule_writes_fire_atomically<S: Store>(s: Arc<S>) {
    s.create_schedule(schedule("daily", "report", Some(1_000)))
        .await
        .unwrap();
    let read = s.load_schedule("daily").await.unwrap();
    let claimed = s
        .claim_schedules(claim("w1", 1_000, 9_000, 1, &["report"]))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(claimed.revision, 1);

    // A write based on the read before the claim: refused, nothing created.
    let mut stale = ScheduleWrite::of(&read, Timestamp(1_001));
    stale.fire = vec![new_instance("daily@1", "report", 1, Some(1_000), 1_001)];
    stale.next_tick = Some(Timestamp(2_000));
    assert_schedule_conflict(s.write_schedule(stale).await, "daily", 0, 1);
    assert!(matches!(
        s.load(&super::id("daily@1")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.load_schedule("daily").await.unwrap(), claimed);

    // An instance of the second tick exists already (a backfill): left as it is.
    let existing = super::create_with(&*s, new_instance("daily@2", "report", 1, None, 50)).await;

    let mut w = ScheduleWrite::of(&claimed, Timestamp(1_002));
    w.fire = vec![
        new_instance("daily@1", "report", 1, Some(1_000), 1_002),
        new_instance("daily@2", "report", 1, Some(1_000), 1_002),
    ];
    w.next_tick = Some(Timestamp(3_000));
    w.due_at = Some(Timestamp(3_000));
    w.buffered = Some(Timestamp(2_500));
    w.last_instance = Some(super::id("daily@2"));
    w.note = Some("late by 2 ms".into());
    let written = s.write_schedule(w).await.unwrap();
    assert_eq!(written.revision, 2);
    assert_eq!(written.lease, None, "a write drops the lease");
    assert_eq!(written.next_tick, Some(Timestamp(3_000)));
    assert_eq!(written.due_at, Some(Timestamp(3_000)));
    assert_eq!(written.buffered, Some(Timestamp(2_500)));
    assert_eq!(written.last_instance, Some(super::id("daily@2")));
    assert_eq!(written.note.as_deref(), Some("late by 2 ms"));
    assert_eq!(written.updated_at, Timestamp(1_002));
    assert_eq!(written.spec, claimed.spec, "spec kept");
    assert_eq!(written.input, claimed.input, "input kept");
    assert_eq!(s.load_schedule("daily").await.unwrap(), written);
    let first = load(&*s, "daily@1").await;
    assert_eq!((first.seq, first.status), (0, Status::Running));
    assert_eq!(first.due_at, Some(Timestamp(1_000)));
    assert_eq!(
        load(&*s, "daily@2").await,
        existing,
        "existing instance untouched"
    );
    assert_eq!(
        s.history(&super::id("daily@1"), None, None)
            .await
            .unwrap()
            .len(),
        1
    );

    // An operator's write: new spec, input, paused; the same revision twice fails once.
    let mut op = ScheduleWrite::of(&written, Timestamp(1_500));
    op.spec = Some("new spec".into());
    op.input = Some(b"new input".to_vec());
    op.paused = true;
    op.note = None;
    let again = op.clone();
    let paused = s.write_schedule(op).await.unwrap();
    assert_eq!(
        (
            paused.spec.as_str(),
            paused.input.as_slice(),
            paused.paused,
            paused.revision
        ),
        ("new spec", b"new input".as_slice(), true, 3)
    );
    assert_eq!(paused.note, None);
    assert_schedule_conflict(s.write_schedule(again).await, "daily", 2, 3);
    assert_eq!(
        claimed_ids(&*s, claim("w1", 100_000, 200_000, 10, &["report"])).await,
        Vec::<String>::new(),
        "paused schedules are not claimed"
    );
    let mut unknown = ScheduleWrite::of(&paused, Timestamp(1_600));
    unknown.id = "nope".into();
    assert_schedule_not_found(s.write_schedule(unknown).await, "nope");
}

/// Deleting keeps the instances a schedule started; an unknown id is an error.
pub(super) async fn schedule_delete_keeps_instances<S: Store>(s: Arc<S>) {
    s.create_schedule(schedule("daily", "report", Some(1_000)))
        .await
        .unwrap();
    let read = s.load_schedule("daily").await.unwrap();
    let mut w = ScheduleWrite::of(&read, Timestamp(1_000));
    w.fire = vec![new_instance("daily@1", "report", 1, Some(1_000), 1_000)];
    s.write_schedule(w).await.unwrap();
    s.delete_schedule("daily").await.unwrap();
    assert_schedule_not_found(s.load_schedule("daily").await, "daily");
    assert_schedule_not_found(s.delete_schedule("daily").await, "daily");
    assert_eq!(s.schedules().await.unwrap(), []);
    assert_eq!(load(&*s, "daily@1").await.status, Status::Running);
}

/// The next due time of the served, unpaused schedules, pushed to a held lease's expiry.
pub(super) async fn next_schedule_due_time<S: Store>(s: Arc<S>) {
    let served = vec!["report".to_owned()];
    assert_eq!(s.next_schedule_due(&served).await.unwrap(), None);
    s.create_schedule(schedule("none", "report", None))
        .await
        .unwrap();
    assert_eq!(s.next_schedule_due(&served).await.unwrap(), None);
    s.create_schedule(schedule("mail", "mail", Some(10)))
        .await
        .unwrap();
    let mut paused = schedule("paused", "report", Some(20));
    paused.paused = true;
    s.create_schedule(paused).await.unwrap();
    s.create_schedule(schedule("a", "report", Some(1_000)))
        .await
        .unwrap();
    s.create_schedule(schedule("b", "report", Some(3_000)))
        .await
        .unwrap();
    assert_eq!(
        s.next_schedule_due(&served).await.unwrap(),
        Some(Timestamp(1_000))
    );
    s.claim_schedules(claim("w1", 1_000, 4_000, 1, &["report"]))
        .await
        .unwrap();
    assert_eq!(
        s.next_schedule_due(&served).await.unwrap(),
        Some(Timestamp(3_000)),
        "`a` is leased until 4 000"
    );
    assert_eq!(s.next_schedule_due(&[]).await.unwrap(), None);
}

/// Concurrent claims never hand one schedule to two workers, and concurrent writes of one
/// revision let exactly one through (its instance created once).
pub(super) async fn schedule_claims_and_writes_race<S: Store>(s: Arc<S>) {
    for i in 0..20 {
        s.create_schedule(schedule(&format!("s{i:02}"), "report", Some(1_000)))
            .await
            .unwrap();
    }
    let mut claims = Vec::new();
    for w in 0..4 {
        let s = Arc::clone(&s);
        claims.push(tokio::spawn(async move {
            claimed_ids(&*s, claim(&format!("w{w}"), 1_000, 9_000, 20, &["report"])).await
        }));
    }
    let mut all = Vec::new();
    for c in claims {
        all.extend(c.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = (0..20).map(|i| format!("s{i:02}")).collect();
    assert_eq!(all, expected, "each schedule claimed exactly once");

    let read = s.load_schedule("s00").await.unwrap();
    let mut writes = Vec::new();
    for w in 0..4 {
        let s = Arc::clone(&s);
        let mut write = ScheduleWrite::of(&read, Timestamp(1_001 + w));
        write.fire = vec![new_instance("s00@1", "report", 1, Some(1_000), 1_001)];
        write.next_tick = Some(Timestamp(2_000));
        writes.push(tokio::spawn(async move { s.write_schedule(write).await }));
    }
    let mut ok = 0;
    for w in writes {
        match w.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::ScheduleConflict { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1, "one write of a revision succeeds");
    let history = s.history(&super::id("s00@1"), None, None).await.unwrap();
    assert_eq!(history.len(), 1, "its instance was created once");
}
