//! The command line (clap derive; `--help` lists every flag).

use std::time::Duration;

use clap::Parser;

use crate::target::StoreKind;

/// A scenario of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Baseline,
    Linear,
    Limited,
    Fanout,
    Latency,
    Sleepers,
    Inflight,
    List,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 8] = [
        Scenario::Baseline,
        Scenario::Linear,
        Scenario::Limited,
        Scenario::Fanout,
        Scenario::Latency,
        Scenario::Sleepers,
        Scenario::Inflight,
        Scenario::List,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Linear => "linear",
            Scenario::Limited => "limited",
            Scenario::Fanout => "fanout",
            Scenario::Latency => "latency",
            Scenario::Sleepers => "sleepers",
            Scenario::Inflight => "inflight",
            Scenario::List => "list",
        }
    }
}

/// Which metrics recorder `linear` and `latency` run under (`--recorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorder {
    /// None installed: each recording is a check of an empty handle.
    None,
    /// The Prometheus recorder (`sayiir::metrics::prometheus_recorder`), scraped at the end.
    Prometheus,
    /// The Prometheus recorder and a tracing subscriber as an application installs one (a
    /// `tracing_subscriber` registry with an fmt layer at INFO writing to a sink; no exporter).
    Traced,
}

impl Recorder {
    /// The suffix of the scenario's name in the figures (`linear+prometheus`).
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Recorder::None => "",
            Recorder::Prometheus => "+prometheus",
            Recorder::Traced => "+traced",
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
    /// One phase of the `inflight` scenario, over this database.
    Inflight(String, InflightMode),
}

/// The phase of `inflight` a child process measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflightMode {
    /// Instances whose task is running (claimed, driven, their task held by the process).
    Held,
    /// Instances parked on a signal (only rows in the store).
    Parked,
}

impl InflightMode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            InflightMode::Held => "held",
            InflightMode::Parked => "parked",
        }
    }
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
    /// Instances of `limited`.
    pub(crate) limited_instances: usize,
    /// Instances of `fanout`.
    pub(crate) fanout_instances: usize,
    /// Parallel tasks of each `fanout` instance.
    pub(crate) branches: u64,
    /// Instances run one after the other by `latency`.
    pub(crate) latency_instances: usize,
    /// Instances of `sleepers`.
    pub(crate) sleepers: usize,
    /// How far ahead the sleepers' wake-up time is (default: 5 s + 1 s per 10,000).
    pub(crate) sleep_secs: Option<u64>,
    /// Instances of each phase of `inflight`.
    pub(crate) inflight: usize,
    /// Instances the `list` scenario fills its store with.
    pub(crate) list_instances: usize,
    /// How many times `list` times each page (the median is reported).
    pub(crate) list_reps: usize,
    /// Print the plan of each listing of `list`.
    pub(crate) explain: bool,
    /// Finished instances put in every fresh store of a scenario that runs the engine before
    /// it starts (`--prefill`).
    pub(crate) prefill: usize,
    /// `SqliteOptions::cache_mib` of the SQLite stores (`None`: the store's default).
    pub(crate) sqlite_cache_mib: Option<u32>,
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
    /// The recorders `linear` and `latency` run under, each in turn (in the same process).
    pub(crate) recorders: Vec<Recorder>,
}

/// The command line as clap parses it; [`parse`] turns it into [`Args`].
#[derive(Debug, Parser)]
#[command(
    name = "sayiir-bench",
    about = "Throughput and latency of sayiir against its stores (docs/performance.md)"
)]
struct Cli {
    /// baseline,linear,limited,fanout,latency,sleepers,inflight,list or all
    #[arg(long = "scenario", value_name = "LIST", value_parser = parse_scenarios, default_value = "all")]
    scenarios: List<Scenario>,
    /// sqlite-full,sqlite-normal,postgres or all [default: both SQLite levels, and postgres
    /// when a URL is given]
    #[arg(long = "store", value_name = "LIST", value_parser = parse_stores)]
    stores: Option<List<StoreKind>>,
    /// PostgreSQL server where the user may create databases [default: $SAYIIR_BENCH_PG_URL;
    /// without one, `--store postgres` starts a throwaway local cluster]; each scenario gets a
    /// fresh database
    #[arg(long = "pg-url", value_name = "URL")]
    pg_url: Option<String>,
    /// Repeat every scenario R times and report medians [default: 3]
    #[arg(long, value_name = "R", value_parser = positive)]
    runs: Option<usize>,
    /// linear: instances of 10 steps [default: 20000]
    #[arg(long, value_name = "N", value_parser = positive)]
    instances: Option<usize>,
    /// limited: instances of 10 steps whose task is limited to 16 attempts at once across
    /// all workers [default: 2000]
    #[arg(long, value_name = "N", value_parser = positive)]
    limited: Option<usize>,
    /// fanout: instances of B parallel tasks [default: 40000 / B, at least 4]
    #[arg(long, value_name = "N", value_parser = positive)]
    fanout: Option<usize>,
    /// fanout: parallel tasks (branches of one join_all) per instance
    #[arg(long, value_name = "B", value_parser = positive, default_value = "100")]
    branches: usize,
    /// latency: instances of 10 steps, one at a time [default: 200]
    #[arg(long, value_name = "N", value_parser = positive)]
    latency: Option<usize>,
    /// sleepers: instances asleep at once [default: 100000]
    #[arg(long, value_name = "M", value_parser = positive)]
    sleepers: Option<usize>,
    /// sleepers: wake-up time this far ahead, in seconds [default: 5 + M/10000]
    #[arg(long = "sleep-secs", value_name = "S", value_parser = positive)]
    sleep_secs: Option<usize>,
    /// inflight: instances in flight at once (all claimed, their tasks running), and then
    /// parked at once [default: 10000]
    #[arg(long = "inflight", value_name = "N", value_parser = positive)]
    inflight: Option<usize>,
    /// list: instances in the store whose listings are timed [default: 1000000]
    #[arg(long = "list", value_name = "N", value_parser = positive)]
    list: Option<usize>,
    /// list: times each page is read (the median is reported) [default: 11]
    #[arg(long = "list-reps", value_name = "R", value_parser = positive)]
    list_reps: Option<usize>,
    /// list: print each listing's plan (PostgreSQL: EXPLAIN ANALYZE)
    #[arg(long)]
    explain: bool,
    /// Before each run of linear, limited, fanout, latency and sleepers, fill the fresh store
    /// with N finished instances (list's mix of workflows and versions, all finished; on
    /// PostgreSQL then VACUUM ANALYZE): an application that has run for months
    #[arg(long, value_name = "N", default_value = "0")]
    prefill: usize,
    /// The SQLite stores' page cache per connection, in MiB (`SqliteOptions::cache_mib`)
    /// [default: the store's default]
    #[arg(long = "sqlite-cache-mib", value_name = "MIB")]
    sqlite_cache_mib: Option<u32>,
    /// Instances driven at once per worker
    #[arg(long = "in-flight", value_name = "K", value_parser = positive, default_value = "1024")]
    in_flight: usize,
    /// Worker processes of linear/fanout on PostgreSQL
    #[arg(long, value_name = "P", value_parser = positive, default_value = "4")]
    workers: usize,
    /// Committer window in microseconds
    #[arg(long = "commit-window", value_name = "US", default_value = "0")]
    commit_window: u64,
    /// Largest commit batch
    #[arg(long = "commit-batch", value_name = "N", value_parser = positive, default_value = "512")]
    commit_batch: usize,
    /// One JSON object per line instead of the table
    #[arg(long)]
    json: bool,
    /// What `linear` and `latency` run under (SQLite, and PostgreSQL with one worker process):
    /// none, prometheus (the Prometheus metrics recorder), traced (that recorder and a tracing
    /// subscriber: registry and fmt layer at INFO writing to a sink), a comma-separated list
    /// of them, or both (= none,prometheus); with more than one, each runs once under each in
    /// every run (in alternating order), and the ratios to `none` are printed
    #[arg(long, value_name = "R", default_value = "none", value_parser = parse_recorders)]
    recorder: List<Recorder>,
    /// Tiny sizes, one run: checks the program works, not for timing
    #[arg(long)]
    smoke: bool,
    /// A worker process over the PostgreSQL database at URL (spawned by the program itself).
    #[arg(long = "child-worker", value_name = "URL", hide = true)]
    child_worker: Option<String>,
    /// The `sleepers` scenario alone over this database (spawned by the program itself).
    #[arg(
        long = "child-sleepers",
        value_name = "DB",
        hide = true,
        conflicts_with = "child_worker"
    )]
    child_sleepers: Option<String>,
    /// One phase of the `inflight` scenario over this database (spawned by the program itself).
    #[arg(
        long = "child-inflight",
        value_name = "DB",
        hide = true,
        conflicts_with_all = ["child_worker", "child_sleepers"]
    )]
    child_inflight: Option<String>,
    /// The phase a `--child-inflight` process measures: held or parked.
    #[arg(long = "inflight-mode", value_name = "M", hide = true, value_parser = parse_inflight_mode, default_value = "held")]
    inflight_mode: InflightMode,
}

/// A comma-separated list given on the command line.
#[derive(Debug, Clone)]
struct List<T>(Vec<T>);

/// Parses the arguments after the program name. `Err` is clap's error: its `exit()` prints
/// it (or the help) and exits with the right code.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, clap::Error> {
    let name = std::iter::once("sayiir-bench".to_string());
    let cli = Cli::try_parse_from(name.chain(args))?;
    let pg_url = cli.pg_url.or_else(|| {
        std::env::var("SAYIIR_BENCH_PG_URL")
            .ok()
            .filter(|u| !u.is_empty())
    });
    let stores = match cli.stores {
        Some(s) => s.0,
        None if pg_url.is_some() => StoreKind::ALL.to_vec(),
        None => vec![StoreKind::SqliteFull, StoreKind::SqliteNormal],
    };
    let smoke = cli.smoke;
    let pick = |given: Option<usize>, smoke_size: usize, full: usize| {
        given.unwrap_or(if smoke { smoke_size } else { full })
    };
    let child = match (cli.child_worker, cli.child_sleepers, cli.child_inflight) {
        (Some(url), _, _) => Child::Worker(url),
        (None, Some(db), _) => Child::Sleepers(db),
        (None, None, Some(db)) => Child::Inflight(db, cli.inflight_mode),
        (None, None, None) => Child::None,
    };
    Ok(Args {
        scenarios: cli.scenarios.0,
        stores,
        pg_url,
        runs: pick(cli.runs, 1, 3),
        instances: pick(cli.instances, 60, 20_000),
        limited_instances: pick(cli.limited, 20, 2_000),
        fanout_instances: pick(cli.fanout, 4, (40_000 / cli.branches).max(4)),
        branches: cli.branches as u64,
        latency_instances: pick(cli.latency, 5, 200),
        sleepers: pick(cli.sleepers, 200, 100_000),
        sleep_secs: cli.sleep_secs.map(|s| s as u64).or(smoke.then_some(1)),
        inflight: pick(cli.inflight, 200, 10_000),
        list_instances: pick(cli.list, 2_000, 1_000_000),
        list_reps: pick(cli.list_reps, 1, 11),
        explain: cli.explain,
        prefill: cli.prefill,
        sqlite_cache_mib: cli.sqlite_cache_mib,
        in_flight: cli.in_flight,
        workers: cli.workers,
        baseline_instances: if smoke { 300 } else { 2_048 },
        commit_window: Duration::from_micros(cli.commit_window),
        max_commit_batch: cli.commit_batch,
        json: cli.json,
        smoke,
        child,
        recorders: cli.recorder.0,
    })
}

fn parse_scenarios(s: &str) -> Result<List<Scenario>, String> {
    if s == "all" {
        return Ok(List(Scenario::ALL.to_vec()));
    }
    let mut out = Vec::new();
    for name in s.split(',') {
        let sc = Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == name)
            .ok_or_else(|| format!("unknown scenario `{name}`"))?;
        if !out.contains(&sc) {
            out.push(sc);
        }
    }
    // The baseline runs first: later scenarios of the same run are compared with it.
    out.sort_by_key(|sc| Scenario::ALL.iter().position(|a| a == sc));
    Ok(List(out))
}

fn parse_recorders(s: &str) -> Result<List<Recorder>, String> {
    let mut out = Vec::new();
    for name in s.split(',') {
        let add: &[Recorder] = match name {
            "none" => &[Recorder::None],
            "prometheus" => &[Recorder::Prometheus],
            "traced" => &[Recorder::Traced],
            "both" => &[Recorder::None, Recorder::Prometheus],
            _ => {
                return Err(format!(
                    "unknown recorder `{name}` (none, prometheus, traced, or both)"
                ));
            }
        };
        for r in add {
            if !out.contains(r) {
                out.push(*r);
            }
        }
    }
    Ok(List(out))
}

fn parse_inflight_mode(s: &str) -> Result<InflightMode, String> {
    [InflightMode::Held, InflightMode::Parked]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| format!("unknown inflight mode `{s}` (held or parked)"))
}

fn parse_stores(s: &str) -> Result<List<StoreKind>, String> {
    if s == "all" {
        return Ok(List(StoreKind::ALL.to_vec()));
    }
    let mut out = Vec::new();
    for name in s.split(',') {
        let k = StoreKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| format!("unknown store `{name}`"))?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(List(out))
}

/// A positive integer argument.
fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("needs a positive integer, got `{s}`")),
    }
}
