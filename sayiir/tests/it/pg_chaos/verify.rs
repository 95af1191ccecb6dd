//! Verification of the chaos run: decoding the history and checking every instance.

use super::*;
use crate::common::events::{RetryEvent, SignalEvent, TaskEvent, decode};

/// A retried call as its history tells it: failed attempts, then the success.
struct Call {
    slot: Vec<u32>,
    failed: Vec<Failed>,
    done: Option<(u32, Ran)>,
}

/// The `flaky` calls of a history, in order.
fn flaky_calls(id: &str, history: &[HistoryEntry]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    for h in history {
        let (slot, failure, success) = match h.kind.as_str() {
            "retry" => {
                let r: RetryEvent = decode(&h.payload);
                assert_eq!(r.task, "flaky", "{id}: only `flaky` retries");
                let err: Result<Ran, Failed> = decode(&r.error);
                let err = err.unwrap_err();
                assert_eq!(err.attempt, r.failed_attempt, "{id}: error of its attempt");
                (r.slot, Some(err), None)
            }
            "task" => {
                let t: TaskEvent = decode(&h.payload);
                if t.task != "flaky" {
                    continue;
                }
                let ran: Result<Ran, Failed> = decode(&t.output);
                (t.slot, None, Some((t.attempt, ran.unwrap())))
            }
            _ => continue,
        };
        let open = calls
            .last()
            .is_some_and(|c| c.done.is_none() && c.slot == slot);
        if !open {
            calls.push(Call {
                slot,
                failed: Vec::new(),
                done: None,
            });
        }
        let call = calls.last_mut().unwrap();
        if let Some(e) = failure {
            call.failed.push(e);
        }
        call.done = success;
    }
    calls
}

pub(super) struct Figures {
    pub(super) transitions: u64,
    pub(super) rescheduled: u64,
    pub(super) retries: usize,
    pub(super) runs: usize,
    pub(super) reruns: usize,
}

pub(super) async fn verify(engine: &Engine, plans: &[Plan], log: &Path, seed: u64) -> Figures {
    // (instance, key, attempt) -> generations of the runs, in log order.
    let mut runs: BTreeMap<(String, String, u32), Vec<u32>> = BTreeMap::new();
    let mut total_runs = 0;
    for line in children::read_lines(log) {
        let p: Vec<&str> = line.split(' ').collect();
        assert_eq!(p.len(), 4, "torn log line {line:?}");
        runs.entry((p[1].to_owned(), p[2].to_owned(), p[3].parse().unwrap()))
            .or_default()
            .push(p[0].parse().unwrap());
        total_runs += 1;
    }
    let store = engine.store();
    let listed = store.list(&ListQuery::default()).await.unwrap().instances;
    assert_eq!(listed.len(), plans.len(), "no instance lost, none invented");
    let mut committed: BTreeSet<(String, String, u32)> = BTreeSet::new();
    let mut check_ran = |id: &str, key: &str, attempt: u32, generation: u32| {
        let k = (id.to_owned(), key.to_owned(), attempt);
        let gens = runs
            .get(&k)
            .unwrap_or_else(|| panic!("seed {seed} {id}: {key} attempt {attempt} never ran"));
        assert!(
            gens.contains(&generation),
            "seed {seed} {id}: {key} attempt {attempt} committed from generation {generation}, which did not run it (runs: {gens:?})"
        );
        assert!(
            committed.insert(k),
            "seed {seed} {id}: outcome of {key} attempt {attempt} committed twice"
        );
    };
    let (mut transitions, mut retries, mut rescheduled) = (0u64, 0usize, 0u64);
    for plan in plans {
        let id = plan.id.as_str();
        let s = seed_of(id);
        let iid = InstanceId::new(id).unwrap();
        let record = store.load(&iid).await.unwrap();
        assert_eq!(record.status, Status::Completed, "{id} completed");
        let out: Result<Outcome, Failed> = decode(&record.output.unwrap());
        let out = out.unwrap();
        let history = engine.history(id).await.unwrap();
        let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
        assert_eq!(
            seqs,
            (0..=record.seq).collect::<Vec<_>>(),
            "seed {seed} {id}: gapless history"
        );
        let (k0, k1) = (fails(s, 0), fails(s, 1));
        // start, the step, the flaky call's retries and success, the signal, the timer, the
        // other signals, the fan-out, the second call's retries and success.
        let expected = 1 + 1 + (k0 + 1) + 1 + 1 + (ITEMS as u32 - 1) + 3 + (k1 + 1);
        // A signal sent while the instance sleeps wakes it early; the driver then stores the
        // real due time again in a `rescheduled` entry (state unchanged).
        let early = history.iter().filter(|h| h.kind == "rescheduled").count() as u64;
        rescheduled += early;
        assert_eq!(
            record.seq,
            u64::from(expected) + early,
            "seed {seed} {id}: transitions"
        );
        let mut kinds: BTreeMap<&str, u32> = BTreeMap::new();
        for h in history.iter().filter(|h| h.kind != "rescheduled") {
            *kinds.entry(h.kind.as_str()).or_default() += 1;
        }
        let want: BTreeMap<&str, u32> = [
            ("started", 1),
            ("start", 1),
            ("task", 6),
            ("retry", k0 + k1),
            ("signal", ITEMS as u32),
            ("timer", 1),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
        assert_eq!(kinds, want, "seed {seed} {id}: history entries by kind");
        assert_eq!(history[0].kind, "started");
        transitions += record.seq;

        // Outputs.
        assert_eq!(out.a.value, f(s, 0), "{id}: a");
        assert_eq!((out.b.call, out.b.attempt), (0, k0 + 1), "{id}: b");
        assert_eq!((out.c.call, out.c.attempt), (1, k1 + 1), "{id}: c");
        assert!(plan.todo.is_empty(), "{id}: signals left unsent");
        assert_eq!(
            out.items, plan.sent,
            "seed {seed} {id}: received == sent, in order"
        );
        let sum: u64 = plan.sent.iter().sum();
        let fan: Vec<u64> = out.fan.iter().map(|x| x.value).collect();
        let want_fan: Vec<u64> = [f(s, 0) % 1000, s % 1000, sum % 1000]
            .map(|x| f(x, 30))
            .to_vec();
        assert_eq!(fan, want_fan, "{id}: fan-out");

        // Signals: one history entry per send, in order, each consumed once.
        let signals: Vec<SignalEvent> = history
            .iter()
            .filter(|h| h.kind == "signal")
            .map(|h| decode(&h.payload))
            .collect();
        let values: Vec<u64> = signals.iter().map(|e| decode(&e.payload)).collect();
        assert_eq!(
            values, plan.sent,
            "seed {seed} {id}: one history entry per signal, in order"
        );
        assert!(signals.iter().all(|e| e.name == "item"), "{id}: only items");
        let ids: BTreeSet<u64> = signals.iter().map(|e| e.signal_id).collect();
        assert_eq!(
            ids.len(),
            signals.len(),
            "seed {seed} {id}: a signal delivered twice"
        );
        assert!(
            store.signals(&iid).await.unwrap().is_empty(),
            "seed {seed} {id}: signals left buffered"
        );

        // Retries: failed attempts 1..=K once each, then attempt K+1.
        let calls = flaky_calls(id, &history);
        assert_eq!(calls.len(), 2, "seed {seed} {id}: two retried calls");
        for (c, call) in calls.iter().enumerate() {
            let k = fails(s, c as u64);
            let attempts: Vec<u32> = call.failed.iter().map(|e| e.attempt).collect();
            assert_eq!(
                attempts,
                (1..=k).collect::<Vec<_>>(),
                "seed {seed} {id} call {c}: failed attempts"
            );
            let (attempt, ran) = call.done.clone().expect("every call finished");
            assert_eq!(attempt, k + 1, "seed {seed} {id} call {c}: final attempt");
            let output = if c == 0 { &out.b } else { &out.c };
            assert_eq!(&ran, output, "{id} call {c}: output == history");
            for e in &call.failed {
                assert_eq!(e.key, ran.key, "{id} call {c}: one key for all attempts");
                check_ran(id, &e.key, e.attempt, e.generation);
            }
            check_ran(id, &ran.key, ran.attempt, ran.generation);
            retries += call.failed.len();
        }
        for st in std::iter::once(&out.a).chain(&out.fan) {
            check_ran(id, &st.key, 1, st.generation);
        }

        // The sleep fired no earlier than due.
        let t = history.iter().position(|h| h.kind == "timer").unwrap();
        let set = history[..t]
            .iter()
            .rev()
            .find(|h| h.kind != "rescheduled")
            .unwrap();
        let (from, fired) = (set.at.as_millis(), history[t].at.as_millis());
        assert!(
            fired - from >= sleep_ms(s) as i64,
            "{id}: a {} ms sleep set at {from} fired after {} ms",
            sleep_ms(s),
            fired - from
        );
    }
    let orphans: Vec<_> = runs.keys().filter(|k| !committed.contains(*k)).collect();
    assert!(
        orphans.is_empty(),
        "seed {seed}: task runs that no committed transition accounts for: {orphans:?}"
    );
    Figures {
        transitions,
        rescheduled,
        retries,
        runs: total_runs,
        reruns: total_runs - committed.len(),
    }
}
