//! Which version a schedule's runs start on: the newest registered one whose inputs have the
//! structure the schedule's input was made for. A worker that runs only versions with other
//! inputs leaves the ticks waiting (with a note) instead of dropping them.

use std::sync::Arc;
use std::time::Duration;

use sayiir::schedule::ScheduleSpec;
use sayiir::store::Store;
use sayiir::testing::TestEngine;

use super::{at, stamp};

#[sayiir::workflow(name = "digest")]
async fn digest_v1(team: String) -> String {
    stamp(format!("v1 {team}")).await
}

#[sayiir::workflow(name = "digest", version = 2)]
async fn digest_v2(team: String) -> String {
    stamp(format!("v2 {team}")).await
}

/// Another input: a schedule made for `String` cannot start it.
#[sayiir::workflow(name = "digest", version = 3)]
async fn digest_v3(count: u64) -> String {
    stamp(format!("v3 {count}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_start_on_the_newest_version_that_takes_the_input_and_otherwise_wait() {
    let store: Arc<dyn Store> = Arc::new(sayiir::MemoryStore::new());
    let min = |m: u64| Duration::from_secs(60 * m);

    let v1 = TestEngine::builder_shared(store.clone())
        .start_at(at("2026-01-01T00:30:00Z"))
        .register::<digest_v1>()
        .build()
        .unwrap();
    let spec = ScheduleSpec::new("0 * * * *", "ops".to_owned());
    v1.schedule::<digest_v1>("digest", spec).await.unwrap();
    v1.advance(min(60)).await;
    let first = v1.status("digest@2026-01-01T01:00:00Z").await.unwrap();
    assert_eq!(first.version, 1);
    v1.shutdown().await.unwrap();

    // Only version 3 (another input) in this binary: the 02:00 tick waits.
    let v3 = TestEngine::builder_shared(store.clone())
        .start_at(at("2026-01-01T01:59:00Z"))
        .register::<digest_v3>()
        .build()
        .unwrap();
    v3.advance(min(3)).await;
    assert!(
        v3.status("digest@2026-01-01T02:00:00Z").await.is_err(),
        "not started"
    );
    let info = v3.describe_schedule("digest").await.unwrap();
    assert_eq!(
        info.note.as_deref(),
        Some(
            "no registered version of workflow `digest` takes this schedule's input; its ticks wait"
        )
    );
    assert_eq!(
        super::utc(sayiir::schedule::to_system(info.next_tick.unwrap())),
        "2026-01-01T02:00:00Z",
        "the tick is kept"
    );
    v3.shutdown().await.unwrap();

    // Versions 2 and 3: the waiting tick starts (late: the latest missed tick), on version 2.
    let v23 = TestEngine::builder_shared(store)
        .start_at(at("2026-01-01T02:30:00Z"))
        .register::<digest_v2>()
        .register::<digest_v3>()
        .build()
        .unwrap();
    v23.settle().await;
    let run = v23.status("digest@2026-01-01T02:00:00Z").await.unwrap();
    assert_eq!(run.version, 2);
    assert_eq!(
        v23.try_result::<digest_v2>("digest@2026-01-01T02:00:00Z")
            .await
            .unwrap()
            .as_deref(),
        Some("report v2 ops")
    );
    v23.shutdown().await.unwrap();
}
