//! Restart beyond blocked instances: a finished one, a paused one, one whose input the newest
//! version no longer takes (`InputChanged`, then `restart_with`), and one that went through
//! `continue_as_new` (it restarts from the input it was created with).

use sayiir::{Engine, EngineError, InstanceStatus, SqliteStore};

mod g1 {
    /// Version 1: greets once it is told how many times.
    #[sayiir::workflow(name = "greet")]
    pub(crate) async fn greet(name: String) -> String {
        let times: u32 = sayiir::signal::<u32>("times").await;
        format!("v1: {name} x{times}")
    }
}

mod g2 {
    /// Version 2 takes the same input.
    #[sayiir::workflow(name = "greet", version = 2)]
    pub(crate) async fn greet(name: String) -> String {
        let times: u32 = sayiir::signal::<u32>("times").await;
        format!("v2: {name} x{times}")
    }
}

mod g3 {
    /// Version 3 takes another input.
    #[sayiir::workflow(name = "greet", version = 3)]
    pub(crate) async fn greet(name: String, times: u32) -> String {
        format!("v3: {name} x{times}")
    }
}

/// Counts down by restarting itself with a smaller input.
#[sayiir::workflow]
async fn countdown(n: u64) -> u64 {
    if n == 0 {
        let last: u64 = sayiir::signal::<u64>("last").await;
        return last;
    }
    sayiir::continue_as_new(n - 1).await
}

async fn until(engine: &Engine, id: &str, what: &str, ok: impl Fn(&sayiir::InstanceInfo) -> bool) {
    crate::common::eventually(&format!("{id}: {what}"), || async {
        ok(&engine.status(id).await.unwrap()).then_some(())
    })
    .await;
}

async fn waiting(engine: &Engine, id: &str) {
    until(engine, id, "waited for its signal", |s| {
        s.status == InstanceStatus::Running && s.due_at.is_none() && s.state.is_some()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_and_paused_instances_restart_on_the_newest_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restarts.db");
    {
        let engine = Engine::builder(SqliteStore::open(&db).unwrap())
            .register::<g1::greet>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        for id in ["done", "paused"] {
            engine.start::<g1::greet>(id, id.to_string()).await.unwrap();
            waiting(&engine, id).await;
        }
        engine.signal("done", "times", &2u32).await.unwrap();
        assert_eq!(
            engine.result::<g1::greet>("done").await.unwrap(),
            "v1: done x2"
        );
        engine.pause("paused").await.unwrap();
        worker.shutdown().await.unwrap();
    }

    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<g1::greet>()
        .register::<g2::greet>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    for id in ["done", "paused"] {
        let before = engine.history(id).await.unwrap();
        let r = engine.restart(id, "to version 2").await.unwrap();
        assert_eq!((r.from.version, r.to.version), (1, 2), "{id}");
        waiting(&engine, id).await;
        engine.signal(id, "times", &3u32).await.unwrap();
        let out = engine.result::<g2::greet>(id).await.unwrap();
        assert_eq!(out, format!("v2: {id} x3"));
        let after = engine.history(id).await.unwrap();
        assert_eq!(&after[..before.len()], &before[..], "{id}: first run kept");
        assert_eq!(after[before.len()].kind, "restarted", "{id}");
    }
    // The finished run's output is gone with it: typed calls name the new version.
    assert!(matches!(
        engine.result::<g1::greet>("done").await,
        Err(EngineError::WrongDefinition(_))
    ));
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_input_needs_restart_with() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart-with.db");
    {
        let engine = Engine::builder(SqliteStore::open(&db).unwrap())
            .register::<g1::greet>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        engine
            .start::<g1::greet>("g", "ada".to_string())
            .await
            .unwrap();
        waiting(&engine, "g").await;
        worker.shutdown().await.unwrap();
    }
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<g3::greet>()
        .build()
        .unwrap();
    let before = engine.store().load(&"g".parse().unwrap()).await.unwrap();
    match engine.restart("g", "to version 3").await {
        Err(EngineError::InputChanged { .. }) => {}
        r => panic!("{r:?}"),
    }
    // Refused: the instance is as it was.
    let after = engine.store().load(&"g".parse().unwrap()).await.unwrap();
    assert_eq!(
        (after.seq, after.version, &after.state),
        (before.seq, 1, &before.state)
    );

    let r = engine
        .restart_with::<g3::greet>("g", ("ada".to_string(), 4), "new input")
        .await
        .unwrap();
    assert_eq!((r.from.version, r.to.version), (1, 3));
    let worker = engine.spawn_worker();
    assert_eq!(engine.result::<g3::greet>("g").await.unwrap(), "v3: ada x4");
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_starts_from_the_created_input_not_a_continued_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(SqliteStore::open(dir.path().join("c.db")).unwrap())
        .register::<countdown>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<countdown>("c", 3).await.unwrap();
    waiting(&engine, "c").await;
    // Created at seq 0, the first run took `first` transitions to reach its wait.
    let first = engine.status("c").await.unwrap().seq;
    engine.restart("c", "again").await.unwrap();
    waiting(&engine, "c").await;
    // Restarted from its created input (3), the new run repeats all of them after the restart
    // entry; from the continued input (0) it would wait after one.
    assert_eq!(engine.status("c").await.unwrap().seq, first + 1 + first);
    assert!(first > 2, "{first}");
    engine.signal("c", "last", &7u64).await.unwrap();
    assert_eq!(engine.result::<countdown>("c").await.unwrap(), 7);
    worker.shutdown().await.unwrap();
}
