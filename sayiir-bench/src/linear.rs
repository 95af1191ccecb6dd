//! `linear`: N instances of a workflow of 10 no-op tasks in sequence on a fresh SQLite file,
//! at most K driven at once (`WorkerConfig::max_instances`). All instances are created first
//! (timed apart); the clock then runs from the worker's start to the last result.

use std::time::{Duration, Instant};

use sayiir::{Engine, SqliteStore, WorkerConfig};

use crate::baseline::rate;
use crate::{Args, BoxError, Scratch};

/// Tasks per workflow.
pub(crate) const STEPS: u64 = 10;

#[sayiir::task]
async fn noop(n: u64) -> u64 {
    n + 1
}

/// Ten no-op steps.
#[sayiir::workflow]
async fn linear10(n: u64) -> u64 {
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

/// Result of the linear scenario.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub(crate) instances: usize,
    pub(crate) in_flight: usize,
    /// Creating the instances (`Engine::start`, one store transaction each).
    pub(crate) create_elapsed: Duration,
    /// From the worker's start to the last result.
    pub(crate) elapsed: Duration,
    /// Transitions committed while running.
    pub(crate) transitions: u64,
    /// Store transactions used for those commits.
    pub(crate) batches: u64,
    /// Transitions carried by those store transactions.
    pub(crate) batched: u64,
    /// The baseline's best batched transitions/s, when measured in the same run.
    pub(crate) ceiling: Option<f64>,
}

impl Linear {
    pub(crate) fn workflows_per_sec(&self) -> f64 {
        rate(self.instances, self.elapsed)
    }

    pub(crate) fn steps_per_sec(&self) -> f64 {
        rate(
            usize::try_from(self.transitions).unwrap_or(usize::MAX),
            self.elapsed,
        )
    }

    pub(crate) fn avg_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.batched as f64 / self.batches as f64
        }
    }

    pub(crate) fn ratio(&self) -> Option<f64> {
        self.ceiling
            .filter(|c| *c > 0.0)
            .map(|c| self.steps_per_sec() / c)
    }
}

/// Runs the scenario.
pub(crate) async fn run(args: &Args, ceiling: Option<f64>) -> Result<Linear, BoxError> {
    let scratch = Scratch::new("linear")?;
    let store = SqliteStore::open_with(scratch.db(), args.store.sqlite_options())?;
    let config = WorkerConfig::default().max_instances(args.in_flight);
    let engine = Engine::builder(store)
        .register::<linear10>()
        .worker_config(config)
        .build();
    let n = args.instances;
    let label = format!("linear [{}]", args.store.name());

    eprintln!("{label}: creating {n} instances");
    let start = Instant::now();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        handles.push(
            engine
                .start::<linear10>(&format!("lin-{i:08}"), i as u64)
                .await?,
        );
    }
    let create_elapsed = start.elapsed();

    let t0 = engine.metrics().transitions();
    let (b0, bt0) = engine.metrics().commit_batches();
    let expected = n as u64 * (STEPS + 1);
    let progress = {
        let engine = engine.clone();
        let label = label.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let done = engine.metrics().transitions().saturating_sub(t0);
                eprint!("\r{label}: ~{done}/{expected} transitions   ");
            }
        })
    };

    let start = Instant::now();
    let worker = engine.spawn_worker();
    for (i, h) in handles.iter().enumerate() {
        let out = h.result().await?;
        if out != i as u64 + STEPS {
            return Err(format!("instance {i}: got {out}, expected {}", i as u64 + STEPS).into());
        }
    }
    let elapsed = start.elapsed();
    progress.abort();
    eprintln!();
    worker.shutdown().await?;

    let transitions = engine.metrics().transitions().saturating_sub(t0);
    let (b1, bt1) = engine.metrics().commit_batches();
    let l = Linear {
        instances: n,
        in_flight: args.in_flight,
        create_elapsed,
        elapsed,
        transitions,
        batches: b1.saturating_sub(b0),
        batched: bt1.saturating_sub(bt0),
        ceiling,
    };
    eprintln!(
        "{label}: {n} workflows in {:.3} s = {:.0} workflows/s, {:.0} steps/s, {} commits in {} \
         store transactions (avg batch {:.1})",
        elapsed.as_secs_f64(),
        l.workflows_per_sec(),
        l.steps_per_sec(),
        transitions,
        l.batches,
        l.avg_batch(),
    );
    Ok(l)
}
