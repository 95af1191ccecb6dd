//! Several worker processes sharing one PostgreSQL database. Each instance asks three suppliers
//! for a quote concurrently (`join_all`: the branches of one instance run in the worker process
//! that holds it), then books the cheapest; different instances spread across the workers. When
//! a worker process dies, the others take its instances over once their leases expire, and only
//! the steps it had not committed run again.
//!
//! ```text
//! # everything at once: 3 worker processes, 30 instances, one worker killed mid-way
//! cargo run -p sayiir-examples --example distributed -- demo --url $URL
//!
//! # or by hand: start workers in two or more terminals (Ctrl-C stops one), then submit
//! cargo run -p sayiir-examples --example distributed -- worker --url $URL
//! cargo run -p sayiir-examples --example distributed -- submit --url $URL --count 20
//! ```
//!
//! `URL` is any PostgreSQL where tables may be created, e.g.
//! `postgres://user:pass@localhost:5432/db`; `--url` defaults to `$DATABASE_URL`, then
//! `$SAYIIR_PG_URL`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use sayiir::{Engine, PgStore, WorkerConfig};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The suppliers asked for a quote, one concurrent branch each.
pub(crate) const SUPPLIERS: [&str; 3] = ["acme", "globex", "initech"];

const QUOTE_TIME: Duration = Duration::from_millis(300);
const BOOK_TIME: Duration = Duration::from_millis(1000);

/// A parcel to ship.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Parcel {
    /// Instance id, also the parcel's id.
    pub(crate) id: String,
    /// Its number in the batch (prices depend on it).
    pub(crate) n: u32,
}

/// A supplier's price, and the process that asked for it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Quote {
    /// Supplier.
    pub(crate) supplier: String,
    /// Price in cents.
    pub(crate) cents: u64,
    /// Process id of the worker that ran this branch.
    pub(crate) pid: u32,
}

/// A booked shipment: the workflow's output.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Booked {
    /// Parcel id.
    pub(crate) id: String,
    /// Cheapest supplier.
    pub(crate) supplier: String,
    /// Its price in cents.
    pub(crate) cents: u64,
    /// Process ids of the workers that ran the quote branches, in supplier order.
    pub(crate) quoted_by: Vec<u32>,
    /// Process id of the worker that ran the booking.
    pub(crate) booked_by: u32,
}

/// Price of `supplier` for parcel number `n`.
pub(crate) fn price(n: u32, supplier: &str) -> u64 {
    let s: u64 = supplier.bytes().map(u64::from).sum();
    100 + (u64::from(n) * 37 + s * 11) % 900
}

/// The offer a parcel should be booked with: the cheapest, the first supplier on a tie.
pub(crate) fn best_offer(n: u32) -> (String, u64) {
    let mut best = (SUPPLIERS[0].to_string(), price(n, SUPPLIERS[0]));
    for s in &SUPPLIERS[1..] {
        if price(n, s) < best.1 {
            best = (s.to_string(), price(n, s));
        }
    }
    best
}

fn cheapest(quotes: &[Quote]) -> Option<Quote> {
    let mut best: Option<&Quote> = None;
    for q in quotes {
        if best.is_none_or(|b| q.cents < b.cents) {
            best = Some(q);
        }
    }
    best.cloned()
}

fn say(line: String) {
    println!("[worker {}] {line}", std::process::id());
}

#[sayiir::task]
async fn quote(parcel: Parcel, supplier: String) -> Quote {
    say(format!("quote {} from {supplier}", parcel.id));
    tokio::time::sleep(QUOTE_TIME).await;
    Quote {
        cents: price(parcel.n, &supplier),
        supplier,
        pid: std::process::id(),
    }
}

#[sayiir::task]
async fn book(parcel: Parcel, offer: Quote) -> u32 {
    say(format!(
        "booking {} with {} for {}",
        parcel.id, offer.supplier, offer.cents
    ));
    tokio::time::sleep(BOOK_TIME).await;
    say(format!("booked {}", parcel.id));
    std::process::id()
}

/// Asks every supplier concurrently, then books the cheapest.
#[sayiir::workflow]
pub(crate) async fn ship(parcel: Parcel) -> Result<Booked, String> {
    let suppliers: Vec<String> = SUPPLIERS.iter().map(|s| s.to_string()).collect();
    let quotes = sayiir::join_all(suppliers.into_iter().map(|s| quote(parcel.clone(), s))).await;
    let quoted_by: Vec<u32> = quotes.iter().map(|q| q.pid).collect();
    let best: Quote = cheapest(&quotes).ok_or("no quotes")?;
    let booked_by = book(parcel.clone(), best.clone()).await;
    Ok(Booked {
        id: parcel.id,
        supplier: best.supplier,
        cents: best.cents,
        quoted_by,
        booked_by,
    })
}

/// Worker settings.
#[derive(Debug, Clone)]
pub(crate) struct WorkerOpts {
    /// Instances driven at once (keeps one worker from claiming everything).
    pub(crate) concurrency: usize,
    /// Lease on claimed instances: how long the others wait before taking over a dead worker's.
    pub(crate) lease: Duration,
    /// Stop when stdin is closed, as well as on Ctrl-C (used by `demo` for its children).
    pub(crate) until_stdin_closes: bool,
}

impl Default for WorkerOpts {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(3),
            until_stdin_closes: false,
        }
    }
}

/// Runs a worker until Ctrl-C (or, with `until_stdin_closes`, until stdin is closed).
pub(crate) async fn worker(url: &str, opts: &WorkerOpts) -> Result<(), BoxError> {
    let engine = Engine::builder(PgStore::connect(url).await?)
        .register::<ship>()
        .worker_config(
            WorkerConfig::default()
                .max_instances(opts.concurrency)
                .lease(opts.lease),
        )
        .build()?;
    let handle = engine.spawn_worker();
    say(format!(
        "ready: up to {} instances at once, lease {:?}",
        opts.concurrency, opts.lease
    ));
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    if opts.until_stdin_closes {
        // A plain thread: a blocking read cannot be cancelled, and must not hold up the exit.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = closed_tx.send(());
        });
    }
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        Ok(()) = closed_rx => {}
    }
    say("stopping".into());
    handle.shutdown().await?;
    Ok(())
}

/// Starts `count` instances `<batch>-001`.. and returns their ids with their numbers.
async fn start_all(
    engine: &Engine,
    batch: &str,
    count: u32,
) -> Result<Vec<(String, u32)>, BoxError> {
    let mut ids = Vec::new();
    for n in 1..=count {
        let id = format!("{batch}-{n:03}");
        engine
            .start::<ship>(&id, Parcel { id: id.clone(), n })
            .await?;
        ids.push((id, n));
    }
    println!("submitted {count} instances {batch}-001..{batch}-{count:03}");
    Ok(ids)
}

/// Waits for the instances' results, each in its own tokio task.
fn wait_all(engine: &Engine, ids: &[(String, u32)]) -> JoinSet<(u32, Result<Booked, BoxError>)> {
    let mut set = JoinSet::new();
    for (id, n) in ids {
        let (engine, id, n) = (engine.clone(), id.clone(), *n);
        set.spawn(async move {
            let r = match engine.result::<ship>(&id).await {
                Ok(Ok(b)) => Ok(b),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            };
            (n, r)
        });
    }
    set
}

fn print_result(b: &Booked) {
    println!(
        "{}: {} for {} (quotes by {:?}, booked by {})",
        b.id, b.supplier, b.cents, b.quoted_by, b.booked_by
    );
}

fn print_per_worker(results: &[(u32, Booked)]) {
    let mut per: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, b) in results {
        *per.entry(b.booked_by).or_default() += 1;
    }
    for (pid, k) in per {
        println!("  worker {pid}: finished {k} instances");
    }
}

/// Starts `count` instances, waits for all of them and prints who ran them.
pub(crate) async fn submit(
    url: &str,
    batch: &str,
    count: u32,
) -> Result<Vec<(u32, Booked)>, BoxError> {
    let engine = Engine::builder(PgStore::connect(url).await?)
        .register::<ship>()
        .build()?;
    let ids = start_all(&engine, batch, count).await?;
    println!("waiting for workers (start some with `-- worker --url ...`)");
    let mut set = wait_all(&engine, &ids);
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (n, r) = joined?;
        let b = r?;
        print_result(&b);
        results.push((n, b));
    }
    results.sort_by_key(|(n, _)| *n);
    println!("all {count} finished");
    print_per_worker(&results);
    Ok(results)
}

/// What [`demo`] observed.
#[derive(Debug)]
#[allow(dead_code)] // read by examples/tests/examples.rs
pub(crate) struct DemoReport {
    /// Every instance's output, by number.
    pub(crate) results: Vec<(u32, Booked)>,
    /// Process ids of the workers started.
    pub(crate) workers: Vec<u32>,
    /// The worker killed mid-way, if one was.
    pub(crate) killed: Option<u32>,
    /// Instances the killed worker had started and another one finished.
    pub(crate) taken_over: Vec<String>,
    /// Those of them whose quotes the killed worker had committed: only the booking ran again.
    pub(crate) resumed_after_quotes: Vec<String>,
}

/// `("quote" | "booking", instance id)` of a line printed by the tasks of worker `pid`.
fn step_of(line: &str, pid: u32) -> Option<(&str, &str)> {
    let said = line.strip_prefix(&format!("[worker {pid}] "))?;
    let mut words = said.split(' ');
    match (words.next()?, words.next()?) {
        (what @ ("quote" | "booking"), id) => Some((what, id)),
        _ => None,
    }
}

struct WorkerProc {
    child: Child,
    pid: u32,
}

async fn spawn_workers(
    exe: &Path,
    url: &str,
    n: usize,
    lines: &mpsc::UnboundedSender<String>,
) -> Result<Vec<WorkerProc>, BoxError> {
    let mut procs = Vec::new();
    for _ in 0..n {
        let mut child = Command::new(exe)
            .args(["worker", "--url", url, "--concurrency", "4", "--lease", "3"])
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let pid = child.id().ok_or("worker exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let tx = lines.clone();
        tokio::spawn(async move {
            let mut rd = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = rd.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        procs.push(WorkerProc { child, pid });
    }
    Ok(procs)
}

/// Spawns `workers` processes of `exe worker ...`, submits `count` instances, kills the first
/// worker while it books one (once another instance has finished, so that the kill falls in the
/// middle of the run; waiting for more made the kill depend on how the workers shared the
/// instances on a loaded machine), waits for all of them
/// and stops the others.
pub(crate) async fn demo(
    url: &str,
    exe: &Path,
    workers: usize,
    count: u32,
) -> Result<DemoReport, BoxError> {
    if workers < 2 || count == 0 {
        return Err("demo needs at least 2 workers (it kills one) and 1 instance".into());
    }
    // Connecting first creates the schema before the workers race to.
    let engine = Engine::builder(PgStore::connect(url).await?)
        .register::<ship>()
        .build()?;
    let (tx, mut lines) = mpsc::unbounded_channel();
    let mut procs = spawn_workers(exe, url, workers, &tx).await?;
    drop(tx);
    let pids: Vec<u32> = procs.iter().map(|p| p.pid).collect();
    println!("started workers {pids:?}");

    let mut ready = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while ready < workers {
        let line = tokio::time::timeout_at(deadline, lines.recv())
            .await
            .map_err(|_| "workers did not get ready within 60 s")?
            .ok_or("a worker exited before it was ready")?;
        println!("{line}");
        if line.contains("] ready") {
            ready += 1;
        }
    }

    let batch = format!("demo-{}", std::process::id());
    let ids = start_all(&engine, &batch, count).await?;
    let mut set = wait_all(&engine, &ids);
    let victim = pids[0];
    let mut touched_by_victim = HashSet::new();
    let mut killed: Option<u32> = None;
    let mut results = Vec::new();
    const STALL: Duration = Duration::from_secs(60);
    let mut deadline = tokio::time::Instant::now() + STALL;
    while !set.is_empty() {
        tokio::select! {
            Some(line) = lines.recv() => {
                println!("{line}");
                let Some((what, id)) = step_of(&line, victim) else {
                    continue;
                };
                touched_by_victim.insert(id.to_string());
                let under_way = !results.is_empty();
                if killed.is_none() && what == "booking" && under_way {
                    procs[0].child.start_kill()?;
                    println!("!! killed worker {victim} (SIGKILL) in the middle of that booking");
                    killed = Some(victim);
                }
            }
            Some(joined) = set.join_next() => {
                let (n, r) = joined?;
                let b = r?;
                print_result(&b);
                results.push((n, b));
                deadline = tokio::time::Instant::now() + STALL;
            }
            _ = tokio::time::sleep_until(deadline) => {
                let done = results.len();
                return Err(format!("stuck: {done} of {count} finished, none in {STALL:?}").into());
            }
        }
    }
    results.sort_by_key(|(n, _)| *n);
    for (n, b) in &results {
        if (b.supplier.clone(), b.cents) != best_offer(*n) {
            return Err(format!("{} was booked with the wrong offer: {b:?}", b.id).into());
        }
    }

    // Closing a worker's stdin stops it (it releases its leases on the way out).
    for p in &mut procs {
        drop(p.child.stdin.take());
    }
    for p in &mut procs {
        if tokio::time::timeout(Duration::from_secs(10), p.child.wait())
            .await
            .is_err()
        {
            p.child.start_kill()?;
            p.child.wait().await?;
        }
    }
    while let Some(line) = lines.recv().await {
        println!("{line}");
    }

    let mut taken_over = Vec::new();
    let mut resumed_after_quotes = Vec::new();
    if let Some(k) = killed {
        for (_, b) in &results {
            if b.booked_by != k && touched_by_victim.contains(&b.id) {
                taken_over.push(b.id.clone());
                if b.quoted_by.contains(&k) {
                    resumed_after_quotes.push(b.id.clone());
                }
            }
        }
    }
    println!("\nsummary: {count} instances finished on workers {pids:?}");
    print_per_worker(&results);
    match killed {
        Some(k) => {
            println!("  worker {k} was killed; the others took over and finished {taken_over:?}");
            println!(
                "  of these, {resumed_after_quotes:?} kept the quotes it had committed \
                 and only re-ran the booking"
            );
        }
        None => {
            println!("  no worker was killed (it never started a booking after the first result)")
        }
    }
    Ok(DemoReport {
        results,
        workers: pids,
        killed,
        taken_over,
        resumed_after_quotes,
    })
}

/// Several worker processes sharing one PostgreSQL database.
#[derive(Debug, clap::Parser)]
#[command(name = "distributed")]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Runs a worker until Ctrl-C, printing each task it runs with its process id
    Worker {
        #[command(flatten)]
        db: Database,
        /// Instances driven at once
        #[arg(long, value_name = "N", default_value_t = WorkerOpts::default().concurrency)]
        concurrency: usize,
        /// Lease on claimed instances, in seconds: how long the others wait before taking over
        /// a dead worker's
        #[arg(long, value_name = "SECONDS", default_value_t = WorkerOpts::default().lease.as_secs())]
        lease: u64,
        /// Also stop when stdin is closed (`demo` starts its workers so)
        #[arg(long, hide = true)]
        until_stdin_closes: bool,
    },
    /// Starts --count instances named NAME-001.., waits for them and prints their results and
    /// which worker processes ran them
    Submit {
        #[command(flatten)]
        db: Database,
        /// Instances to start
        #[arg(long, value_name = "N", default_value_t = 20)]
        count: u32,
        /// Prefix of the instance ids [default: batch-<process id>]
        #[arg(long, value_name = "NAME")]
        batch: Option<String>,
    },
    /// Spawns --workers worker processes, submits --count instances, kills one worker mid-way,
    /// waits for all instances and stops the workers
    Demo {
        #[command(flatten)]
        db: Database,
        /// Worker processes to spawn (at least 2: one is killed)
        #[arg(long, value_name = "N", default_value_t = 3)]
        workers: usize,
        /// Instances to start
        #[arg(long, value_name = "N", default_value_t = 30)]
        count: u32,
    },
}

#[derive(Debug, clap::Args)]
struct Database {
    /// PostgreSQL where tables may be created [default: $DATABASE_URL, then $SAYIIR_PG_URL]
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

impl Database {
    fn url(self) -> Result<String, BoxError> {
        self.url
            .or_else(|| {
                ["DATABASE_URL", "SAYIIR_PG_URL"]
                    .iter()
                    .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            })
            .ok_or_else(|| "no database: pass --url URL or set DATABASE_URL".into())
    }
}

#[allow(dead_code)]
async fn cli() -> Result<(), BoxError> {
    let cli = <Cli as clap::Parser>::parse();
    match cli.command {
        Action::Worker {
            db,
            concurrency,
            lease,
            until_stdin_closes,
        } => {
            let opts = WorkerOpts {
                concurrency,
                lease: Duration::from_secs(lease),
                until_stdin_closes,
            };
            worker(&db.url()?, &opts).await
        }
        Action::Submit { db, count, batch } => {
            let batch = batch.unwrap_or_else(|| format!("batch-{}", std::process::id()));
            submit(&db.url()?, &batch, count).await.map(drop)
        }
        Action::Demo { db, workers, count } => {
            let exe = std::env::current_exe()?;
            demo(&db.url()?, &exe, workers, count).await.map(drop)
        }
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match cli().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
