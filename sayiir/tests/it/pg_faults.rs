//! PostgreSQL faults: the server stopped (immediate mode, as in a crash) and restarted under a
//! running engine; the errors callers get while it is down and when a connection cannot be
//! made at all; an outage longer than the lease (`pg_faults/lease_outage.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sayiir::store::{InstanceId, ListQuery, PgOptions, PgStore, Status, StoreError};
use sayiir::{Engine, EngineError, WorkerConfig};
use sayiir_store::pg_harness::{self, PgCluster};

mod lease_outage;

const INSTANCES: u64 = 50;
const STEPS: u64 = 6;
/// How long the server stays down.
const DOWN: Duration = Duration::from_secs(2);

fn next(n: u64, i: u64) -> u64 {
    (n * 31 + i) % 1_000_003
}

#[sayiir::task]
async fn bump(n: u64, i: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(5 + (n + i) % 15)).await;
    next(n, i)
}

/// `STEPS` rounds of a task then a 60–180 ms sleep.
#[sayiir::workflow]
async fn stepper(seed: u64) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    let mut n = seed;
    let rounds: Vec<u64> = (0..STEPS).collect();
    for i in rounds {
        n = bump(n, i).await;
        out.push(n);
        sayiir::sleep(Duration::from_millis(60 + (seed + i) % 120)).await;
    }
    out
}

fn expected(seed: u64) -> Vec<u64> {
    let mut n = seed;
    (0..STEPS)
        .map(|i| {
            n = next(n, i);
            n
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Retries `f` while it fails with a retryable error, for at most `limit`.
async fn retrying<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> (T, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let deadline = Instant::now() + limit;
    let mut failures = 0;
    loop {
        match f().await {
            Ok(v) => return (v, failures),
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn server_stopped_and_restarted_mid_run() {
    restart_mid_run("a worker with the default options", PgOptions::default());
}

/// The worker's store operations fail during the outage (instead of waiting for the server):
/// failed claims, commits and lease releases.
#[test]
fn server_stopped_and_restarted_under_a_worker_that_gives_up() {
    let options = PgOptions::default().acquire_timeout(Duration::from_millis(300));
    restart_mid_run("a worker with a 300 ms acquire timeout", options);
}

/// A PostgreSQL cluster of the test's own (which it may stop), or `None` after a loud
/// SKIPPED banner when none can be started (a failure under `SAYIIR_REQUIRE_PG=1`).
fn cluster_or_skip(label: &str) -> Option<PgCluster> {
    match PgCluster::start() {
        Ok(c) => Some(c),
        Err(why) => {
            if std::env::var("SAYIIR_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("SAYIIR_REQUIRE_PG=1 but no PostgreSQL cluster can be started: {why}");
            }
            eprintln!(
                "\n{line}\n!! pg_faults ({label}) SKIPPED: cannot start a PostgreSQL cluster of its own: {why}\n{line}\n",
                line = "!".repeat(78)
            );
            None
        }
    }
}

fn restart_mid_run(label: &str, worker_options: PgOptions) {
    let Some(cluster) = cluster_or_skip(label) else {
        return;
    };
    let rt = runtime();
    let db = rt.block_on(cluster.fresh_database("faults"));
    let config = WorkerConfig::default()
        .lease(Duration::from_secs(2))
        .idle_poll(Duration::from_millis(200));
    // The worker's engine, and one for the calls this test makes (default options).
    let working = rt.block_on(async {
        let store = PgStore::connect_with(db.url(), worker_options)
            .await
            .unwrap();
        Engine::builder(store)
            .register::<stepper>()
            .worker_config(config)
            .build()
            .unwrap()
    });
    let worker = rt.block_on(async { working.spawn_worker() });
    let engine = rt.block_on(async {
        let store = PgStore::connect(db.url()).await.unwrap();
        Engine::builder(store)
            .register::<stepper>()
            .build()
            .unwrap()
    });
    // An engine of the same database whose operations give up after 1 s without a connection.
    let impatient = rt.block_on(async {
        let options = PgOptions::default().acquire_timeout(Duration::from_secs(1));
        let store = PgStore::connect_with(db.url(), options).await.unwrap();
        Engine::builder(store)
            .register::<stepper>()
            .build()
            .unwrap()
    });
    let began = Instant::now();
    let mut ids: Vec<String> = (0..INSTANCES).map(|i| format!("s-{i}")).collect();
    rt.block_on(async {
        for (i, id) in ids.iter().enumerate() {
            engine.start::<stepper>(id, i as u64 * 7919).await.unwrap();
        }
    });
    // Stop the server once about a third of the transitions are committed.
    let per_instance = 1 + 2 * STEPS;
    let total = INSTANCES * per_instance;
    while working.metrics().transitions() < total / 3 {
        assert!(began.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    cluster.stop().unwrap();
    let down_at = Instant::now();
    let committed_at_stop = working.metrics().transitions();

    // While it is down, with the default options: operations wait for the server (sqlx takes a
    // refused connection for a server starting up) up to the acquire timeout, so a start made
    // during a short outage succeeds once the server is back.
    let patient = rt.spawn({
        let engine = engine.clone();
        async move {
            let r = engine.start::<stepper>("late", 424_242).await.map(|_| ());
            (r, Instant::now())
        }
    });
    // With a short acquire timeout (1 s): a typed, retryable error, well before the default
    // acquire timeout (30 s) would give one.
    let t = Instant::now();
    let err = rt
        .block_on(impatient.start::<stepper>("never", 1))
        .map(|_| ())
        .expect_err("start while the server is down");
    let start_took = t.elapsed();
    assert!(
        err.is_retryable(),
        "start while the server is down: not retryable: {err:?}"
    );
    assert!(
        matches!(err, EngineError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert!(start_took < Duration::from_secs(15), "took {start_took:?}");
    // Connecting: at once.
    let t = Instant::now();
    let connect_err = rt
        .block_on(PgStore::connect(db.url()))
        .map(|_| ())
        .expect_err("connect while the server is down");
    let connect_took = t.elapsed();
    assert!(
        connect_err.is_retryable(),
        "connect while the server is down: not retryable: {connect_err:?}"
    );
    eprintln!(
        "pg_faults ({label}): while the server is down: Engine::start (acquire timeout 1 s) -> `{err}` after {start_took:.1?}; PgStore::connect -> `{connect_err}` after {connect_took:.1?}"
    );
    let left = DOWN.saturating_sub(down_at.elapsed());
    std::thread::sleep(left);
    cluster.start_server().unwrap();
    let up_at = Instant::now();
    let down_for = up_at - down_at;

    // The start made while the server was down went through once it was back.
    let (started, returned) = rt.block_on(patient).unwrap();
    started.expect("a start during a 2 s outage waits for the server (default options)");
    let patient_waited = returned - down_at;
    ids.push("late".into());

    // Everything completes, with the right output.
    let mut retried_results = 0;
    rt.block_on(async {
        for id in &ids {
            let engine = &engine;
            let (out, failures) = retrying(Duration::from_secs(60), id, || async move {
                match tokio::time::timeout(Duration::from_secs(60), engine.result::<stepper>(id))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => panic!("{id} did not finish within 60 s of the restart"),
                }
            })
            .await;
            retried_results += failures;
            let seed = if id == "late" {
                424_242
            } else {
                id[2..].parse::<u64>().unwrap() * 7919
            };
            assert_eq!(out, expected(seed), "{id}: output");
        }
    });
    let recovered = up_at.elapsed();
    let shutdown = rt.block_on(worker.shutdown());
    assert!(
        shutdown.is_ok(),
        "the worker survived the outage: {shutdown:?}"
    );

    // Nothing lost, nothing doubled.
    rt.block_on(async {
        let store = engine.store();
        let listed = store.list(&ListQuery::default()).await.unwrap().instances;
        assert_eq!(listed.len(), ids.len(), "no instance lost, none invented");
        for id in &ids {
            let iid = InstanceId::new(id.as_str()).unwrap();
            let record = store.load(&iid).await.unwrap();
            assert_eq!(record.status, Status::Completed, "{id}");
            assert!(record.blocked.is_none(), "{id}: {:?}", record.blocked);
            let history = store.history(&iid, None, None).await.unwrap();
            let seqs: Vec<u64> = history.iter().map(|h| h.seq).collect();
            assert_eq!(
                seqs,
                (0..=per_instance).collect::<Vec<_>>(),
                "{id}: history"
            );
            let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
            let mut want = vec!["started", "start"];
            for _ in 0..STEPS {
                want.extend(["task", "timer"]);
            }
            assert_eq!(kinds, want, "{id}: history kinds");
        }
    });
    // Not asserted either way: a commit whose reply was lost when the server stopped counts
    // as failed here though it is in the history (the instance was then resumed from it), and
    // the histories above already show every transition exactly once.
    let all = ids.len() as u64 * per_instance;
    let acknowledged = working.metrics().transitions();
    eprintln!(
        "pg_faults ({label}): {} instances of {per_instance} transitions; server stopped (immediate) after {committed_at_stop} of {all} commits, down {:.1} s; a start made during the outage returned Ok {:.1} s after the stop; all done {:.1} s after the restart ({retried_results} failed result polls; the worker's commits: {acknowledged} acknowledged for {all} in the histories, {} refused)",
        ids.len(),
        down_for.as_secs_f64(),
        patient_waited.as_secs_f64(),
        recovered.as_secs_f64(),
        conflicts(&working),
    );
}

fn conflicts(engine: &Engine) -> u64 {
    engine.metrics().commit_conflicts()
}

/// A local port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn connect_errors_are_typed_and_clear() {
    let rt = runtime();
    // Nothing listens on the port.
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let t = Instant::now();
    let err = rt
        .block_on(PgStore::connect(&url))
        .map(|_| ())
        .expect_err("connecting to a closed port fails");
    let took = t.elapsed();
    let msg = err.to_string();
    eprintln!("pg_faults: connect to a closed port -> `{msg}` ({err:?}) after {took:.1?}");
    assert!(
        err.is_retryable(),
        "a refused connection is retryable: {err:?}"
    );
    assert!(
        msg.contains(&port.to_string()),
        "the message names the address: {msg}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");

    let Some(db) = rt.block_on(pg_harness::fresh_database("connect_errors")) else {
        return;
    };
    // A database that does not exist on a live server.
    let missing = pg_harness::with_database(db.url(), "sayiir_no_such_database");
    let err = rt
        .block_on(PgStore::connect(&missing))
        .map(|_| ())
        .expect_err("connecting to a missing database fails");
    let msg = err.to_string();
    eprintln!("pg_faults: connect to a missing database -> `{msg}` ({err:?})");
    assert!(
        msg.contains("sayiir_no_such_database"),
        "the message names the database: {msg}"
    );
    assert!(
        !err.is_retryable(),
        "a missing database is a configuration error, not retryable: {err:?}"
    );

    // Not a URL at all.
    let err = rt
        .block_on(PgStore::connect("definitely not a url"))
        .map(|_| ())
        .expect_err("a malformed URL fails");
    eprintln!("pg_faults: connect with a malformed URL -> `{err}` ({err:?})");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(!err.to_string().is_empty());
}
