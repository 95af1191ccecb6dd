//! Parking and operators' requests with real kills: a child process runs the worker on a SQLite
//! file and is SIGKILLed at random moments, then restarted, while instances park and while
//! their retry and fail requests are carried out. The parent is the operator: it starts the
//! instances and sends the requests through an engine of its own on the same file.
//!
//! Checked afterwards: every instance parked exactly once (one `parked` entry) and its request
//! was carried out exactly once (one `operator-retry` or `operator-fail` entry), each ended
//! with the output its request means, and history sequence numbers are gapless.

use std::path::Path;
use std::time::{Duration, Instant};

use sayiir::store::{BlockKind, Status};
use sayiir::{Engine, InstanceStatus, SqliteStore, WorkerConfig};

use crate::common::children::ChildProc;
use crate::common::{self, Rng, env, seed};

const INSTANCES: usize = 40;

/// Fails while the marker file `<dir>/broken-<key>` exists.
#[sayiir::task(retries = 1, backoff = "5ms", on_exhausted = "park")]
async fn collect(key: String) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let marker = Path::new(&env("ADMIN_CRASH_DIR")).join(format!("broken-{key}"));
    if marker.exists() {
        return Err(format!("ledger of {key} unreachable"));
    }
    Ok(format!("{key} collected"))
}

#[sayiir::workflow]
async fn dunning(key: String) -> String {
    match collect(key.clone()).await {
        Ok(done) => done,
        Err(e) => format!("{key} written off: {e}"),
    }
}

fn engine(db: &Path) -> Engine {
    Engine::builder(SqliteStore::open(db).unwrap())
        .register::<dunning>()
        .worker_config(
            WorkerConfig::default()
                .idle_poll(Duration::from_millis(20))
                .max_instances(3),
        )
        .build()
        .unwrap()
}

/// Child mode: a worker on the file, until killed.
#[test]
#[ignore = "run by `parking_and_requests_survive_kills` as a child process"]
fn admin_crash_child() {
    if env("ADMIN_CRASH_DB").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = engine(Path::new(&env("ADMIN_CRASH_DB")));
        let _worker = engine.spawn_worker();
        std::future::pending::<()>().await;
    });
}

/// Runs worker processes, each killed after a random time, until `done` says so (checked
/// between kills); returns the number of kills.
fn kill_until(
    rt: &tokio::runtime::Runtime,
    db: &Path,
    dir: &Path,
    rng: &mut Rng,
    generation: &mut u32,
    mut done: impl FnMut(&tokio::runtime::Runtime) -> bool,
) -> usize {
    let started = Instant::now();
    let mut kills = 0;
    loop {
        *generation += 1;
        let mut child = ChildProc::spawn(
            &common::test_name!(admin::crash::admin_crash_child),
            "admin",
            *generation,
            &[
                ("ADMIN_CRASH_DB", db.display().to_string()),
                ("ADMIN_CRASH_DIR", dir.display().to_string()),
            ],
        );
        std::thread::sleep(Duration::from_millis(rng.between(20, 200)));
        child.assert_alive();
        child.kill();
        kills += 1;
        if done(rt) {
            return kills;
        }
        assert!(
            started.elapsed() < common::PATIENCE * 4,
            "the instances did not get there in {:?} ({kills} kills)",
            started.elapsed()
        );
    }
}

#[test]
fn parking_and_requests_survive_kills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("admin.db");
    let seed = seed("ADMIN_CRASH_SEED");
    eprintln!(
        "parking_and_requests_survive_kills: seed {seed} (rerun with ADMIN_CRASH_SEED={seed})"
    );
    let mut rng = Rng(seed);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ops = engine(&db);
    let keys: Vec<String> = (0..INSTANCES).map(|i| format!("acct-{i}")).collect();
    rt.block_on(async {
        for key in &keys {
            std::fs::write(dir.path().join(format!("broken-{key}")), b"").unwrap();
            ops.start::<dunning>(key, key.clone()).await.unwrap();
        }
    });
    let mut generation = 0;
    let status_of =
        |rt: &tokio::runtime::Runtime, key: &str| rt.block_on(ops.status(key)).unwrap().status;
    let parked = |status: &InstanceStatus| {
        matches!(
            status,
            InstanceStatus::Blocked {
                kind: BlockKind::Parked,
                ..
            }
        )
    };
    let mut kills = kill_until(&rt, &db, dir.path(), &mut rng, &mut generation, |rt| {
        keys.iter().all(|k| parked(&status_of(rt, k)))
    });

    // The operator: the first half is fixed and retried, the second half failed.
    let (retried, failed) = keys.split_at(INSTANCES / 2);
    rt.block_on(async {
        for key in retried {
            std::fs::remove_file(dir.path().join(format!("broken-{key}"))).unwrap();
            ops.retry(key).await.unwrap();
        }
        for key in failed {
            ops.fail(key).await.unwrap();
        }
    });
    kills += kill_until(&rt, &db, dir.path(), &mut rng, &mut generation, |rt| {
        keys.iter()
            .all(|k| rt.block_on(ops.status(k)).unwrap().status == InstanceStatus::Completed)
    });
    eprintln!("parking_and_requests_survive_kills: {kills} kills, {generation} processes");

    rt.block_on(async {
        let store = ops.store();
        for key in &keys {
            let id = sayiir::InstanceId::new(key.as_str()).unwrap();
            let record = store.load(&id).await.unwrap();
            assert_eq!(record.status, Status::Completed);
            let out = ops.result::<dunning>(key).await.unwrap();
            let history = store.history(&id, None, None).await.unwrap();
            for (i, e) in history.iter().enumerate() {
                assert_eq!(e.seq, i as u64, "{key}: gapless history");
            }
            let count = |kind: &str| history.iter().filter(|e| e.kind == kind).count();
            assert_eq!(count("parked"), 1, "{key}: parked once");
            if retried.contains(key) {
                assert_eq!(out, format!("{key} collected"));
                assert_eq!(count("operator-retry"), 1, "{key}: retried once");
                assert_eq!(count("operator-fail"), 0);
            } else {
                assert_eq!(
                    out,
                    format!("{key} written off: ledger of {key} unreachable")
                );
                assert_eq!(count("operator-fail"), 1, "{key}: failed once");
                assert_eq!(count("operator-retry"), 0);
            }
        }
    });
}
