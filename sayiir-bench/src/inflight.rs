//! `inflight`: the memory one instance costs while it is being driven, and while it is parked.
//!
//! Each figure comes from a child process of its own, so that its resident memory is its own
//! (no earlier scenario's heap, no allocator pages freed by another phase and reused):
//!
//! - **held**: N instances (`--inflight`, default 10,000) of a workflow whose one task waits
//!   for a release the process holds, with `max_instances` ≥ N: all N are claimed, their
//!   drivers run and their tasks are running at once. VmRSS is read once the engine and its
//!   worker are up and idle, and again once all N task bodies have started; the difference
//!   divided by N is the memory of one in-flight instance (claim, driver, running task, and
//!   whatever the store keeps per row in memory). Then the tasks are released and the peak
//!   (VmHWM) of the whole process is read once all N finished.
//! - **parked**: N instances of a workflow that waits for a signal nobody sends: each commits
//!   one transition that parks it and gives its lease up, so nothing of it stays in memory but
//!   what the store and allocator keep. The same two readings.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sayiir::{Engine, WorkerConfig};
use tokio::process::Command;
use tokio::sync::watch;

use crate::BoxError;
use crate::args::{Args, InflightMode};
use crate::baseline::rate;
use crate::figures::Row;
use crate::flows::{self, rss_mib};
use crate::target::{Place, StoreKind};

/// Task bodies of `held1` that have started.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Set to `true` to let the tasks of `held1` finish.
fn release() -> &'static watch::Sender<bool> {
    static RELEASE: OnceLock<watch::Sender<bool>> = OnceLock::new();
    RELEASE.get_or_init(|| watch::channel(false).0)
}

#[sayiir::task]
async fn held(n: u64) -> u64 {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let mut rx = release().subscribe();
    // An error means the sender is gone: the process is ending anyway.
    let _ = rx.wait_for(|released| *released).await;
    n + 1
}

/// One task that runs until the process releases it: returns `n + 1`.
#[sayiir::workflow]
pub(crate) async fn held1(n: u64) -> u64 {
    held(n).await
}

/// Waits for a signal `go` (never sent by the scenario): parks the instance.
#[sayiir::workflow]
pub(crate) async fn parked1(n: u64) -> u64 {
    let go = sayiir::signal::<u64>("go").await;
    n + go
}

/// Runs both phases, each in a child process of its own, on fresh stores of `kind`: one row
/// with the figures of both.
pub(crate) async fn run(args: &Args, kind: StoreKind) -> Result<Row, BoxError> {
    let mut row = Row::new("inflight", kind.name());
    for mode in [InflightMode::Held, InflightMode::Parked] {
        let child = child_run(args, kind, mode).await?;
        for (name, value) in child.figures {
            row.set(&name, value);
        }
    }
    Ok(row)
}

async fn child_run(args: &Args, kind: StoreKind, mode: InflightMode) -> Result<Row, BoxError> {
    let place = Place::new(kind, args.pg_url.as_deref(), "inflight").await?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--child-inflight")
        .arg(place.locator())
        .args(["--inflight-mode", mode.name()])
        .args(["--store", kind.name()])
        .args(["--inflight", &args.inflight.to_string()])
        .args([
            "--commit-window",
            &args.commit_window.as_micros().to_string(),
        ])
        .args(["--commit-batch", &args.max_commit_batch.to_string()]);
    let what = format!("inflight process ({})", mode.name());
    let line = crate::sleepers::first_line(&mut cmd, &what).await?;
    Row::parse_line("inflight", kind.name(), &line)
        .ok_or_else(|| format!("inflight process reported `{}`", line.trim()).into())
}

/// How long a phase may make no progress before the scenario reports what it reached.
const STALL: Duration = Duration::from_secs(10);

/// Waits until `count()` reaches `n`, printing it every second. Returns the count reached:
/// less than `n` when it stopped moving for [`STALL`].
async fn until(label: &str, what: &str, n: usize, count: impl Fn() -> usize) -> usize {
    let mut last_print = Instant::now();
    let (mut last, mut moved) = (count(), Instant::now());
    while last < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = count();
        if now != last {
            (last, moved) = (now, Instant::now());
        } else if moved.elapsed() >= STALL {
            eprintln!(
                "\r{label}: STALLED at {last}/{n} {what} for {} s",
                STALL.as_secs()
            );
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            eprint!("\r{label}: {last}/{n} {what}   ");
        }
    }
    last
}

/// KiB per instance between two VmRSS readings in MiB.
fn kib_per(before_mib: f64, after_mib: f64, n: usize) -> f64 {
    (after_mib - before_mib) * 1024.0 / n as f64
}

/// The body of a `--child-inflight` process over the store at `locator`.
pub(crate) async fn child(args: &Args, locator: &str, mode: InflightMode) -> Result<(), BoxError> {
    let kind = *args.stores.first().ok_or("no store given")?;
    let label = format!("inflight {} [{}]", mode.name(), kind.name());
    let n = args.inflight;
    // Room for all N and a claim batch more: a worker whose free slots are fewer than a
    // quarter of a claim batch waits for more before it claims again.
    let config = WorkerConfig::default();
    let slack = config.claim_batch;
    let config = config
        .max_instances(n + slack)
        .commit_window(args.commit_window)
        .max_commit_batch(args.max_commit_batch);
    let engine = Engine::builder_shared(crate::target::open(kind, locator).await?)
        .register::<held1>()
        .register::<parked1>()
        .worker_config(config)
        .build()?;
    let worker = engine.spawn_worker();
    let metrics = engine.metrics();
    // Let the worker register and go idle, so that its own start is in the first reading.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (before, _) = rss_mib();
    let created = match mode {
        InflightMode::Held => {
            flows::start_all(&engine, n, 64, |e, i| async move {
                e.start::<held1>(&format!("if-{i:08}"), i as u64)
                    .await
                    .map(drop)
            })
            .await?
        }
        InflightMode::Parked => {
            flows::start_all(&engine, n, 64, |e, i| async move {
                e.start::<parked1>(&format!("pk-{i:08}"), i as u64)
                    .await
                    .map(drop)
            })
            .await?
        }
    };
    let mut row = Row::new("inflight", kind.name());
    match mode {
        InflightMode::Held => {
            let held = until(&label, "running", n, || RUNNING.load(Ordering::SeqCst)).await;
            let (running, _) = rss_mib();
            eprintln!(
                "\r{label}: {held} running; RSS {before:.1} MiB idle, {running:.1} MiB with \
                 {held} in flight"
            );
            release().send_replace(true);
            let completed = until(&label, "completed", n, || {
                usize::try_from(metrics.instances_completed()).unwrap_or(usize::MAX)
            })
            .await;
            let (_, peak) = rss_mib();
            row.set("inflight_kib", kib_per(before, running, held.max(1)))
                .set("held", held as f64)
                .set("completed", completed as f64)
                .set("idle_mib", before)
                .set("inflight_rss_mib", running)
                .set("peak_rss_mib", peak)
                .set("create_per_s", rate(n, created))
                .set("instances", n as f64);
        }
        InflightMode::Parked => {
            // Each instance commits one transition before the signal: the one that parks it.
            let parked_n = until(&label, "parked", n, || {
                usize::try_from(metrics.transitions()).unwrap_or(usize::MAX)
            })
            .await;
            // The drivers end once their park is committed; give the last ones a moment.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (parked, peak) = rss_mib();
            row.set("parked_kib", kib_per(before, parked, parked_n.max(1)))
                .set("parked", parked_n as f64)
                .set("parked_rss_mib", parked)
                .set("parked_peak_mib", peak);
        }
    }
    eprintln!("\r{label}: done   ");
    worker.shutdown().await?;
    println!("{}", row.to_line());
    Ok(())
}
