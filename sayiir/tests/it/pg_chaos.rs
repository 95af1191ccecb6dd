//! Chaos with real processes on PostgreSQL: four worker processes (this test binary re-run with
//! the ignored `chaos_worker` test selected) share one database and 2,000 instances of a
//! workflow with joins, a `join_all`, a durable sleep, signals and retried calls, while a random
//! worker is SIGKILLed about every 200 ms and restarted (once, all of them at the same time),
//! until at least 30 kills have landed and half the instances have completed; then the
//! survivors finish the rest. The parent process starts the instances and sends the signals throughout, through an engine
//! of its own without a worker, also while workers are dead.
//!
//! Checked afterwards, per instance: completed with the output computed in plain Rust; history
//! sequence numbers gapless, one entry per transition, as many of each kind as the workflow
//! makes (so no transition was committed twice); the signals received are exactly those sent,
//! in send order, one history entry each, none left buffered; every retried call failed
//! attempts 1..=K once each and succeeded on attempt K+1; every committed outcome was produced
//! by a run that the task log shows, in the process generation the outcome names; no task run
//! is unaccounted for; the sleep fired no earlier than due.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify;

use crate::common::{self, children};

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use children::{ChildProc, append_line};
use common::{Rng, env, mix, seed_of};
use sayiir::store::{HistoryEntry, InstanceId, ListQuery, PgStore, Status};
use sayiir::{Engine, TaskContext, WorkerConfig};
use sayiir_store::pg_harness;
use serde::{Deserialize, Serialize};
use verify::verify;

const WORKERS: usize = 4;
const INSTANCES: usize = 2000;
/// "item" signals each instance receives.
const ITEMS: usize = 3;
const MIN_KILLS: usize = 30;
/// Concurrent signal senders in the parent (each owns a share of the instances, so the
/// signals of one instance are sent one after the other, in order).
const LANES: usize = 8;
/// Lease of the workers: a killed worker's instances are taken over after at most this long.
const LEASE: Duration = Duration::from_secs(2);
/// The whole test (chaos and draining) must be done by then: only a hang gets near it (about
/// 35 s on an idle machine).
const DEADLINE: Duration = Duration::from_secs(300);

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Stepped {
    value: u64,
    generation: u32,
    key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Ran {
    call: u64,
    attempt: u32,
    generation: u32,
    key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Failed {
    attempt: u32,
    generation: u32,
    key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Outcome {
    a: Stepped,
    b: Ran,
    items: Vec<u64>,
    fan: Vec<Stepped>,
    c: Ran,
}

/// How many attempts of call `call` of instance `seed` fail (0..=2).
fn fails(seed: u64, call: u64) -> u32 {
    (mix(seed * 2 + call) % 3) as u32
}

fn sleep_ms(seed: u64) -> u64 {
    20 + mix(seed ^ 0x5EED) % 181
}

fn f(n: u64, index: u64) -> u64 {
    n * 3 + index
}

fn generation() -> u32 {
    env("CHAOS_GEN").parse().unwrap()
}

/// One line per run, when it starts: generation, instance, key, attempt.
fn log_run() -> TaskContext {
    let cx = TaskContext::current().expect("tasks run with a context");
    let line = format!(
        "{} {} {} {}",
        generation(),
        cx.instance(),
        cx.idempotency_key(),
        cx.attempt()
    );
    append_line(Path::new(&env("CHAOS_LOG")), &line);
    cx
}

#[sayiir::task]
async fn step(n: u64, index: u64) -> Stepped {
    let cx = log_run();
    tokio::time::sleep(Duration::from_millis(5 + mix(n + index) % 20)).await;
    Stepped {
        value: f(n, index),
        generation: generation(),
        key: cx.idempotency_key().to_owned(),
    }
}

/// Fails its first `fails(seed, call)` attempts.
#[sayiir::task(retries = 3, backoff = "20ms", max_backoff = "80ms")]
async fn flaky(seed: u64, call: u64) -> Result<Ran, Failed> {
    let cx = log_run();
    tokio::time::sleep(Duration::from_millis(5 + mix(seed + call) % 15)).await;
    if cx.attempt() <= fails(seed, call) {
        return Err(Failed {
            attempt: cx.attempt(),
            generation: generation(),
            key: cx.idempotency_key().to_owned(),
        });
    }
    Ok(Ran {
        call,
        attempt: cx.attempt(),
        generation: generation(),
        key: cx.idempotency_key().to_owned(),
    })
}

/// A three-way join (a task, a retried task, a signal), a durable sleep, a loop of signals, a
/// three-way `join_all` and a second retried call.
#[sayiir::workflow]
async fn chaos(seed: u64) -> Result<Outcome, Failed> {
    let (a, tried, first) =
        sayiir::join!(step(seed, 0), flaky(seed, 0), sayiir::signal::<u64>("item")).await;
    let b = tried?;
    sayiir::sleep(Duration::from_millis(sleep_ms(seed))).await;
    let mut items: Vec<u64> = vec![first];
    while items.len() < ITEMS {
        let next = sayiir::signal::<u64>("item").await;
        items.push(next);
    }
    let sum: u64 = items.iter().sum();
    let inputs: Vec<u64> = vec![a.value % 1000, (b.call + seed) % 1000, sum % 1000];
    let fan = sayiir::join_all(inputs.into_iter().map(|x| step(x, 30))).await;
    let c = flaky(seed, 1).await?;
    Ok(Outcome {
        a,
        b,
        items,
        fan,
        c,
    })
}

/// Worker mode: work the database until killed.
#[test]
#[ignore = "run by `chaos_with_real_processes` as a child process"]
fn chaos_worker() {
    if env("CHAOS_DB").is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let store = PgStore::connect(&env("CHAOS_DB")).await.unwrap();
        let config = WorkerConfig::default()
            .lease(LEASE)
            .idle_poll(Duration::from_millis(200))
            .max_instances(256);
        let engine = Engine::builder(store)
            .register::<chaos>()
            .worker_config(config)
            .build()
            .unwrap();
        // The commits this process saw refused, for the figures.
        let counters = engine.clone();
        let path = format!("{}.conflicts.{}", env("CHAOS_LOG"), generation());
        tokio::spawn(async move {
            loop {
                let n = counters.metrics().commit_conflicts().to_string();
                std::fs::write(format!("{path}.tmp"), n).unwrap();
                std::fs::rename(format!("{path}.tmp"), &path).unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let outcome = engine.spawn_worker().join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

/// Commits refused to the workers so far (as they last wrote them down).
fn conflicts(log: &Path) -> u64 {
    let dir = log.parent().unwrap();
    let prefix = format!("{}.conflicts.", log.file_name().unwrap().to_str().unwrap());
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && !name.ends_with(".tmp")
        })
        .filter_map(|e| {
            std::fs::read_to_string(e.path())
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The signals of one instance: still to send, and sent (the send returned `Ok`), in order.
struct Plan {
    id: String,
    todo: VecDeque<u64>,
    sent: Vec<u64>,
}

#[derive(Default)]
struct SendStats {
    /// Sent while no worker process was alive.
    no_worker: usize,
    /// Sent while at least one worker slot had no process.
    some_dead: usize,
    /// Retryable errors (the signal was sent again later).
    busy: usize,
    /// When the last signal was sent.
    last: Option<Instant>,
}

/// One sender: sends the signals of its instances, a random instance at a time, with short
/// random pauses, until all are sent.
async fn lane(
    engine: Engine,
    mut plans: Vec<Plan>,
    mut rng: Rng,
    dead: Arc<AtomicUsize>,
) -> (Vec<Plan>, SendStats) {
    let mut stats = SendStats::default();
    loop {
        let open: Vec<usize> = (0..plans.len())
            .filter(|&i| !plans[i].todo.is_empty())
            .collect();
        if open.is_empty() {
            stats.last = Some(Instant::now());
            return (plans, stats);
        }
        let plan = &mut plans[open[(rng.next() % open.len() as u64) as usize]];
        let value = plan.todo[0];
        let dead_now = dead.load(Ordering::SeqCst);
        match engine.signal(&plan.id, "item", &value).await {
            Ok(()) => {
                plan.todo.pop_front();
                plan.sent.push(value);
                if dead_now == WORKERS && dead.load(Ordering::SeqCst) == WORKERS {
                    stats.no_worker += 1;
                }
                if dead_now > 0 {
                    stats.some_dead += 1;
                }
            }
            Err(e) if e.is_retryable() => {
                stats.busy += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("sending {value} to {}: {e}", plan.id),
        }
        tokio::time::sleep(Duration::from_millis(rng.between(0, 20))).await;
    }
}

/// The worker processes, one per slot.
struct Workers {
    url: String,
    log: PathBuf,
    slots: Vec<Option<ChildProc>>,
    generations: u32,
    dead: Arc<AtomicUsize>,
    /// pid -> (generation, when it was killed, ms).
    killed: BTreeMap<u32, (u32, i64)>,
}

impl Workers {
    fn spawn(&mut self, slot: usize) {
        assert!(self.slots[slot].is_none());
        self.generations += 1;
        let g = self.generations;
        self.slots[slot] = Some(ChildProc::spawn(
            &common::test_name!(pg_chaos::chaos_worker),
            &format!("w{slot}"),
            g,
            &[
                ("CHAOS_DB", self.url.clone()),
                ("CHAOS_LOG", self.log.display().to_string()),
                ("CHAOS_GEN", g.to_string()),
            ],
        ));
        self.dead.fetch_sub(1, Ordering::SeqCst);
    }

    fn kill(&mut self, slot: usize) {
        let mut child = self.slots[slot].take().unwrap();
        child.kill();
        self.killed
            .insert(child.pid(), (child.generation, children::now_ms()));
        self.dead.fetch_add(1, Ordering::SeqCst);
    }

    fn alive(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if let Some(c) = s {
                c.assert_alive();
                out.push(i);
            }
        }
        out
    }
}

#[test]
fn chaos_with_real_processes() {
    let began = Instant::now();
    let seed = common::seed("CHAOS_SEED");
    eprintln!("pg_chaos: seed {seed} (rerun with CHAOS_SEED={seed})");
    let rt = children::runtime();
    let Some(db) = rt.block_on(pg_harness::fresh_database("chaos")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let engine = rt.block_on(async {
        let store = PgStore::connect(db.url()).await.unwrap();
        Engine::builder(store).register::<chaos>().build().unwrap()
    });
    let mut rng = Rng(seed);
    let mut plans: Vec<Plan> = (0..INSTANCES)
        .map(|i| Plan {
            id: format!("c{i}-{}", rng.next() % 1_000_000_000),
            todo: (0..ITEMS).map(|_| rng.next() % 1_000_000).collect(),
            sent: Vec::new(),
        })
        .collect();

    // Start every instance (16 at a time) before any worker runs.
    rt.block_on(async {
        let ids: Vec<String> = plans.iter().map(|p| p.id.clone()).collect();
        let mut set = tokio::task::JoinSet::new();
        for chunk in ids.chunks(INSTANCES.div_ceil(16)) {
            let (engine, chunk) = (engine.clone(), chunk.to_vec());
            set.spawn(async move {
                for id in chunk {
                    engine.start::<chaos>(&id, seed_of(&id)).await.unwrap();
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    });
    let started = began.elapsed();

    let dead = Arc::new(AtomicUsize::new(WORKERS));
    let mut workers = Workers {
        url: db.url().to_owned(),
        log: log.clone(),
        slots: (0..WORKERS).map(|_| None).collect(),
        generations: 0,
        dead: dead.clone(),
        killed: BTreeMap::new(),
    };
    for slot in 0..WORKERS {
        workers.spawn(slot);
    }
    let workers_started = Instant::now();

    // The senders, each with its share of the instances.
    let mut shares: Vec<Vec<Plan>> = (0..LANES).map(|_| Vec::new()).collect();
    for (i, p) in plans.drain(..).enumerate() {
        shares[i % LANES].push(p);
    }
    let lanes: Vec<_> = shares
        .into_iter()
        .map(|share| {
            rt.spawn(lane(
                engine.clone(),
                share,
                Rng(rng.next() | 1),
                dead.clone(),
            ))
        })
        .collect();

    // Chaos: a random live worker is killed every 100–300 ms and restarted 0–100 ms later;
    // after `MIN_KILLS / 2` kills, all of them are killed at once and stay dead for 400 ms. It goes on
    // until `MIN_KILLS` kills have landed and half the instances have completed.
    let mut kills = 0;
    let mut restarts: Vec<(usize, Instant)> = Vec::new();
    let mut next_kill = Instant::now() + Duration::from_millis(rng.between(100, 300));
    let mut blackout = false;
    let mut completed = 0;
    let mut next_count = Instant::now();
    while kills < MIN_KILLS || completed < INSTANCES / 2 {
        let now = Instant::now();
        if now >= next_count {
            completed = rt.block_on(count(&engine, Status::Completed));
            next_count = now + Duration::from_secs(1);
            assert!(began.elapsed() < DEADLINE, "seed {seed}: too slow");
        }
        let alive = workers.alive();
        restarts.retain(|&(slot, at)| {
            if at <= now {
                workers.spawn(slot);
            }
            at > now
        });
        if now >= next_kill && !alive.is_empty() {
            if !blackout && kills >= MIN_KILLS / 2 {
                blackout = true;
                for slot in alive {
                    workers.kill(slot);
                    kills += 1;
                }
                restarts.clear();
                std::thread::sleep(Duration::from_millis(400));
                for slot in 0..WORKERS {
                    workers.spawn(slot);
                }
            } else {
                let slot = alive[(rng.next() % alive.len() as u64) as usize];
                workers.kill(slot);
                kills += 1;
                restarts.push((slot, now + Duration::from_millis(rng.between(0, 100))));
            }
            next_kill = Instant::now() + Duration::from_millis(rng.between(100, 300));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for (slot, _) in restarts.drain(..) {
        workers.spawn(slot);
    }
    let chaos_for = began.elapsed() - started;
    let running_after_chaos = rt.block_on(count(&engine, Status::Running));
    let conflicts_in_chaos = conflicts(&log);

    // Let the survivors finish.
    let mut plans: Vec<Plan> = Vec::new();
    let mut stats = SendStats::default();
    for l in lanes {
        let (p, s) = rt.block_on(l).expect("a signal sender failed");
        plans.extend(p);
        stats.no_worker += s.no_worker;
        stats.some_dead += s.some_dead;
        stats.busy += s.busy;
        stats.last = stats.last.max(s.last);
    }
    let mut last_progress = (usize::MAX, Instant::now());
    loop {
        workers.alive();
        let blocked = rt.block_on(async {
            let q = ListQuery::new().blocked(true);
            engine.store().list(&q).await.unwrap().instances
        });
        assert!(blocked.is_empty(), "blocked instances: {blocked:?}");
        let running = rt.block_on(count(&engine, Status::Running));
        if running == 0 {
            break;
        }
        if running != last_progress.0 {
            last_progress = (running, Instant::now());
        }
        let stalled = last_progress.1.elapsed() > common::PATIENCE;
        if began.elapsed() > DEADLINE || stalled {
            rt.block_on(diagnose(&engine, db.url(), &workers.killed));
            panic!(
                "seed {seed}: {running} instances still running after {:.1} s{}",
                began.elapsed().as_secs_f64(),
                if stalled {
                    format!(", none finished in the last {:?}", common::PATIENCE)
                } else {
                    String::new()
                }
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let wall = began.elapsed();
    std::thread::sleep(Duration::from_millis(150));
    let conflicts_total = conflicts(&log);
    for slot in 0..WORKERS {
        workers.kill(slot);
    }
    plans.sort_by_key(|p| p.id.clone());
    let figures = rt.block_on(verify(&engine, &plans, &log, seed));
    let sent: usize = plans.iter().map(|p| p.sent.len()).sum();
    eprintln!(
        "pg_chaos: seed {seed}: {kills} kills (one blackout of all {WORKERS} workers) over {} worker processes, {WORKERS} at a time, lease {LEASE:?}; {INSTANCES} instances ({running_after_chaos} still running when the kills stopped), {} transitions ({} rescheduled after an early signal), {sent} signals ({} while no worker ran, {} while some worker was dead, {} retryable send errors; the last one {:.1} s after the workers started), {} retries, {} task runs of which {} re-runs, {} commits refused by the sequence check ({} after the kills stopped); started in {:.1} s, chaos {:.1} s, wall {:.1} s",
        workers.generations,
        figures.transitions,
        figures.rescheduled,
        stats.no_worker,
        stats.some_dead,
        stats.busy,
        (stats.last.unwrap() - workers_started).as_secs_f64(),
        figures.retries,
        figures.runs,
        figures.reruns,
        conflicts_total,
        conflicts_total - conflicts_in_chaos,
        started.as_secs_f64(),
        chaos_for.as_secs_f64(),
        wall.as_secs_f64(),
    );
    assert!(kills >= MIN_KILLS);
    assert!(
        running_after_chaos > 0,
        "every instance finished before the kills stopped: the kills did not hit running work"
    );
}

async fn count(engine: &Engine, status: Status) -> usize {
    let q = ListQuery::new().status(status);
    engine.store().list(&q).await.unwrap().instances.len()
}

/// Prints what the instances still running wait for, and which worker process last held them
/// (and when it was killed).
async fn diagnose(engine: &Engine, url: &str, killed: &BTreeMap<u32, (u32, i64)>) {
    let q = ListQuery::new().status(Status::Running);
    let running = engine.store().list(&q).await.unwrap().instances;
    let mut orphaned = 0;
    for (n, s) in running.iter().enumerate() {
        let history = engine.history(s.id.as_str()).await.unwrap();
        let signals = engine.store().signals(&s.id).await.unwrap();
        if s.due_at.is_none() && !signals.is_empty() {
            orphaned += 1;
        }
        if n >= 8 {
            continue;
        }
        let t0 = history[0].at.as_millis();
        let kinds: Vec<String> = history
            .iter()
            .map(|h| format!("{}:{}@{}", h.seq, h.kind, h.at.as_millis() - t0))
            .collect();
        let sent: Vec<i64> = signals.iter().map(|x| x.sent_at.as_millis() - t0).collect();
        let lease = std::process::Command::new("psql")
            .args([
                url,
                "-Atc",
                &format!(
                    "SELECT coalesce(lease_owner, '-') || ' ' || coalesce(lease_until::text, '-') FROM sayiir_instances WHERE id = '{}'",
                    s.id.as_str()
                ),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let pid: Option<u32> = lease.split(':').nth(1).and_then(|p| p.parse().ok());
        let kill = pid
            .and_then(|p| killed.get(&p))
            .map(|(g, at)| format!("generation {g} killed @{}", at - t0));
        eprintln!(
            "still running: {} seq {} due {:?}; signals buffered, sent @{sent:?}; history {kinds:?}; lease {lease} ({kill:?})",
            s.id, s.seq, s.due_at,
        );
    }
    eprintln!(
        "{} instances still running, {orphaned} of them with no due time and buffered signals",
        running.len()
    );
}
