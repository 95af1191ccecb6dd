//! 100,000 instances sleeping at once on SQLite: sleeping costs store rows, not memory. The
//! process's resident set is read from `/proc/self/status` while they all sleep and after they
//! all woke and completed; both must stay under `RSS_BOUND_MB`. The measurement runs in a child
//! process of its own: the other tests of this binary would count in the parent's memory.
//!
//! Time is virtual (the test engine), so the sleep itself costs no wall time; everything else
//! is the real engine, worker and SQLite store. `SAYIIR_SLEEPERS=N` changes the count.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sayiir::store::{ListQuery, Status};
use sayiir::testing::TestEngine;
use sayiir::{SqliteOptions, SqliteStore, Synchronous};

/// The bound this test holds the process to, in MiB of resident memory.
const RSS_BOUND_MB: u64 = 200;

#[sayiir::task]
async fn wake(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn sleeper(n: u64) -> u64 {
    sayiir::sleep(Duration::from_secs(3600)).await;
    wake(n).await
}

/// Resident and peak resident memory of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn a_hundred_thousand_sleepers_cost_rows_not_memory() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            &crate::common::test_name!(sleepers::sleepers_child),
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
            "--quiet",
        ])
        .env("SAYIIR_SLEEPERS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "the sleepers process failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `a_hundred_thousand_sleepers_cost_rows_not_memory` in a process of its own"]
async fn sleepers_child() {
    if std::env::var_os("SAYIIR_SLEEPERS_CHILD").is_none() {
        return;
    }
    let n = crate::common::env_or("SAYIIR_SLEEPERS", 100_000);
    let dir = tempfile::tempdir().unwrap();
    // The file's durability is not what this test measures: skip the fsync per start.
    let options = SqliteOptions::default().synchronous(Synchronous::Normal);
    let store = SqliteStore::open_with(dir.path().join("sleepers.db"), options).unwrap();
    let t = TestEngine::builder_with(store)
        .register::<sleeper>()
        .build()
        .unwrap();
    let (rss0, _) = rss_kib();
    let started = Instant::now();
    let mut starters = tokio::task::JoinSet::new();
    let chunks = 16u64;
    for c in 0..chunks {
        let engine = t.engine().clone();
        starters.spawn(async move {
            let mut i = c;
            while i < n {
                engine
                    .start::<sleeper>(&format!("s-{i:06}"), i)
                    .await
                    .unwrap();
                i += chunks;
            }
        });
    }
    while let Some(r) = starters.join_next().await {
        r.unwrap();
    }
    let start_time = started.elapsed();
    t.settle().await;
    let parked_time = started.elapsed();
    let (rss_sleeping, _) = rss_kib();
    let store = t.store().clone();
    let running = store
        .list(&ListQuery::new().status(Status::Running))
        .await
        .unwrap()
        .instances;
    assert_eq!(running.len() as u64, n, "all asleep at once");
    assert!(
        running.iter().all(|s| s.seq == 1 && s.due_at.is_some()),
        "each one parked with a due time after its first transition"
    );
    drop(running);
    let woke = Instant::now();
    t.advance(Duration::from_secs(3600)).await;
    let wake_time = woke.elapsed();
    let done = store
        .list(&ListQuery::new().status(Status::Completed))
        .await
        .unwrap()
        .instances;
    assert_eq!(done.len() as u64, n, "all woke and completed");
    for i in [0, n / 2, n - 1] {
        assert_eq!(
            t.try_result::<sleeper>(&format!("s-{i:06}")).await.unwrap(),
            Some(i * 2)
        );
    }
    drop(done);
    let (rss_end, hwm) = rss_kib();
    println!(
        "{n} sleepers on SQLite: started in {start_time:?}, all parked after {parked_time:?}, \
         woke and completed in {wake_time:?}; RSS before {} MiB, while all sleep {} MiB, \
         after {} MiB, peak {} MiB (bound {RSS_BOUND_MB} MiB)",
        rss0 / 1024,
        rss_sleeping / 1024,
        rss_end / 1024,
        hwm / 1024
    );
    assert!(
        rss_sleeping / 1024 < RSS_BOUND_MB,
        "RSS while sleeping {} MiB",
        rss_sleeping / 1024
    );
    assert!(hwm / 1024 < RSS_BOUND_MB, "peak RSS {} MiB", hwm / 1024);
    t.shutdown().await.unwrap();
}
