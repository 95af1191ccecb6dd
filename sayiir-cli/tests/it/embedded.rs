//! The commands in the application's binary (the `embedded` example), with its workflows
//! registered.

use sayiir::Engine;
use tempfile::TempDir;

use crate::common::{embedded, ids, sqlite_store};
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
