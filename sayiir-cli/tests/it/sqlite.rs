//! The commands on a SQLite file.

use tempfile::TempDir;

use crate::checks;
use crate::common::sqlite_store;

#[tokio::test]
async fn list_shows_instances_as_a_table_or_json_and_filters_them() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    checks::list(&url);
    checks::pages(&url);
}

#[tokio::test]
async fn show_history_stats_and_versions() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    checks::show_and_history(&url);
    checks::stats_and_versions(&url);
    checks::signal(&url);
}

#[tokio::test]
async fn actions_by_id_and_in_bulk() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    checks::pause_and_resume(&url);
    checks::retry_and_fail(&url);
    checks::bulk_cancel(&url);
}

#[tokio::test]
async fn schedules_list_show_pause_resume_backfill_delete() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    checks::schedules(&url);
}

#[tokio::test]
async fn store_urls_name_files_relative_or_absolute() {
    let dir = TempDir::new().unwrap();
    sqlite_store(dir.path()).await;
    let path = dir.path().join("app.db");
    for url in [
        format!("sqlite:{}", path.display()),
        format!("sqlite://{}", path.display()),
    ] {
        let listing = crate::common::sayiir(&url, &["list", "--json"]).json();
        assert_eq!(crate::common::ids(&listing).len(), 8, "{url}");
    }
    let mut relative = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sayiir"));
    relative
        .current_dir(dir.path())
        .args(["--store", "sqlite://app.db", "list", "--json"]);
    let listing = crate::common::run(relative).json();
    assert_eq!(crate::common::ids(&listing).len(), 8);
}

/// `limits`: the gates of concurrency keys, with their slots in use and their waiters, and
/// the rate limits with the starts of their burst in use and those reserved ahead.
#[tokio::test]
async fn limits_show_usage_and_waiters() {
    use sayiir::store::{RateRequest, Store, Timestamp};
    use sayiir::{Engine, StartOptions};
    use std::num::{NonZeroU32, NonZeroU64};
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("limits.db");
    let url = format!("sqlite:{}", path.display());
    {
        let store = sayiir::SqliteStore::open(&path).unwrap();
        drop(store);
        let empty = crate::common::sayiir(&url, &["limits"]);
        assert_eq!(empty.ok(), "no concurrency or rate limits used\n");
        let store = sayiir::SqliteStore::open(&path).unwrap();
        // Three starts of a one-a-minute limit reserved now: one in the burst, two ahead for
        // the next minutes.
        let minute = NonZeroU64::new(60_000_000).unwrap();
        for _ in 0..3 {
            let request = RateRequest::new("task:mail", minute, NonZeroU32::MIN, Timestamp::now());
            store.reserve_start(request).await.unwrap();
        }
        let engine = crate::flows::register(Engine::builder(store))
            .build()
            .unwrap();
        for n in 1..=3 {
            let options = StartOptions::new().concurrency_key("cust-7").key_limit(1);
            engine
                .start_with::<crate::flows::nap>(format!("nap-{n}"), n, options)
                .await
                .unwrap();
        }
    }
    let limits = crate::common::sayiir(&url, &["limits", "--json"]).json();
    assert_eq!(
        limits,
        serde_json::json!({
            "concurrency": [{"key": "key:cust-7", "limit": 1, "in_use": 1, "waiting": 2}],
            "rates": [{"key": "task:mail", "interval_us": 60_000_000, "burst": 1,
                       "in_use": 1, "waiting": 2}],
        })
    );
    let text = crate::common::sayiir(&url, &["limits"]);
    let text = text.ok();
    assert!(text.starts_with("LIMIT"), "{text}");
    assert!(text.contains("key:cust-7"), "{text}");
    let rates = &text[text.find("RATE LIMIT").expect(text)..];
    let row: Vec<&str> = rates.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["task:mail", "1/m", "1", "1", "2"], "{text}");
}

#[tokio::test]
async fn namespace_option_scopes_every_command() {
    let dir = TempDir::new().unwrap();
    let url = sqlite_store(dir.path()).await;
    {
        let store = sayiir::SqliteStore::open(dir.path().join("app.db")).unwrap();
        let engine = crate::flows::register(sayiir::Engine::builder(store))
            .namespace("tenant-1")
            .build()
            .unwrap();
        engine
            .start::<crate::flows::quick>("tenant-quick", 5)
            .await
            .unwrap();
    }
    let ids = |run: crate::common::Run| crate::common::ids(&run.json()).len();
    assert_eq!(ids(crate::common::sayiir(&url, &["list", "--json"])), 8);
    let scoped = crate::common::sayiir(&url, &["--namespace", "tenant-1", "list", "--json"]);
    let listing = scoped.json();
    assert_eq!(crate::common::ids(&listing), ["tenant-quick"]);
    // The environment variable, and an instance of another namespace is not found.
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sayiir"));
    command
        .env("SAYIIR_STORE", &url)
        .env("SAYIIR_NAMESPACE", "tenant-1")
        .args(["show", "quick-1"]);
    let line = crate::common::run(command).error(3).to_owned();
    assert!(line.contains("quick-1"), "{line}");
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_sayiir"));
    command
        .env("SAYIIR_STORE", &url)
        .env("SAYIIR_NAMESPACE", "tenant-1")
        .args(["list", "--json"]);
    assert_eq!(ids(crate::common::run(command)), 1);
    // A name that is not a namespace is a usage error.
    let bad = crate::common::sayiir(&url, &["--namespace", "Tenant", "list"]);
    assert!(bad.error(2).contains("namespace"), "{bad:?}");
}
