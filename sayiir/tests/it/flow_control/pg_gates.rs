//! A workflow type's concurrency limit across real processes on PostgreSQL: four worker
//! processes (this test binary re-run with the ignored `gate_worker` test selected) share 300
//! instances of a workflow with `concurrency = 3` (a task, a 20 ms durable sleep, a task),
//! started with five concurrency keys (`key_limit` 1, so two gates per instance), while a
//! random worker is SIGKILLed every 150–450 ms and restarted, 10 times. The first task
//! logs when the instance begins, the last when it ends (wall-clock microseconds, one clock
//! for the machine; every attempt logs, so an instance runs from its earliest begin to its
//! latest end, a span inside the time it holds its admission slot). Checked: at no instant did
//! more than 3 instances run, never two of one key, and every instance completed with its
//! output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sayiir::store::{ListQuery, PgStore, Status};
use sayiir::{Engine, WorkerConfig};
use sayiir_store::pg_harness;

use crate::common::children::{self, ChildProc, append_line, read_lines};
use crate::common::{self, Rng, env, env_or};

const WORKERS: usize = 4;
const INSTANCES: u64 = 300;
const LIMIT: usize = 3;
const LEASE: Duration = Duration::from_secs(1);
/// Only a hang gets near it.
const DEADLINE: Duration = Duration::from_secs(300);

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn log(what: char, n: u64) {
    let attempt = sayiir::TaskContext::current().map_or(0, |c| c.attempt());
    let line = format!("{what} g{n} {} {} {attempt}", now_us(), std::process::id());
    append_line(Path::new(&env("GATE_LOG")), &line);
}

#[sayiir::task]
async fn gate_begin(n: u64) -> u64 {
    log('B', n);
    n
}

#[sayiir::task]
async fn gate_end(n: u64) -> u64 {
    log('E', n);
    n * 3
}

#[sayiir::workflow(concurrency = 3)]
async fn gated_flow(n: u64) -> u64 {
    let n = gate_begin(n).await;
    sayiir::sleep(Duration::from_millis(20)).await;
    gate_end(n).await
}

/// Worker mode: work the database until killed.
#[test]
#[ignore = "run by `a_workflow_limit_holds_across_killed_processes` as a child process"]
fn gate_worker() {
    if env("GATE_DB").is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let store = PgStore::connect(&env("GATE_DB")).await.unwrap();
        let config = WorkerConfig::default()
            .lease(LEASE)
            .idle_poll(Duration::from_millis(200));
        let engine = Engine::builder(store)
            .register::<gated_flow>()
            .worker_config(config)
            .build()
            .unwrap();
        let outcome = engine.spawn_worker().join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

/// Concurrency keys: instance `g<n>` is started with key `k<n % KEYS>` (limit 1).
const KEYS: u64 = 5;

/// The most instances running at once, overall and of one key: each from its earliest `B` to
/// its latest `E`.
fn most_at_once(log: &Path) -> (usize, usize) {
    let mut spans: BTreeMap<String, (Option<i64>, Option<i64>)> = BTreeMap::new();
    for line in read_lines(log) {
        let parts: Vec<&str> = line.split(' ').collect();
        let [what, id, at, _, _] = parts[..] else {
            panic!("bad log line {line:?}");
        };
        let at: i64 = at.parse().unwrap();
        let span = spans.entry(id.to_owned()).or_default();
        if what == "B" {
            span.0 = Some(span.0.map_or(at, |b| b.min(at)));
        } else {
            span.1 = Some(span.1.map_or(at, |e| e.max(at)));
        }
    }
    assert_eq!(
        spans.len(),
        usize::try_from(INSTANCES).unwrap(),
        "every instance logged"
    );
    let mut events = Vec::new();
    for (id, (began, ended)) in spans {
        let (Some(began), Some(ended)) = (began, ended) else {
            panic!("{id}: begin or end missing");
        };
        let key = id[1..].parse::<u64>().unwrap() % KEYS;
        // Ends sort before begins at the same instant.
        events.push((began, 1i32, key));
        events.push((ended, -1i32, key));
    }
    events.sort();
    let (mut now, mut most) = (0i32, 0i32);
    let mut per_key = [0i32; KEYS as usize];
    let mut most_key = 0i32;
    for (at, d, key) in events {
        now += d;
        most = most.max(now);
        let k = &mut per_key[usize::try_from(key).unwrap()];
        *k += d;
        if *k > 1 && most_key <= 1 {
            eprintln!("flow_control::pg_gates: key k{key}: 2 at once at {at}");
            for line in read_lines(log) {
                let parts: Vec<&str> = line.split(' ').collect();
                let n: u64 = parts[1][1..].parse().unwrap();
                let t: i64 = parts[2].parse().unwrap();
                if n % KEYS == key && (t - at).abs() < 300_000 {
                    eprintln!("  {line}");
                }
            }
        }
        most_key = most_key.max(*k);
    }
    (
        usize::try_from(most).unwrap(),
        usize::try_from(most_key).unwrap(),
    )
}

#[test]
fn a_workflow_limit_holds_across_killed_processes() {
    let began = Instant::now();
    let seed = common::seed("GATE_SEED");
    eprintln!("flow_control::pg_gates: seed {seed} (rerun with GATE_SEED={seed})");
    let rt = children::runtime();
    let Some(db) = rt.block_on(pg_harness::fresh_database("gates_kill")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("instances.log");
    let engine = rt.block_on(async {
        let store = PgStore::connect(db.url()).await.unwrap();
        let engine = Engine::builder(store)
            .register::<gated_flow>()
            .build()
            .unwrap();
        for i in 0..INSTANCES {
            let key = sayiir::StartOptions::new().concurrency_key(format!("k{}", i % KEYS));
            engine
                .start_with::<gated_flow>(&format!("g{i}"), i, key)
                .await
                .unwrap();
        }
        engine
    });
    let spawn = |slot: usize, generation: u32| {
        ChildProc::spawn(
            &common::test_name!(flow_control::pg_gates::gate_worker),
            &format!("w{slot}"),
            generation,
            &[
                ("GATE_DB", db.url().to_owned()),
                ("GATE_LOG", log.display().to_string()),
            ],
        )
    };
    let mut generation = 0;
    let mut slots: Vec<ChildProc> = (0..WORKERS)
        .map(|s| {
            generation += 1;
            spawn(s, generation)
        })
        .collect();
    let mut rng = Rng(seed);
    let completed = |engine: &Engine| {
        rt.block_on(async {
            let q = ListQuery::new().status(Status::Completed).limit(
                std::num::NonZeroUsize::new(usize::try_from(INSTANCES).unwrap() + 1).unwrap(),
            );
            engine.list(&q).await.unwrap().instances.len()
        })
    };
    let kills = usize::try_from(env_or("GATE_KILLS", 10)).unwrap();
    let mut most_in_use = 0;
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.between(150, 450)));
        let split: (i64, i64, i64) = rt.block_on(async {
            let mut conn = <sayiir_store::sqlx::PgConnection as sayiir_store::sqlx::Connection>::connect(db.url()).await.unwrap();
            sayiir_store::sqlx::query_as(
                "SELECT (SELECT count(*) FROM (SELECT gate_key FROM sayiir_gate_members WHERE admitted \
                 GROUP BY gate_key HAVING count(*) > (SELECT max_slots FROM sayiir_gates g WHERE g.gate_key = sayiir_gate_members.gate_key)) x), \
                 (SELECT count(*) FROM sayiir_instances i WHERE i.status = 0 AND i.blocked_kind IS NULL \
                  AND EXISTS (SELECT 1 FROM sayiir_gate_members m WHERE m.instance_id = i.id AND NOT m.admitted)), \
                 (SELECT count(*) FROM sayiir_instances i WHERE i.status = 0 AND i.gates IS NOT NULL \
                  AND NOT EXISTS (SELECT 1 FROM sayiir_gate_members m WHERE m.instance_id = i.id))",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap()
        });
        // Read in the store between kills: no gate over its limit, no waiter left runnable,
        // no running gated instance without its rows.
        assert_eq!(
            split,
            (0, 0, 0),
            "seed {seed}: gates over limit, unblocked waiters, running without rows"
        );
        let usage = rt.block_on(engine.limits()).unwrap();
        if let Some(g) = usage.iter().find(|l| l.key == "workflow:gated_flow") {
            most_in_use = most_in_use.max(g.in_use);
        }
        let slot = usize::try_from(rng.between(0, WORKERS as u64)).unwrap() % WORKERS;
        slots[slot].assert_alive();
        slots[slot].kill();
        generation += 1;
        slots[slot] = spawn(slot, generation);
        assert!(
            began.elapsed() < DEADLINE,
            "seed {seed}: stuck during the kills"
        );
    }
    let kills_done = completed(&engine);
    loop {
        if completed(&engine) == usize::try_from(INSTANCES).unwrap() {
            break;
        }
        assert!(
            began.elapsed() < DEADLINE,
            "seed {seed}: not all instances completed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for s in &mut slots {
        s.assert_alive();
    }
    drop(slots);
    rt.block_on(async {
        for i in 0..INSTANCES {
            let out = engine.result::<gated_flow>(&format!("g{i}")).await.unwrap();
            assert_eq!(out, i * 3, "g{i}");
        }
        let usage = engine.limits().await.unwrap();
        let g = usage
            .iter()
            .find(|l| l.key == "workflow:gated_flow")
            .unwrap();
        assert_eq!((g.limit, g.in_use, g.waiting), (3, 0, 0), "{usage:?}");
    });
    // Instances whose last task ran more than once: killed between it and its commit, taken
    // over a lease later, holding their slots all along.
    let mut ends: BTreeMap<String, usize> = BTreeMap::new();
    for line in read_lines(&log) {
        if line.starts_with('E') {
            *ends
                .entry(line.split(' ').nth(1).unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let ended_twice = ends.values().filter(|n| **n > 1).count();
    let (most, most_key) = most_at_once(&log);
    let begins = read_lines(&log)
        .iter()
        .filter(|l| l.starts_with('B'))
        .count();
    eprintln!(
        "flow_control::pg_gates: {kills} kills, {kills_done} of {INSTANCES} completed when the \
         kills ended, {begins} begin attempts, {ended_twice} instances whose last task ran again \
         after a kill, most instances running at once {most} (limit {LIMIT}), most of one key at \
         once {most_key} (limit 1), most slots in use seen by Engine::limits {most_in_use}, \
         {:.1} s",
        began.elapsed().as_secs_f64()
    );
    assert!(most <= LIMIT, "seed {seed}: {most} instances ran at once");
    assert_eq!(
        most_key, 1,
        "seed {seed}: {most_key} instances of one key ran at once"
    );
    assert!(
        most_in_use <= LIMIT as u64,
        "seed {seed}: {most_in_use} slots in use"
    );
}
