//! A task's rate limit across processes on PostgreSQL: four worker processes (this test binary
//! re-run with the ignored `rate_worker` test selected, each driving at most 8 instances at
//! once, so all four take part) run 60 instances whose `ping` task is limited to 10 starts per
//! second (burst 1). Each attempt logs when it starts (wall-clock microseconds). Checked: no
//! 1 s window holds more than 10 + 1 starts, and every instance completed with its output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sayiir::store::PgStore;
use sayiir::{Engine, WorkerConfig};
use sayiir_store::pg_harness;

use super::worst_window;
use crate::common::children::{self, ChildProc, append_line, read_lines};
use crate::common::{self, env};

const WORKERS: usize = 4;
const INSTANCES: u64 = 60;
const RATE: usize = 10;
const BURST: usize = 1;
/// Only a hang gets near it.
const DEADLINE: Duration = Duration::from_secs(300);

#[sayiir::task(rate = "10/s")]
async fn ping(n: u64) -> u64 {
    append_line(
        Path::new(&env("RATE_LOG")),
        &format!("{} {}", std::process::id(), super::now_us()),
    );
    n * 3
}

#[sayiir::workflow]
async fn rated_ping(n: u64) -> u64 {
    ping(n).await
}

/// Worker mode: work the database until killed.
#[test]
#[ignore = "run by `a_task_rate_holds_across_processes` as a child process"]
fn rate_worker() {
    if env("RATE_DB").is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let store = PgStore::connect(&env("RATE_DB")).await.unwrap();
        let config = WorkerConfig::default()
            .max_instances(8)
            .claim_batch(8)
            .idle_poll(Duration::from_millis(100));
        let engine = Engine::builder(store)
            .register::<rated_ping>()
            .worker_config(config)
            .build()
            .unwrap();
        let outcome = engine.spawn_worker().join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

#[test]
fn a_task_rate_holds_across_processes() {
    let began = Instant::now();
    let rt = children::runtime();
    let Some(db) = rt.block_on(pg_harness::fresh_database("rate_procs")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log: PathBuf = dir.path().join("starts.log");
    let engine = rt.block_on(async {
        let store = PgStore::connect(db.url()).await.unwrap();
        let engine = Engine::builder(store)
            .register::<rated_ping>()
            .build()
            .unwrap();
        for i in 0..INSTANCES {
            engine
                .start::<rated_ping>(&format!("r{i}"), i)
                .await
                .unwrap();
        }
        engine
    });
    let mut workers: Vec<ChildProc> = (0..WORKERS)
        .map(|w| {
            ChildProc::spawn(
                &common::test_name!(flow_control::pg_rate::rate_worker),
                &format!("w{w}"),
                1,
                &[
                    ("RATE_DB", db.url().to_owned()),
                    ("RATE_LOG", log.display().to_string()),
                ],
            )
        })
        .collect();
    rt.block_on(async {
        for i in 0..INSTANCES {
            let out = tokio::time::timeout(
                DEADLINE.saturating_sub(began.elapsed()),
                engine.result::<rated_ping>(&format!("r{i}")),
            )
            .await
            .unwrap_or_else(|_| panic!("r{i} did not complete"))
            .unwrap();
            assert_eq!(out, i * 3, "r{i}");
        }
    });
    for w in &mut workers {
        w.assert_alive();
    }
    drop(workers);
    let lines = read_lines(&log);
    let starts: Vec<i64> = lines
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    let pids: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let worst = worst_window(&starts, 1_000_000);
    eprintln!(
        "flow_control::pg_rate: {} starts by {} processes, worst 1 s window {worst} (rate \
         {RATE}/s, burst {BURST}), {:.1} s",
        starts.len(),
        pids.len(),
        began.elapsed().as_secs_f64()
    );
    assert_eq!(
        starts.len(),
        usize::try_from(INSTANCES).unwrap(),
        "one start each"
    );
    assert!(
        worst <= RATE + BURST,
        "{worst} starts of `ping` within 1 s (rate {RATE}/s, burst {BURST})"
    );
}
