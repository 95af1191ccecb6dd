//! The sayiir benchmark program. `cargo run --release -p sayiir-bench -- --help` for the
//! options; docs/performance.md for what each scenario measures and the figures seen.
//!
//! Progress goes to stderr; a summary table of medians (or, with `--json`, one JSON object per
//! scenario and store) goes to stdout.

mod args;
mod baseline;
mod figures;
mod flows;
mod inflight;
mod latency;
mod list;
mod recording;
mod sleepers;
mod subscriber;
mod target;
mod throughput;

use args::{Args, Child, Recorder, Scenario};
use figures::Row;
use throughput::Shape;

/// Errors of the benchmark program.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: Args) -> Result<(), BoxError> {
    // Only this sets it, once, before any store is opened.
    let _ = target::SQLITE_CACHE_MIB.set(args.sqlite_cache_mib);
    match &args.child {
        Child::Worker(url) => return throughput::child_worker(&args, url).await,
        Child::Sleepers(locator) => return sleepers::child(&args, locator).await,
        Child::Inflight(locator, mode) => return inflight::child(&args, locator, *mode).await,
        Child::None => {}
    }
    let traced = args.recorders.contains(&Recorder::Traced);
    let prometheus = if traced || args.recorders.contains(&Recorder::Prometheus) {
        Some(sayiir::metrics::prometheus_recorder()?)
    } else {
        None
    };
    let tracing = if traced {
        Some(subscriber::Tracing::install()?)
    } else {
        None
    };
    let mut rows: Vec<Row> = Vec::new();
    for &kind in &args.stores {
        for run in 1..=args.runs {
            eprintln!("== {} run {run}/{}", kind.name(), args.runs);
            let mut ceiling = None;
            for &scenario in &args.scenarios {
                let row = match scenario {
                    Scenario::Baseline => {
                        let (row, c) = baseline::run(&args, kind).await?;
                        ceiling = Some(c);
                        row
                    }
                    Scenario::Linear | Scenario::Latency => {
                        // Every recorder in turn, the order alternating from run to run.
                        let mut order = args.recorders.clone();
                        if run % 2 == 0 {
                            order.reverse();
                        }
                        for r in order {
                            let recorder = match r {
                                Recorder::None => None,
                                Recorder::Prometheus | Recorder::Traced => prometheus
                                    .as_ref()
                                    .map(|(p, _)| p as &dyn metrics::Recorder),
                            };
                            let under = (recorder, r.suffix());
                            if let Some(t) = &tracing {
                                t.set(r == Recorder::Traced)?;
                            }
                            let row = if scenario == Scenario::Linear {
                                throughput::run(&args, kind, Shape::Linear, ceiling, under).await
                            } else {
                                latency::run(&args, kind, ceiling, under).await
                            };
                            if let Some(t) = &tracing {
                                t.set(false)?;
                            }
                            rows.push(row?);
                        }
                        continue;
                    }
                    Scenario::Limited => {
                        throughput::run(&args, kind, Shape::Limited, ceiling, (None, "")).await?
                    }
                    Scenario::Fanout => {
                        throughput::run(&args, kind, Shape::Fanout, ceiling, (None, "")).await?
                    }
                    Scenario::Sleepers => sleepers::run(&args, kind).await?,
                    Scenario::Inflight => inflight::run(&args, kind).await?,
                    Scenario::List => list::run(&args, kind).await?,
                };
                rows.push(row);
            }
        }
    }
    let summaries = figures::summarize(&rows);
    if args.json {
        for s in &summaries {
            println!("{}", s.json(args.smoke));
        }
    } else {
        print!("{}", figures::table(&summaries));
        print!("{}", figures::recorder_cost(&summaries));
    }
    if let Some((_, handle)) = &prometheus
        && !args.json
    {
        let cpu: Vec<(String, f64)> = summaries
            .iter()
            .filter(|s| s.scenario == "linear")
            .filter_map(|s| Some((s.store.clone(), s.get("cpu_us_per_step")?)))
            .collect();
        print!("{}", recording::cost_per_step(handle, &cpu));
    }
    if let Some((_, handle)) = &prometheus {
        let t = std::time::Instant::now();
        let text = handle.render();
        eprintln!(
            "prometheus: a scrape renders {} bytes ({} lines) in {:.3} ms",
            text.len(),
            text.lines().count(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
