//! `sleepers`: M instances that sleep until one wake-up time, then run one task. Run in a child
//! process of its own so that its resident memory is its own (no earlier scenario's heap).
//!
//! The wake-up time is set far enough ahead for all M to be created and parked first (5 s plus
//! 1 s per 10,000 instances, or `--sleep-secs`); the child reports how many were still being
//! created when it came. Reported: creations/s, resident memory while all M sleep (only rows in
//! the store), peak resident memory of the whole scenario, and each instance's wake-up lag (from
//! its wake-up time to its task's start).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::BoxError;
use crate::args::Args;
use crate::baseline::{quantile, rate};
use crate::figures::Row;
use crate::flows::{self, LAGS, now_ms, rss_mib, sleeper};
use crate::target::{Place, StoreKind};

/// Runs the scenario in a child process on a fresh store of `kind`.
pub(crate) async fn run(args: &Args, kind: StoreKind) -> Result<Row, BoxError> {
    let place = Place::prefilled(kind, args, "sleepers").await?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--child-sleepers")
        .arg(place.locator())
        .args(["--store", kind.name()])
        .args(["--sleepers", &args.sleepers.to_string()])
        .args(["--in-flight", &args.in_flight.to_string()])
        .args([
            "--commit-window",
            &args.commit_window.as_micros().to_string(),
        ])
        .args(["--commit-batch", &args.max_commit_batch.to_string()]);
    if let Some(mib) = args.sqlite_cache_mib {
        cmd.args(["--sqlite-cache-mib", &mib.to_string()]);
    }
    if let Some(s) = args.sleep_secs {
        cmd.args(["--sleep-secs", &s.to_string()]);
    }
    let line = first_line(&mut cmd, "sleepers process").await?;
    Row::parse_line("sleepers", kind.name(), &line)
        .ok_or_else(|| format!("sleepers process reported `{}`", line.trim()).into())
}

fn lag_ms(lags: &mut [u32], q: f64) -> f64 {
    quantile(lags, q).map_or(f64::NAN, f64::from)
}

/// The body of a `--child-sleepers` process over the store at `locator`.
pub(crate) async fn child(args: &Args, locator: &str) -> Result<(), BoxError> {
    let kind = *args.stores.first().ok_or("no store given")?;
    let label = format!("sleepers [{}]", kind.name());
    let m = args.sleepers;
    let engine = flows::engine(crate::target::open(kind, locator).await?, args)?;
    let worker = engine.spawn_worker();
    let metrics = engine.metrics();
    let sleep_secs = args
        .sleep_secs
        .unwrap_or(5 + u64::try_from(m / 10_000).unwrap_or(u64::MAX));
    let wake_at = now_ms() + sleep_secs * 1000;

    eprintln!("{label}: creating {m} instances, all waking {sleep_secs} s from now");
    let progress = {
        let engine = engine.clone();
        let label = label.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1000)).await;
                let parked = engine.metrics().transitions();
                eprint!("\r{label}: {parked}/{m} parked   ");
            }
        })
    };
    let created = flows::start_all(&engine, m, 64, move |e, i| async move {
        e.start::<sleeper>(&format!("sl-{i:08}"), wake_at)
            .await
            .map(drop)
    })
    .await?;
    let created_at = now_ms();
    // Before the wake-up time, each instance commits exactly one transition: its sleep.
    while metrics.transitions() < m as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    progress.abort();
    let parked_at = now_ms();
    let (rss_asleep, _) = rss_mib();
    let late = parked_at > wake_at;
    eprintln!(
        "\r{label}: {m} created in {:.1} s, all parked; RSS {rss_asleep:.1} MiB{}",
        created.as_secs_f64(),
        if late {
            " (LATE: the wake-up time passed before all were parked; use --sleep-secs)"
        } else {
            ""
        }
    );

    let mut last_print = Instant::now();
    loop {
        let woken = LAGS.lock().map(|l| l.len()).unwrap_or(0);
        if metrics.instances_completed() >= m as u64 && woken >= m {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            eprint!(
                "\r{label}: {woken}/{m} woken, {} completed   ",
                metrics.instances_completed()
            );
        }
    }
    let all_done = now_ms();
    eprintln!("\r{label}: {m}/{m} woken and completed");
    worker.shutdown().await?;
    let (_, peak) = rss_mib();
    let mut lags = LAGS.lock().map(|l| l.clone()).unwrap_or_default();
    let wake_span = Duration::from_millis(all_done.saturating_sub(wake_at.max(parked_at)));
    let mut row = Row::new("sleepers", kind.name());
    row.set("workflows_per_s", rate(m, wake_span))
        .set("peak_rss_mib", peak)
        .set("rss_asleep_mib", rss_asleep)
        .set("create_per_s", rate(m, created))
        .set("instances", m as f64)
        .set("lag_p50_ms", lag_ms(&mut lags, 0.50))
        .set("lag_p99_ms", lag_ms(&mut lags, 0.99))
        .set("lag_max_ms", lag_ms(&mut lags, 1.0))
        .set("late", if late { 1.0 } else { 0.0 })
        .set(
            "parked_before_wake_s",
            wake_at.saturating_sub(created_at) as f64 / 1000.0,
        );
    println!("{}", row.to_line());
    Ok(())
}

/// Runs the child process `cmd` (`what` in errors) to its end and returns the first line it
/// printed (its figures); fails when it fails.
pub(crate) async fn first_line(cmd: &mut Command, what: &str) -> Result<String, BoxError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("child without stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    let status = child.wait().await?;
    if !status.success() {
        return Err(format!("{what} failed: {status}").into());
    }
    Ok(line)
}
