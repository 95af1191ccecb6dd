//! The sayiir benchmark program. `cargo run --release -p sayiir-bench -- --help` for the
//! options; docs/performance.md for what each scenario measures and the figures seen.
//!
//! Progress goes to stderr; a summary table of medians (or, with `--json`, one JSON object per
//! scenario and store) goes to stdout.

mod args;
mod baseline;
mod figures;
mod flows;
mod latency;
mod list;
mod sleepers;
mod target;
mod throughput;

use args::{Args, Child, Scenario};
use figures::Row;
use throughput::Shape;

/// Errors of the benchmark program.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: Args) -> Result<(), BoxError> {
    match &args.child {
        Child::Worker(url) => return throughput::child_worker(&args, url).await,
        Child::Sleepers(locator) => return sleepers::child(&args, locator).await,
        Child::None => {}
    }
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
                    Scenario::Linear => {
                        throughput::run(&args, kind, Shape::Linear, ceiling).await?
                    }
                    Scenario::Limited => {
                        throughput::run(&args, kind, Shape::Limited, ceiling).await?
                    }
                    Scenario::Fanout => {
                        throughput::run(&args, kind, Shape::Fanout, ceiling).await?
                    }
                    Scenario::Latency => latency::run(&args, kind, ceiling).await?,
                    Scenario::Sleepers => sleepers::run(&args, kind).await?,
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
