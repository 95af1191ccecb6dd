//! The command line.

use std::time::Duration;

use crate::BoxError;
use crate::target::StoreKind;

/// A scenario of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Baseline,
    Linear,
    Fanout,
    Latency,
    Sleepers,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 5] = [
        Scenario::Baseline,
        Scenario::Linear,
        Scenario::Fanout,
        Scenario::Latency,
        Scenario::Sleepers,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Linear => "linear",
            Scenario::Fanout => "fanout",
            Scenario::Latency => "latency",
            Scenario::Sleepers => "sleepers",
        }
    }
}

/// What a child process of the program is for (hidden arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Child {
    /// Not a child: the program itself.
    None,
    /// A worker process over the PostgreSQL database at this URL.
    Worker(String),
    /// The `sleepers` scenario alone, over this database (SQLite path or PostgreSQL URL).
    Sleepers(String),
}

/// Parsed command line.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) scenarios: Vec<Scenario>,
    pub(crate) stores: Vec<StoreKind>,
    pub(crate) pg_url: Option<String>,
    pub(crate) runs: usize,
    /// Instances of `linear`.
    pub(crate) instances: usize,
    /// Instances of `fanout`.
    pub(crate) fanout_instances: usize,
    /// Instances run one after the other by `latency`.
    pub(crate) latency_instances: usize,
    /// Instances of `sleepers`.
    pub(crate) sleepers: usize,
    /// How far ahead the sleepers' wake-up time is (default: 5 s + 1 s per 10,000).
    pub(crate) sleep_secs: Option<u64>,
    /// Instances driven at once by one worker.
    pub(crate) in_flight: usize,
    /// Worker processes of `linear` and `fanout` on PostgreSQL.
    pub(crate) workers: usize,
    /// Transitions (and creations) per store transaction in `baseline`'s batched passes.
    pub(crate) baseline_instances: usize,
    pub(crate) commit_window: Duration,
    pub(crate) max_commit_batch: usize,
    pub(crate) json: bool,
    pub(crate) smoke: bool,
    pub(crate) child: Child,
}

pub(crate) const USAGE: &str = "\
usage: sayiir-bench [options]
  --scenario LIST     baseline,linear,fanout,latency,sleepers or all (default all)
  --store LIST        sqlite-full,sqlite-normal,postgres or all (default: both SQLite
                      levels, and postgres when a URL is given)
  --pg-url URL        PostgreSQL server where the user may create databases
                      (default: $SAYIIR_BENCH_PG_URL; without one, `--store postgres`
                      starts a throwaway local cluster); each scenario gets a fresh database
  --runs R            repeat every scenario R times and report medians (default 3)
  --instances N       linear: instances of 10 steps (default 20000)
  --fanout N          fanout: instances of 100 parallel tasks (default 400)
  --latency N         latency: instances of 10 steps, one at a time (default 200)
  --sleepers M        sleepers: instances asleep at once (default 100000)
  --sleep-secs S      sleepers: wake-up time this far ahead (default 5 + M/10000)
  --in-flight K       instances driven at once per worker (default 1024)
  --workers P         worker processes of linear/fanout on PostgreSQL (default 4)
  --commit-window US  committer window in microseconds (default 0)
  --commit-batch N    largest commit batch (default 512)
  --json              one JSON object per line instead of the table
  --smoke             tiny sizes, one run: checks the program works, not for timing";

/// Parses the arguments after the program name.
pub(crate) fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, BoxError> {
    let mut scenarios = Scenario::ALL.to_vec();
    let mut stores = None;
    let mut pg_url = std::env::var("SAYIIR_BENCH_PG_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut runs = None;
    let mut instances = None;
    let mut fanout = None;
    let mut latency = None;
    let mut sleepers = None;
    let mut sleep_secs = None;
    let mut in_flight = 1024;
    let mut workers = 4;
    let mut commit_window = Duration::ZERO;
    let mut max_commit_batch = 512;
    let mut json = false;
    let mut smoke = false;
    let mut child = Child::None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--scenario" => scenarios = parse_scenarios(&value("--scenario")?)?,
            "--store" => stores = Some(parse_stores(&value("--store")?)?),
            "--pg-url" => pg_url = Some(value("--pg-url")?),
            "--runs" => runs = Some(count("--runs", &value("--runs")?)?),
            "--instances" => instances = Some(count("--instances", &value("--instances")?)?),
            "--fanout" => fanout = Some(count("--fanout", &value("--fanout")?)?),
            "--latency" => latency = Some(count("--latency", &value("--latency")?)?),
            "--sleepers" => sleepers = Some(count("--sleepers", &value("--sleepers")?)?),
            "--sleep-secs" => {
                sleep_secs = Some(count("--sleep-secs", &value("--sleep-secs")?)? as u64);
            }
            "--in-flight" => in_flight = count("--in-flight", &value("--in-flight")?)?,
            "--workers" => workers = count("--workers", &value("--workers")?)?,
            "--commit-window" => {
                let us = value("--commit-window")?;
                let us: u64 = us
                    .parse()
                    .map_err(|_| format!("--commit-window needs microseconds, got `{us}`"))?;
                commit_window = Duration::from_micros(us);
            }
            "--commit-batch" => {
                max_commit_batch = count("--commit-batch", &value("--commit-batch")?)?
            }
            "--json" => json = true,
            "--smoke" => smoke = true,
            "--child-worker" => child = Child::Worker(value("--child-worker")?),
            "--child-sleepers" => child = Child::Sleepers(value("--child-sleepers")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let stores = match stores {
        Some(s) => s,
        None if pg_url.is_some() => StoreKind::ALL.to_vec(),
        None => vec![StoreKind::SqliteFull, StoreKind::SqliteNormal],
    };
    let pick = |given: Option<usize>, smoke_size: usize, full: usize| {
        given.unwrap_or(if smoke { smoke_size } else { full })
    };
    Ok(Args {
        scenarios,
        stores,
        pg_url,
        runs: pick(runs, 1, 3),
        instances: pick(instances, 60, 20_000),
        fanout_instances: pick(fanout, 4, 400),
        latency_instances: pick(latency, 5, 200),
        sleepers: pick(sleepers, 200, 100_000),
        sleep_secs: sleep_secs.or(smoke.then_some(1)),
        in_flight,
        workers,
        baseline_instances: if smoke { 300 } else { 2_048 },
        commit_window,
        max_commit_batch,
        json,
        smoke,
        child,
    })
}

fn parse_scenarios(s: &str) -> Result<Vec<Scenario>, BoxError> {
    if s == "all" {
        return Ok(Scenario::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in s.split(',') {
        let sc = Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == name)
            .ok_or_else(|| format!("unknown scenario `{name}`\n{USAGE}"))?;
        if !out.contains(&sc) {
            out.push(sc);
        }
    }
    // The baseline runs first: later scenarios of the same run are compared with it.
    out.sort_by_key(|sc| Scenario::ALL.iter().position(|a| a == sc));
    Ok(out)
}

fn parse_stores(s: &str) -> Result<Vec<StoreKind>, BoxError> {
    if s == "all" {
        return Ok(StoreKind::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in s.split(',') {
        let k = StoreKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| format!("unknown store `{name}`\n{USAGE}"))?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// A positive integer argument.
pub(crate) fn count(name: &str, s: &str) -> Result<usize, BoxError> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} needs a positive integer, got `{s}`").into()),
    }
}
