//! The commands in the application's binary (the `embedded` example), with its workflows
//! registered.

use sayiir::Engine;
use tempfile::TempDir;

use crate::common::{embedded, ids, sayiir, sqlite_store};
use crate::flows;

#[tokio::test]
async fn the_commands_run_in_the_applications_binary() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let listing = embedded(&url, &["list", "--json", "--workflow", "order"]).json();
    assert_eq!(ids(&listing), ["order-1", "order-2", "order-3"]);
    let help = embedded(&url, &["--help"]);
    assert!(help.ok().contains("Exit codes:"), "{help:#?}");
    let unknown = embedded(&url, &["show", "nope"]);
    assert_eq!(unknown.error(3), "error: no instance with id `nope`");
}

#[tokio::test]
async fn a_signal_checked_against_its_rust_type_completes_an_instance() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;

    let wrong = embedded(&url, &["signal", "order-1", "approve", r#"{"by": 5}"#]);
    wrong.error(4);
    let text = embedded(&url, &["signal", "order-1", "approve", r#""ada""#]);
    text.error(4);
    let name = embedded(&url, &["signal", "order-1", "reject", "{}"]);
    assert!(name.error(4).contains("approve"), "{name:#?}");

    let sent = embedded(
        &url,
        &[
            "signal",
            "order-1",
            "approve",
            r#"{"by": "ada", "limit": 1000}"#,
        ],
    );
    assert_eq!(sent.ok(), "sent signal `approve` to `order-1`\n");

    let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    let worker = engine.spawn_worker();
    let result = engine.result::<flows::order>("order-1").await.unwrap();
    assert_eq!(result, Ok("order 1: 100 approved by ada".to_string()));
    worker.shutdown().await.unwrap();
}

/// A call parked by its task, retried from the standalone command line after the fix, runs
/// again in the application's worker and completes; another one failed from the command line
/// lets its error flow into the workflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_calls_retried_or_failed_from_the_command_line_are_carried_out_by_a_worker() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
    let engine = flows::register(Engine::builder(store)).build().unwrap();
    // Parcels of their own: the populated `parcel-1` (parcel 4) stays refused for the other
    // tests of this process.
    let worker = engine.spawn_worker();
    for (id, n) in [("parcel-fixed", 41), ("parcel-lost", 42)] {
        engine.start::<flows::parcel>(id, n).await.unwrap();
        crate::common::eventually(&format!("{id} parked"), || async {
            let shown = sayiir(&url, &["show", id, "--json"]).json();
            (shown["instance"]["block"]["kind"] == "parked").then_some(())
        })
        .await;
    }
    worker.shutdown().await.unwrap();

    flows::CARRIER_TAKES.lock().unwrap().push(41);
    assert_eq!(
        sayiir(&url, &["retry", "parcel-fixed"]).ok(),
        "parcel-fixed  retry requested\n"
    );
    assert_eq!(
        sayiir(&url, &["fail", "parcel-lost"]).ok(),
        "parcel-lost  fail requested\n"
    );
    let worker = engine.spawn_worker();
    let fixed = engine
        .result::<flows::parcel>("parcel-fixed")
        .await
        .unwrap();
    assert_eq!(fixed, Ok(41));
    let lost = engine.result::<flows::parcel>("parcel-lost").await.unwrap();
    assert_eq!(lost, Err("the carrier refused parcel 42".to_string()));
    worker.shutdown().await.unwrap();
    let history = sayiir(&url, &["history", "parcel-fixed"]);
    assert!(history.ok().contains("operator-retry"), "{history:#?}");
    let history = sayiir(&url, &["history", "parcel-lost"]);
    assert!(history.ok().contains("operator-fail"), "{history:#?}");
}
