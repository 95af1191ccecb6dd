//! Namespaces (docs/namespaces.md): two engines on one SQLite file, bound to namespaces `a`
//! and `b`, each see and work only their own instances (the worker of `a` never runs an
//! instance of `b`); a namespace quota admits at most N unfinished instances of its namespace
//! at once, in start order, on every store, and leaves other namespaces alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sayiir::{Engine, EngineError, InstanceStatus, SqliteStore, WorkerConfig};

use crate::common::within;

/// Begins (`true`) and ends (`false`) of runs, by instance id, in order.
static LOG: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());

#[sayiir::task]
async fn ns_begin(id: String) -> String {
    LOG.lock().unwrap().push((id.clone(), true));
    id
}

#[sayiir::task]
async fn ns_end(id: String) -> String {
    LOG.lock().unwrap().push((id.clone(), false));
    id
}

#[sayiir::workflow]
async fn ns_run(id: String) -> String {
    let id = ns_begin(id).await;
    sayiir::sleep(Duration::from_millis(30)).await;
    ns_end(id).await
}

fn logged(prefix: &str) -> Vec<(String, bool)> {
    LOG.lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .cloned()
        .collect()
}

fn config() -> WorkerConfig {
    WorkerConfig::default().lease(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_sqlite_file_each_work_their_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn sayiir::store::Store> =
        Arc::new(SqliteStore::open(dir.path().join("ns.db")).unwrap());
    let a = Engine::builder_shared(Arc::clone(&store))
        .register::<ns_run>()
        .namespace("a")
        .worker_config(config())
        .build()
        .unwrap();
    let b = Engine::builder_shared(Arc::clone(&store))
        .register::<ns_run>()
        .namespace("b")
        .worker_config(config())
        .build()
        .unwrap();
    assert_eq!((a.namespace(), b.namespace()), ("a", "b"));
    for i in 0..3 {
        a.start::<ns_run>(&format!("nsa-{i}"), format!("nsa-{i}"))
            .await
            .unwrap();
        b.start::<ns_run>(&format!("nsb-{i}"), format!("nsb-{i}"))
            .await
            .unwrap();
    }
    // Nothing crosses: reads, signals, starts of a taken id, listings.
    assert!(matches!(
        a.status("nsb-0").await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        a.cancel("nsb-0", "wrong namespace").await,
        Err(EngineError::NotFound { .. })
    ));
    let taken = a.start::<ns_run>("nsb-0", "x".into()).await;
    assert!(
        matches!(
            &taken,
            Err(EngineError::Store(
                sayiir::store::StoreError::IdTaken { .. }
            ))
        ),
        "{taken:?}"
    );
    let listed = a.list(&Default::default()).await.unwrap();
    let mut ids: Vec<&str> = listed.instances.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["nsa-0", "nsa-1", "nsa-2"]);

    // Only `a` has a worker: its instances complete, those of `b` are never claimed.
    let worker_a = a.spawn_worker();
    for i in 0..3 {
        let id = format!("nsa-{i}");
        let out = within(&id, a.result::<ns_run>(id.as_str())).await.unwrap();
        assert_eq!(out, id);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(logged("nsb-").is_empty(), "{:?}", logged("nsb-"));
    for i in 0..3 {
        let status = b.status(format!("nsb-{i}").as_str()).await.unwrap();
        assert_eq!(status.status, InstanceStatus::Running);
        assert_eq!(status.seq, 0, "nsb-{i} never ran");
    }
    // A handle of `b` made from `a` (what a server does per request) works `b`.
    let b2 = a.in_namespace("b").unwrap();
    assert_eq!(b2.namespace(), "b");
    let worker_b = b2.spawn_worker();
    for i in 0..3 {
        let id = format!("nsb-{i}");
        let out = within(&id, b.result::<ns_run>(id.as_str())).await.unwrap();
        assert_eq!(out, id);
    }
    worker_a.shutdown().await.unwrap();
    worker_b.shutdown().await.unwrap();
    assert_eq!(logged("nsa-").len(), 6);
    assert_eq!(logged("nsb-").len(), 6);
    assert!(matches!(
        a.in_namespace("B"),
        Err(EngineError::InvalidNamespace(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_quota_admits_at_most_n_in_start_order() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("ns-quota", dir.path()).await {
        let prefix = format!("nsq-{backend}-");
        let q = Engine::builder_shared(Arc::clone(&store))
            .register::<ns_run>()
            .namespace("quota")
            .namespace_quota(2)
            .worker_config(config())
            .build()
            .unwrap();
        assert_eq!(q.namespace_quota(), Some(2));
        let ids: Vec<String> = (0..6).map(|i| format!("{prefix}{i}")).collect();
        for id in &ids {
            q.start::<ns_run>(id.as_str(), id.clone()).await.unwrap();
        }
        let usage = q.limits().await.unwrap();
        let gate = usage.iter().find(|l| l.key == "namespace:quota").unwrap();
        assert_eq!(
            (gate.limit, gate.in_use, gate.waiting),
            (2, 2, 4),
            "{backend}: {usage:?}"
        );
        for id in &ids[2..] {
            let s = q.status(id.as_str()).await.unwrap();
            assert!(
                matches!(
                    s.status,
                    InstanceStatus::Blocked {
                        kind: sayiir::store::BlockKind::AwaitingAdmission,
                        ..
                    }
                ),
                "{backend}: {id}: {:?}",
                s.status
            );
        }
        // Another namespace of the same store has no quota: admitted at once.
        let other = q
            .in_namespace("free")
            .unwrap()
            .with_namespace_quota(None)
            .unwrap();
        other
            .start::<ns_run>("nsq-free", "nsq-free".into())
            .await
            .unwrap();
        assert_eq!(
            other.status("nsq-free").await.unwrap().status,
            InstanceStatus::Running
        );

        let worker = q.spawn_worker();
        for id in &ids {
            let out = within(&format!("{backend}: {id}"), q.result::<ns_run>(id.as_str()))
                .await
                .unwrap();
            assert_eq!(&out, id);
        }
        worker.shutdown().await.unwrap();
        let log = logged(&prefix);
        assert_eq!(log.len(), 12, "{backend}: {log:?}");
        let (mut now, mut most) = (0usize, 0usize);
        for (_, begin) in &log {
            if *begin {
                now += 1;
                most = most.max(now);
            } else {
                now -= 1;
            }
        }
        println!("{backend}: namespace quota 2, 6 instances, most running at once: {most}");
        assert_eq!(most, 2, "{backend}: {log:?}");
        let begins: Vec<&str> = log
            .iter()
            .filter(|(_, b)| *b)
            .map(|(id, _)| id.as_str())
            .collect();
        let order: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Admitted in start order: at most the pair admitted together swaps.
        for (i, id) in begins.iter().enumerate() {
            let pos = order.iter().position(|o| o == id).unwrap();
            assert!(pos.abs_diff(i) <= 1, "{backend}: begins {begins:?}");
        }
        let usage = q.limits().await.unwrap();
        let gate = usage.iter().find(|l| l.key == "namespace:quota").unwrap();
        assert_eq!((gate.in_use, gate.waiting), (0, 0), "{backend}: {usage:?}");
    }
}
