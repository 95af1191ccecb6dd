//! The workflows the scenarios run, and the engine they run on.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sayiir::{Engine, WorkerConfig};
use sayiir_store::Store;

use crate::args::Args;

/// Tasks of `linear10` and `latency10`.
pub(crate) const STEPS: u64 = 10;

#[sayiir::task]
async fn noop(n: u64) -> u64 {
    n + 1
}

/// Ten no-op steps in sequence: returns `n + 10`.
#[sayiir::workflow]
pub(crate) async fn linear10(n: u64) -> u64 {
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    let n = noop(n).await;
    noop(n).await
}

/// Attempts of `limited_noop` at once across all workers (the `limited` scenario).
pub(crate) const LIMIT: u32 = 16;

#[sayiir::task(concurrency = 16)]
async fn limited_noop(n: u64) -> u64 {
    n + 1
}

/// `linear10` whose task has a concurrency limit ([`LIMIT`]): returns `n + 10`.
#[sayiir::workflow]
pub(crate) async fn limited10(n: u64) -> u64 {
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    let n = limited_noop(n).await;
    limited_noop(n).await
}

/// `branches` no-op tasks at once: returns `branches * n + branches * (branches + 1) / 2`.
#[sayiir::workflow]
pub(crate) async fn fanout(n: u64, branches: u64) -> u64 {
    let outs = sayiir::join_all((0..branches).map(|i| noop(n + i))).await;
    outs.into_iter().sum()
}

/// When each `stamp` task ran (the `latency` scenario runs one instance at a time).
pub(crate) static STAMPS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[sayiir::task]
async fn stamp(n: u64) -> u64 {
    if let Ok(mut s) = STAMPS.lock() {
        s.push(Instant::now());
    }
    n + 1
}

/// Ten steps that note when they run: returns `n + 10`.
#[sayiir::workflow]
pub(crate) async fn latency10(n: u64) -> u64 {
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    let n = stamp(n).await;
    stamp(n).await
}

/// How late each sleeper's task ran after its wake-up time, in milliseconds.
pub(crate) static LAGS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[sayiir::task]
async fn woke(wake_at_ms: u64) -> u64 {
    let lag = now_ms().saturating_sub(wake_at_ms);
    if let Ok(mut l) = LAGS.lock() {
        l.push(u32::try_from(lag).unwrap_or(u32::MAX));
    }
    lag
}

/// Sleeps until `wake_at_ms` (ms since the epoch), then runs one task: returns its lag.
#[sayiir::workflow]
pub(crate) async fn sleeper(wake_at_ms: u64) -> u64 {
    sayiir::sleep_until(UNIX_EPOCH + Duration::from_millis(wake_at_ms)).await;
    woke(wake_at_ms).await
}

/// An engine over `store` with every workflow above and the worker settings of `args`.
pub(crate) fn engine(
    store: std::sync::Arc<dyn Store>,
    args: &Args,
) -> Result<Engine, sayiir::BuildError> {
    engine_recorded(store, args, None)
}

/// As [`engine`], its metrics recorded by `recorder` (the engine registers them when built).
pub(crate) fn engine_recorded(
    store: std::sync::Arc<dyn Store>,
    args: &Args,
    recorder: Option<&dyn metrics::Recorder>,
) -> Result<Engine, sayiir::BuildError> {
    let config = WorkerConfig::default()
        .max_instances(args.in_flight)
        .commit_window(args.commit_window)
        .max_commit_batch(args.max_commit_batch);
    let build = || {
        Engine::builder_shared(store)
            .register::<linear10>()
            .register::<limited10>()
            .register::<fanout>()
            .register::<latency10>()
            .register::<sleeper>()
            .worker_config(config)
            .build()
    };
    match recorder {
        Some(r) => metrics::with_local_recorder(r, build),
        None => build(),
    }
}

/// CPU time this process used so far (user + system, all threads), in seconds, from
/// `/proc/self/stat` (clock ticks, assumed 100 per second); NaN where there is no procfs.
pub(crate) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces), from the third on.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after the name.
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Resident and peak resident memory of this process in MiB (`/proc/self/status`), or NaN
/// where there is no procfs.
pub(crate) fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts `n` instances from `starters` tasks at once (handles dropped), returning the time
/// it took. `start(engine, i)` starts instance `i`.
pub(crate) async fn start_all<F, Fut>(
    engine: &Engine,
    n: usize,
    starters: usize,
    start: F,
) -> Result<Duration, crate::BoxError>
where
    F: Fn(Engine, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<(), sayiir::EngineError>> + Send,
{
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let starters = starters.clamp(1, n.max(1));
    for s in 0..starters {
        let engine = engine.clone();
        let start = start.clone();
        set.spawn(async move {
            let mut i = s;
            while i < n {
                start(engine.clone(), i).await?;
                i += starters;
            }
            Ok::<(), sayiir::EngineError>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(t.elapsed())
}
