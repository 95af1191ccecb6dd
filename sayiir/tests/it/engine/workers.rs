//! Who runs what: a workflow must be registered to be started; `start_only` starts work that
//! other processes run; instances no live worker runs show it in `status` and `list`.

use std::sync::Arc;
use std::time::Duration;

use sayiir::store::{PgStore, Store};
use sayiir::{Engine, EngineError, InstanceStatus, ListQuery, MemoryStore};
use sayiir_store::pg_harness;

#[sayiir::task]
async fn shout(name: String) -> String {
    name.to_uppercase()
}

#[sayiir::workflow]
async fn greet(name: String) -> String {
    let loud = shout(name).await;
    format!("hello {loud}")
}

#[tokio::test]
async fn starting_a_workflow_that_is_not_registered_is_refused() {
    let engine = Engine::builder(MemoryStore::new()).build().unwrap();
    match engine.start::<greet>("g", "ann".into()).await {
        Err(EngineError::NotRegistered { workflow, .. }) => assert_eq!(workflow, "greet"),
        other => panic!("{:?}", other.map(drop)),
    }
    assert!(matches!(
        engine.status("g").await,
        Err(EngineError::NotFound { .. })
    ));
}

async fn wait_until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + crate::common::PATIENCE;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A client engine (`start_only`) and a worker engine on one store, as two processes would be.
async fn client_and_workers(store: Arc<dyn Store>, second: Arc<dyn Store>) {
    let client = Engine::builder_shared(store)
        .start_only::<greet>()
        .build()
        .unwrap();
    // The client may run a worker of its own (for other workflows): it never runs `greet`.
    let client_worker = client.spawn_worker();
    client.start::<greet>("g1", "ann".into()).await.unwrap();
    let info = client.status("g1").await.unwrap();
    assert_eq!(info.status, InstanceStatus::Running);
    wait_until("the client's worker is recorded", async || {
        client.workers().await.unwrap().iter().any(|w| w.alive)
    })
    .await;
    let info = client.status("g1").await.unwrap();
    assert!(info.no_live_worker, "nobody runs greet yet: {info:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        client.status("g1").await.unwrap().seq,
        0,
        "the client's worker did not run it"
    );
    let listed = client.list(&ListQuery::default()).await.unwrap();
    assert!(listed.instances.iter().all(|i| i.no_live_worker));

    let runner = Engine::builder_shared(second)
        .register::<greet>()
        .build()
        .unwrap();
    let worker = runner.spawn_worker();
    assert_eq!(
        tokio::time::timeout(crate::common::PATIENCE, client.result::<greet>("g1"))
            .await
            .unwrap()
            .unwrap(),
        "hello ANN"
    );
    let workers = client.workers().await.unwrap();
    let running = workers
        .iter()
        .find(|w| w.id == *worker.id())
        .expect("the worker is recorded");
    assert!(running.alive);
    assert_eq!(running.runs.len(), 1);
    assert_eq!(running.runs[0].workflow, "greet");
    let client_record = workers
        .iter()
        .find(|w| w.id == *client_worker.id())
        .unwrap();
    assert!(client_record.runs.is_empty(), "start_only is not run here");

    // Once the worker stopped, new instances show that no live worker runs them.
    let worker_id = worker.id().clone();
    worker.shutdown().await.unwrap();
    let stopped = client.workers().await.unwrap();
    assert!(!stopped.iter().find(|w| w.id == worker_id).unwrap().alive);
    client.start::<greet>("g2", "bob".into()).await.unwrap();
    assert!(client.status("g2").await.unwrap().no_live_worker);
    assert!(
        !client.status("g1").await.unwrap().no_live_worker,
        "finished instances are not flagged"
    );
    client_worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_only_engines_hand_work_to_other_workers_on_memory() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    client_and_workers(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_only_engines_hand_work_to_other_workers_on_postgres() {
    let Some(db) = pg_harness::fresh_database("start_only").await else {
        return;
    };
    let client = PgStore::connect(db.url()).await.unwrap();
    let runner = PgStore::connect(db.url()).await.unwrap();
    client_and_workers(Arc::new(client), Arc::new(runner)).await;
}

/// What a task reads from its engine.
struct Prefix(String);

#[sayiir::task]
async fn prefixed(prefix: sayiir::Res<Prefix>, name: String) -> String {
    format!("{}{name}", prefix.0)
}

#[sayiir::workflow]
async fn labelled(name: String) -> String {
    prefixed(name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_only_engine_needs_no_resources_of_the_tasks_it_does_not_run() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let missing = Engine::builder_shared(store.clone())
        .register::<labelled>()
        .build();
    assert!(
        missing.is_err(),
        "the engine that runs it needs the resource"
    );
    let client = Engine::builder_shared(store.clone())
        .start_only::<labelled>()
        .build()
        .unwrap();
    let runner = Engine::builder_shared(store)
        .resource(Prefix("#".into()))
        .register::<labelled>()
        .build()
        .unwrap();
    let worker = runner.spawn_worker();
    client.start::<labelled>("l", "x".into()).await.unwrap();
    assert_eq!(client.result::<labelled>("l").await.unwrap(), "#x");
    worker.shutdown().await.unwrap();
}
