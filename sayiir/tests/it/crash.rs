//! Crash-resume with real kills: a child process runs workflows on a SQLite file and is
//! SIGKILLed at random moments, then restarted, until every instance is done. The child is this
//! test binary itself, run with the ignored `crash_child` test selected.
//!
//! Checked afterwards: every instance completed with the right output; history sequence numbers
//! are gapless and there is one entry per transition; every task ran at least once, at most once
//! per process lifetime, and never after the run whose result was committed (a re-run happens
//! only when a kill fell between a run and its commit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use common::{Rng, env, seed};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sayiir::store::{InstanceId, ListQuery, Status, Store};
use sayiir::{Engine, SqliteStore, TaskContext, WorkerConfig};
use serde::{Deserialize, Serialize};

const MIN_KILLS: usize = 20;

/// What a step returns: its value, the process generation that computed it, and the call's
/// idempotency key (unique per call within an instance).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Stepped {
    value: u64,
    generation: u32,
    key: String,
}

/// The side effect: one line per run, appended with `O_APPEND` (survives SIGKILL of the writer).
fn record_run(key: &str) {
    let cx = TaskContext::current().expect("tasks run with a context");
    let line = format!("{} {} {}\n", env("CRASH_GEN"), cx.instance(), key);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env("CRASH_LOG"))
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

#[sayiir::task]
async fn step(n: u64, index: u64) -> Stepped {
    tokio::time::sleep(Duration::from_millis(10 + (n * 7 + index * 13) % 25)).await;
    let key = TaskContext::current()
        .expect("context")
        .idempotency_key()
        .to_string();
    record_run(&key);
    Stepped {
        value: n * 3 + index,
        generation: env("CRASH_GEN").parse().unwrap(),
        key,
    }
}

/// A loop with a branch, a two-way join in one arm, and a three-way `join_all` at the end.
#[sayiir::workflow]
async fn pipeline(seed: u64) -> Vec<Stepped> {
    let mut done: Vec<Stepped> = Vec::new();
    let first = step(seed, 0).await;
    let mut n: u64 = first.value % 1000;
    done.push(first);
    let rounds: Vec<u64> = vec![1, 2, 3];
    for r in rounds {
        if (n + r).is_multiple_of(2) {
            let s = step(n, r).await;
            n = s.value % 1000;
            done.push(s);
        } else {
            let (a, b) = sayiir::join!(step(n, 10 + r), step(n + 1, 20 + r)).await;
            n = (a.value + b.value) % 1000;
            done.push(a);
            done.push(b);
        }
    }
    let fan: Vec<u64> = vec![n, n + 1, n + 2];
    let all = sayiir::join_all(fan.into_iter().map(|x| step(x, 30))).await;
    done.extend(all);
    done
}

/// The values `pipeline` must produce, computed in plain Rust.
fn expected_values(seed: u64) -> Vec<u64> {
    let f = |n: u64, i: u64| n * 3 + i;
    let mut out = vec![f(seed, 0)];
    let mut n = out[0] % 1000;
    for r in [1, 2, 3] {
        if (n + r).is_multiple_of(2) {
            let v = f(n, r);
            out.push(v);
            n = v % 1000;
        } else {
            let (a, b) = (f(n, 10 + r), f(n + 1, 20 + r));
            out.extend([a, b]);
            n = (a + b) % 1000;
        }
    }
    out.extend([n, n + 1, n + 2].map(|x| f(x, 30)));
    out
}

/// Child mode: start this round's instances (idempotent) and run until all are done.
#[test]
#[ignore = "run by `kill_and_resume` as a child process"]
fn crash_child() {
    if env("CRASH_DB").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(env("CRASH_DB")).unwrap();
        let config = WorkerConfig::default().max_instances(8);
        let engine = Engine::builder(store)
            .register::<pipeline>()
            .worker_config(config)
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        let ids: Vec<String> = env("CRASH_IDS").split(',').map(str::to_owned).collect();
        for id in &ids {
            let seed: u64 = id.rsplit('-').next().unwrap().parse().unwrap();
            engine.start::<pipeline>(id, seed).await.unwrap();
        }
        for id in &ids {
            engine.result::<pipeline>(id).await.unwrap();
        }
        worker.shutdown().await.unwrap();
    });
}

struct Run {
    kills: usize,
    generations: u32,
}

fn run_round(
    db: &Path,
    log: &Path,
    ids: &[String],
    rng: &mut Rng,
    generation: &mut u32,
    kills_wanted: usize,
) -> Run {
    let mut run = Run {
        kills: 0,
        generations: 0,
    };
    loop {
        *generation += 1;
        run.generations += 1;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                &common::test_name!(crash::crash_child),
                "--exact",
                "--ignored",
                "--test-threads=1",
                "--quiet",
            ])
            .env("CRASH_DB", db)
            .env("CRASH_LOG", log)
            .env("CRASH_GEN", generation.to_string())
            .env("CRASH_IDS", ids.join(","))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let kill_after = Duration::from_millis(rng.between(30, 350));
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "child generation {generation} failed: {status}"
                );
                return run;
            }
            if run.kills < kills_wanted && started.elapsed() >= kill_after {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                run.kills += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[test]
fn kill_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let log = dir.path().join("runs.log");
    let seed = seed("CRASH_SEED");
    eprintln!("kill_and_resume: seed {seed} (rerun with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let mut generation = 0u32;
    let mut kills = 0usize;
    let mut all_ids: Vec<String> = Vec::new();
    let mut round = 0;
    // Rounds of 40 instances until enough kills have landed; the last round runs to the end.
    while kills < MIN_KILLS || round == 0 {
        let ids: Vec<String> = (0..40)
            .map(|i| format!("r{round}-{}", round * 1000 + i))
            .collect();
        let run = run_round(
            &db,
            &log,
            &ids,
            &mut rng,
            &mut generation,
            MIN_KILLS.saturating_sub(kills).max(1),
        );
        kills += run.kills;
        all_ids.extend(ids);
        round += 1;
    }
    verify(&db, &log, &all_ids, kills, generation);
}

fn verify(db: &Path, log: &PathBuf, ids: &[String], kills: usize, generations: u32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = SqliteStore::open(db).unwrap();
    // (instance, call key) -> generations in which the call ran.
    let mut runs: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let key = (parts[1].to_string(), parts[2].to_string());
        runs.entry(key).or_default().push(parts[0].parse().unwrap());
    }
    let mut reruns = 0;
    let mut calls = 0;
    rt.block_on(async {
        let listed = store.list(&ListQuery::default()).await.unwrap().instances;
        assert_eq!(listed.len(), ids.len(), "no instance lost, none invented");
        let mut committed_keys: BTreeSet<(String, String)> = BTreeSet::new();
        for id in ids {
            let iid = InstanceId::new(id.as_str()).unwrap();
            let record = store.load(&iid).await.unwrap();
            assert_eq!(record.status, Status::Completed, "{id} completed");
            let output: Vec<Stepped> =
                sayiir::__private::codec::decode(&record.output.unwrap()).unwrap();
            let seed: u64 = id.rsplit('-').next().unwrap().parse().unwrap();
            let values: Vec<u64> = output.iter().map(|s| s.value).collect();
            assert_eq!(values, expected_values(seed), "{id} output");

            let history = store.history(&iid, None, None).await.unwrap();
            let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
            let transitions = output.len() as u64 + 1; // the first transition, then one per call
            let expected: Vec<u64> = (0..=transitions).collect();
            assert_eq!(
                seqs, expected,
                "{id}: one gapless history entry per transition"
            );
            assert_eq!(record.seq, transitions);

            for committed in &output {
                let key = (id.clone(), committed.key.clone());
                assert!(
                    committed_keys.insert(key.clone()),
                    "{id}: two calls share the key {}",
                    committed.key
                );
                let gens = runs
                    .get(&key)
                    .unwrap_or_else(|| panic!("{id} call {} never ran", committed.key));
                let distinct: BTreeSet<u32> = gens.iter().copied().collect();
                assert_eq!(
                    distinct.len(),
                    gens.len(),
                    "{id} call {} ran twice in one process: {gens:?}",
                    committed.key
                );
                assert!(
                    gens.contains(&committed.generation),
                    "{id} call {}: committed run not logged",
                    committed.key
                );
                assert_eq!(
                    *gens.iter().max().unwrap(),
                    committed.generation,
                    "{id} call {} ran again after its result was committed: {gens:?}",
                    committed.key
                );
                reruns += gens.len() - 1;
                calls += 1;
            }
        }
        let orphans: Vec<_> = runs
            .keys()
            .filter(|k| !committed_keys.contains(*k))
            .collect();
        assert!(
            orphans.is_empty(),
            "calls ran that no committed transition accounts for: {orphans:?}"
        );
    });
    eprintln!(
        "kill_and_resume: {kills} kills over {generations} process generations, {} instances, {calls} task calls (loops, branches, joins), {reruns} task re-runs (each after a kill between run and commit)",
        ids.len()
    );
    assert!(kills >= MIN_KILLS, "only {kills} kills landed");
}
