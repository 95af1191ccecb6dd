//! The public API's shape: every future it returns is `Send` (spawnable on tokio's
//! multi-thread runtime), the engine's types print something useful without instance data,
//! and a worker that panics is reported as such.

use std::sync::Arc;
use std::time::Duration;

use sayiir::store::{PgOptions, PgStore, Store, StoreError};
use sayiir::testing::TestEngine;
use sayiir::{
    Engine, EngineError, ListQuery, MemoryStore, RestartFilter, SqliteStore, WorkerConfig,
};

use super::hooked::{Hooked, Hooks};
use super::{Order, checkout};

fn assert_send<T: Send>(_: &T) {}

fn order() -> Order {
    Order { id: 1, total: 2 }
}

/// Every method of the `Store` trait returns a `Send` future, whatever the backend.
fn store_futures<S: Store>(s: &S) {
    use sayiir::store::*;
    let id = InstanceId::new("x").unwrap();
    let owner = WorkerId("w".into());
    assert_send(&s.load(&id));
    assert_send(&s.claim(ClaimRequest {
        owner: owner.clone(),
        now: Timestamp(0),
        lease_until: Timestamp(1),
        limit: 1,
        known: Vec::new(),
    }));
    assert_send(&s.renew(&owner, &[], Timestamp(1)));
    assert_send(&s.release(&owner, &[]));
    assert_send(&s.commit_batch(Vec::new()));
    assert_send(&s.create_batch(Vec::new()));
    assert_send(&s.next_due(&[]));
    assert_send(&s.find_version_mismatches(&[], &[]));
    assert_send(&s.set_blocked(&id, None));
    assert_send(&s.list(&ListQuery::default()));
    assert_send(&s.history(&id, None, None));
    assert_send(&s.register_worker(&owner));
    assert_send(&s.unregister_worker(&owner));
    assert_send(&s.signals(&id));
    assert_send(&s.load_input(&id));
    assert_send(&s.save_definitions(Vec::new()));
    assert_send(&s.definitions(None));
    assert_send(&s.version_counts());
    assert_send(&s.heartbeat(sayiir::store::WorkerRecord {
        id: owner.clone(),
        started_at: Timestamp(0),
        seen_at: Timestamp(0),
        alive_until: Timestamp(1),
        runs: Vec::new(),
    }));
    assert_send(&s.workers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_future_is_send() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<checkout>()
        .build()
        .unwrap();
    let handle = engine.start::<checkout>("send", order()).await.unwrap();

    assert_send(&engine.start::<checkout>("x", order()));
    assert_send(&engine.handle::<checkout>("x"));
    assert_send(&engine.status("x"));
    assert_send(&engine.list(&ListQuery::default()));
    assert_send(&engine.history("x"));
    assert_send(&engine.try_result::<checkout>("x"));
    assert_send(&engine.result::<checkout>("x"));
    assert_send(&engine.check_versions());
    assert_send(&engine.signal("x", "go", &1u32));
    assert_send(&engine.cancel("x", "why"));
    assert_send(&engine.pause("x"));
    assert_send(&engine.resume("x"));
    assert_send(&engine.start_by_name("checkout", "x", &order()));
    assert_send(&engine.version_stats());
    assert_send(&engine.restart("x", "why"));
    assert_send(&engine.restart_with::<checkout>("x", order(), "why"));
    assert_send(&engine.restart_all(&RestartFilter::workflow("checkout"), "why"));
    assert_send(&handle.result());
    assert_send(&handle.status());
    assert_send(&engine.workers());
    // With an `InstanceId` instead of a `&str`.
    let id = sayiir::InstanceId::new("x").unwrap();
    assert_send(&engine.status(&id));
    assert_send(&engine.result::<checkout>(id.clone()));
    assert_send(&engine.signal(&id, "go", &1u32));

    let worker = engine.spawn_worker();
    let stopping = worker.shutdown();
    assert_send(&stopping);
    stopping.await.unwrap();
    let joining = engine.spawn_worker().join();
    assert_send(&joining);
    drop(joining);

    let test = TestEngine::builder()
        .register::<checkout>()
        .build()
        .unwrap();
    assert_send(&test.advance(Duration::ZERO));
    assert_send(&test.settle());
    assert_send(&test.run_until_done::<checkout>("x"));
    let stopping = test.shutdown();
    assert_send(&stopping);
    stopping.await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("send.db")).unwrap();
    store_futures(&MemoryStore::new());
    store_futures(&sqlite);
    assert_send(&sqlite.set_max_page_count_for_tests(1_000));
    assert_send(&sqlite.claim_plan_for_tests(Vec::new()));
    // Not connected: the futures are only built.
    assert_send(&PgStore::connect("postgres://127.0.0.1:1/none"));
    assert_send(&PgStore::connect_with(
        "postgres://127.0.0.1:1/none",
        PgOptions::default(),
    ));
    let _: fn(&PgStore) = store_futures::<PgStore>;
    // Starting and signalling in the application's PostgreSQL transaction.
    fn in_transaction(engine: &Engine, conn: &mut sqlx::PgConnection) {
        assert_send(&engine.start_in::<checkout>(&mut *conn, "x", order()));
        assert_send(&engine.signal_in(&mut *conn, "x", "go", &1u32));
    }
    let _: fn(&Engine, &mut sqlx::PgConnection) = in_transaction;
}

/// Every method that takes an instance id takes a `&str`, a `String`, an `&InstanceId` or an
/// `InstanceId`; a string is validated (one error, `EngineError::InvalidId`), an `InstanceId`
/// is valid already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_strings_or_instance_ids() {
    use sayiir::{InstanceId, InstanceStatus};
    let engine = Engine::builder(MemoryStore::new())
        .register::<checkout>()
        .build()
        .unwrap();
    let id = InstanceId::new("by-id").unwrap();
    let handle = engine.start::<checkout>(&id, order()).await.unwrap();
    assert_eq!(handle.id(), &id);
    engine
        .start::<checkout>(String::from("by-string"), order())
        .await
        .unwrap();
    engine.start::<checkout>(id.clone(), order()).await.unwrap();
    engine.pause("by-id").await.unwrap();
    assert!(matches!(
        engine.status(&id).await.unwrap().status,
        InstanceStatus::Blocked {
            kind: sayiir::store::BlockKind::Paused,
            ..
        }
    ));
    engine.resume(id.clone()).await.unwrap();
    engine.cancel(&id, "done with it").await.unwrap();
    engine
        .cancel(&String::from("by-string"), "too")
        .await
        .unwrap();
    assert!(matches!(
        engine.result::<checkout>(id.clone()).await,
        Err(EngineError::Cancelled { .. })
    ));
    assert!(matches!(
        engine.try_result::<checkout>(&id).await,
        Err(EngineError::Cancelled { .. })
    ));
    assert_eq!(engine.handle::<checkout>(&id).await.unwrap().id(), &id);
    assert!(!engine.history(&id).await.unwrap().is_empty());
    assert!(engine.restart(&id, "again").await.is_ok());
    for bad in ["", " padded", "tab\there"] {
        assert!(
            matches!(engine.status(bad).await, Err(EngineError::InvalidId(_))),
            "{bad:?}"
        );
        assert!(matches!(
            engine.start::<checkout>(bad.to_owned(), order()).await,
            Err(EngineError::InvalidId(_))
        ));
    }
}

#[tokio::test]
async fn engine_types_print_their_setup_and_no_instance_data() {
    let builder = Engine::builder(MemoryStore::new())
        .register::<checkout>()
        .worker_config(WorkerConfig::default().lease(Duration::from_secs(7)));
    let text = format!("{builder:?}");
    assert!(
        text.starts_with("EngineBuilder")
            && text.contains("memory")
            && text.contains("checkout v1")
            && text.contains("7s"),
        "{text}"
    );
    let engine = builder.build().unwrap();
    engine
        .start::<checkout>(
            "secret-order",
            Order {
                id: 4242,
                total: 987_654,
            },
        )
        .await
        .unwrap();
    let text = format!("{engine:?}");
    assert!(
        text.starts_with("Engine")
            && text.contains("memory")
            && text.contains("checkout v1")
            && text.contains("7s"),
        "{text}"
    );
    assert!(
        !text.contains("secret-order") && !text.contains("987654"),
        "{text}"
    );

    let worker = engine.spawn_worker();
    let text = format!("{worker:?}");
    assert!(
        text.contains("WorkerHandle") && text.contains(&worker.id().0),
        "{text}"
    );
    worker.shutdown().await.unwrap();

    let builder = TestEngine::builder().register::<checkout>();
    let text = format!("{builder:?}");
    assert!(
        text.starts_with("TestEngineBuilder") && text.contains("checkout v1"),
        "{text}"
    );
    let test = builder.build().unwrap();
    let text = format!("{test:?}");
    assert!(
        text.starts_with("TestEngine")
            && text.contains("checkout v1")
            && text.contains("worker: Some("),
        "{text}"
    );
    test.shutdown().await.unwrap();
}

/// Panics in `claim`, as a store with a bug would.
struct PanicInClaim;

impl Hooks for PanicInClaim {
    fn before_claim(&self) {
        panic!("injected: the store panicked in claim");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_panics_is_a_typed_error() {
    let store = Hooked {
        inner: Arc::new(MemoryStore::new()) as Arc<dyn Store>,
        hooks: PanicInClaim,
    };
    let engine = Engine::builder(store)
        .register::<checkout>()
        .build()
        .unwrap();
    for stop in ["join", "shutdown"] {
        let worker = engine.spawn_worker();
        let id = worker.id().clone();
        let ended = if stop == "join" {
            tokio::time::timeout(crate::common::PATIENCE, worker.join())
                .await
                .expect("a worker whose claim panics ends")
        } else {
            // Let it panic first, then ask it to stop.
            tokio::time::sleep(Duration::from_millis(100)).await;
            worker.shutdown().await
        };
        match ended {
            Err(EngineError::WorkerCrashed { worker, panic }) => {
                assert_eq!(worker, id, "{stop}");
                assert_eq!(
                    panic.as_deref(),
                    Some("injected: the store panicked in claim"),
                    "{stop}"
                );
            }
            other => panic!("{stop}: expected WorkerCrashed, got {other:?}"),
        }
    }
    let e = EngineError::WorkerCrashed {
        worker: sayiir::store::WorkerId("w-1".into()),
        panic: Some("boom".into()),
    };
    assert_eq!(e.to_string(), "worker `w-1` panicked: boom");
    assert!(!e.is_retryable());
    assert!(!matches!(e, EngineError::Store(StoreError::Backend { .. })));
}
