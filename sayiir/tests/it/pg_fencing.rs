//! Fencing and takeover between worker processes on PostgreSQL (the workers are this test
//! binary re-run with the ignored `fence_worker` test selected):
//!
//! - a worker frozen with SIGSTOP past its lease is taken over by another one, which re-runs
//!   the task and moves the instances on; once continued, the frozen worker's stale commits are
//!   refused by the sequence-number check and change nothing;
//! - how long after a SIGKILL another, idle, worker runs the killed worker's task again (with a
//!   1 s lease and with the default one);
//! - how late a durable sleep wakes up when only idle worker processes are around.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{PATIENCE, children, env};

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use children::{ChildProc, append_line, now_ms, read_lines, wait_for};
use sayiir::store::{HistoryEntry, InstanceId, PgStore, Status};
use sayiir::{Engine, TaskContext, WorkerConfig};
use sayiir_store::pg_harness;
use serde::{Deserialize, Serialize};

/// The scenarios measure time: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// What a loaded machine may add to a time the engine promises (a takeover within the lease, a
/// timer at its due time), in ms: generous, yet far below what a missed wake-up costs (an
/// idle poll of an hour, a fallback poll).
const SLACK_MS: i64 = 5000;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Tagged {
    value: u64,
    /// The worker process that produced it.
    role: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Fenced {
    first: Tagged,
    go: u64,
    second: Tagged,
}

fn log_path() -> PathBuf {
    PathBuf::from(env("FENCE_LOG"))
}

/// Logs `started <role> <instance> <ms>`, works `FENCE_SLOW_MS`, logs `finished …`.
#[sayiir::task]
async fn slow(n: u64) -> Tagged {
    let role = env("FENCE_ROLE");
    let cx = TaskContext::current().expect("tasks run with a context");
    append_line(
        &log_path(),
        &format!("started {role} {} {}", cx.instance(), now_ms()),
    );
    let ms: u64 = env("FENCE_SLOW_MS").parse().unwrap();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    append_line(
        &log_path(),
        &format!("finished {role} {} {}", cx.instance(), now_ms()),
    );
    Tagged {
        value: n * 10,
        role,
    }
}

#[sayiir::task]
async fn quick(n: u64) -> Tagged {
    Tagged {
        value: n + 1,
        role: env("FENCE_ROLE"),
    }
}

#[sayiir::workflow]
async fn fenced(n: u64) -> Fenced {
    let first = slow(n).await;
    let go = sayiir::signal::<u64>("go").await;
    let second = quick(first.value + go).await;
    Fenced { first, go, second }
}

#[sayiir::workflow]
async fn napper(ms: u64) -> u64 {
    sayiir::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Worker mode: work the database until killed; with `FENCE_METRICS`, write the engine's
/// counters there every 20 ms (`transitions conflicts`).
#[test]
#[ignore = "run by the tests of this file as a child process"]
fn fence_worker() {
    if env("FENCE_DB").is_empty() {
        return;
    }
    children::runtime().block_on(async {
        let store = PgStore::connect(&env("FENCE_DB")).await.unwrap();
        let mut config = WorkerConfig::default();
        if let Ok(ms) = env("FENCE_LEASE_MS").parse() {
            config = config.lease(Duration::from_millis(ms));
        }
        if let Ok(ms) = env("FENCE_IDLE_POLL_MS").parse() {
            config = config.idle_poll(Duration::from_millis(ms));
        }
        let engine = Engine::builder(store)
            .register::<fenced>()
            .register::<napper>()
            .worker_config(config)
            .build()
            .unwrap();
        let metrics = env("FENCE_METRICS");
        if !metrics.is_empty() {
            let engine = engine.clone();
            tokio::spawn(async move {
                let tmp = format!("{metrics}.tmp");
                loop {
                    let m = engine.metrics();
                    let line = format!("{} {}", m.transitions(), m.commit_conflicts());
                    std::fs::write(&tmp, line).unwrap();
                    std::fs::rename(&tmp, &metrics).unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
        let outcome = engine.spawn_worker().join().await;
        panic!("the worker stopped by itself: {outcome:?}");
    });
}

/// A worker's counters as it last wrote them: (transitions, conflicts).
fn read_metrics(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut it = text.split(' ').map(|v| v.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

struct Setup {
    rt: tokio::runtime::Runtime,
    db: pg_harness::PgTestDb,
    dir: tempfile::TempDir,
    /// The parent's engine: no worker.
    engine: Engine,
}

impl Setup {
    fn new(label: &str) -> Option<Setup> {
        let rt = children::runtime();
        let db = rt.block_on(pg_harness::fresh_database(label))?;
        let engine = rt.block_on(async {
            let store = PgStore::connect(db.url()).await.unwrap();
            Engine::builder(store)
                .register::<fenced>()
                .register::<napper>()
                .build()
                .unwrap()
        });
        Some(Setup {
            rt,
            db,
            dir: tempfile::tempdir().unwrap(),
            engine,
        })
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("runs.log")
    }

    /// A worker process; `lease_ms` 0 means the default lease.
    fn worker(&self, role: &str, slow_ms: u64, lease_ms: u64, metrics: Option<&Path>) -> ChildProc {
        self.worker_with(role, slow_ms, lease_ms, metrics, &[])
    }

    /// [`Setup::worker`] with more settings.
    fn worker_with(
        &self,
        role: &str,
        slow_ms: u64,
        lease_ms: u64,
        metrics: Option<&Path>,
        more: &[(&'static str, String)],
    ) -> ChildProc {
        let mut envs = vec![
            ("FENCE_DB", self.db.url().to_owned()),
            ("FENCE_ROLE", role.to_owned()),
            ("FENCE_LOG", self.log().display().to_string()),
            ("FENCE_SLOW_MS", slow_ms.to_string()),
        ];
        if lease_ms > 0 {
            envs.push(("FENCE_LEASE_MS", lease_ms.to_string()));
        }
        if let Some(m) = metrics {
            envs.push(("FENCE_METRICS", m.display().to_string()));
        }
        envs.extend(more.iter().cloned());
        ChildProc::spawn(
            &crate::common::test_name!(pg_fencing::fence_worker),
            role,
            0,
            &envs,
        )
    }

    /// `(event, role, instance, ms)` of every line of the task log.
    fn events(&self) -> Vec<(String, String, String, i64)> {
        read_lines(&self.log())
            .into_iter()
            .map(|l| {
                let p: Vec<&str> = l.split(' ').collect();
                (
                    p[0].to_owned(),
                    p[1].to_owned(),
                    p[2].to_owned(),
                    p[3].parse().unwrap(),
                )
            })
            .collect()
    }

    /// When `role` logged `event` for `id`, if it did.
    fn logged(&self, event: &str, role: &str, id: &str) -> Option<i64> {
        self.events()
            .into_iter()
            .find(|e| e.0 == event && e.1 == role && e.2 == id)
            .map(|e| e.3)
    }

    fn history(&self, id: &str) -> Vec<HistoryEntry> {
        self.rt.block_on(self.engine.history(id)).unwrap()
    }

    fn result(&self, id: &str) -> Fenced {
        self.rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(30), self.engine.result::<fenced>(id))
                    .await
            })
            .unwrap_or_else(|_| panic!("{id} did not finish in 30 s"))
            .unwrap()
    }
}

fn kinds(history: &[HistoryEntry]) -> Vec<&str> {
    history.iter().map(|h| h.kind.as_str()).collect()
}

#[derive(Deserialize)]
struct TaskEvent {
    #[allow(dead_code)]
    slot: Vec<u32>,
    task: String,
    #[allow(dead_code)]
    attempt: u32,
    output: Vec<u8>,
}

/// The roles that produced the task outputs in a history.
fn task_roles(history: &[HistoryEntry]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|h| h.kind == "task")
        .map(|h| {
            let t: TaskEvent = sayiir::__private::codec::decode(&h.payload).unwrap();
            let out: Tagged = sayiir::__private::codec::decode(&t.output).unwrap();
            (t.task, out.role)
        })
        .collect()
}

#[test]
fn a_stopped_worker_is_fenced_off() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = Setup::new("fencing") else {
        return;
    };
    const A_SLOW_MS: u64 = 3000;
    // `fin` gets its signal now and will be finished by B before A is continued; `open` will
    // still be running (waiting for its signal, at a later sequence number) when A is.
    s.rt.block_on(async {
        s.engine.start::<fenced>("fin", 1).await.unwrap();
        s.engine.start::<fenced>("open", 2).await.unwrap();
        s.engine.signal("fin", "go", &5u64).await.unwrap();
    });
    let a_metrics = s.dir.path().join("a.metrics");
    let mut a = s.worker("A", A_SLOW_MS, 1000, Some(&a_metrics));
    // A commits the first transition of each instance, then runs both tasks.
    let a_started = wait_for(PATIENCE, "A to start both tasks", || {
        let started = s
            .logged("started", "A", "fin")?
            .max(s.logged("started", "A", "open")?);
        let committed = std::fs::read_to_string(&a_metrics).ok()?.starts_with("2 ");
        committed.then_some(started)
    });
    a.signal("STOP");
    let stopped = now_ms();
    let a_before = read_metrics(&a_metrics);
    // A's lease (1 s, renewed every third of it) has run out after 1.5 s.
    std::thread::sleep(Duration::from_millis(1500));
    let mut b = s.worker("B", 200, 1000, None);
    let fin = s.result("fin");
    assert_eq!(
        fin,
        Fenced {
            first: Tagged {
                value: 10,
                role: "B".into()
            },
            go: 5,
            second: Tagged {
                value: 16,
                role: "B".into()
            }
        }
    );
    wait_for(PATIENCE, "B to commit the task of `open`", || {
        kinds(&s.history("open")).contains(&"task").then_some(())
    });
    let fin_before = s.history("fin");
    let open_before = s.history("open");
    assert_eq!(
        kinds(&fin_before),
        ["started", "start", "task", "signal", "task"]
    );
    assert_eq!(kinds(&open_before), ["started", "start", "task"]);
    assert!(
        s.logged("finished", "A", "fin").is_none() && s.logged("finished", "A", "open").is_none(),
        "A's tasks finished while it was stopped"
    );

    // Continue A once its tasks' sleeps are over: they end at once, and A tries to commit
    // their results against sequence numbers that have moved on.
    let wake_at = a_started + A_SLOW_MS as i64 + 100;
    std::thread::sleep(Duration::from_millis(
        u64::try_from(wake_at - now_ms()).unwrap_or(0),
    ));
    a.signal("CONT");
    let resumed = now_ms();
    std::thread::sleep(Duration::from_secs(2));
    a.assert_alive();
    let a_after = read_metrics(&a_metrics);
    let fin_after = s.history("fin");
    let open_after = s.history("open");
    assert_eq!(fin_after, fin_before, "A changed the history of `fin`");
    assert_eq!(open_after, open_before, "A changed the history of `open`");
    assert_eq!(
        a_after.0, a_before.0,
        "A committed transitions after it was continued"
    );
    let open =
        s.rt.block_on(s.engine.store().load(&InstanceId::new("open").unwrap()))
            .unwrap();
    assert_eq!((open.status, open.seq), (Status::Running, 2));

    // `open` goes on. A is a live worker again, with a fresh view: either worker may run the
    // rest, but the first task's result stays B's.
    s.rt.block_on(s.engine.signal("open", "go", &7u64)).unwrap();
    let open = s.result("open");
    assert_eq!(
        (
            open.first.role.as_str(),
            open.first.value,
            open.second.value
        ),
        ("B", 20, 28)
    );
    let open_final = s.history("open");
    assert_eq!(
        kinds(&open_final),
        ["started", "start", "task", "signal", "task"]
    );
    assert_eq!(open_final[..3], open_before[..], "`open` kept its history");
    for (id, h, quick_by) in [
        ("fin", &fin_after, "B"),
        ("open", &open_final, open.second.role.as_str()),
    ] {
        let roles = task_roles(h);
        assert_eq!(
            roles,
            vec![
                ("slow".to_owned(), "B".to_owned()),
                ("quick".to_owned(), quick_by.to_owned())
            ],
            "{id}: task outputs in the history"
        );
    }
    let a_finished: Vec<i64> = ["fin", "open"]
        .iter()
        .filter_map(|id| s.logged("finished", "A", id))
        .collect();
    eprintln!(
        "pg_fencing: A stopped {} ms after its tasks started, B took both instances over; after SIGCONT A's tasks finished {} of 2 (at +{:?} ms), A's commits refused by the sequence check: {} (the rest abandoned on a lost lease), A's transitions committed after SIGCONT: {}; the last step of `open` ran in {}",
        stopped - a_started,
        a_finished.len(),
        a_finished.iter().map(|t| t - resumed).collect::<Vec<_>>(),
        a_after.1 - a_before.1,
        a_after.0 - a_before.0,
        open.second.role,
    );
    a.kill();
    b.kill();
}

/// Kills the worker running the task of a fresh instance and measures how long after the kill
/// the other (idle) worker starts the task again. Returns the takeover time in ms.
fn takeover(s: &Setup, id: &str, lease_ms: u64) -> i64 {
    let tag = if lease_ms == 0 { "d" } else { "l" };
    let mut one = s.worker(&format!("{tag}1"), 60_000, lease_ms, None);
    let mut two = s.worker(&format!("{tag}2"), 60_000, lease_ms, None);
    // Both idle first.
    std::thread::sleep(Duration::from_millis(1500));
    s.rt.block_on(s.engine.start::<fenced>(id, 3)).unwrap();
    let runner = wait_for(PATIENCE, "a worker to start the task", || {
        s.events()
            .into_iter()
            .find(|e| e.0 == "started" && e.2 == id)
            .map(|e| e.1)
    });
    let (first, second) = if runner == one.name {
        (&mut one, &mut two)
    } else {
        (&mut two, &mut one)
    };
    // Kill it at a random moment between two lease renewals.
    std::thread::sleep(Duration::from_millis(now_ms() as u64 % 700));
    first.kill();
    let killed = now_ms();
    let lease = if lease_ms == 0 { 5000 } else { lease_ms };
    let again = wait_for(
        Duration::from_millis(lease) + PATIENCE,
        "the other worker to start the task again",
        || s.logged("started", &second.name, id),
    );
    second.kill();
    again - killed
}

#[test]
fn takeover_after_sigkill_is_bounded_by_the_lease() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = Setup::new("takeover") else {
        return;
    };
    let short = takeover(&s, "take-short", 1000);
    eprintln!(
        "pg_fencing: takeover after SIGKILL: {:.2} s with lease 1 s",
        short as f64 / 1000.0
    );
    let default = takeover(&s, "take-default", 0);
    eprintln!(
        "pg_fencing: takeover after SIGKILL: {:.2} s with the default lease ({:?})",
        default as f64 / 1000.0,
        WorkerConfig::default().lease
    );
    // Bounded by the lease, give or take the other worker's idle poll (1 s) and a loaded
    // machine: not by anything much longer.
    assert!(
        short < 1000 + SLACK_MS,
        "takeover took {short} ms with lease 1 s"
    );
    let lease = WorkerConfig::default().lease.as_millis() as i64;
    assert!(
        default < lease + SLACK_MS,
        "takeover took {default} ms with lease {lease} ms"
    );
}

#[test]
fn durable_sleeps_wake_on_time_with_idle_workers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = Setup::new("timers") else {
        return;
    };
    const SLEEP_MS: u64 = 1500;
    // Idle polls of an hour: only the due time itself can wake a worker in time.
    let hour = [("FENCE_IDLE_POLL_MS", 3_600_000.to_string())];
    let mut one = s.worker_with("n1", 0, 0, None, &hour);
    let mut two = s.worker_with("n2", 0, 0, None, &hour);
    std::thread::sleep(Duration::from_millis(1000));
    let ids: Vec<String> = (0..6).map(|i| format!("nap-{i}")).collect();
    for id in &ids {
        s.rt.block_on(s.engine.start::<napper>(id, SLEEP_MS))
            .unwrap();
        std::thread::sleep(Duration::from_millis(230));
    }
    let mut late = Vec::new();
    for id in &ids {
        let out = s
            .rt
            .block_on(async { tokio::time::timeout(PATIENCE, s.engine.result::<napper>(id)).await })
            .unwrap_or_else(|_| panic!("{id} did not finish"))
            .unwrap();
        assert_eq!(out, SLEEP_MS);
        let h = s.history(id);
        assert_eq!(kinds(&h), ["started", "start", "timer"], "{id}");
        let due = h[1].at.as_millis() + SLEEP_MS as i64;
        late.push(h[2].at.as_millis() - due);
    }
    one.assert_alive();
    two.assert_alive();
    eprintln!(
        "pg_fencing: durable sleeps of {SLEEP_MS} ms with 2 idle worker processes (idle poll an hour) fired {late:?} ms after their due time"
    );
    for (id, l) in ids.iter().zip(&late) {
        assert!(*l >= 0, "{id} fired {l} ms early");
        assert!(*l < SLACK_MS, "{id} fired {l} ms late");
    }
}
