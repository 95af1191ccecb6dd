//! Every example runs here, with its results checked: the SQLite ones on a real file, the
//! distributed one on a fresh PostgreSQL database with real worker processes, the resources
//! one on a fresh PostgreSQL database too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../order_saga.rs"]
mod order_saga;

#[path = "../control_flow.rs"]
mod control_flow;

#[path = "../child_workflows.rs"]
mod child_workflows;

#[path = "../expense_approval.rs"]
mod expense_approval;

#[path = "../distributed.rs"]
mod distributed;

#[path = "../quickstart.rs"]
mod quickstart;

#[path = "../resources.rs"]
mod resources;

#[path = "../json_logs.rs"]
mod json_logs;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use order_saga::OrderError;

/// The examples' workflows are locked (docs/versioning.md): changing one without bumping its
/// version fails here with the changes listed; `SAYIIR_UPDATE_LOCK=1` accepts a change. The
/// engine needs the resources its tasks take: a pool that connects lazily (never, here).
#[tokio::test]
async fn example_workflows_are_locked() {
    let lazy_pool = sqlx::PgPool::connect_lazy("postgres://localhost/unused").unwrap();
    let engine = sayiir::Engine::builder(sayiir::MemoryStore::new())
        .register::<quickstart::onboard>()
        .register::<order_saga::order_saga>()
        .register::<control_flow::review>()
        .register::<child_workflows::publish>()
        .register::<expense_approval::expense>()
        .register::<distributed::ship>()
        .register::<resources::open_account>()
        .register::<json_logs::fulfil>()
        .resource(lazy_pool)
        .build()
        .unwrap();
    sayiir::testing::assert_lock(
        &engine,
        concat!(env!("CARGO_MANIFEST_DIR"), "/workflows.lock"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_saga_compensates_failed_steps() {
    let dir = tempfile::tempdir().unwrap();
    let results = order_saga::run(&dir.path().join("saga.db")).await.unwrap();
    assert_eq!(
        results,
        [
            Ok("track-o-1".to_string()),
            Err(OrderError::OutOfStock("unobtainium".into())),
            Err(OrderError::PaymentDeclined("0000-1234".into())),
            Err(OrderError::ShippingFailed("o-4-lost".into())),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_flow_example_runs_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let (out, took) = control_flow::run(&dir.path().join("flow.db"))
        .await
        .unwrap();
    let expected_total: u64 = (0..3u64)
        .flat_map(|p| (0..4).map(move |i| p * 10 + i))
        .map(|i| i * i % 97)
        .sum();
    let expected_flagged = (0..3u64)
        .flat_map(|p| (0..4).map(move |i| p * 10 + i))
        .filter(|i| i * i % 97 > 60)
        .count();
    assert_eq!(
        out,
        format!("total score {expected_total}, {expected_flagged} flagged")
    );
    // Each page's 4 items are scored concurrently: about 3 x (50 + 200) ms. One after another,
    // the 3 page fetches (50 ms) and 12 scores (200 ms) would sleep 2.55 s at least, so a run
    // shorter than that proves the scores overlapped, however loaded the machine.
    assert!(took < Duration::from_millis(3 * 50 + 12 * 200), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_workflows_example_publishes_three_renditions() {
    let dir = tempfile::tempdir().unwrap();
    let urls = child_workflows::run(&dir.path().join("children.db"))
        .await
        .unwrap();
    assert_eq!(
        urls,
        [
            "https://cdn.example/cat.png@64w",
            "https://cdn.example/cat.png@320w",
            "https://cdn.example/cat.png@1280w"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_workflow_runs_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quickstart.db");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "sayiir-examples",
            "--example",
            "quickstart",
        ])
        .env("QUICKSTART_DB", &db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(stdout.contains("result: Ok(\"account"), "{stdout}");
}

/// Every line is JSON; every line a task logs carries the ids of its instance, task and attempt
/// (its `sayiir.task` span's fields), whatever the task wrote.
#[test]
fn json_logs_correlate_every_task_line_with_its_instance() {
    let run = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "sayiir-examples",
            "--example",
            "json_logs",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // What the tasks log, by message: each order's lines, and the declined charge's warning.
    let task_messages = [
        "reserving stock",
        "charging the card",
        "the gateway timed out",
        "handing over to the carrier",
    ];
    let mut task_lines = 0;
    for line in &lines {
        let message = line["message"].as_str().unwrap_or_default();
        if !task_messages.contains(&message) {
            continue;
        }
        task_lines += 1;
        let order = line["order"].as_str().unwrap();
        let span = &line["span"];
        assert_eq!(span["name"], "sayiir.task", "{line}");
        assert_eq!(
            span["sayiir.instance.id"].as_str(),
            Some(format!("order-{order}").as_str()),
            "{line}"
        );
        assert_eq!(span["sayiir.workflow.name"], "fulfil", "{line}");
        assert!(span["sayiir.task.name"].is_string(), "{line}");
        assert!(span["sayiir.task.attempt"].is_u64(), "{line}");
        assert!(span["sayiir.worker.id"].is_string(), "{line}");
    }
    // Two orders of three tasks, one charge retried once after a warning.
    assert_eq!(task_lines, 2 * 3 + 2, "{stdout}");
    let retried = lines
        .iter()
        .find(|l| l["message"] == "task attempt failed; retrying")
        .unwrap_or_else(|| panic!("the engine logs the retry: {stdout}"));
    assert!(
        retried["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["sayiir.instance.id"].is_string()),
        "{retried}"
    );
    let done: Vec<&str> = lines
        .iter()
        .filter(|l| l["message"] == "order fulfilled")
        .map(|l| l["tracking"].as_str().unwrap())
        .collect();
    assert_eq!(done, ["track-o-1", "track-o-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expense_approval_uses_signals_context_sleep_and_retries() {
    use expense_approval::ExpenseError;
    let dir = tempfile::tempdir().unwrap();
    let results = expense_approval::run(&dir.path().join("expense.db"))
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let paid = results[0].as_ref().unwrap();
    assert!(
        paid.starts_with("entry-exp-1/") && paid.ends_with("from research-q4, approved by grace"),
        "{paid}"
    );
    assert_eq!(results[1], Err(ExpenseError::Rejected("linus".into())));
    assert_eq!(results[2], Err(ExpenseError::OverLimit(100_000)));
}

/// The example `name`, built by cargo (a no-op when it is up to date; `cargo test --test
/// examples` alone does not build examples, and a binary left by an older build would run
/// other code), found next to this test binary: `target/<profile>/deps/examples-…` →
/// `target/<profile>/examples/name`.
/// The metrics service, as a process of its own (it installs the process's global recorder):
/// its scrape of its own `/metrics` shows the orders it ran.
#[test]
fn metrics_example_serves_what_it_ran() {
    let exe = example_binary("metrics");
    let out = std::process::Command::new(exe)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seconds",
            "1",
            "--rate",
            "10",
            "--scrape",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = |series: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{stdout}"))
    };
    let started = value(r#"sayiir_instances_started_total{workflow="checkout"}"#);
    assert!(started >= 5.0, "{stdout}");
    assert_eq!(
        value(r#"sayiir_instances_completed_total{workflow="checkout"}"#),
        started
    );
    assert_eq!(
        value(r#"sayiir_tasks_succeeded_total{workflow="checkout",task="reserve"}"#),
        started
    );
    assert!(
        stdout.contains("sayiir_task_attempt_duration_seconds_bucket{"),
        "{stdout}"
    );
}

fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo.args(["build", "-q", "-p", "sayiir-examples", "--example", name]);
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo.status().unwrap();
    assert!(status.success(), "cargo build --example {name} failed");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} not found", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_workers_share_one_postgres_database_and_take_over() {
    let Some(db) = sayiir_store::pg_harness::fresh_database("distributed").await else {
        return; // the harness printed a SKIPPED banner
    };
    let exe = example_binary("distributed");
    let count = 24;
    let report = distributed::demo(db.url(), &exe, 3, count).await.unwrap();

    assert_eq!(report.workers.len(), 3);
    assert_eq!(report.results.len(), count as usize);
    for (i, (n, b)) in report.results.iter().enumerate() {
        assert_eq!(*n as usize, i + 1);
        assert!(b.id.ends_with(&format!("-{n:03}")), "{b:?}");
        let prices: Vec<u64> = distributed::SUPPLIERS
            .iter()
            .map(|s| distributed::price(*n, s))
            .collect();
        assert_eq!(b.cents, *prices.iter().min().unwrap(), "{b:?}");
        assert_eq!((b.supplier.clone(), b.cents), distributed::best_offer(*n));
        assert_eq!(b.quoted_by.len(), distributed::SUPPLIERS.len());
        for pid in b.quoted_by.iter().chain([&b.booked_by]) {
            assert!(
                report.workers.contains(pid),
                "{b:?} ran outside the workers"
            );
        }
    }
    let finishers: HashSet<u32> = report.results.iter().map(|(_, b)| b.booked_by).collect();
    assert!(
        finishers.len() > 1,
        "one process did all the work: {finishers:?}"
    );

    // The worker killed in the middle of a booking: another one finished that instance, keeping
    // the quotes the dead one had committed.
    let killed = report.killed.expect("a worker was killed mid-way");
    assert!(!report.resumed_after_quotes.is_empty(), "{report:?}");
    for id in &report.resumed_after_quotes {
        let (_, b) = report.results.iter().find(|(_, b)| &b.id == id).unwrap();
        assert!(
            b.quoted_by.contains(&killed) && b.booked_by != killed,
            "{b:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_example_queries_postgres_through_the_pool_its_tasks_are_given() {
    let Some(db) = sayiir_store::pg_harness::fresh_database("resources").await else {
        return; // the harness printed a SKIPPED banner
    };
    let signups = resources::signups();
    let report = resources::run(db.url(), &signups).await.unwrap();
    assert_eq!(report.opened.len(), signups.len());
    for (account, signup) in report.opened.iter().zip(&signups) {
        assert_eq!(
            (account.email.as_str(), account.plan.as_str()),
            (signup.email.as_str(), signup.plan.as_str())
        );
    }
    // Each workflow's output is the row its task inserted, read back by its other task.
    assert_eq!(report.rows, report.opened);
    let ids: HashSet<i64> = report.rows.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), signups.len());
}

/// The task docs/resources.md shows is the example's, word for word.
#[test]
fn the_resources_doc_shows_the_example_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/resources.md"))
        .unwrap();
    let example = include_str!("../resources.rs");
    let start = doc
        .find("```rust,ignore\n// examples/resources.rs")
        .expect("docs/resources.md shows examples/resources.rs");
    let block = &doc[start..];
    let body = &block[block.find('\n').unwrap() + 1..block.find("\n```\n").unwrap()];
    let mut shown = 0;
    for part in body.split("\n// ...\n") {
        let part = part.trim_start_matches("// examples/resources.rs\n");
        assert!(
            example.contains(part),
            "not in examples/resources.rs:\n{part}"
        );
        shown += 1;
    }
    assert!(shown >= 2, "{body}");
}

/// The build error docs/resources.md shows is the one an engine without the pool gives.
#[test]
fn the_resources_doc_shows_the_build_error() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/resources.md"))
        .unwrap();
    let start = doc
        .find("  ```text\n  the engine cannot be built:")
        .expect("docs/resources.md shows the build error");
    let block = &doc[start + "  ```text\n".len()..];
    let shown: Vec<&str> = block[..block.find("\n  ```").unwrap()]
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap())
        .collect();
    let err = sayiir::Engine::builder(sayiir::MemoryStore::new())
        .register::<resources::open_account>()
        .build()
        .expect_err("the pool is missing");
    // Both tasks take the pool; the doc shows the first.
    let got = err.to_string();
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got.len(), 3, "{err}");
    assert_eq!(shown, got[..2]);
}
