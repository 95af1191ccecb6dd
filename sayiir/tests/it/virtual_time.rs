//! The test engine: long sleeps and timeouts in virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sayiir::testing::{TestEngine, TestError};

#[sayiir::task]
async fn send(what: String) -> String {
    format!("sent {what}")
}

#[sayiir::workflow]
async fn trial(user: String) -> Vec<String> {
    let welcome = send(format!("welcome {user}")).await;
    sayiir::sleep(Duration::from_secs(30 * 24 * 3600)).await;
    let over = send(format!("trial over {user}")).await;
    vec![welcome, over]
}

#[sayiir::workflow]
async fn wait_forever() -> String {
    sayiir::signal::<String>("go").await
}

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_day_sleep_completes_in_milliseconds() {
    let t = TestEngine::builder().register::<trial>().build().unwrap();
    let real = Instant::now();
    let start = t.now();
    t.start::<trial>("ada", "ada".into()).await.unwrap();
    let out = t.run_until_done::<trial>("ada").await.unwrap();
    assert_eq!(out, ["sent welcome ada", "sent trial over ada"]);
    let virtual_elapsed = t.now().duration_since(start).unwrap();
    assert!(virtual_elapsed >= 30 * DAY, "{virtual_elapsed:?}");
    println!(
        "30-day trial: {:?} of virtual time in {:?} of real time",
        virtual_elapsed,
        real.elapsed()
    );
    t.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advance_moves_time_step_by_step() {
    let t = TestEngine::builder().register::<trial>().build().unwrap();
    t.start::<trial>("bob", "bob".into()).await.unwrap();
    t.settle().await;
    assert_eq!(t.try_result::<trial>("bob").await.unwrap(), None);
    t.advance(29 * DAY).await;
    assert_eq!(
        t.try_result::<trial>("bob").await.unwrap(),
        None,
        "one day left"
    );
    t.advance(DAY).await;
    assert_eq!(
        t.try_result::<trial>("bob").await.unwrap().unwrap(),
        ["sent welcome bob", "sent trial over bob"]
    );
    t.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_waiting_for_a_signal_is_reported_not_hung() {
    let t = TestEngine::builder()
        .register::<wait_forever>()
        .build()
        .unwrap();
    t.start::<wait_forever>("w", ()).await.unwrap();
    let err = t.run_until_done::<wait_forever>("w").await.unwrap_err();
    assert!(matches!(err, TestError::Waiting { .. }), "{err}");
    t.signal("w", "go", &"now".to_string()).await.unwrap();
    assert_eq!(t.run_until_done::<wait_forever>("w").await.unwrap(), "now");
    t.shutdown().await.unwrap();
}

#[sayiir::workflow]
async fn nap(ms: u64) -> String {
    let a = send("before".into()).await;
    sayiir::sleep(Duration::from_millis(ms)).await;
    let b = send("after".into()).await;
    format!("{a}, {b}")
}

/// Real time on a real file: the sleep is a due time in the store, so a worker that stops
/// while the instance sleeps and a new one started later finish it at the right time. The
/// sleep (2 s) leaves the test ample time to see the instance parked and stop the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_sleep_is_a_due_time_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nap.db");
    let engine = sayiir::Engine::builder(sayiir::SqliteStore::open(&db).unwrap())
        .register::<nap>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let started = Instant::now();
    engine.start::<nap>("nap", 2000).await.unwrap();
    let parked = crate::common::eventually("nap to park in its sleep", || async {
        let s = engine.status("nap").await.unwrap();
        (s.seq >= 2).then_some(s)
    })
    .await;
    assert_eq!(parked.seq, 2, "still asleep when the test looked");
    let due = parked
        .due_at
        .expect("parked with a due time after the first task");
    worker.shutdown().await.unwrap();
    drop(engine);
    let engine = sayiir::Engine::builder(sayiir::SqliteStore::open(&db).unwrap())
        .register::<nap>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert_eq!(
        engine.result::<nap>("nap").await.unwrap(),
        "sent before, sent after"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(2000),
        "slept its time"
    );
    let timer = engine
        .history("nap")
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.kind == "timer")
        .expect("a timer transition");
    assert!(timer.at >= due, "fired at {:?}, due {:?}", timer.at, due);
    worker.shutdown().await.unwrap();
}
