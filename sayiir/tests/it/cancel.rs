//! Cancellation, pause and resume.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sayiir::store::{BlockKind, Status};
use sayiir::{Engine, EngineError, InstanceStatus, SqliteStore};

static STARTED: AtomicU32 = AtomicU32::new(0);
static DROPPED: AtomicBool = AtomicBool::new(false);

struct DropFlag;
impl Drop for DropFlag {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
    }
}

#[sayiir::task]
async fn forever() -> u32 {
    let _flag = DropFlag;
    STARTED.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    1
}

#[sayiir::task]
async fn step(n: u32) -> u32 {
    n + 1
}

#[sayiir::workflow]
async fn hangs() -> u32 {
    forever().await
}

#[sayiir::workflow]
async fn naps(ms: u64) -> u32 {
    let a = step(0).await;
    sayiir::sleep(Duration::from_millis(ms)).await;
    step(a).await
}

async fn wait_for(engine: &Engine, id: &str, pred: impl Fn(&sayiir::InstanceInfo) -> bool) {
    crate::common::eventually(&format!("{id} to reach the expected state"), || async {
        pred(&engine.status(id).await.unwrap()).then_some(())
    })
    .await;
}

fn engine(dir: &tempfile::TempDir) -> Engine {
    let store = SqliteStore::open(dir.path().join("cancel.db")).unwrap();
    Engine::builder(store)
        .register::<hangs>()
        .register::<naps>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_drops_the_running_task_and_ends_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    engine.start::<hangs>("hang-1", ()).await.unwrap();
    crate::common::eventually("the task to start", || async {
        (STARTED.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    engine.cancel("hang-1", "customer left").await.unwrap();
    let err = engine.result::<hangs>("hang-1").await.unwrap_err();
    assert!(
        matches!(&err, EngineError::Cancelled { reason, .. } if reason == "customer left"),
        "{err}"
    );
    crate::common::eventually("the task's future to be dropped", || async {
        DROPPED.load(Ordering::SeqCst).then_some(())
    })
    .await;
    assert_eq!(
        engine.status("hang-1").await.unwrap().status,
        InstanceStatus::Cancelled
    );
    let err = engine.cancel("hang-1", "again").await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Finished {
                status: Status::Cancelled,
                ..
            }
        ),
        "{err}"
    );
    let err = engine.cancel("nobody", "x").await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "{err}");
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_instance_is_cancelled_without_any_worker() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    engine.start::<naps>("nap-1", 3_600_000).await.unwrap();
    wait_for(&engine, "nap-1", |s| s.seq >= 2).await;
    worker.shutdown().await.unwrap();
    let s = engine.status("nap-1").await.unwrap();
    assert_eq!(s.status, InstanceStatus::Running);
    assert!(s.due_at.is_some(), "parked with a due time");
    engine.cancel("nap-1", "not needed").await.unwrap();
    let err = engine.result::<naps>("nap-1").await.unwrap_err();
    assert!(matches!(err, EngineError::Cancelled { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_instance_makes_no_progress_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let worker = engine.spawn_worker();
    engine.start::<naps>("nap-2", 200).await.unwrap();
    wait_for(&engine, "nap-2", |s| s.seq >= 2).await;
    engine.pause("nap-2").await.unwrap();
    let paused = engine.status("nap-2").await.unwrap();
    assert!(
        matches!(
            paused.status,
            InstanceStatus::Blocked {
                kind: BlockKind::Paused,
                ..
            }
        ),
        "{paused:?}"
    );
    // Well past the sleep: still where it was.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(engine.status("nap-2").await.unwrap().seq, paused.seq);
    assert_eq!(
        engine.try_result::<naps>("nap-2").await.unwrap(),
        None,
        "paused is not done"
    );
    engine.resume("nap-2").await.unwrap();
    assert_eq!(engine.result::<naps>("nap-2").await.unwrap(), 2);
    let err = engine.resume("nap-2").await.unwrap_err();
    assert!(matches!(err, EngineError::Finished { .. }), "{err}");

    engine.start::<naps>("nap-3", 3_600_000).await.unwrap();
    let err = engine.resume("nap-3").await.unwrap_err();
    assert!(matches!(err, EngineError::NotPaused { .. }), "{err}");
    engine.pause("nap-3").await.unwrap();
    engine
        .cancel("nap-3", "paused, then dropped")
        .await
        .unwrap();
    assert_eq!(
        engine.status("nap-3").await.unwrap().status,
        InstanceStatus::Cancelled
    );
    worker.shutdown().await.unwrap();
}
