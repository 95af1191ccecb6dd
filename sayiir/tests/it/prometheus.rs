//! The Prometheus endpoint, end to end: a process installs sayiir's recorder
//! (`sayiir::metrics::install_prometheus`, a process-wide global recorder, hence a child process
//! of its own), serves it (`serve_prometheus`), runs real workflows on SQLite, and is scraped
//! with a real HTTP request. The text is parsed: the counters equal what the engine counted,
//! the histograms have their buckets, counts and sums, every label is where it should be.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sayiir::metrics::names::*;
use sayiir::{Engine, SqliteStore};

/// Instances the child runs.
const RUNS: u64 = 20;

#[sayiir::task]
async fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[sayiir::task(retries = 1, backoff = "1ms")]
async fn odd_fails_once(n: u64) -> Result<u64, String> {
    let attempt = sayiir::TaskContext::current().map_or(1, |c| c.attempt());
    if n % 2 == 1 && attempt == 1 {
        return Err(format!("{n} is odd"));
    }
    Ok(n)
}

#[sayiir::workflow]
async fn scraped(n: u64) -> Result<u64, String> {
    let a = add(n, 1).await;
    sayiir::sleep(Duration::from_millis(10)).await;
    let b = odd_fails_once(n).await?;
    Ok(a + b)
}

#[test]
fn a_scrape_shows_what_the_engine_did() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            &crate::common::test_name!(prometheus::prometheus_child),
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
            "--quiet",
        ])
        .env("SAYIIR_PROMETHEUS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("scrape checked"),
        "the scraped process failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One sample line: its labels and value.
type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

/// The samples of a text exposition (comment lines left out).
fn parse(text: &str) -> Samples {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap_or_else(|e| panic!("{l}: {e}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').unwrap();
                    let labels = rest
                        .split(',')
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap();
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            (name.to_owned(), labels, value)
        })
        .collect()
}

/// The value of `name` with exactly `labels`.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|(_, _, v)| *v)
        .unwrap_or_else(|| panic!("no {name} {labels:?} in the scrape"))
}

/// The bucket bounds of histogram `name` with `labels` (besides `le`), in order, with counts.
fn buckets(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Vec<(String, f64)> {
    let bucket = format!("{name}_bucket");
    samples
        .iter()
        .filter(|(n, l, _)| {
            *n == bucket
                && l.len() == labels.len() + 1
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, l, v)| (l["le"].clone(), *v))
        .collect()
}

/// A plain HTTP/1.1 request (`method` `path`, the connection closed after it): the status
/// line and the body.
fn request(addr: SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(crate::common::PATIENCE))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    if status.ends_with("200 OK") {
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
    }
    (status, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `a_scrape_shows_what_the_engine_did` in a process of its own"]
async fn prometheus_child() {
    if std::env::var_os("SAYIIR_PROMETHEUS_CHILD").is_none() {
        return;
    }
    // Before the engine is built: it registers its metrics with the recorder it finds.
    let handle = sayiir::metrics::install_prometheus().unwrap();
    let endpoint = sayiir::metrics::serve_prometheus("127.0.0.1:0", handle)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("scraped.db")).unwrap();
    let engine = Engine::builder(store)
        .register::<scraped>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    for n in 0..RUNS {
        let id = format!("s-{n}");
        let out = crate::common::run_to_end::<scraped>(&engine, &id, n).await;
        assert_eq!(out, Ok(2 * n + 1));
    }
    // Synchronous requests, off the runtime's threads.
    let addr = endpoint.local_addr();
    let (status, text) = tokio::task::spawn_blocking(move || request(addr, "GET", "/metrics"))
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (missing, _) = tokio::task::spawn_blocking(move || request(addr, "GET", "/other"))
        .await
        .unwrap();
    assert_eq!(missing, "HTTP/1.1 404 Not Found");
    let (post, _) = tokio::task::spawn_blocking(move || request(addr, "POST", "/metrics"))
        .await
        .unwrap();
    assert_eq!(post, "HTTP/1.1 405 Method Not Allowed");
    let s = parse(&text);
    let counted = engine.metrics();
    let wf = [("workflow", "scraped")];

    // Counters: what the engine counted itself, by workflow and task.
    let transitions = value(&s, TRANSITIONS, &wf);
    assert_eq!(transitions, counted.transitions() as f64, "{counted:?}");
    // Start, add, sleep, timer, odd_fails_once (+ a retry for odd n): at least four each.
    assert!(transitions >= (4 * RUNS) as f64, "{transitions}");
    assert_eq!(value(&s, INSTANCES_STARTED, &wf), RUNS as f64);
    assert_eq!(value(&s, INSTANCES_COMPLETED, &wf), RUNS as f64);
    let task = |t| [("workflow", "scraped"), ("task", t)];
    assert_eq!(value(&s, TASKS_STARTED, &task("add")), RUNS as f64);
    assert_eq!(value(&s, TASKS_SUCCEEDED, &task("add")), RUNS as f64);
    let odd = (RUNS / 2) as f64;
    assert_eq!(
        value(&s, TASKS_STARTED, &task("odd_fails_once")),
        RUNS as f64 + odd
    );
    assert_eq!(value(&s, TASKS_FAILED, &task("odd_fails_once")), odd);
    assert_eq!(value(&s, TASKS_RETRIED, &task("odd_fails_once")), odd);
    assert_eq!(value(&s, WORKERS, &[]), 1.0);
    assert_eq!(value(&s, INSTANCES_LIMIT, &[]), 1024.0);

    // Histograms: buckets (cumulative, up to +Inf = count), count and sum.
    let ok = [("workflow", "scraped"), ("task", "add"), ("outcome", "ok")];
    let b = buckets(&s, TASK_ATTEMPT_DURATION, &ok);
    assert_eq!(b.len(), 17, "{b:?}");
    assert_eq!(b[0].0, "0.0005");
    assert_eq!(b.last().unwrap(), &("+Inf".to_owned(), RUNS as f64));
    assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "{b:?}");
    let count = format!("{TASK_ATTEMPT_DURATION}_count");
    assert_eq!(value(&s, &count, &ok), RUNS as f64);
    let errors = [
        ("workflow", "scraped"),
        ("task", "odd_fails_once"),
        ("outcome", "error"),
    ];
    assert_eq!(value(&s, &count, &errors), odd);
    let steps = format!("{STEP_LATENCY}_count");
    assert_eq!(value(&s, &steps, &wf), transitions);
    let store = [("store", "sqlite")];
    let sizes = buckets(&s, COMMIT_BATCH_SIZE, &store);
    assert_eq!(sizes.first().unwrap().0, "1");
    let (batches, carried) = counted.commit_batches();
    assert_eq!(sizes.last().unwrap().1, batches as f64);
    let sum = format!("{COMMIT_BATCH_SIZE}_sum");
    assert_eq!(value(&s, &sum, &store), carried as f64);
    assert_eq!(carried as f64, transitions);
    let commits = format!("{COMMIT_DURATION}_count");
    assert_eq!(value(&s, &commits, &store), batches as f64);
    let timers = format!("{TIMER_LATENESS}_count");
    assert_eq!(value(&s, &timers, &wf), RUNS as f64);

    // Described: every metric recorded has its help and type lines.
    for (name, kind) in [
        (TRANSITIONS, "counter"),
        (TASK_ATTEMPT_DURATION, "histogram"),
        (INSTANCES_IN_FLIGHT, "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}")),
            "{name}:\n{text}"
        );
        assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
    }
    // An excerpt for the eye (`--nocapture` on this child shows it).
    let shown = |l: &&str| {
        let add = l.contains("task=\"add\"") && !l.contains("_bucket");
        let quiet = ["panic", "error", "timeout"]
            .iter()
            .any(|o| l.contains(&format!("outcome=\"{o}\"")));
        (add && !quiet) || l.starts_with(TRANSITIONS) || l.starts_with(COMMIT_BATCH_SIZE)
    };
    for line in text.lines().filter(shown) {
        println!("{line}");
    }
    worker.shutdown().await.unwrap();
    endpoint.stop();
    println!("scrape checked: {transitions} transitions");
}

/// The starter Grafana dashboard (`docs/grafana/sayiir.json`, documented in
/// docs/observability.md) is valid JSON whose every panel queries Prometheus, and every metric
/// its expressions name is one sayiir records (a histogram's `_bucket`, `_sum`, `_count`).
#[test]
fn grafana_dashboard_queries_known_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/sayiir.json");
    let text = std::fs::read_to_string(path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let histograms = [
        TASK_ATTEMPT_DURATION,
        STEP_LATENCY,
        COMMIT_BATCH_SIZE,
        COMMIT_DURATION,
        START_BATCH_SIZE,
        CLAIM_TO_START_DELAY,
        TIMER_LATENESS,
    ];
    let mut queried = std::collections::BTreeSet::new();
    let mut graphs = 0;
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        graphs += 1;
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("sayiir_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|b| histograms.contains(b))
                    .unwrap_or(&name);
                assert!(
                    ALL.contains(&base),
                    "{title}: `{name}` is not a metric sayiir records ({expr})"
                );
                queried.insert(base.to_owned());
            }
            assert_eq!(target["datasource"]["type"], "prometheus", "{title}");
        }
    }
    assert!(graphs >= 12, "{graphs} panels");
    // The panels the issue asks for: throughput, latency, backlog, failures, blocked.
    for needed in [
        TRANSITIONS,
        TASK_ATTEMPT_DURATION,
        STEP_LATENCY,
        DUE_BACKLOG,
        TASKS_FAILED,
        INSTANCES_BLOCKED,
        PARKED,
    ] {
        assert!(queried.contains(needed), "no panel shows {needed}");
    }
}
