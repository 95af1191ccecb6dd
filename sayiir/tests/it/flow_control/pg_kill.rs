//! A task's concurrency limit across real processes on PostgreSQL: four worker processes (this
//! test binary re-run with the ignored `limit_worker` test selected) share 500 instances whose
//! `pay` task is limited to 3 attempts at once, while a random worker is SIGKILLed about every
//! 300 ms (one the log shows running an attempt) and restarted, until 10 kills have landed. Each attempt logs when it starts and ends
//! (wall-clock microseconds, one clock for the whole machine; the end also when the attempt is
//! cancelled); an attempt cut off by a kill ends at the kill (the parent notes when it killed each process). Checked: at no instant did more
//! than 3 attempts run, the limit was reached, and every instance completed with its output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sayiir::store::{ListQuery, PgStore, Status};
use sayiir::{Engine, TaskContext, WorkerConfig};
use sayiir_store::pg_harness;

use crate::common::children::{self, ChildProc, append_line, read_lines};
use crate::common::{self, Rng, env, env_or, mix};

const WORKERS: usize = 4;
const INSTANCES: u64 = 500;
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

/// One line when an attempt starts (`B`) and one when it ends (`E`): pid, attempt, time.
fn log(what: char, cx: &TaskContext) {
    let line = format!(
        "{what} {} {}#{} {}",
        std::process::id(),
        cx.idempotency_key(),
        cx.attempt(),
        now_us()
    );
    append_line(Path::new(&env("LIMIT_LOG")), &line);
}

/// Logs the end of an attempt when dropped: also when the attempt is cut off (its driver lost
/// its lease), not when the process is killed.
struct Ends(TaskContext);

impl Drop for Ends {
    fn drop(&mut self) {
        log('E', &self.0);
    }
}

#[sayiir::task(concurrency = 3)]
async fn pay(n: u64) -> u64 {
    let cx = TaskContext::current().expect("tasks run with a context");
    log('B', &cx);
    let _ends = Ends(cx);
    tokio::time::sleep(Duration::from_millis(2 + mix(n) % 8)).await;
    n * 7
}

#[sayiir::task]
async fn note(n: u64) -> u64 {
    n + 1
}

#[sayiir::workflow]
async fn limited_pay(n: u64) -> u64 {
    let paid = pay(n).await;
    note(paid).await
}

/// Worker mode: work the database until killed.
#[test]
#[ignore = "run by `a_task_limit_holds_across_killed_processes` as a child process"]
fn limit_worker() {
    if env("LIMIT_DB").is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let store = PgStore::connect(&env("LIMIT_DB")).await.unwrap();
        let config = WorkerConfig::default()
            .lease(LEASE)
            .idle_poll(Duration::from_millis(200));
        let engine = Engine::builder(store)
            .register::<limited_pay>()
            .worker_config(config)
            .build()
            .unwrap();
        let outcome = engine.spawn_worker().join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

/// The processes with an attempt begun and not ended (so far as the log shows).
fn open_runs(log: &Path) -> BTreeSet<u32> {
    let mut open: BTreeMap<(u32, String), i32> = BTreeMap::new();
    for line in read_lines(log) {
        let parts: Vec<&str> = line.split(' ').collect();
        if let [what, pid, attempt, _] = parts[..] {
            *open
                .entry((pid.parse().unwrap(), attempt.to_owned()))
                .or_default() += if what == "B" { 1 } else { -1 };
        }
    }
    open.into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|((pid, _), _)| pid)
        .collect()
}

/// The most attempts running at once, from the log and the kill times (pid → µs): each
/// attempt run (pid, attempt) runs from its `B` to its `E`, or to its process's kill.
fn most_at_once(log: &Path, killed: &BTreeMap<u32, i64>) -> (usize, usize) {
    let mut runs: BTreeMap<(u32, String), (Option<i64>, Option<i64>)> = BTreeMap::new();
    for line in read_lines(log) {
        let parts: Vec<&str> = line.split(' ').collect();
        let [what, pid, attempt, at] = parts[..] else {
            panic!("bad log line {line:?}");
        };
        let run = runs
            .entry((pid.parse().unwrap(), attempt.to_owned()))
            .or_default();
        let at: i64 = at.parse().unwrap();
        match what {
            "B" => run.0 = Some(at),
            _ => run.1 = Some(at),
        }
    }
    let mut events = Vec::new();
    let mut cut = 0;
    for ((pid, attempt), (began, ended)) in &runs {
        let began = began.unwrap_or_else(|| panic!("{attempt} in {pid} ended, never began"));
        let ended = match ended {
            Some(e) => *e,
            None => {
                cut += 1;
                *killed.get(pid).unwrap_or_else(|| {
                    panic!("{attempt} in {pid} never ended, and {pid} was not killed")
                })
            }
        };
        // Ends sort before starts at the same instant: a slot given back, then taken.
        events.push((began, 1i32));
        events.push((ended, -1i32));
    }
    events.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    (usize::try_from(most).unwrap(), cut)
}

#[test]
fn a_task_limit_holds_across_killed_processes() {
    let began = Instant::now();
    let seed = common::seed("LIMIT_SEED");
    eprintln!("flow_control::pg_kill: seed {seed} (rerun with LIMIT_SEED={seed})");
    let rt = children::runtime();
    let Some(db) = rt.block_on(pg_harness::fresh_database("limits_kill")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("attempts.log");
    let engine = rt.block_on(async {
        let store = PgStore::connect(db.url()).await.unwrap();
        let engine = Engine::builder(store)
            .register::<limited_pay>()
            .build()
            .unwrap();
        for i in 0..INSTANCES {
            engine
                .start::<limited_pay>(&format!("p{i}"), i)
                .await
                .unwrap();
        }
        engine
    });
    let spawn = |slot: usize, generation: u32| {
        ChildProc::spawn(
            &common::test_name!(flow_control::pg_kill::limit_worker),
            &format!("w{slot}"),
            generation,
            &[
                ("LIMIT_DB", db.url().to_owned()),
                ("LIMIT_LOG", log.display().to_string()),
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
    let mut killed: BTreeMap<u32, i64> = BTreeMap::new();
    let completed = |engine: &Engine| {
        rt.block_on(async {
            let q = ListQuery::new().status(Status::Completed).limit(
                std::num::NonZeroUsize::new(usize::try_from(INSTANCES).unwrap() + 1).unwrap(),
            );
            engine.list(&q).await.unwrap().instances.len()
        })
    };
    let min_kills = usize::try_from(env_or("LIMIT_KILLS", 10)).unwrap();
    while killed.len() < min_kills {
        std::thread::sleep(Duration::from_millis(rng.between(150, 450)));
        // A process running an attempt (holding a slot): the first one the log shows.
        let slot = children::wait_for(common::PATIENCE, "an attempt to run", || {
            let busy = open_runs(&log);
            slots.iter().position(|c| busy.contains(&c.pid()))
        });
        slots[slot].assert_alive();
        let pid = slots[slot].pid();
        slots[slot].kill();
        killed.insert(pid, now_us());
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
            let out = engine
                .result::<limited_pay>(&format!("p{i}"))
                .await
                .unwrap();
            assert_eq!(out, i * 7 + 1, "p{i}");
        }
    });
    let (most, cut) = most_at_once(&log, &killed);
    let attempts = read_lines(&log)
        .iter()
        .filter(|l| l.starts_with('B'))
        .count();
    eprintln!(
        "flow_control::pg_kill: {} kills (each of a process running an attempt), {kills_done} of {INSTANCES} completed when the kills \
         ended, {attempts} attempts ({cut} cut off by a kill), most at once {most} (limit \
         {LIMIT}), {:.1} s",
        killed.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(
        most <= LIMIT,
        "seed {seed}: {most} attempts of `pay` ran at once"
    );
    assert_eq!(most, LIMIT, "seed {seed}: the limit was never reached");
    // A kill aims at a process whose attempt the log shows running, but the attempt may end
    // between that read and the signal (no-op tasks end fast): most kills must cut one off.
    assert!(
        cut * 2 >= min_kills,
        "seed {seed}: only {cut} attempts cut off by {min_kills} kills"
    );
}
