//! Concurrent writers: the compare-and-swap admits exactly one of several commits at the same
//! sequence number, commits of different instances never interfere, and concurrent claims never
//! hand out an instance twice.

use std::collections::HashSet;
use std::sync::Arc;

use super::{claim_req, commit, create, id, key, load, running};
use crate::{Store, StoreError};

const WRITERS: usize = 8;

pub(super) async fn concurrent_same_seq<S: Store>(s: Arc<S>) {
    create(&*s, "hot", Some(100)).await;
    for round in 0..3u64 {
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let s = Arc::clone(&s);
            let state = format!("round {round} writer {w}").into_bytes();
            tasks.push(tokio::spawn(async move {
                s.commit(running("hot", round, &state, Some(100), 200))
                    .await
            }));
        }
        let mut winners = Vec::new();
        for (w, task) in tasks.into_iter().enumerate() {
            match task.await.expect("writer task") {
                Ok(()) => winners.push(w),
                Err(StoreError::Conflict {
                    id: got,
                    expected,
                    actual,
                }) if got.as_str() == "hot" && expected == round && actual == round + 1 => {}
                Err(e) => panic!("round {round}: writer {w} got {e:?}, expected Ok or Conflict"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one writer must win, got {winners:?}"
        );
        let winner = format!("round {round} writer {}", winners[0]).into_bytes();
        let head = load(&*s, "hot").await;
        assert_eq!(head.seq, round + 1, "round {round}: seq");
        assert_eq!(
            head.state,
            Some(winner.clone()),
            "round {round}: the winner's state"
        );
        let history = s.history(&id("hot"), Some(round), None).await.unwrap();
        assert_eq!(
            history.len(),
            1,
            "round {round}: one history entry: {history:?}"
        );
        assert_eq!(
            history[0].payload, winner,
            "round {round}: the winner's history entry"
        );
    }
}

pub(super) async fn concurrent_distinct_instances<S: Store>(s: Arc<S>) {
    const INSTANCES: usize = 16;
    const STEPS: u64 = 10;
    let names: Vec<String> = (0..INSTANCES).map(|i| format!("inst-{i:02}")).collect();
    for name in &names {
        create(&*s, name, Some(100)).await;
    }
    let mut tasks = Vec::new();
    for name in names.clone() {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for seq in 0..STEPS {
                let state = format!("{name} step {seq}").into_bytes();
                commit(&*s, running(&name, seq, &state, Some(100), 200)).await;
            }
        }));
    }
    // Readers run alongside the writers and must never see a torn head.
    let reader = {
        let s = Arc::clone(&s);
        let names = names.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                for name in &names {
                    let head = load(&*s, name).await;
                    assert!(head.seq <= STEPS, "seq {} of `{name}`", head.seq);
                    if head.seq > 0 {
                        let want = format!("{name} step {}", head.seq - 1).into_bytes();
                        assert_eq!(head.state, Some(want), "state of `{name}` at {}", head.seq);
                    }
                }
            }
        })
    };
    for task in tasks {
        task.await.expect("writer task");
    }
    reader.await.expect("reader task");
    for name in &names {
        assert_eq!(load(&*s, name).await.seq, STEPS, "final seq of `{name}`");
        let history = s.history(&id(name), None, None).await.unwrap();
        let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
        let want: Vec<u64> = (0..=STEPS).collect();
        assert_eq!(seqs, want, "history of `{name}` is gapless");
    }
}

pub(super) async fn concurrent_claims<S: Store>(s: Arc<S>) {
    const INSTANCES: usize = 6;
    let known = [key("wf", 1)];
    for i in 0..INSTANCES {
        create(&*s, &format!("job-{i}"), Some(100)).await;
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let s = Arc::clone(&s);
        let req = claim_req(&format!("w{w}"), 100, 1000, 2, &known);
        tasks.push(tokio::spawn(async move { s.claim(req).await }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        let claimed = task.await.expect("claim task").expect("claim");
        for c in claimed {
            assert_eq!(c.generation, 1, "the first claim of `{}`", c.record.id);
            assert!(
                seen.insert(c.record.id.clone()),
                "`{}` was claimed twice",
                c.record.id
            );
        }
    }
    assert_eq!(
        seen.len(),
        INSTANCES,
        "claims with enough total capacity took everything: {seen:?}"
    );
}
