//! `latency`: one instance at a time, so every commit is a batch of one. Each `stamp` task notes
//! when it ran; the time between two consecutive steps of an instance is what one step adds
//! (the previous step's commit, its acknowledgement, and dispatching the next task). The time
//! from `Engine::start` being called to the first task's body running is the time to first
//! step of a lone start on an idle worker (`first_*_ms`).

use std::time::{Duration, Instant};

use crate::BoxError;
use crate::args::Args;
use crate::baseline::{Ceiling, quantile_ms, rate};
use crate::figures::Row;
use crate::flows::{self, STAMPS, STEPS, latency10};
use crate::target::{Place, StoreKind};

/// Runs the scenario on a fresh store of `kind`.
pub(crate) async fn run(
    args: &Args,
    kind: StoreKind,
    ceiling: Option<Ceiling>,
    (recorder, suffix): (Option<&dyn metrics::Recorder>, &str),
) -> Result<Row, BoxError> {
    let name = format!("latency{suffix}");
    let label = format!("{name} [{}]", kind.name());
    let place = Place::prefilled(kind, args, "latency").await?;
    let engine = flows::engine_recorded(place.open(kind).await?, args, recorder)?;
    let worker = engine.spawn_worker();
    let n = args.latency_instances;
    let mut steps: Vec<Duration> = Vec::with_capacity(n * STEPS as usize);
    let mut whole: Vec<Duration> = Vec::with_capacity(n);
    let mut first: Vec<Duration> = Vec::with_capacity(n);
    let mut last_print = Instant::now();
    for i in 0..n {
        if let Ok(mut s) = STAMPS.lock() {
            s.clear();
        }
        let t = Instant::now();
        let h = engine
            .start::<latency10>(&format!("lat-{i:08}"), i as u64)
            .await?;
        let out = h.result().await?;
        whole.push(t.elapsed());
        if out != i as u64 + STEPS {
            return Err(format!("instance {i}: got {out}, expected {}", i as u64 + STEPS).into());
        }
        let stamps = STAMPS.lock().map(|s| s.clone()).unwrap_or_default();
        if stamps.len() != STEPS as usize {
            return Err(
                format!("instance {i}: {} task runs, expected {STEPS}", stamps.len()).into(),
            );
        }
        first.extend(stamps.first().map(|s| s.saturating_duration_since(t)));
        steps.extend(
            stamps
                .windows(2)
                .map(|w| w[1].saturating_duration_since(w[0])),
        );
        if last_print.elapsed() >= Duration::from_millis(500) {
            last_print = Instant::now();
            eprint!("\r{label}: {}/{n} instances   ", i + 1);
        }
    }
    eprintln!("\r{label}: {n}/{n} instances   ");
    worker.shutdown().await?;

    let total: Duration = steps.iter().sum();
    let mut row = Row::new(name, kind.name());
    row.set("p50_ms", quantile_ms(&mut steps, 0.50))
        .set("p95_ms", quantile_ms(&mut steps, 0.95))
        .set("p99_ms", quantile_ms(&mut steps, 0.99))
        .set("steps_per_s", rate(steps.len(), total))
        .set("workflow_p50_ms", quantile_ms(&mut whole, 0.50))
        .set("first_p50_ms", quantile_ms(&mut first, 0.50))
        .set("first_p95_ms", quantile_ms(&mut first, 0.95))
        .set("first_p99_ms", quantile_ms(&mut first, 0.99))
        .set("samples", steps.len() as f64);
    if let Some(c) = ceiling.filter(|c| c.single_ms > 0.0) {
        // How many single commits of the baseline one step costs.
        row.set("ratio", row.get("p50_ms").unwrap_or(f64::NAN) / c.single_ms);
    }
    eprintln!(
        "{label}: step p50 {:.3} ms, p99 {:.3} ms; start to first step p50 {:.3} ms, p99 {:.3} ms",
        row.get("p50_ms").unwrap_or(f64::NAN),
        row.get("p99_ms").unwrap_or(f64::NAN),
        row.get("first_p50_ms").unwrap_or(f64::NAN),
        row.get("first_p99_ms").unwrap_or(f64::NAN)
    );
    Ok(row)
}
