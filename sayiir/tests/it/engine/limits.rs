//! The payload limit (`WorkerConfig::max_payload`): a value over it is refused where it is
//! made, with a typed error at the call (start, signal) or a visible block (a task's return
//! value, a state), and nothing of it is written.

use std::time::Duration;

use sayiir::store::{BlockKind, SqliteStore};
use sayiir::{DEFAULT_MAX_PAYLOAD, Engine, EngineError, InstanceStatus, WorkerConfig};

/// Returns `n` bytes.
#[sayiir::task]
async fn blob(n: u32) -> Vec<u8> {
    vec![7; n as usize]
}

#[sayiir::workflow]
async fn sized(bytes: Vec<u8>) -> usize {
    bytes.len()
}

/// Gets `n` bytes from a task, keeps them across a signal, returns their length.
#[sayiir::workflow]
async fn fetch_then_wait(n: u32) -> usize {
    let got = blob(n).await;
    let _go: u8 = sayiir::signal::<u8>("go").await;
    got.len()
}

/// Builds `n` bytes in the workflow body and keeps them across a task call.
#[sayiir::workflow]
async fn grows(n: u32) -> usize {
    let big = vec![1u8; n as usize];
    let small = blob(1).await;
    big.len() + small.len()
}

#[sayiir::workflow]
async fn waits(n: u32) -> Vec<u8> {
    let note: Vec<u8> = sayiir::signal::<Vec<u8>>("note").await;
    let mut note = note;
    note.push(n as u8);
    note
}

const LIMIT: usize = 4096;

fn engine(db: &std::path::Path) -> Engine {
    Engine::builder(SqliteStore::open(db).unwrap())
        .register::<sized>()
        .register::<fetch_then_wait>()
        .register::<grows>()
        .register::<waits>()
        .worker_config(WorkerConfig::default().max_payload(LIMIT))
        .build()
        .unwrap()
}

fn too_large(r: Result<impl std::fmt::Debug, EngineError>, what: &str) {
    match r {
        Err(EngineError::TooLarge {
            what: w,
            size,
            limit,
        }) => {
            assert_eq!(w, what);
            assert!(size > limit, "{size} > {limit}");
            assert_eq!(limit, LIMIT);
        }
        other => panic!("expected TooLarge for the {what}: {other:?}"),
    }
}

#[tokio::test]
async fn an_input_over_the_limit_is_refused_at_start_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("db.sqlite"));
    too_large(
        engine.start::<sized>("big", vec![0; LIMIT + 1]).await,
        "input",
    );
    assert!(matches!(
        engine.status("big").await,
        Err(EngineError::NotFound { .. })
    ));
    too_large(
        engine
            .start_by_name("sized", "big", &vec![0u8; LIMIT + 1])
            .await,
        "input",
    );
    assert!(matches!(
        engine.status("big").await,
        Err(EngineError::NotFound { .. })
    ));
    let error = engine
        .start::<sized>("big", vec![0; LIMIT + 1])
        .await
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("max_payload") && error.contains("nothing was written"),
        "{error}"
    );
    // Under the limit it runs.
    let worker = engine.spawn_worker();
    let h = engine.start::<sized>("fits", vec![0; 1000]).await.unwrap();
    assert_eq!(h.result().await.unwrap(), 1000);
    worker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_default_limit_refuses_an_input_of_17_mib() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(SqliteStore::open(dir.path().join("db.sqlite")).unwrap())
        .register::<sized>()
        .build()
        .unwrap();
    match engine.start::<sized>("big", vec![0; 17 << 20]).await {
        Err(e @ EngineError::TooLarge { .. }) => {
            println!("{e}");
            let EngineError::TooLarge { what, size, limit } = e else {
                unreachable!()
            };
            assert_eq!((what, limit), ("input", DEFAULT_MAX_PAYLOAD));
            assert!(size > 17 << 20);
        }
        other => panic!("{:?}", other.map(drop)),
    }
    assert!(engine.status("big").await.is_err());
}

#[tokio::test]
async fn a_signal_payload_over_the_limit_is_refused_and_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("db.sqlite"));
    engine.start::<waits>("w", 1).await.unwrap();
    too_large(
        engine.signal("w", "note", &vec![0u8; LIMIT + 1]).await,
        "signal payload",
    );
    let id = sayiir::InstanceId::new("w").unwrap();
    assert!(engine.store().signals(&id).await.unwrap().is_empty());
    engine.signal("w", "note", &vec![5u8; 10]).await.unwrap();
    let worker = engine.spawn_worker();
    let out = tokio::time::timeout(crate::common::PATIENCE, engine.result::<waits>("w"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.len(), 11);
    worker.shutdown().await.unwrap();
}

async fn blocked_too_large(engine: &Engine, id: &str) -> (String, u64) {
    let deadline = tokio::time::Instant::now() + crate::common::PATIENCE;
    loop {
        let info = engine.status(id).await.unwrap();
        if let InstanceStatus::Blocked { kind, reason } = info.status {
            assert_eq!(kind, BlockKind::PayloadTooLarge, "{reason}");
            return (reason, info.seq);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never blocked: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_task_result_or_a_state_over_the_limit_blocks_its_instance_at_the_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("db.sqlite"));
    let worker = engine.spawn_worker();
    engine
        .start::<fetch_then_wait>("task", LIMIT as u32 + 1)
        .await
        .unwrap();
    engine
        .start::<grows>("state", LIMIT as u32 + 1)
        .await
        .unwrap();
    let ok = engine.start::<fetch_then_wait>("ok", 100).await.unwrap();

    let (reason, seq) = blocked_too_large(&engine, "task").await;
    assert!(
        reason.contains("return value of task `blob`") && reason.contains("max_payload"),
        "{reason}"
    );
    assert_eq!(seq, 1, "only the start transition was committed");
    let (reason, seq) = blocked_too_large(&engine, "state").await;
    assert!(reason.contains("the next state"), "{reason}");
    assert_eq!(seq, 0, "nothing was committed");
    let history = engine.history("state").await.unwrap();
    assert_eq!(history.len(), 1);
    match engine.result::<grows>("state").await {
        Err(EngineError::Blocked { kind, .. }) => assert_eq!(kind, BlockKind::PayloadTooLarge),
        other => panic!("{other:?}"),
    }
    // The others run.
    engine.signal("ok", "go", &1u8).await.unwrap();
    assert_eq!(ok.result().await.unwrap(), 100);
    worker.shutdown().await.unwrap();
}
