//! Crash-resume of retries, durable sleeps and signals with real kills: a child process works
//! a SQLite file and is SIGKILLed at random moments, then restarted, while this (parent)
//! process starts the instances and sends them signals throughout, through an engine of its
//! own without a worker (one worker process per SQLite file). The child is this test binary,
//! run with the ignored `events_child` test selected.
//!
//! Checked afterwards, per instance: it received exactly the signals sent to it, in send order,
//! one history entry each, none left buffered; every retried call failed attempts 1..=K once
//! each in its history and succeeded on attempt K+1; the task log shows every attempt ran, none
//! beyond K+1, attempts never went backwards, no attempt ran again after its outcome was
//! committed, and none started before its backoff had passed; each timer (the sleep, the
//! signal timeout) fired no earlier than its due time; history sequence numbers are gapless.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{self, events};

use common::{Rng, env, mix, seed, seed_of};
use events::{RetryEvent, SignalEvent, TaskEvent, decode};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sayiir::store::{HistoryEntry, InstanceId, ListQuery, Status, Timestamp};
use sayiir::{Engine, SqliteStore, TaskContext, WorkerConfig};
use serde::{Deserialize, Serialize};

const MIN_KILLS: usize = 30;
/// Kills per round at most, so that they are spread over several rounds.
const KILLS_PER_ROUND: usize = 12;
const INSTANCES: usize = 32;
/// "item" signals each instance waits for.
const ITEMS: usize = 5;
/// The timeout of the "stop" signal, which is never sent.
const STOP_MS: u64 = 60;

/// A successful attempt: which call, which attempt, the process generation that ran it and the
/// call's idempotency key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Ran {
    call: u64,
    attempt: u32,
    generation: u32,
    key: String,
}

/// A failed attempt (retried).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Failed {
    attempt: u32,
    generation: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Outcome {
    first: Ran,
    second: Ran,
    items: Vec<u64>,
    stop_timed_out: bool,
}

/// How many times call `call` of instance `seed` fails before it succeeds (0..=3).
fn fails(seed: u64, call: u64) -> u32 {
    (mix(seed * 2 + call) % 4) as u32
}

fn sleep_ms(seed: u64) -> u64 {
    50 + mix(seed ^ 0x5EED) % 251
}

/// Fails its first `fails(seed, call)` attempts. Every run appends one line when it starts,
/// with `O_APPEND` (survives SIGKILL of the writer): generation, instance, key, attempt, start
/// time (ms); then it works for 10–40 ms.
#[sayiir::task(retries = 3, backoff = "20ms", max_backoff = "80ms")]
async fn flaky(seed: u64, call: u64) -> Result<Ran, Failed> {
    let started = Timestamp::now().as_millis();
    let cx = TaskContext::current().expect("tasks run with a context");
    let generation: u32 = env("EVENTS_GEN").parse().unwrap();
    let line = format!(
        "{generation} {} {} {} {started}\n",
        cx.instance(),
        cx.idempotency_key(),
        cx.attempt()
    );
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env("EVENTS_LOG"))
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(10 + mix(seed + call) % 30)).await;
    if cx.attempt() <= fails(seed, call) {
        return Err(Failed {
            attempt: cx.attempt(),
            generation,
        });
    }
    Ok(Ran {
        call,
        attempt: cx.attempt(),
        generation,
        key: cx.idempotency_key().to_owned(),
    })
}

/// A retried call racing the first signal, a durable sleep, a loop of signals, a second retried
/// call and a signal wait that times out.
#[sayiir::workflow]
async fn evented(seed: u64) -> Result<Outcome, Failed> {
    let (tried, item) = sayiir::join!(flaky(seed, 0), sayiir::signal::<u64>("item")).await;
    let first = tried?;
    let mut items: Vec<u64> = vec![item];
    sayiir::sleep(Duration::from_millis(sleep_ms(seed))).await;
    while items.len() < ITEMS {
        let next = sayiir::signal::<u64>("item").await;
        items.push(next);
    }
    let second = flaky(seed, 1).await?;
    let stop = sayiir::signal::<u64>("stop")
        .timeout(Duration::from_millis(STOP_MS))
        .await;
    Ok(Outcome {
        first,
        second,
        items,
        stop_timed_out: stop.is_err(),
    })
}

/// Child mode: work the database until every instance of this round is done.
#[test]
#[ignore = "run by `retries_sleeps_and_signals_survive_kills` as a child process"]
fn events_child() {
    if env("EVENTS_DB").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(env("EVENTS_DB")).unwrap();
        // Signals come from another process: poll for them often.
        let config = WorkerConfig::default()
            .max_instances(16)
            .idle_poll(Duration::from_millis(20));
        let engine = Engine::builder(store)
            .register::<evented>()
            .worker_config(config)
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        for id in env("EVENTS_IDS").split(',') {
            engine.result::<evented>(id).await.unwrap().unwrap();
        }
        worker.shutdown().await.unwrap();
    });
}

/// The signals of one instance: still to send, and sent (the send returned `Ok`), in order.
struct Plan {
    id: String,
    todo: VecDeque<u64>,
    sent: Vec<u64>,
}

/// The parent: its own engine on the file (no worker), and what it sent.
struct Parent {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    rng: Rng,
    plans: Vec<Plan>,
    generation: u32,
    kills: usize,
    busy: usize,
    sent_while_down: usize,
}

impl Parent {
    /// Sends the next signal of a random instance of the current round that has one left;
    /// `false` when none has. A busy store is retried later (the signal stays to send); a send
    /// that returned `Ok` is never repeated.
    fn send_one(&mut self, round: std::ops::Range<usize>) -> bool {
        let open: Vec<usize> = round.filter(|&i| !self.plans[i].todo.is_empty()).collect();
        if open.is_empty() {
            return false;
        }
        let plan = &mut self.plans[open[(self.rng.next() % open.len() as u64) as usize]];
        let value = plan.todo[0];
        match self
            .rt
            .block_on(self.engine.signal(&plan.id, "item", &value))
        {
            Ok(()) => {
                plan.todo.pop_front();
                plan.sent.push(value);
            }
            Err(e) if e.is_retryable() => self.busy += 1,
            Err(e) => panic!("sending {value} to {}: {e}", plan.id),
        }
        true
    }

    fn start(&mut self, id: &str) {
        loop {
            match self
                .rt
                .block_on(self.engine.start::<evented>(id, seed_of(id)))
            {
                Ok(_) => return,
                Err(e) if e.is_retryable() => self.busy += 1,
                Err(e) => panic!("starting {id}: {e}"),
            }
        }
    }

    /// Runs one round: child generations killed at random moments (at most `kills_wanted`
    /// kills), signals sent all along, until a child finishes every instance.
    fn run_round(
        &mut self,
        db: &Path,
        log: &Path,
        round: std::ops::Range<usize>,
        kills_wanted: usize,
    ) {
        let ids: Vec<String> = round.clone().map(|i| self.plans[i].id.clone()).collect();
        let mut kills = 0;
        loop {
            self.generation += 1;
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([
                    &common::test_name!(crash_events::events_child),
                    "--exact",
                    "--ignored",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env("EVENTS_DB", db)
                .env("EVENTS_LOG", log)
                .env("EVENTS_GEN", self.generation.to_string())
                .env("EVENTS_IDS", ids.join(","))
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let started = Instant::now();
            let kill_after = Duration::from_millis(self.rng.between(30, 350));
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(
                        status.success(),
                        "child generation {} failed: {status}",
                        self.generation
                    );
                    return;
                }
                if kills < kills_wanted && started.elapsed() >= kill_after {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                    self.kills += 1;
                    // Some signals arrive while no worker runs.
                    for _ in 0..self.rng.next() % 4 {
                        if self.send_one(round.clone()) {
                            self.sent_while_down += 1;
                        }
                    }
                    break;
                }
                if self.rng.next().is_multiple_of(8) {
                    self.send_one(round.clone());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

#[test]
fn retries_sleeps_and_signals_survive_kills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let log = dir.path().join("runs.log");
    let seed = seed("CRASH_SEED");
    eprintln!("crash_events: seed {seed} (rerun with CRASH_SEED={seed})");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = {
        let _in_rt = rt.enter();
        let store = SqliteStore::open(&db).unwrap();
        Engine::builder(store)
            .register::<evented>()
            .build()
            .unwrap()
    };
    let mut parent = Parent {
        rt,
        engine,
        rng: Rng(seed),
        plans: Vec::new(),
        generation: 0,
        kills: 0,
        busy: 0,
        sent_while_down: 0,
    };
    let mut round = 0;
    while parent.kills < MIN_KILLS || round == 0 {
        let first = parent.plans.len();
        for i in 0..INSTANCES {
            let id = format!("e{round}-{i}-{}", parent.rng.next() % 1_000_000_000);
            let todo = (0..ITEMS).map(|_| parent.rng.next() % 1_000_000).collect();
            parent.start(&id);
            parent.plans.push(Plan {
                id,
                todo,
                sent: Vec::new(),
            });
        }
        let wanted = MIN_KILLS
            .saturating_sub(parent.kills)
            .clamp(1, KILLS_PER_ROUND);
        parent.run_round(&db, &log, first..parent.plans.len(), wanted);
        round += 1;
    }
    verify(&parent, &log, seed, round);
}

/// One call as its history tells it: the committed failures (attempt, not_before, error) and
/// the committed success.
struct Call {
    slot: Vec<u32>,
    retries: Vec<(u32, i64, Failed)>,
    done: Option<(u32, Ran)>,
}

/// The calls of `history`, in order (retries and results of one call share its slot).
fn calls_of(id: &str, history: &[HistoryEntry]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    for h in history {
        let (slot, task) = match h.kind.as_str() {
            "retry" => {
                let r: RetryEvent = decode(&h.payload);
                (r.slot.clone(), r.task.clone())
            }
            "task" => {
                let t: TaskEvent = decode(&h.payload);
                (t.slot.clone(), t.task.clone())
            }
            _ => continue,
        };
        assert_eq!(task, "flaky", "{id}");
        let open = calls
            .last()
            .is_some_and(|c| c.done.is_none() && c.slot == slot);
        if !open {
            calls.push(Call {
                slot,
                retries: Vec::new(),
                done: None,
            });
        }
        let call = calls.last_mut().unwrap();
        if h.kind == "retry" {
            let r: RetryEvent = decode(&h.payload);
            let err: Result<Ran, Failed> = decode(&r.error);
            call.retries
                .push((r.failed_attempt, r.not_before, err.unwrap_err()));
        } else {
            let t: TaskEvent = decode(&h.payload);
            let ran: Result<Ran, Failed> = decode(&t.output);
            call.done = Some((t.attempt, ran.unwrap()));
        }
    }
    calls
}

/// One logged run of a task attempt.
struct LoggedRun {
    generation: u32,
    attempt: u32,
    started: i64,
}

fn verify(parent: &Parent, log: &Path, seed: u64, rounds: usize) {
    // (instance, key) -> runs, in log (= time) order.
    let mut runs: BTreeMap<(String, String), Vec<LoggedRun>> = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let p: Vec<&str> = line.split(' ').collect();
        runs.entry((p[1].to_string(), p[2].to_string()))
            .or_default()
            .push(LoggedRun {
                generation: p[0].parse().unwrap(),
                attempt: p[3].parse().unwrap(),
                started: p[4].parse().unwrap(),
            });
    }
    let (mut sent, mut delivered, mut retries, mut reruns, mut attempts) = (0, 0, 0, 0, 0);
    let mut committed_keys: BTreeSet<(String, String)> = BTreeSet::new();
    let engine = &parent.engine;
    parent.rt.block_on(async {
        let store = engine.store();
        let listed = store.list(&ListQuery::default()).await.unwrap().instances;
        assert_eq!(listed.len(), parent.plans.len(), "no instance lost, none invented");
        for plan in &parent.plans {
            let id = plan.id.as_str();
            let s = seed_of(id);
            let iid = InstanceId::new(id).unwrap();
            let record = store.load(&iid).await.unwrap();
            assert_eq!(record.status, Status::Completed, "{id} completed");
            let out: Result<Outcome, Failed> = decode(&record.output.unwrap());
            let out = out.unwrap();
            let history = engine.history(id).await.unwrap();
            let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
            assert_eq!(seqs, (0..=record.seq).collect::<Vec<_>>(), "{id}: gapless history");

            // 1. Signals: exactly those sent, in send order, each delivered once.
            assert!(plan.todo.is_empty(), "{id}: signals left unsent");
            assert_eq!(out.items, plan.sent, "{id}: received == sent, in order");
            let signals: Vec<SignalEvent> = history
                .iter()
                .filter(|h| h.kind == "signal")
                .map(|h| decode(&h.payload))
                .collect();
            let values: Vec<u64> = signals.iter().map(|e| decode(&e.payload)).collect();
            assert_eq!(values, plan.sent, "{id}: one history entry per signal, in order");
            assert!(signals.iter().all(|e| e.name == "item"), "{id}: only items");
            let ids: BTreeSet<u64> = signals.iter().map(|e| e.signal_id).collect();
            assert_eq!(ids.len(), signals.len(), "{id}: a signal delivered twice");
            assert!(store.signals(&iid).await.unwrap().is_empty(), "{id}: signals left buffered");
            assert!(out.stop_timed_out, "{id}: `stop` was never sent");
            sent += plan.sent.len();
            delivered += signals.len();

            // 2. Retries: failed attempts 1..=K committed once each, then attempt K+1.
            let calls = calls_of(id, &history);
            assert_eq!(calls.len(), 2, "{id}: two calls");
            for (c, call) in calls.iter().enumerate() {
                let k = fails(s, c as u64);
                let (attempt, ran) = call.done.clone().expect("every call finished");
                let failed: Vec<u32> = call.retries.iter().map(|r| r.0).collect();
                assert_eq!(failed, (1..=k).collect::<Vec<_>>(), "{id} call {c}: retries");
                assert_eq!(attempt, k + 1, "{id} call {c}: final attempt");
                assert_eq!((ran.call, ran.attempt), (c as u64, k + 1), "{id} call {c}");
                let expect = if c == 0 { &out.first } else { &out.second };
                assert_eq!(&ran, expect, "{id} call {c}: output == history");
                for (a, _, err) in &call.retries {
                    assert_eq!(err.attempt, *a, "{id} call {c}: error of attempt {a}");
                }
                retries += call.retries.len();

                let key = (id.to_string(), ran.key.clone());
                assert!(committed_keys.insert(key.clone()), "{id}: key {} reused", ran.key);
                let logged = runs.get(&key).unwrap_or_else(|| panic!("{id} {}: no run", ran.key));
                let trace: Vec<(u32, u32)> =
                    logged.iter().map(|r| (r.generation, r.attempt)).collect();
                // Attempts never go backwards, and no attempt runs twice in one process.
                for w in trace.windows(2) {
                    assert!(w[0].1 <= w[1].1, "{id} call {c}: attempt went back: {trace:?}");
                }
                let distinct: BTreeSet<(u32, u32)> = trace.iter().copied().collect();
                assert_eq!(distinct.len(), trace.len(), "{id} call {c}: rerun in one process: {trace:?}");
                reruns += trace.len() - distinct.iter().map(|r| r.1).collect::<BTreeSet<_>>().len();
                attempts += trace.len();
                // Every attempt 1..=K+1 ran, none beyond, none after its outcome was committed.
                for a in 1..=k + 1 {
                    let gens: Vec<u32> =
                        trace.iter().filter(|r| r.1 == a).map(|r| r.0).collect();
                    let committed = if a == k + 1 {
                        ran.generation
                    } else {
                        call.retries[a as usize - 1].2.generation
                    };
                    assert_eq!(
                        gens.iter().max(),
                        Some(&committed),
                        "{id} call {c} attempt {a}: runs in {gens:?}, committed by {committed}: {trace:?}"
                    );
                }
                assert!(trace.iter().all(|r| r.1 <= k + 1), "{id} call {c}: {trace:?}");
                // No attempt started before the backoff of the previous one had passed.
                for (a, not_before, _) in &call.retries {
                    for r in logged.iter().filter(|r| r.attempt == a + 1) {
                        assert!(
                            r.started >= *not_before,
                            "{id} call {c}: attempt {} started {} ms before its backoff ended",
                            a + 1,
                            not_before - r.started
                        );
                    }
                }
            }

            // 3. Timers fire no earlier than due: the sleep, then the `stop` timeout.
            let timers: Vec<usize> = (0..history.len())
                .filter(|&i| history[i].kind == "timer")
                .collect();
            assert_eq!(timers.len(), 2, "{id}: sleep and timeout");
            for (&i, ms) in timers.iter().zip([sleep_ms(s), STOP_MS]) {
                // The transition that set the timer: the last one before it that is not a
                // `rescheduled` entry (an early signal woke the sleeping instance).
                let set = history[..i]
                    .iter()
                    .rev()
                    .find(|h| h.kind != "rescheduled")
                    .expect("a transition set the timer");
                let (from, fired) = (set.at.as_millis(), history[i].at.as_millis());
                assert!(
                    fired - from >= ms as i64,
                    "{id}: a {ms} ms timer set at {from} fired after {} ms",
                    fired - from
                );
            }
        }
    });
    let orphans: Vec<_> = runs
        .keys()
        .filter(|k| !committed_keys.contains(*k))
        .collect();
    assert!(
        orphans.is_empty(),
        "calls ran that no committed transition accounts for: {orphans:?}"
    );
    let generations = parent.generation;
    eprintln!(
        "crash_events: seed {seed}: {} kills over {generations} process generations in {rounds} rounds, {} instances, {sent} signals sent ({} while no worker ran, {} busy re-sends) and {delivered} delivered, {retries} retries committed, {attempts} attempt runs of which {reruns} re-runs (each after a kill between start and commit)",
        parent.kills,
        parent.plans.len(),
        parent.sent_while_down,
        parent.busy,
    );
    assert!(
        parent.kills >= MIN_KILLS,
        "only {} kills landed",
        parent.kills
    );
}
