//! SQLite allows one worker process per database file: a second process that tries to work the
//! same file gets `StoreError::Locked` with a message that says to use PostgreSQL, and takes
//! over once the first process is gone (here: SIGKILLed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use sayiir::store::StoreError;
use sayiir::{Engine, EngineError, SqliteStore};

use crate::common::env;

#[sayiir::workflow]
async fn noop() -> u32 {
    7
}

/// Child mode: try to work the file; exit 3 (with the error on stderr) when locked out,
/// 0 when it ran the instance to the end.
#[test]
#[ignore = "run by `a_second_worker_process_is_refused` as a child process"]
fn second_worker_child() {
    if env("ONE_WORKER_DB").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        let engine = Engine::builder(SqliteStore::open(env("ONE_WORKER_DB")).unwrap())
            .register::<noop>()
            .build()
            .unwrap();
        let worker = engine.spawn_worker();
        let outcome = tokio::select! {
            r = engine.result::<noop>("n-1") => Ok(r.unwrap()),
            r = async { worker.join().await } => Err(r),
        };
        match outcome {
            Ok(7) => 0,
            Ok(other) => panic!("wrong output {other}"),
            Err(Err(e @ EngineError::Store(StoreError::Locked { .. }))) => {
                eprintln!("{e}");
                3
            }
            Err(other) => panic!("worker ended otherwise: {other:?}"),
        }
    });
    std::process::exit(code);
}

fn child(db: &std::path::Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        &crate::common::test_name!(sqlite_one_worker::second_worker_child),
        "--exact",
        "--ignored",
        "--test-threads=1",
        "--quiet",
        "--nocapture",
    ])
    .env("ONE_WORKER_DB", db)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    c
}

#[test]
fn a_second_worker_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    // The first worker process.
    let mut first = Command::new(std::env::current_exe().unwrap());
    first
        .args([
            &crate::common::test_name!(sqlite_one_worker::hold_child),
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--quiet",
            "--nocapture",
        ])
        .env("ONE_WORKER_HOLD", &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut first = first.spawn().unwrap();
    // Wait until it holds the lock (it prints `holding` then, after the harness's own lines).
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(first.stdout.take().unwrap()));
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.trim() == "holding")),
        "the first worker process never held the file"
    );
    let out = child(&db).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "locked out: {stderr}");
    assert!(
        stderr.contains("is already worked by another process") && stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    // Once the first process is dead, a new one works the file.
    first.kill().unwrap();
    first.wait().unwrap();
    drop(lines);
    let out = child(&db).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Child mode: start an instance, work the file with a worker, say so, and hold it.
#[test]
#[ignore = "run by `a_second_worker_process_is_refused` as a child process"]
fn hold_child() {
    if env("ONE_WORKER_HOLD").is_empty() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Registered with no workflow able to finish it: the instance stays running.
        let engine = Engine::builder(SqliteStore::open(env("ONE_WORKER_HOLD")).unwrap())
            .build()
            .unwrap();
        let _worker = engine.spawn_worker();
        let probe = Engine::builder(SqliteStore::open(env("ONE_WORKER_HOLD")).unwrap())
            .register::<noop>()
            .build()
            .unwrap();
        probe.start::<noop>("n-1", ()).await.unwrap();
        // The lock is taken when the worker registers; give it a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        println!("holding");
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
}
