//! Pause and resume of a running instance, the statuses they are refused from, and stats with
//! the due backlog, on every store.

use std::collections::BTreeMap;

use sayiir::admin::Operation;
use sayiir::store::{BlockKind, Status};
use sayiir::{EngineError, InstanceStatus};
use serde::{Deserialize, Serialize};

use super::{Order, checkout, engine, order};
use crate::common::{eventually, within};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Approval {
    pub(crate) by: String,
    pub(crate) level: u8,
}

#[sayiir::workflow]
pub(crate) async fn approval(order: Order) -> String {
    let seen: Vec<String> = vec![order.key.clone()];
    let a = sayiir::signal::<Approval>("approve").await;
    format!(
        "{} approved by {} (level {}), {seen:?}",
        order.key, a.by, a.level
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_follow_the_table_of_operations() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("pause_resume", dir.path()).await {
        let engine = engine(store);
        let worker = engine.spawn_worker();
        let id = format!("{backend}-waits");
        engine.start::<approval>(&id, order(&id)).await.unwrap();
        eventually("waiting for the signal", || async {
            let i = engine.status(&id).await.unwrap();
            (i.state.as_deref() == Some("signal:approve#1")).then_some(())
        })
        .await;
        let d = engine.describe(&id).await.unwrap();
        assert_eq!(
            d.allowed,
            [Operation::Pause, Operation::Cancel],
            "{backend}"
        );
        assert!(matches!(
            engine.resume(&id).await,
            Err(EngineError::NotPaused { .. })
        ));
        assert!(matches!(
            engine.retry(&id).await,
            Err(EngineError::NotAllowed {
                operation: Operation::Retry,
                ..
            })
        ));
        engine.pause(&id).await.unwrap();
        let status = engine.status(&id).await.unwrap().status;
        assert!(
            matches!(
                status,
                InstanceStatus::Blocked {
                    kind: BlockKind::Paused,
                    ..
                }
            ),
            "{backend}: {status:?}"
        );
        assert!(matches!(
            engine.pause(&id).await,
            Err(EngineError::NotAllowed {
                operation: Operation::Pause,
                ..
            })
        ));
        assert_eq!(
            engine.describe(&id).await.unwrap().allowed,
            [Operation::Resume, Operation::Cancel]
        );
        // A signal sent while paused waits; after resume it is delivered.
        let approval = Approval {
            by: "ann".into(),
            level: 2,
        };
        engine.signal(&id, "approve", &approval).await.unwrap();
        engine.resume(&id).await.unwrap();
        let out = within("the resumed instance", engine.result::<approval>(&id)).await;
        assert_eq!(
            out.unwrap(),
            format!("{id} approved by ann (level 2), [\"{id}\"]")
        );
        // Finished: every operation is refused as finished.
        for op in [
            engine.pause(&id).await,
            engine.resume(&id).await,
            engine.retry(&id).await,
            engine.fail(&id).await,
            engine.cancel(&id, "late").await,
        ] {
            assert!(
                matches!(
                    op,
                    Err(EngineError::Finished {
                        status: Status::Completed,
                        ..
                    })
                ),
                "{backend}: {op:?}"
            );
        }
        assert!(engine.describe(&id).await.unwrap().allowed.is_empty());
        worker.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_per_workflow_version_and_status_with_the_due_backlog() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("stats", dir.path()).await {
        let engine = engine(store);
        // No worker yet: every started instance is due and unclaimed.
        for i in 0..5 {
            let key = format!("{backend}-{i}");
            engine.start::<checkout>(&key, order(&key)).await.unwrap();
        }
        let stats = engine.stats().await.unwrap();
        assert_eq!(stats.due, 5, "{backend}");
        assert!(stats.oldest_due.is_some_and(|t| t <= stats.at));
        let worker = engine.spawn_worker();
        for i in 0..5 {
            let key = format!("{backend}-{i}");
            within("checkout", engine.result::<checkout>(&key))
                .await
                .unwrap();
        }
        let parked = format!("{backend}-parked");
        super::set(&super::BROKEN, &parked, true);
        engine
            .start::<checkout>(&parked, order(&parked))
            .await
            .unwrap();
        super::blocked_with(&engine, &parked, BlockKind::Parked).await;
        let stats = engine.stats().await.unwrap();
        worker.shutdown().await.unwrap();
        let counts: BTreeMap<(String, u32, &str, Option<&str>), u64> = stats
            .groups
            .iter()
            .map(|g| {
                let key = (
                    g.workflow.clone(),
                    g.version,
                    g.status.name(),
                    g.blocked.map(BlockKind::name),
                );
                (key, g.count)
            })
            .collect();
        assert_eq!(
            counts,
            BTreeMap::from([
                (("checkout".into(), 1, "completed", None), 5),
                (("checkout".into(), 1, "running", Some("parked")), 1),
            ]),
            "{backend}"
        );
        assert_eq!(stats.due, 0, "{backend}: a parked instance is not backlog");
    }
}
