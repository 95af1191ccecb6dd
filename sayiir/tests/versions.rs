//! An instance started under one definition is never resumed by another: it is reported, blocked
//! and left untouched until a binary that knows its definition runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sayiir::store::{BlockKind, DefinitionHash, InstanceId, Store};
use sayiir::{Engine, EngineError, InstanceStatus, SqliteStore, Workflow};
use std::time::Duration;

#[sayiir::task]
async fn step_a(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn step_b(n: u64) -> u64 {
    n * 10
}

/// Version 1 of `pipeline`.
#[sayiir::workflow(name = "pipeline")]
async fn pipeline_v1(n: u64) -> u64 {
    let a = step_a(n).await;
    step_b(a).await
}

/// Version 2 of `pipeline`: one more step, a bumped version.
#[sayiir::workflow(name = "pipeline", version = 2)]
async fn pipeline_v2(n: u64) -> u64 {
    let a = step_a(n).await;
    let b = step_b(a).await;
    step_a(b).await
}

fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_definition_blocks_the_instance_and_touches_nothing() {
    assert_ne!(pipeline_v1::DEFINITION_HASH, pipeline_v2::DEFINITION_HASH);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("versions.db");

    // Started by a binary with v1 (no worker runs it here).
    {
        let engine = Engine::builder(open(&db))
            .register::<pipeline_v1>()
            .build()
            .unwrap();
        engine.start::<pipeline_v1>("old", 4).await.unwrap();
    }
    let id = InstanceId::new("old").unwrap();
    let before = open(&db).load(&id).await.unwrap();
    let history_before = open(&db).history(&id, None, 0).await.unwrap();

    // Reopened by a binary that only has v2.
    let engine = Engine::builder(open(&db))
        .register::<pipeline_v2>()
        .build()
        .unwrap();
    let found = engine.check_versions().await.unwrap();
    assert_eq!(found.len(), 1);
    let m = &found[0];
    assert_eq!(m.instance.as_str(), "old");
    assert_eq!(m.stored.hash, DefinitionHash(pipeline_v1::DEFINITION_HASH));
    assert_eq!(m.stored.version, 1);
    assert_eq!(m.known.len(), 1);
    assert_eq!(
        m.known[0].hash,
        DefinitionHash(pipeline_v2::DEFINITION_HASH)
    );
    assert_eq!(m.known[0].version, 2);
    let text = m.to_string();
    assert!(
        text.contains("`old`")
            && text.contains(&m.stored.hash.short())
            && text.contains(&m.known[0].hash.short()),
        "{text}"
    );

    // A worker does not resume it, and reports it.
    let worker = engine.spawn_worker();
    let fresh = engine.start::<pipeline_v2>("new", 4).await.unwrap();
    assert_eq!(fresh.result().await.unwrap(), 51, "new starts run on v2");
    match engine.result::<pipeline_v2>("old").await {
        Err(EngineError::VersionMismatch(e)) => assert_eq!(&e, m),
        r => panic!("expected VersionMismatch, got {r:?}"),
    }
    match engine.status("old").await.unwrap().status {
        InstanceStatus::Blocked {
            kind: BlockKind::VersionMismatch,
            reason,
        } => {
            assert!(reason.contains("`old`"), "{reason}")
        }
        s => panic!("expected blocked, got {s:?}"),
    }
    assert_eq!(engine.metrics().instances_blocked(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.shutdown().await.unwrap();
    drop(engine);

    // Its data is untouched: same state, same sequence number, same history.
    let after = open(&db).load(&id).await.unwrap();
    assert_eq!(after.state, before.state);
    assert_eq!(after.seq, before.seq);
    assert_eq!(after.hash, before.hash);
    assert_eq!(
        open(&db).history(&id, None, 0).await.unwrap(),
        history_before
    );
    assert_eq!(
        after.blocked.map(|b| b.kind),
        Some(BlockKind::VersionMismatch)
    );

    // A binary with both versions compiled in runs it to completion on v1 (drain).
    let engine = Engine::builder(open(&db))
        .register::<pipeline_v1>()
        .register::<pipeline_v2>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(engine.result::<pipeline_v1>("old").await.unwrap(), 50);
    assert_eq!(
        engine.status("old").await.unwrap().status,
        InstanceStatus::Completed
    );
    worker.shutdown().await.unwrap();
}

#[test]
fn definition_hash_is_exposed_as_a_const() {
    const H: [u8; 32] = pipeline_v1::DEFINITION_HASH;
    assert_eq!(H, <pipeline_v1 as Workflow>::DEFINITION_HASH);
    assert_eq!(<pipeline_v2 as Workflow>::VERSION, 2);
    assert_eq!(<pipeline_v2 as Workflow>::NAME, "pipeline");
}
