//! Differential test of the workflow macro's lowering.
//!
//! `build.rs` generates random bodies (grammar in `gen.rs`) and emits each one twice: as a
//! `#[sayiir::workflow]` calling `#[sayiir::task]`s (`mod wf`, tasks in `wt`) and as a plain
//! `async fn` calling plain async fns with the same logic (`mod plain`, tasks in `pt`). Every
//! task call is logged as `(name, args)`. For every program and a few inputs, the plain run is
//! the reference; the workflow called directly (inline) and the workflow on
//! `sayiir::testing::TestEngine` must give the same output and the same sequence of task calls.
//! A sample also runs on a SQLite file in a child process that is SIGKILLed at random moments
//! and restarted until it finishes (`crash_sample`).
//!
//! Order of calls. A workflow issues each call (or each join) in its own transition, and the
//! branches of one join run concurrently, so the order in which calls *finish* is not
//! deterministic inside a join. Every call of a workflow has an idempotency key
//! `instance/origin.slot…`: `origin` is the sequence number of the transition that issued it
//! and `slot` the branch position within a join (argument order, item order for `join_all`).
//! The workflow's log is put in `(origin, slot)` order, i.e. the order the body issued the
//! calls, with the branches of a join in argument order. The plain run needs no sorting: its
//! tasks never suspend, and `join!` / `join_all` poll their futures in argument order on the
//! first poll, so they complete (and log) in argument order. The comparison is therefore exact:
//! same calls, same multiplicities, same order, including the order inside each join.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write as _;
use std::path::Path;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sayiir::testing::TestEngine;
use sayiir::{Engine, SqliteStore, TaskContext, WorkerConfig};

/// A boxed future (the dispatch tables return one per program).
type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// A plain program's future: not `Send` (a future holding `join_all`'s `iter().map(|i| ..)`
/// runs into rustc's higher-ranked `Send` limitation), and never pending (see [`run_plain`]).
type LocalFut<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

// ---- the task log ---------------------------------------------------------------------------

/// One task call: the task's name and its arguments.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    name: String,
    args: Vec<u64>,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(u64::to_string).collect();
        write!(f, "{}({})", self.name, args.join(", "))
    }
}

/// A logged call, with its position in the workflow (`(origin, slot)` from the idempotency
/// key) when it ran as a workflow task.
#[derive(Clone, Debug)]
struct Logged {
    call: Call,
    order: Option<(u64, Vec<u32>)>,
}

/// Calls by run: the `RUN` task-local for plain and inline runs, the instance id for engine
/// runs (their tasks run on the worker's tasks, where `RUN` is not set).
static LOG: Mutex<BTreeMap<String, Vec<Logged>>> = Mutex::new(BTreeMap::new());

tokio::task_local! {
    static RUN: String;
}

/// `instance/origin.slot.slot` → `(origin, [slot, slot])`.
fn parse_key(key: &str) -> (u64, Vec<u32>) {
    let (_, pos) = key.rsplit_once('/').expect("key has a `/`");
    let mut parts = pos.split('.');
    let origin = parts.next().unwrap().parse().unwrap();
    (origin, parts.map(|s| s.parse().unwrap()).collect())
}

/// Settings of a crash child (`crash_child`), read once.
struct ChildEnv {
    log: std::path::PathBuf,
    generation: u32,
    task_ms: u64,
}

fn child_env() -> Option<&'static ChildEnv> {
    static ENV: OnceLock<Option<ChildEnv>> = OnceLock::new();
    ENV.get_or_init(|| {
        let log = std::env::var("DIFF_LOG").ok()?;
        Some(ChildEnv {
            log: log.into(),
            generation: std::env::var("DIFF_GEN").ok()?.parse().ok()?,
            task_ms: std::env::var("DIFF_TASK_MS").ok()?.parse().ok()?,
        })
    })
    .as_ref()
}

/// Records a call: in memory, or in a crash child as one line appended with `O_APPEND` (whole
/// lines survive SIGKILL).
fn note(name: &str, args: &[u64]) {
    let cx = TaskContext::current();
    if let Some(env) = child_env() {
        let cx = cx.expect("tasks of a crash child run with a context");
        let args: Vec<String> = args.iter().map(u64::to_string).collect();
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\n",
            env.generation,
            cx.instance(),
            cx.idempotency_key(),
            name,
            args.join(",")
        );
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&env.log)
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
        return;
    }
    let run = RUN
        .try_with(Clone::clone)
        .ok()
        .or_else(|| cx.as_ref().map(|c| c.instance().to_owned()))
        .expect("a task runs in a RUN scope or with a task context");
    let logged = Logged {
        call: Call {
            name: name.to_owned(),
            args: args.to_vec(),
        },
        order: cx.map(|c| parse_key(c.idempotency_key())),
    };
    LOG.lock().unwrap().entry(run).or_default().push(logged);
}

fn take_log(run: &str) -> Vec<Logged> {
    LOG.lock().unwrap().remove(run).unwrap_or_default()
}

/// A workflow run's calls in the order the body issued them (see the module docs).
fn issue_order(mut log: Vec<Logged>) -> Result<Vec<Call>, String> {
    if let Some(l) = log.iter().find(|l| l.order.is_none()) {
        return Err(format!("call {} ran without a task context", l.call));
    }
    log.sort_by(|a, b| a.order.cmp(&b.order));
    Ok(log.into_iter().map(|l| l.call).collect())
}

// ---- the tasks ------------------------------------------------------------------------------

/// What the tasks compute, shared by both sets. Values stay below 1000.
#[allow(dead_code)] // hand-written bodies (SAYIIR_DIFF_BODIES) may not call every task
mod logic {
    pub(crate) fn add(a: u64, b: u64) -> u64 {
        a.wrapping_add(b) % 1000
    }
    pub(crate) fn mul(a: u64, b: u64) -> u64 {
        a.wrapping_mul(b) % 1000
    }
    pub(crate) fn check(n: u64) -> Result<u64, String> {
        if n % 7 == 3 {
            Err(format!("check({n}) failed"))
        } else {
            Ok(n.wrapping_mul(3).wrapping_add(1) % 1000)
        }
    }
    pub(crate) fn maybe(n: u64) -> Option<u64> {
        (!n.is_multiple_of(3)).then_some(n / 3 % 1000)
    }
    pub(crate) fn items(n: u64) -> Vec<u64> {
        (0..n % 4).map(|i| (n + 17 * i) % 100).collect()
    }
    pub(crate) fn split(n: u64) -> Result<Vec<u64>, String> {
        if n % 7 == 5 {
            Err(format!("split({n}) failed"))
        } else {
            Ok(items(n / 3))
        }
    }
}

/// In a crash child, tasks take a few milliseconds so kills land between runs and commits.
async fn pause(args: &[u64]) {
    if let Some(env) = child_env() {
        let jitter = args.iter().fold(0, |a, b| a ^ b) % 5;
        tokio::time::sleep(Duration::from_millis(env.task_ms + jitter)).await;
    }
}

/// The workflow side: `#[sayiir::task]`s.
#[allow(dead_code)] // hand-written bodies (SAYIIR_DIFF_BODIES) may not call every task
mod wt {
    use super::{logic, note, pause};

    #[sayiir::task]
    pub(crate) async fn add(a: u64, b: u64) -> u64 {
        pause(&[a, b]).await;
        note("add", &[a, b]);
        logic::add(a, b)
    }

    #[sayiir::task]
    pub(crate) async fn mul(a: u64, b: u64) -> u64 {
        pause(&[a, b]).await;
        note("mul", &[a, b]);
        logic::mul(a, b)
    }

    #[sayiir::task]
    pub(crate) async fn check(n: u64) -> Result<u64, String> {
        pause(&[n]).await;
        note("check", &[n]);
        logic::check(n)
    }

    #[sayiir::task]
    pub(crate) async fn maybe(n: u64) -> Option<u64> {
        pause(&[n]).await;
        note("maybe", &[n]);
        logic::maybe(n)
    }

    #[sayiir::task]
    pub(crate) async fn items(n: u64) -> Vec<u64> {
        pause(&[n]).await;
        note("items", &[n]);
        logic::items(n)
    }

    #[sayiir::task]
    pub(crate) async fn split(n: u64) -> Result<Vec<u64>, String> {
        pause(&[n]).await;
        note("split", &[n]);
        logic::split(n)
    }
}

/// The plain side: async fns that never suspend (so joins complete in argument order).
#[allow(dead_code)] // hand-written bodies (SAYIIR_DIFF_BODIES) may not call every task
mod pt {
    use super::{logic, note};

    pub(crate) async fn add(a: u64, b: u64) -> u64 {
        note("add", &[a, b]);
        logic::add(a, b)
    }

    pub(crate) async fn mul(a: u64, b: u64) -> u64 {
        note("mul", &[a, b]);
        logic::mul(a, b)
    }

    pub(crate) async fn check(n: u64) -> Result<u64, String> {
        note("check", &[n]);
        logic::check(n)
    }

    pub(crate) async fn maybe(n: u64) -> Option<u64> {
        note("maybe", &[n]);
        logic::maybe(n)
    }

    pub(crate) async fn items(n: u64) -> Vec<u64> {
        note("items", &[n]);
        logic::items(n)
    }

    pub(crate) async fn split(n: u64) -> Result<Vec<u64>, String> {
        note("split", &[n]);
        logic::split(n)
    }
}

/// `try_join!` for the plain programs with a workflow's semantics: every branch runs, then the
/// first error in argument order (`tokio::try_join!` would stop polling at the first error).
#[allow(unused_macros)]
macro_rules! plain_try_join {
    ($a:expr, $b:expr $(,)?) => {
        async {
            let (a, b) = ::sayiir::join!($a, $b).await;
            Ok::<_, String>((a?, b?))
        }
    };
    ($a:expr, $b:expr, $c:expr $(,)?) => {
        async {
            let (a, b, c) = ::sayiir::join!($a, $b, $c).await;
            Ok::<_, String>((a?, b?, c?))
        }
    };
    ($a:expr, $b:expr, $c:expr, $d:expr $(,)?) => {
        async {
            let (a, b, c, d) = ::sayiir::join!($a, $b, $c, $d).await;
            Ok::<_, String>((a?, b?, c?, d?))
        }
    };
}
#[allow(unused_imports)]
pub(crate) use plain_try_join;

/// What `sayiir::` means inside `mod plain`.
#[allow(unused_imports)]
mod plain_sayiir {
    pub(crate) use crate::plain_try_join as try_join;
    pub(crate) use sayiir::{join, join_all, try_join_all};
}

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

// ---- the differential run -------------------------------------------------------------------

/// The inputs each program runs with.
fn inputs(i: usize) -> [u64; 4] {
    let i = i as u64;
    [0, 4 + i % 17, 40 + (i * 37) % 400, 500 + (i * 101) % 499]
}

fn source(i: usize) -> &'static str {
    PROGRAMS
        .iter()
        .find(|p| p.0 == i)
        .map(|p| p.1)
        .expect("known program")
}

/// What one run produced: its output (or why it has none) and its calls.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    output: Result<Result<u64, String>, String>,
    calls: Result<Vec<Call>, String>,
}

fn show_calls(calls: &Result<Vec<Call>, String>) -> String {
    match calls {
        Ok(c) => {
            let v: Vec<String> = c.iter().map(Call::to_string).collect();
            format!("[{}]", v.join(", "))
        }
        Err(e) => format!("<{e}>"),
    }
}

/// A failure report: the program, the input, every outcome.
fn report(i: usize, x: u64, outcomes: &[(&str, &Outcome)]) -> String {
    let mut s = format!(
        "program p{i} (seed {SEED}), input x = {x}:\n    async fn p{i}(x: u64) -> Result<u64, String> {{\n{}    }}\n",
        source(i)
    );
    let reference = &outcomes[0].1;
    for (what, o) in outcomes {
        let mark = if o == reference { " " } else { "≠" };
        s += &format!(
            "  {mark} {what:<8} output {:?}\n             calls  {}\n",
            o.output,
            show_calls(&o.calls)
        );
    }
    s
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".into()),
        Err(e) => e.to_string(),
    }
}

/// Runs plain program `i`: polled once, synchronously. The plain tasks never suspend and a
/// plain join polls every branch in its first poll, so the program finishes in that poll; a
/// panic becomes the outcome's error.
fn run_plain(i: usize, x: u64, run: &str) -> Outcome {
    let output = std::panic::catch_unwind(|| {
        RUN.sync_scope(run.to_owned(), || {
            let mut fut = plain_run(i, x);
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(out) => Ok(out),
                std::task::Poll::Pending => Err("the plain program suspended".to_owned()),
            }
        })
    });
    let output = output.unwrap_or_else(|p| {
        let text = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".into());
        Err(format!("panicked: {text}"))
    });
    Outcome {
        output,
        calls: Ok(take_log(run).into_iter().map(|l| l.call).collect()),
    }
}

/// Runs the plain version and the workflow inline; a panic becomes the outcome's error.
async fn plain_and_inline(i: usize, x: u64) -> (Outcome, Outcome) {
    let plain = run_plain(i, x, &format!("plain-{i}-{x}"));
    let inline_run_id = format!("inline-{i}-{x}");
    let id = inline_run_id.clone();
    let inline = tokio::spawn(RUN.scope(id, inline_run(i, x))).await;
    let inline = Outcome {
        output: inline.map_err(|e| format!("panicked: {}", panic_text(e))),
        calls: issue_order(take_log(&inline_run_id)),
    };
    (plain, inline)
}

fn engine_id(i: usize, x: u64) -> String {
    format!("e-{i}-{x}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_matches_plain_rust() {
    let runs: Vec<(usize, u64)> = PROGRAMS
        .iter()
        .flat_map(|p| inputs(p.0).map(|x| (p.0, x)))
        .collect();
    eprintln!(
        "difftest: {} programs (seed {SEED}, features {FEATURES_ON:?}), {} runs",
        PROGRAMS.len(),
        runs.len()
    );

    // Plain and inline, every run in its own task.
    let started = Instant::now();
    let handles: Vec<_> = runs
        .iter()
        .map(|&(i, x)| tokio::spawn(plain_and_inline(i, x)))
        .collect();
    let mut results: BTreeMap<(usize, u64), (Outcome, Outcome)> = BTreeMap::new();
    for (h, run) in handles.into_iter().zip(&runs) {
        results.insert(*run, h.await.unwrap());
    }
    let direct = started.elapsed();

    // The same workflows on the test engine (memory store, virtual time), all at once.
    let started = Instant::now();
    let t = register_test(TestEngine::builder()).build().unwrap();
    let starts: Vec<_> = runs
        .iter()
        .map(|&(i, x)| tokio::spawn(start(&t, i, engine_id(i, x), x)))
        .collect();
    for (h, (i, x)) in starts.into_iter().zip(&runs) {
        h.await
            .unwrap()
            .unwrap_or_else(|e| panic!("start p{i}({x}): {e}"));
    }
    let mut engine: BTreeMap<(usize, u64), Outcome> = BTreeMap::new();
    let mut pending: Vec<(usize, u64)> = runs.clone();
    for _round in 0..50 {
        t.settle().await;
        let mut still = Vec::new();
        for (i, x) in pending {
            let id = engine_id(i, x);
            match try_result(&t, i, id.clone()).await {
                Ok(None) => still.push((i, x)),
                Ok(Some(out)) => {
                    let calls = issue_order(take_log(&id));
                    engine.insert(
                        (i, x),
                        Outcome {
                            output: Ok(out),
                            calls,
                        },
                    );
                }
                Err(e) => {
                    let calls = issue_order(take_log(&id));
                    engine.insert(
                        (i, x),
                        Outcome {
                            output: Err(format!("engine: {e}")),
                            calls,
                        },
                    );
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        t.advance(Duration::from_secs(60)).await;
    }
    for (i, x) in pending {
        engine.insert(
            (i, x),
            Outcome {
                output: Err("engine: not finished".into()),
                calls: issue_order(take_log(&engine_id(i, x))),
            },
        );
    }
    t.shutdown().await.unwrap();
    let on_engine = started.elapsed();

    let mut failures: Vec<String> = Vec::new();
    let mut failed_programs = BTreeSet::new();
    let mut calls = 0;
    for (key, (plain, inline)) in &results {
        let engine = &engine[key];
        calls += plain.calls.as_ref().map_or(0, Vec::len);
        if inline != plain || engine != plain {
            failed_programs.insert(key.0);
            failures.push(report(
                key.0,
                key.1,
                &[("plain", plain), ("inline", inline), ("engine", engine)],
            ));
        }
    }
    let outputs: BTreeSet<String> = results
        .values()
        .map(|(p, _)| format!("{:?}", p.output))
        .collect();
    let errs = results
        .values()
        .filter(|(p, _)| matches!(p.output, Ok(Err(_))))
        .count();
    eprintln!(
        "difftest: {} runs, {calls} task calls, {} distinct outputs, {errs} runs ending in Err; plain+inline {direct:.2?}, engine {on_engine:.2?}",
        runs.len(),
        outputs.len(),
    );
    if !failures.is_empty() {
        let shown = failures.len().min(12);
        panic!(
            "{} of {} runs differ, in programs {:?}; the first {shown}:\n\n{}",
            failures.len(),
            runs.len(),
            failed_programs,
            failures[..shown].join("\n")
        );
    }
}

// ---- crash and resume on SQLite -------------------------------------------------------------

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// `i:x,i:x` ↔ runs.
fn parse_runs(s: &str) -> Vec<(usize, u64)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (i, x) = p.split_once(':').unwrap();
            (i.parse().unwrap(), x.parse().unwrap())
        })
        .collect()
}

fn crash_id(i: usize, x: u64) -> String {
    format!("c-{i}-{x}")
}

fn sample_engine(store: SqliteStore, runs: &[(usize, u64)]) -> sayiir::EngineBuilder {
    let programs: BTreeSet<usize> = runs.iter().map(|r| r.0).collect();
    let config = WorkerConfig::default().max_instances(4);
    programs
        .into_iter()
        .fold(Engine::builder(store).worker_config(config), register_one)
}

/// Child mode: start the sample's instances (idempotent) and run until all are done.
#[test]
#[ignore = "run by `crash_sample` as a child process"]
fn crash_child() {
    if env("DIFF_DB").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runs = parse_runs(&env("DIFF_RUNS"));
        let store = SqliteStore::open(env("DIFF_DB")).unwrap();
        let engine = sample_engine(store, &runs).build().unwrap();
        let worker = engine.spawn_worker();
        for &(i, x) in &runs {
            start(&engine, i, crash_id(i, x), x).await.unwrap();
        }
        for &(i, x) in &runs {
            // A blocked instance (an error here) is reported by the parent from the store.
            while let Ok(None) = try_result(&engine, i, crash_id(i, x)).await {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        worker.shutdown().await.unwrap();
    });
}

/// Runs generations of the child until one finishes by itself, killing the first `kills`
/// generations at a random moment. Returns the number of generations and of kills that landed.
fn run_children(
    db: &Path,
    log: &Path,
    runs: &[(usize, u64)],
    rng: &mut u64,
    kills: usize,
) -> (u32, usize) {
    let spec: Vec<String> = runs.iter().map(|(i, x)| format!("{i}:{x}")).collect();
    let mut generation = 0;
    let mut landed = 0;
    loop {
        generation += 1;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--test-threads=1",
                "--quiet",
            ])
            .env("DIFF_DB", db)
            .env("DIFF_LOG", log)
            .env("DIFF_GEN", generation.to_string())
            .env("DIFF_TASK_MS", "12")
            .env("DIFF_RUNS", spec.join(","))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let begun = Instant::now();
        let kill_after = Duration::from_millis(30 + splitmix(rng) % 130);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "crash child generation {generation} failed: {status}"
                );
                return (generation, landed);
            }
            if landed < kills && begun.elapsed() >= kill_after {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                landed += 1;
                break;
            }
            assert!(
                begun.elapsed() < Duration::from_secs(120),
                "crash child generation {generation} runs for more than 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The crash child's calls of one instance: de-duplicated by idempotency key (a call re-runs
/// when a kill fell between its run and its commit; every run of a key must be the same call),
/// in issue order.
fn crash_calls(lines: &[(u32, String, String, Call)]) -> Result<Vec<Call>, String> {
    type Runs<'a> = BTreeMap<(u64, Vec<u32>), (&'a Call, Vec<u32>)>;
    let mut by_key: Runs<'_> = BTreeMap::new();
    for (generation, _, key, call) in lines {
        let e = by_key.entry(parse_key(key)).or_insert((call, Vec::new()));
        if e.0 != call {
            return Err(format!("key {key} ran as {} and as {call}", e.0));
        }
        if e.1.contains(generation) {
            return Err(format!("key {key} ran twice in generation {generation}"));
        }
        e.1.push(*generation);
    }
    Ok(by_key.into_values().map(|(c, _)| c.clone()).collect())
}

#[test]
fn crash_sample() {
    let wanted: usize = std::env::var("SAYIIR_DIFF_CRASH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    if wanted == 0 || PROGRAMS.is_empty() {
        return;
    }
    let mut rng = SEED ^ 0xC4A5_11ED;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // The sample: programs in a seeded random order, each with the input among its four that
    // makes the most calls; only runs with at least 3 calls.
    let mut order: Vec<usize> = PROGRAMS.iter().map(|p| p.0).collect();
    for k in (1..order.len()).rev() {
        let j = (splitmix(&mut rng) % (k as u64 + 1)) as usize;
        order.swap(k, j);
    }
    let mut reference: BTreeMap<(usize, u64), Outcome> = BTreeMap::new();
    for i in order {
        if reference.len() >= wanted {
            break;
        }
        let best = inputs(i)
            .into_iter()
            .map(|x| (x, run_plain(i, x, &format!("crash-ref-{i}-{x}"))))
            .filter(|(_, o)| o.output.is_ok())
            .max_by_key(|(_, o)| o.calls.as_ref().map_or(0, Vec::len));
        if let Some((x, o)) = best.filter(|b| b.1.calls.as_ref().map_or(0, Vec::len) >= 3) {
            reference.insert((i, x), o);
        }
    }
    let runs: Vec<(usize, u64)> = reference.keys().copied().collect();

    // Kill moments vary from run to run (timing does anyway); the seed is printed.
    let mut kill_rng = std::env::var("SAYIIR_DIFF_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash_sample: kill seed {kill_rng} (SAYIIR_DIFF_KILL_SEED)");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("diff.db");
    let log = dir.path().join("calls.log");
    let kills = 8;
    let begun = Instant::now();
    let (generations, landed) = run_children(&db, &log, &runs, &mut kill_rng, kills);

    // Outputs from the store, calls from the children's log.
    let engine = sample_engine(SqliteStore::open(&db).unwrap(), &runs)
        .build()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut lines: BTreeMap<String, Vec<(u32, String, String, Call)>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let call = Call {
            name: f[3].to_owned(),
            args: f[4]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect(),
        };
        lines.entry(f[1].to_owned()).or_default().push((
            f[0].parse().unwrap(),
            f[1].to_owned(),
            f[2].to_owned(),
            call,
        ));
    }
    let total_lines = text.lines().count();
    let mut failures = Vec::new();
    let mut unique = 0;
    for (&(i, x), plain) in &reference {
        let id = crash_id(i, x);
        let output = rt
            .block_on(try_result(&engine, i, id.clone()))
            .map_err(|e| e.to_string())
            .and_then(|o| o.ok_or_else(|| "not finished".to_owned()));
        let calls = crash_calls(lines.get(&id).map_or(&[][..], Vec::as_slice));
        unique += calls.as_ref().map_or(0, Vec::len);
        let got = Outcome { output, calls };
        if &got != plain {
            failures.push(report(i, x, &[("plain", plain), ("sqlite", &got)]));
        }
    }
    eprintln!(
        "crash_sample: {} runs, {generations} child generations, {landed} kills, {unique} calls ({} runs of them, re-runs after kills included) in {:.2?}",
        runs.len(),
        total_lines,
        begun.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} crash runs differ from plain Rust:\n\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}
