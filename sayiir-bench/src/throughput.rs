//! `linear`, `limited` and `fanout`: many instances created first, then driven by the worker(s) as fast as
//! they go. The clock runs from the workers' start to the last instance's completion.
//!
//! On SQLite (one worker process per file) the worker runs in this process. On PostgreSQL,
//! `--workers P` child processes of this program each run a worker over the same database; this
//! process only creates the instances, says go, and watches for the end.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sayiir::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::BoxError;
use crate::args::Args;
use crate::baseline::{Ceiling, rate};
use crate::figures::Row;
use crate::flows::{self, STEPS, fanout, limited10, linear10};
use crate::target::{Place, StoreKind};

/// Which workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `linear10`: ten tasks in sequence.
    Linear,
    /// `limited10`: ten tasks in sequence, at most `flows::LIMIT` attempts at once.
    Limited,
    /// `fanout`: `--branches` tasks at once.
    Fanout,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Linear => "linear",
            Shape::Limited => "limited",
            Shape::Fanout => "fanout",
        }
    }

    fn expected(self, i: u64, branches: u64) -> u64 {
        match self {
            Shape::Linear | Shape::Limited => i + STEPS,
            Shape::Fanout => branches * i + branches * (branches + 1) / 2,
        }
    }
}

/// Runs `shape` on a fresh store of `kind`.
pub(crate) async fn run(
    args: &Args,
    kind: StoreKind,
    shape: Shape,
    ceiling: Option<Ceiling>,
    (recorder, suffix): (Option<&dyn metrics::Recorder>, &str),
) -> Result<Row, BoxError> {
    let n = match shape {
        Shape::Linear => args.instances,
        Shape::Limited => args.limited_instances,
        Shape::Fanout => args.fanout_instances,
    };
    let processes = if kind == StoreKind::Postgres {
        args.workers
    } else {
        1
    };
    let name = format!("{}{suffix}", shape.name());
    let label = format!("{name} [{}]", kind.name());
    let place = Place::prefilled(kind, args, shape.name()).await?;
    let engine = flows::engine_recorded(place.open(kind).await?, args, recorder)?;

    eprintln!("{label}: creating {n} instances");
    let branches = args.branches;
    let created = flows::start_all(&engine, n, 64, move |e, i| async move {
        let id = format!("{}-{i:08}", shape.name());
        match shape {
            Shape::Linear => e.start::<linear10>(&id, i as u64).await.map(drop),
            Shape::Limited => e.start::<limited10>(&id, i as u64).await.map(drop),
            Shape::Fanout => e.start::<fanout>(&id, (i as u64, branches)).await.map(drop),
        }
    })
    .await?;

    let cpu0 = flows::cpu_seconds();
    let (elapsed, transitions, batches, batched) = if processes > 1 {
        drive_in_children(args, &place, n, processes, &label).await?
    } else {
        drive_here(&engine, n, &label).await?
    };
    let cpu = flows::cpu_seconds() - cpu0;

    // Every instance finished with the right output (checked after the clock stopped).
    for i in 0..n {
        let id = format!("{}-{i:08}", shape.name());
        let out = match shape {
            Shape::Linear => engine.try_result::<linear10>(&id).await?,
            Shape::Limited => engine.try_result::<limited10>(&id).await?,
            Shape::Fanout => engine.try_result::<fanout>(&id).await?,
        };
        let want = shape.expected(i as u64, branches);
        if out != Some(want) {
            return Err(format!("{id}: got {out:?}, expected {want}").into());
        }
    }

    let mut row = Row::new(name, kind.name());
    let steps_per_s = rate(usize::try_from(transitions).unwrap_or(usize::MAX), elapsed);
    row.set("workflows_per_s", rate(n, elapsed))
        .set("steps_per_s", steps_per_s)
        .set("create_per_s", rate(n, created))
        .set("instances", n as f64)
        .set("transitions", transitions as f64)
        .set("seconds", elapsed.as_secs_f64())
        .set("processes", processes as f64)
        .set("cpu_us_per_step", cpu * 1e6 / transitions.max(1) as f64)
        .set(
            "avg_batch",
            if batches == 0 {
                0.0
            } else {
                batched as f64 / batches as f64
            },
        );
    if shape == Shape::Limited {
        row.set("limit", f64::from(flows::LIMIT));
    }
    if shape == Shape::Fanout {
        // A commit may carry several results (each its own history entry): steps are the
        // committed entries, commits the transitions written.
        row.set("branches", branches as f64)
            .set(
                "commits_per_s",
                rate(usize::try_from(batched).unwrap_or(usize::MAX), elapsed),
            )
            .set(
                "per_commit",
                if batched == 0 {
                    0.0
                } else {
                    transitions as f64 / batched as f64
                },
            );
    }
    if let Some(c) = ceiling.filter(|c| c.batched > 0.0) {
        row.set("ratio", steps_per_s / c.batched);
    }
    eprintln!(
        "{label}: {n} workflows in {:.3} s: {:.0} workflows/s, {steps_per_s:.0} steps/s",
        elapsed.as_secs_f64(),
        rate(n, elapsed)
    );
    Ok(row)
}

/// Elapsed time, transitions, commit batches and the transitions they carried.
type Driven = (Duration, u64, u64, u64);

async fn drive_here(engine: &Engine, n: usize, label: &str) -> Result<Driven, BoxError> {
    let m = engine.metrics();
    let (t0, c0, (b0, bt0)) = (m.transitions(), m.instances_completed(), m.commit_batches());
    let start = Instant::now();
    let worker = engine.spawn_worker();
    let mut last_print = Instant::now();
    while m.instances_completed().saturating_sub(c0) < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if last_print.elapsed() >= Duration::from_millis(500) {
            last_print = Instant::now();
            let done = m.instances_completed().saturating_sub(c0);
            eprint!("\r{label}: {done}/{n} workflows done   ");
        }
    }
    let elapsed = start.elapsed();
    eprintln!("\r{label}: {n}/{n} workflows done   ");
    worker.shutdown().await?;
    let (b1, bt1) = m.commit_batches();
    Ok((
        elapsed,
        m.transitions().saturating_sub(t0),
        b1.saturating_sub(b0),
        bt1.saturating_sub(bt0),
    ))
}

/// Starts `processes` worker processes over the database, says go once all are ready, and
/// waits until they report (on stdout, `done N` lines) that all `n` instances are complete;
/// watching the database instead would load the server being measured.
async fn drive_in_children(
    args: &Args,
    place: &Place,
    n: usize,
    processes: usize,
    label: &str,
) -> Result<Driven, BoxError> {
    let exe = std::env::current_exe()?;
    let mut children: Vec<(Child, Lines<BufReader<ChildStdout>>)> = Vec::new();
    for _ in 0..processes {
        let mut child = Command::new(&exe)
            .arg("--child-worker")
            .arg(place.locator())
            .args(["--in-flight", &args.in_flight.to_string()])
            .args([
                "--commit-window",
                &args.commit_window.as_micros().to_string(),
            ])
            .args(["--commit-batch", &args.max_commit_batch.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("child without stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next_line().await?.unwrap_or_default();
        if first.trim() != "ready" {
            return Err(format!("worker process did not start: `{}`", first.trim()).into());
        }
        children.push((child, lines));
    }
    let start = Instant::now();
    for (child, _) in &mut children {
        if let Some(stdin) = child.stdin.as_mut() {
            stdin.write_all(b"go\n").await?;
            stdin.flush().await?;
        }
    }
    let mut done = vec![0u64; processes];
    let mut last_print = Instant::now();
    while done.iter().sum::<u64>() < n as u64 {
        // Whichever child speaks first.
        let reads = children
            .iter_mut()
            .map(|(_, lines)| Box::pin(lines.next_line()));
        // `next_line` is cancel safe: the reads not chosen lose nothing.
        let (line, i, _) = futures_util::future::select_all(reads).await;
        let line = line?.ok_or("a worker process exited early")?;
        let count = line
            .strip_prefix("done ")
            .and_then(|c| c.trim().parse().ok())
            .ok_or_else(|| format!("worker process said `{line}`"))?;
        done[i] = count;
        if last_print.elapsed() >= Duration::from_millis(500) {
            last_print = Instant::now();
            eprint!(
                "\r{label}: {}/{n} workflows done   ",
                done.iter().sum::<u64>()
            );
        }
    }
    let elapsed = start.elapsed();
    eprintln!("\r{label}: {n}/{n} workflows done   ");
    let (mut transitions, mut batches, mut batched) = (0.0, 0.0, 0.0);
    for (mut child, mut lines) in children {
        // Closing stdin tells the worker to stop; it then reports its counters.
        drop(child.stdin.take());
        let row = loop {
            let line = lines
                .next_line()
                .await?
                .ok_or("a worker process said nothing")?;
            if line.starts_with("done ") {
                continue;
            }
            break Row::parse_line("worker", "postgres", &line)
                .ok_or_else(|| format!("worker process reported `{line}`"))?;
        };
        transitions += row.get("transitions").unwrap_or(0.0);
        batches += row.get("batches").unwrap_or(0.0);
        batched += row.get("batched").unwrap_or(0.0);
        let status = child.wait().await?;
        if !status.success() {
            return Err(format!("worker process failed: {status}").into());
        }
    }
    Ok((elapsed, transitions as u64, batches as u64, batched as u64))
}

/// The body of a `--child-worker` process: a worker over the PostgreSQL database at `url`
/// that starts on `go`, prints `done N` whenever its count of completed instances changes
/// (at most every 2 ms), stops when stdin closes, then prints its counters.
pub(crate) async fn child_worker(args: &Args, url: &str) -> Result<(), BoxError> {
    let engine = flows::engine(crate::target::open(StoreKind::Postgres, url).await?, args)?;
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut stdout = tokio::io::stdout();
    stdout.write_all(b"ready\n").await?;
    stdout.flush().await?;
    let mut line = String::new();
    stdin.read_line(&mut line).await?;
    let worker = engine.spawn_worker();
    let m = engine.metrics();
    let mut told = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    loop {
        tokio::select! {
            read = stdin.read_line(&mut line) => {
                // Until stdin closes.
                if read? == 0 {
                    break;
                }
            }
            _ = tick.tick() => {
                let done = m.instances_completed();
                if done != told {
                    told = done;
                    stdout.write_all(format!("done {done}\n").as_bytes()).await?;
                    stdout.flush().await?;
                }
            }
        }
    }
    worker.shutdown().await?;
    let (b, bt) = m.commit_batches();
    let mut row = Row::new("worker", "postgres");
    row.set("transitions", m.transitions() as f64)
        .set("batches", b as f64)
        .set("batched", bt as f64);
    stdout
        .write_all(format!("{}\n", row.to_line()).as_bytes())
        .await?;
    stdout.flush().await?;
    Ok(())
}
