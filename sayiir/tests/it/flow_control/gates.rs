//! The concurrency limits of workflow types and keys (admission gates) on every store: a
//! workflow with `concurrency = 2` started 20 times and worked by two workers (one on SQLite,
//! which allows one worker process) never runs more than 2 instances at once, reaches 2, and
//! admits in start order; instances of one concurrency key with `key_limit` 1 run strictly one
//! after another in start order while different keys overlap. Each instance's first task logs
//! its begin and its last task its end, with a durable sleep between them. Also: operators see
//! waiting instances and only cancel them, `result` waits for admission, bad start options
//! create nothing; `start_by_name`, `start_in` and `Engine::restart` take slots too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir::{Engine, StartOptions, WorkerConfig};

use crate::common::within;

/// Begins (`true`) and ends (`false`) of instances, in the order they happened.
static LOG: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());

fn log(id: String, begin: bool) {
    LOG.lock().unwrap().push((id, begin));
}

#[sayiir::task]
async fn begin_run(id: String) -> String {
    log(id.clone(), true);
    id
}

#[sayiir::task]
async fn end_run(id: String) -> String {
    log(id.clone(), false);
    id
}

#[sayiir::workflow(concurrency = 2)]
async fn capped(id: String) -> String {
    let id = begin_run(id).await;
    sayiir::sleep(Duration::from_millis(40)).await;
    end_run(id).await
}

#[sayiir::workflow]
async fn keyed(id: String) -> String {
    let id = begin_run(id).await;
    sayiir::sleep(Duration::from_millis(40)).await;
    end_run(id).await
}

/// The entries of `LOG` whose id starts with `prefix`.
fn logged(prefix: &str) -> Vec<(String, bool)> {
    let log = LOG.lock().unwrap();
    log.iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .cloned()
        .collect()
}

/// The most instances running at once in `log` (begin +1, end -1).
fn most_at_once(log: &[(String, bool)]) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for (_, begin) in log {
        if *begin {
            now += 1;
            most = most.max(now);
        } else {
            now -= 1;
        }
    }
    most
}

fn engine(store: &Arc<dyn sayiir::store::Store>) -> Engine {
    Engine::builder_shared(Arc::clone(store))
        .register::<capped>()
        .register::<keyed>()
        .worker_config(WorkerConfig::default().lease(Duration::from_secs(30)))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_and_key_limits_hold_in_start_order() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("gates", dir.path()).await {
        // Per workflow type.
        LOG.lock().unwrap().clear();
        let a = engine(&store);
        let ids: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        for id in &ids {
            a.start::<capped>(id.as_str(), id.clone()).await.unwrap();
        }
        let usage = a.limits().await.unwrap();
        let gate = usage.iter().find(|l| l.key == "workflow:capped").unwrap();
        assert_eq!(
            (gate.limit, gate.in_use, gate.waiting),
            (2, 2, 18),
            "{backend}: {usage:?}"
        );
        let b = engine(&store);
        let mut workers = vec![a.spawn_worker()];
        if backend != "sqlite" {
            workers.push(b.spawn_worker());
        }
        for id in &ids {
            let out = within(&format!("{backend}: {id}"), a.result::<capped>(id.as_str()))
                .await
                .unwrap();
            assert_eq!(&out, id);
        }
        // (Other tests of this binary log their own ids, not `c..`.)
        let log = logged("c");
        assert_eq!(log.len(), 40, "{backend}: {log:?}");
        let most = most_at_once(&log);
        println!("{backend}: workflow limit 2, 20 instances, most running at once: {most}");
        assert_eq!(most, 2, "{backend}: {log:?}");
        // Admission in start order: when an instance begins, at most one earlier instance
        // (admitted with it) has not begun yet.
        let begins: Vec<&str> = log
            .iter()
            .filter(|(_, b)| *b)
            .map(|(id, _)| id.as_str())
            .collect();
        for (n, id) in begins.iter().enumerate() {
            let index = ids.iter().position(|i| i == id).unwrap();
            let earlier_not_begun = ids[..index]
                .iter()
                .filter(|e| !begins[..n].contains(&e.as_str()))
                .count();
            assert!(
                earlier_not_begun <= 1,
                "{backend}: {id} began before {earlier_not_begun} earlier instances: {begins:?}"
            );
        }
        let gate = a.limits().await.unwrap();
        let gate = gate.iter().find(|l| l.key == "workflow:capped").unwrap();
        assert_eq!((gate.in_use, gate.waiting), (0, 0), "{backend}");

        // Per key: 3 keys × 4 instances, started interleaved.
        LOG.lock().unwrap().clear();
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in 0..4 {
            for k in ["k0", "k1", "k2"] {
                let id = format!("{k}-{n}");
                let options = StartOptions::new().concurrency_key(k).key_limit(1);
                a.start_with::<keyed>(id.as_str(), id.clone(), options)
                    .await
                    .unwrap();
                by_key.entry(k.to_owned()).or_default().push(id);
            }
        }
        for ids in by_key.values() {
            for id in ids {
                within(&format!("{backend}: {id}"), a.result::<keyed>(id.as_str()))
                    .await
                    .unwrap();
            }
        }
        let log = logged("k");
        for (k, ids) in &by_key {
            let mine: Vec<(String, bool)> = log
                .iter()
                .filter(|(id, _)| id.starts_with(&format!("{k}-")))
                .cloned()
                .collect();
            let expected: Vec<(String, bool)> = ids
                .iter()
                .flat_map(|id| [(id.clone(), true), (id.clone(), false)])
                .collect();
            assert_eq!(
                mine, expected,
                "{backend}: key {k} one at a time, in start order"
            );
        }
        let most = most_at_once(&log);
        println!("{backend}: 3 keys × 4 instances, key_limit 1, most running at once: {most}");
        assert!((2..=3).contains(&most), "{backend}: keys overlap: {log:?}");
        for w in workers {
            w.shutdown().await.unwrap();
        }
        drop(b);
    }
}

/// Waiting for admission is a status operators see; only cancel acts on it (it leaves the
/// queue); bad start options create nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_waiting_instances_and_only_cancel_them() {
    use sayiir::store::BlockKind;
    use sayiir::{EngineError, InstanceStatus};
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("gates_ops", dir.path()).await {
        let e = engine(&store);
        let key = |k: u32| StartOptions::new().concurrency_key("cust").key_limit(k);
        e.start_with::<keyed>("o1", "o1".into(), key(1))
            .await
            .unwrap();
        e.start_with::<keyed>("o2", "o2".into(), key(1))
            .await
            .unwrap();
        e.start_with::<keyed>("o3", "o3".into(), key(1))
            .await
            .unwrap();
        let status = e.status("o2").await.unwrap().status;
        assert!(
            matches!(
                status,
                InstanceStatus::Blocked {
                    kind: BlockKind::AwaitingAdmission,
                    ..
                }
            ),
            "{backend}: {status:?}"
        );
        assert_eq!(
            e.status("o1").await.unwrap().status,
            InstanceStatus::Running
        );
        for refused in [e.pause("o2").await, e.retry("o2").await, e.fail("o2").await] {
            assert!(
                matches!(refused, Err(EngineError::NotAllowed { .. })),
                "{backend}: {refused:?}"
            );
        }
        e.signal("o2", "nothing", &1u8).await.ok();
        e.cancel("o2", "not needed").await.unwrap();
        let usage = e.limits().await.unwrap();
        let k = usage.iter().find(|l| l.key == "key:cust").unwrap();
        assert_eq!(
            (k.limit, k.in_use, k.waiting),
            (1, 1, 1),
            "{backend}: o2 left the queue"
        );
        let bad = e.start_with::<keyed>("o4", "o4".into(), key(0)).await;
        assert!(
            matches!(bad, Err(EngineError::BadStartOptions { .. })),
            "{backend}: {bad:?}"
        );
        let empty = StartOptions::new().concurrency_key("");
        let bad = e.start_with::<keyed>("o5", "o5".into(), empty).await;
        assert!(
            matches!(bad, Err(EngineError::BadStartOptions { .. })),
            "{backend}: {bad:?}"
        );
        assert!(e.status("o4").await.is_err() && e.status("o5").await.is_err());
        let waits = tokio::time::timeout(Duration::from_millis(200), e.result::<keyed>("o3")).await;
        assert!(
            waits.is_err(),
            "{backend}: result waits for admission: {waits:?}"
        );
        let worker = e.spawn_worker();
        for id in ["o1", "o3"] {
            let out = within(&format!("{backend}: {id}"), e.result::<keyed>(id))
                .await
                .unwrap();
            assert_eq!(out, id);
        }
        let r = e.result::<keyed>("o2").await;
        assert!(r.is_err(), "{backend}: o2 was cancelled: {r:?}");
        worker.shutdown().await.unwrap();
    }
}

/// `start_by_name` takes the workflow's limit as `start` does; `Engine::restart` of a finished
/// instance takes a slot again (or waits for one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_by_name_and_restart_take_a_slot() {
    use sayiir::InstanceStatus;
    use sayiir::store::BlockKind;
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("gates_paths", dir.path()).await {
        let e = engine(&store);
        let gate = |e: Engine| async move {
            let usage = e.limits().await.unwrap();
            let g = usage
                .iter()
                .find(|l| l.key == "workflow:capped")
                .cloned()
                .unwrap();
            (g.in_use, g.waiting)
        };
        e.start::<capped>("p1", "p1".into()).await.unwrap();
        e.start_by_name("capped", "p2", &"p2".to_owned())
            .await
            .unwrap();
        e.start_by_name("capped", "p3", &"p3".to_owned())
            .await
            .unwrap();
        assert_eq!(
            gate(e.clone()).await,
            (2, 1),
            "{backend}: by name, p3 waits"
        );
        let waiting = |s: InstanceStatus| {
            matches!(
                s,
                InstanceStatus::Blocked {
                    kind: BlockKind::AwaitingAdmission,
                    ..
                }
            )
        };
        assert!(waiting(e.status("p3").await.unwrap().status), "{backend}");
        let worker = e.spawn_worker();
        for id in ["p1", "p2", "p3"] {
            within(&format!("{backend}: {id}"), e.result::<capped>(id))
                .await
                .unwrap();
        }
        worker.shutdown().await.unwrap();
        assert_eq!(gate(e.clone()).await, (0, 0), "{backend}");
        e.start::<capped>("p4", "p4".into()).await.unwrap();
        e.start::<capped>("p5", "p5".into()).await.unwrap();
        e.restart("p1", "again").await.unwrap();
        assert_eq!(
            gate(e.clone()).await,
            (2, 1),
            "{backend}: the restarted p1 waits"
        );
        assert!(waiting(e.status("p1").await.unwrap().status), "{backend}");
        let worker = e.spawn_worker();
        for id in ["p4", "p5", "p1"] {
            within(&format!("{backend}: {id}"), e.result::<capped>(id))
                .await
                .unwrap();
        }
        worker.shutdown().await.unwrap();
        assert_eq!(gate(e.clone()).await, (0, 0), "{backend}");
    }
}

/// `start_in` (the application's transaction, SQLite here) takes the workflow's limit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_in_takes_a_slot() {
    use sayiir::rusqlite::{Connection, TransactionBehavior};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("start_in.db");
    let store: Arc<dyn sayiir::store::Store> = Arc::new(sayiir::SqliteStore::open(&path).unwrap());
    let e = engine(&store);
    let mut conn = Connection::open(&path).unwrap();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    for id in ["t1", "t2", "t3"] {
        e.start_in::<capped>(&tx, id, id.to_owned()).await.unwrap();
    }
    tx.commit().unwrap();
    let usage = e.limits().await.unwrap();
    let g = usage.iter().find(|l| l.key == "workflow:capped").unwrap();
    assert_eq!((g.limit, g.in_use, g.waiting), (2, 2, 1), "{usage:?}");
    let worker = e.spawn_worker();
    for id in ["t1", "t2", "t3"] {
        within(id, e.result::<capped>(id)).await.unwrap();
    }
    worker.shutdown().await.unwrap();
}

#[sayiir::task]
async fn noop_step(n: u64) -> u64 {
    n
}

/// Runs once at a time; each run waits for a signal, so it stays running.
#[sayiir::workflow(concurrency = 1)]
async fn ticking(n: u64) -> u64 {
    let go: u64 = sayiir::signal::<u64>("go").await;
    noop_step(n + go).await
}

/// A schedule's runs take the workflow's limit too (virtual time, memory store): the ticks of
/// three minutes of a schedule that allows overlap start a run each, one admitted, the others
/// waiting; each finish admits the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_runs_take_a_slot() {
    use sayiir::schedule::{Overlap, ScheduleSpec};
    use sayiir::testing::TestEngine;
    let start = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_612_800);
    let engine = TestEngine::builder()
        .start_at(start)
        .register::<ticking>()
        .build()
        .unwrap();
    let spec = ScheduleSpec::new("* * * * *", 1u64).overlap(Overlap::AllowAll);
    engine
        .schedule::<ticking>("every-minute", spec)
        .await
        .unwrap();
    engine.advance(Duration::from_secs(3 * 60)).await;
    let gate = |usage: Vec<sayiir::admin::LimitInfo>| {
        let g = usage
            .into_iter()
            .find(|l| l.key == "workflow:ticking")
            .unwrap();
        (g.limit, g.in_use, g.waiting)
    };
    let runs = engine
        .list(&sayiir::store::ListQuery::new())
        .await
        .unwrap()
        .instances
        .len() as u64;
    assert!(runs >= 3, "{runs} runs");
    assert_eq!(gate(engine.limits().await.unwrap()), (1, 1, runs - 1));
    let mut finished = 0;
    for _ in 0..runs {
        let listing = engine.list(&sayiir::store::ListQuery::new()).await.unwrap();
        let admitted: Vec<_> = listing
            .instances
            .iter()
            .filter(|r| r.status == sayiir::InstanceStatus::Running)
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(admitted.len(), 1, "one run admitted at a time: {listing:?}");
        engine
            .signal(admitted[0].clone(), "go", &1u64)
            .await
            .unwrap();
        engine.advance(Duration::from_millis(10)).await;
        finished += 1;
        let expected = if finished < runs {
            (1, 1, runs - 1 - finished)
        } else {
            (1, 0, 0)
        };
        assert_eq!(
            gate(engine.limits().await.unwrap()),
            expected,
            "after {finished}"
        );
    }
    engine.shutdown().await.unwrap();
}
