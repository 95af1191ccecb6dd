//! The three ways an instance of an old version finishes, in one process on a real SQLite
//! file (the multi-process runs are in `processes.rs`): drain (the old version stays
//! registered), complete in place (a migration), restart (a new run on the newest version).

use std::path::Path;

use sayiir::store::BlockKind;
use sayiir::{
    BuildProblem, Engine, EngineError, InstanceStatus, Migration, RestartFilter, SqliteStore,
};

use super::flows::{Order, to_v3, v1, v2, v3};

fn order(id: u64) -> Order {
    Order { id, total: 100 }
}

/// Waits until `id` is parked in state `state`.
pub(crate) async fn parked(engine: &Engine, id: &str, state: &str) {
    crate::common::eventually(&format!("{id} to park at {state}"), || async {
        let s = engine.status(id).await.unwrap();
        (s.state.as_deref() == Some(state) && s.due_at.is_none()).then_some(())
    })
    .await;
}

/// Starts `ids` under version 1 and parks the even ones at the signal, the odd ones inside
/// the child workflow (after `go`).
async fn start_v1(db: &Path, ids: &[&str]) {
    let engine = Engine::builder(SqliteStore::open(db).unwrap())
        .register::<v1::checkout>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    for (i, id) in ids.iter().enumerate() {
        engine
            .start::<v1::checkout>(id, order(i as u64))
            .await
            .unwrap();
        if i % 2 == 1 {
            parked(&engine, id, "signal:go#1").await;
            engine.signal(id, "go", &true).await.unwrap();
            parked(&engine, id, "notify#1").await;
        } else {
            parked(&engine, id, "signal:go#1").await;
        }
    }
    worker.shutdown().await.unwrap();
}

async fn finish(engine: &Engine, ids: &[&str]) {
    for id in ids {
        // Started and parked at the signal, or already past it (inside the child).
        crate::common::eventually(&format!("{id} to park"), || async {
            let s = engine.status(id).await.unwrap();
            (s.due_at.is_none() && s.state.is_some()).then_some(())
        })
        .await;
        if engine.status(id).await.unwrap().state.as_deref() == Some("signal:go#1") {
            engine.signal(id, "go", &true).await.unwrap();
        }
    }
    for id in ids {
        parked_or_past(engine, id).await;
        engine
            .signal(id, "note", &"thanks".to_string())
            .await
            .unwrap();
    }
}

/// Waits until `id` waits in the child (whatever its version).
async fn parked_or_past(engine: &Engine, id: &str) {
    parked(engine, id, "notify#1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_runs_old_instances_on_their_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drain.db");
    start_v1(&db, &["d0", "d1"]).await;

    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<v1::checkout>()
        .register::<v2::checkout>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    engine.start::<v2::checkout>("new", order(9)).await.unwrap();
    // By name, a start goes to the newest version; its input is checked by structure.
    let by_name = engine
        .start_by_name("checkout", "named", &order(8))
        .await
        .unwrap();
    assert_eq!(
        (by_name.version, by_name.workflow.as_str()),
        (2, "checkout")
    );
    match engine.start_by_name("checkout", "bad", &(1u64, 2u64)).await {
        Err(EngineError::WrongInput {
            version: 2,
            expected,
            found,
            ..
        }) => {
            assert_eq!(expected, "Order { id: u64, total: u64 }");
            assert_eq!(found, "(u64, u64)");
        }
        r => panic!("{r:?}"),
    }
    finish(&engine, &["d0", "d1", "new", "named"]).await;
    assert!(
        engine
            .result::<v2::checkout>("named")
            .await
            .unwrap()
            .starts_with("v2: ")
    );
    for id in ["d0", "d1"] {
        let out = engine.result::<v1::checkout>(id).await.unwrap();
        assert!(out.starts_with("v1: "), "{out}");
        assert_eq!(engine.status(id).await.unwrap().version, 1);
    }
    let out = engine.result::<v2::checkout>("new").await.unwrap();
    assert!(out.starts_with("v2: "), "{out}");
    // Version 1 has drained; version 2 ran the new start.
    let stats = engine.version_stats().await.unwrap();
    let v1 = stats.iter().find(|s| s.version == 1).unwrap();
    assert_eq!((v1.completed, v1.running, v1.blocked), (2, 0, 0));
    assert!(v1.drained());
    assert_eq!(stats.iter().find(|s| s.version == 2).unwrap().completed, 2);
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_completes_instances_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migrate.db");
    start_v1(&db, &["m0", "m1"]).await;

    // Version 2 stores the same things in the same states: no function is needed.
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .migrate(Migration::<v1::checkout, v2::checkout>::new())
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    finish(&engine, &["m0", "m1"]).await;
    for id in ["m0", "m1"] {
        // Typed calls name the new version: the instance runs it now.
        let out = engine.result::<v2::checkout>(id).await.unwrap();
        assert!(out.starts_with("v2: "), "{out}");
        let info = engine.status(id).await.unwrap();
        assert_eq!(info.version, 2);
        let history = engine.history(id).await.unwrap();
        let migrated: Vec<_> = history.iter().filter(|e| e.kind == "migrated").collect();
        assert_eq!(migrated.len(), 1, "{id}: one move, recorded");
    }
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_that_changed_needs_a_migration_function() {
    let build = Engine::builder(sayiir::MemoryStore::new())
        .migrate(Migration::<v1::checkout, v3::checkout>::new())
        .build();
    let problems = match build {
        Err(e) => e.problems,
        Ok(_) => panic!("a migration with unmatched states built"),
    };
    let [
        BuildProblem::Migration {
            workflow,
            from: 1,
            to: 3,
            problems,
        },
    ] = problems.as_slice()
    else {
        panic!("{problems:?}");
    };
    assert_eq!(workflow, "checkout");
    let text = problems.join("\n");
    for state in [
        "signal:go#1",
        "charge#1",
        "join(quote,quote)#1",
        "notify#1",
        "ship#1",
    ] {
        assert!(
            text.contains(&format!(
                "state `{state}`: new field `coupon: Option<String>` has no old value"
            )),
            "{text}"
        );
    }
    // The start state stores the same input: it needs nothing.
    assert!(!text.contains("state `start`"), "{text}");
    // A function for a state version 1 does not have is refused too.
    let e = Engine::builder(sayiir::MemoryStore::new())
        .migrate(to_v3::<v1::checkout>().state("no_such_state", |_| Ok(())))
        .build()
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("state `no_such_state`, which version 1 does not have"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_functions_set_the_new_fields() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migrate3.db");
    start_v1(&db, &["f0", "f1"]).await;
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .migrate(to_v3::<v1::checkout>())
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    finish(&engine, &["f0", "f1"]).await;
    for id in ["f0", "f1"] {
        let out = engine.result::<v3::checkout>(id).await.unwrap();
        assert!(
            out.starts_with("v3: ") && out.ends_with("coupon MIGRATED"),
            "{out}"
        );
    }
    // Started under version 3: the coupon set by the workflow itself.
    engine
        .start::<v3::checkout>("fresh", order(7))
        .await
        .unwrap();
    finish(&engine, &["fresh"]).await;
    let out = engine.result::<v3::checkout>("fresh").await.unwrap();
    assert!(out.ends_with("coupon none"), "{out}");
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_runs_again_on_the_newest_version_and_keeps_both_histories() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.db");
    start_v1(&db, &["r0", "r1", "r2"]).await;

    // A binary with version 2 only: the old instances are blocked, not resumed.
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<v2::checkout>()
        .build()
        .unwrap();
    assert_eq!(engine.check_versions().await.unwrap().len(), 3);
    let before = engine.history("r0").await.unwrap();
    let r = engine.restart("r0", "move to version 2").await.unwrap();
    assert_eq!((r.from.version, r.to.version), (1, 2));
    let info = engine.status("r0").await.unwrap();
    assert_eq!((info.version, info.status), (2, InstanceStatus::Running));
    // The rest, in bulk: every unfinished instance of version 1.
    let all = engine
        .restart_all(&RestartFilter::workflow("checkout").version(1), "bulk")
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"]);
    assert!(all.iter().all(|(_, r)| r.is_ok()), "{all:?}");

    let worker = engine.spawn_worker();
    for id in ["r0", "r1", "r2"] {
        parked(&engine, id, "signal:go#1").await;
        engine.signal(id, "go", &true).await.unwrap();
        parked(&engine, id, "notify#1").await;
        engine
            .signal(id, "note", &"again".to_string())
            .await
            .unwrap();
        let out = engine.result::<v2::checkout>(id).await.unwrap();
        assert!(
            out.starts_with("v2: ") && out.contains("again for"),
            "{out}"
        );
    }
    // The first run's entries are kept, then the restart, then the new run.
    let after = engine.history("r0").await.unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after[before.len()].kind, "restarted");
    assert_eq!(after[before.len()].seq, before.len() as u64);
    assert!(after.len() > before.len() + 3);
    worker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_mismatch_says_what_changed_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("blocked.db");
    start_v1(&db, &["b0"]).await;
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .register::<v3::checkout>()
        .build()
        .unwrap();
    let found = engine.check_versions().await.unwrap();
    let [m] = found.as_slice() else {
        panic!("{found:?}")
    };
    assert_eq!(m.stored.version, 1);
    // Named with the definitions this binary knows, counted, and listed as blocked.
    assert_eq!(
        m.known.iter().map(|d| d.version).collect::<Vec<_>>(),
        [3],
        "{m:?}"
    );
    assert_eq!(
        engine.metrics().instances_blocked(),
        1,
        "{:?}",
        engine.metrics()
    );
    let stats = engine.version_stats().await.unwrap();
    let v1 = stats.iter().find(|s| s.version == 1).unwrap();
    assert_eq!((v1.running, v1.blocked, v1.drained()), (0, 1, false));
    assert!(
        m.changes
            .iter()
            .any(|c| c == "state `signal:go#1`: field `coupon: Option<String>` added"),
        "{:?}",
        m.changes
    );
    match engine.status("b0").await.unwrap().status {
        InstanceStatus::Blocked {
            kind: BlockKind::VersionMismatch,
            reason,
        } => assert!(
            reason.contains("field `coupon: Option<String>` added"),
            "{reason}"
        ),
        s => panic!("{s:?}"),
    }
    match engine.result::<v3::checkout>("b0").await {
        Err(EngineError::VersionMismatch(e)) => {
            assert_eq!(&*e, m);
            println!("{e}");
        }
        r => panic!("{r:?}"),
    }
}

/// During a rolling deploy, a binary of the old version marks instances of the new one as
/// version mismatches; the new binary still runs them and reports them as running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_from_an_older_binary_does_not_hide_a_healthy_instance() {
    let store: std::sync::Arc<dyn sayiir::store::Store> =
        std::sync::Arc::new(sayiir::MemoryStore::new());
    let new = Engine::builder_shared(store.clone())
        .register::<v2::checkout>()
        .build()
        .unwrap();
    let worker = new.spawn_worker();
    new.start::<v2::checkout>("n", order(1)).await.unwrap();
    parked(&new, "n", "signal:go#1").await;
    let old = Engine::builder_shared(store.clone())
        .register::<v1::checkout>()
        .build()
        .unwrap();
    assert_eq!(old.check_versions().await.unwrap().len(), 1);
    assert!(matches!(
        old.status("n").await.unwrap().status,
        InstanceStatus::Blocked {
            kind: BlockKind::VersionMismatch,
            ..
        }
    ));
    // The binary that runs version 2 reports and counts it as running, and runs it.
    assert_eq!(
        new.status("n").await.unwrap().status,
        InstanceStatus::Running
    );
    let stats = new.version_stats().await.unwrap();
    assert_eq!((stats[0].running, stats[0].blocked), (1, 0));
    finish(&new, &["n"]).await;
    assert!(
        new.result::<v2::checkout>("n")
            .await
            .unwrap()
            .starts_with("v2: ")
    );
    worker.shutdown().await.unwrap();
}

/// A migration function that fails on an instance's data blocks that instance as
/// `MigrationFailed`, its state, version and history as they were; the others move on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_migration_blocks_the_instance_untouched() {
    use sayiir::store::Store as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("migration-fails.db");
    start_v1(&db, &["x0", "x1"]).await;
    let store = SqliteStore::open(&db).unwrap();
    let id = sayiir::store::InstanceId::new("x0").unwrap();
    let before = store.load(&id).await.unwrap();
    let mut m = to_v3::<v1::checkout>();
    m = m.state("signal:go#1", |m| {
        let order: Order = m.get("order")?;
        Err(sayiir::MigrateError::custom(format!(
            "order {} has no coupon rule",
            order.id
        )))
    });
    let engine = Engine::builder(SqliteStore::open(&db).unwrap())
        .migrate(m)
        .build()
        .unwrap();
    let history = engine.history("x0").await.unwrap();
    let worker = engine.spawn_worker();
    // The signal makes x0 due: the worker claims it and tries to move it.
    engine.signal("x0", "go", &true).await.unwrap();
    let reason = crate::common::eventually("x0 to be blocked by its migration", || async {
        match engine.status("x0").await.unwrap().status {
            InstanceStatus::Blocked {
                kind: BlockKind::MigrationFailed,
                reason,
            } => Some(reason),
            _ => None,
        }
    })
    .await;
    assert!(
        reason.contains("order 0 has no coupon rule") && reason.contains("left as it was"),
        "{reason:?}"
    );
    let after = store.load(&id).await.unwrap();
    assert_eq!(
        (
            &after.state,
            &after.state_id,
            after.seq,
            after.version,
            after.hash,
            after.fingerprint
        ),
        (
            &before.state,
            &before.state_id,
            before.seq,
            before.version,
            before.hash,
            before.fingerprint
        )
    );
    assert_eq!(engine.history("x0").await.unwrap(), history);
    // x1 (in the child, whose migration works) moves on and finishes on version 3.
    finish(&engine, &["x1"]).await;
    let out = engine.result::<v3::checkout>("x1").await.unwrap();
    assert!(out.ends_with("coupon MIGRATED"), "{out}");
    worker.shutdown().await.unwrap();
}
