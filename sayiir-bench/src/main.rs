//! Throughput benchmarks of sayiir.
//!
//! ```text
//! cargo run --release -p sayiir-bench -- [--scenario baseline|linear|all]
//!     [--store sqlite-full|sqlite-normal] [--instances N] [--in-flight K] [--json] [--smoke]
//! ```
//!
//! - `baseline`: the store alone (no engine) on a fresh SQLite file: the writes of one
//!   transition, committed one per store transaction and in batches (of 100 and of the engine's
//!   largest commit batch). The ceiling the engine is measured against.
//! - `linear`: N instances of a workflow of 10 no-op tasks in sequence, at most K driven at
//!   once, on a fresh SQLite file.
//!
//! Progress goes to stderr; a summary table (or, with `--json`, one JSON object per scenario)
//! goes to stdout.

mod baseline;
mod linear;
mod report;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use sayiir::{SqliteOptions, Synchronous};

/// Errors of the benchmark program.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Baseline,
    Linear,
    All,
}

/// Which store to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    SqliteFull,
    SqliteNormal,
}

impl StoreKind {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreKind::SqliteFull => "sqlite-full",
            StoreKind::SqliteNormal => "sqlite-normal",
        }
    }

    /// The options the engine would open the file with.
    pub(crate) fn sqlite_options(self) -> SqliteOptions {
        let sync = match self {
            StoreKind::SqliteFull => Synchronous::Full,
            StoreKind::SqliteNormal => Synchronous::Normal,
        };
        SqliteOptions::default().synchronous(sync)
    }
}

/// Parsed command line.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    scenario: Scenario,
    pub(crate) store: StoreKind,
    /// Instances of `linear` (`--instances`).
    pub(crate) instances: usize,
    /// Instances driven at once by `linear` (`--in-flight`).
    pub(crate) in_flight: usize,
    /// Instances (and so transitions per pass) of `baseline`.
    pub(crate) baseline_instances: usize,
    json: bool,
    pub(crate) smoke: bool,
}

const USAGE: &str = "usage: sayiir-bench [--scenario baseline|linear|all] \
[--store sqlite-full|sqlite-normal] [--instances N] [--in-flight K] [--json] [--smoke]";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, BoxError> {
    let mut scenario = Scenario::All;
    let mut store = StoreKind::SqliteFull;
    let mut instances = None;
    let mut in_flight = None;
    let mut json = false;
    let mut smoke = false;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--scenario" => {
                scenario = match value("--scenario")?.as_str() {
                    "baseline" => Scenario::Baseline,
                    "linear" => Scenario::Linear,
                    "all" => Scenario::All,
                    other => return Err(format!("unknown scenario `{other}`\n{USAGE}").into()),
                }
            }
            "--store" => {
                store = match value("--store")?.as_str() {
                    "sqlite-full" => StoreKind::SqliteFull,
                    "sqlite-normal" => StoreKind::SqliteNormal,
                    other => return Err(format!("unknown store `{other}`\n{USAGE}").into()),
                }
            }
            "--instances" => instances = Some(parse_count("--instances", &value("--instances")?)?),
            "--in-flight" => in_flight = Some(parse_count("--in-flight", &value("--in-flight")?)?),
            "--json" => json = true,
            "--smoke" => smoke = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let (default_instances, default_in_flight, baseline_instances) = if smoke {
        (50, 16, 300)
    } else {
        (2_000, 512, 2_048)
    };
    Ok(Args {
        scenario,
        store,
        instances: instances.unwrap_or(default_instances),
        in_flight: in_flight.unwrap_or(default_in_flight),
        baseline_instances,
        json,
        smoke,
    })
}

fn parse_count(name: &str, s: &str) -> Result<usize, BoxError> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} needs a positive integer, got `{s}`").into()),
    }
}

/// A fresh directory for one scenario's database, removed when dropped.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new(label: &str) -> Result<Self, BoxError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::var_os("SAYIIR_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!(
                "sayiir-bench-{label}-{}-{nanos}",
                std::process::id()
            ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.join("bench.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let mut reports = Vec::new();
    let mut batched_ceiling = None;
    if matches!(args.scenario, Scenario::Baseline | Scenario::All) {
        let b = baseline::run(&args).await?;
        batched_ceiling = Some(b.batched_ceiling());
        reports.push(report::Report::Baseline(b));
    }
    if matches!(args.scenario, Scenario::Linear | Scenario::All) {
        let l = linear::run(&args, batched_ceiling).await?;
        reports.push(report::Report::Linear(l));
    }
    if args.json {
        for r in &reports {
            println!("{}", r.json(&args));
        }
    } else {
        print!("{}", report::table(&args, &reports));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
