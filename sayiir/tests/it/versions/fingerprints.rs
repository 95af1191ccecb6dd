//! The types a definition stores are part of its identity, by structure: a field added,
//! removed, renamed, retyped or two fields swapped (the tokens of the workflow unchanged, so
//! its definition hash too) make a version mismatch that names the change; the instance is
//! never resumed, so never read positionally as the new type. A renamed struct is no change.

use std::sync::Arc;

use sayiir::store::{BlockKind, InstanceId, Store};
use sayiir::{Engine, EngineError, InstanceStatus, MemoryStore, Workflow};

/// A module with an `Order` type and a workflow `keep` (name `keep`, version 1) that carries
/// one across a signal wait. Every module's workflow has the same tokens.
macro_rules! version {
    ($m:ident, $($order:tt)*) => {
        pub(crate) mod $m {
            use serde::{Deserialize, Serialize};
            $($order)*

            #[sayiir::task]
            pub(crate) async fn total_of(order: Order) -> String {
                format!("{:?}", order)
            }

            #[sayiir::workflow(name = "keep")]
            pub(crate) async fn keep(order: Order) -> String {
                let _go: bool = sayiir::signal::<bool>("go").await;
                total_of(order).await
            }
        }
    };
}

version! {
    base,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) total: u64,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

version! {
    added,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) total: u64,
        pub(crate) status: Option<Vec<Status>>,
        pub(crate) note: String,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

version! {
    swapped,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) total: u64,
        pub(crate) id: u64,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

version! {
    retyped,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) total: u32,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

version! {
    renamed_field,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) amount: u64,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

version! {
    nested_variant,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) total: u64,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64, u64),
    }
}

version! {
    renamed_type,
    #[derive(Serialize, Deserialize, Debug, Clone)]
    #[serde(rename = "Purchase")]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) total: u64,
        pub(crate) status: Option<Vec<Status>>,
    }
    #[derive(Serialize, Deserialize, Debug, Clone)]
    pub(crate) enum Status {
        Open,
        Paid(u64),
    }
}

/// Starts an instance under `base` and parks it at the signal, in `store`.
async fn park(store: Arc<dyn Store>, id: &str) {
    let engine = Engine::builder_shared(store)
        .register::<base::keep>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    let order = base::Order {
        id: 1,
        total: 2,
        status: Some(vec![base::Status::Paid(3)]),
    };
    engine.start::<base::keep>(id, order).await.unwrap();
    super::strategies::parked(&engine, id, "signal:go#1").await;
    worker.shutdown().await.unwrap();
}

/// Parks an instance under `base`, then opens the store with `W` only and sends the signal:
/// the instance must be blocked as a version mismatch, untouched, with these changes named.
async fn refused<W: Workflow>(expected: &[&str]) {
    assert_eq!(
        W::DEFINITION_HASH,
        base::keep::DEFINITION_HASH,
        "same tokens, same hash"
    );
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    park(store.clone(), "i").await;
    let id = InstanceId::new("i").unwrap();
    let before = store.load(&id).await.unwrap();

    let engine = Engine::builder_shared(store.clone())
        .register::<W>()
        .build()
        .unwrap();
    // Before any worker (which reports and blocks it too, at its start).
    let found = engine.check_versions().await.unwrap();
    let worker = engine.spawn_worker();
    let [m] = found.as_slice() else {
        panic!("{found:?}")
    };
    for line in expected {
        assert!(
            m.changes.iter().any(|c| c == line),
            "missing {line:?} in {:#?}",
            m.changes
        );
    }
    // Signals are refused too: the binary cannot tell what the instance accepts.
    assert!(matches!(
        engine.signal("i", "go", &true).await,
        Err(EngineError::UnknownDefinition { .. })
    ));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    match engine.status("i").await.unwrap().status {
        InstanceStatus::Blocked {
            kind: BlockKind::VersionMismatch,
            reason,
        } => assert!(reason.contains(expected[0]), "{reason}"),
        s => panic!("expected a version mismatch, got {s:?}"),
    }
    assert!(matches!(
        engine.result::<W>("i").await,
        Err(EngineError::VersionMismatch(_))
    ));
    worker.shutdown().await.unwrap();
    let after = store.load(&id).await.unwrap();
    assert_eq!((after.seq, &after.state), (before.seq, &before.state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_field_is_named() {
    refused::<added::keep>(&[
        "state `signal:go#1`: field `order`: `Order`: field `note: String` added",
        "input `order`: `Order`: field `note: String` added",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_fields_of_one_type_are_never_read_positionally() {
    refused::<swapped::keep>(&[
        "state `signal:go#1`: field `order`: `Order`: fields reordered (`id, total, status` is now `total, id, status`): the format is positional, so stored values would land in other fields",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_field_type_is_named() {
    refused::<retyped::keep>(&[
        "state `signal:go#1`: field `order`: `Order.total`: `u64` is now `u32`",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_field_is_a_removal_and_an_addition() {
    refused::<renamed_field::keep>(&[
        "state `signal:go#1`: field `order`: `Order`: field `total: u64` removed",
        "state `signal:go#1`: field `order`: `Order`: field `amount: u64` added",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_deep_inside_an_enum_behind_option_and_vec_is_named() {
    refused::<nested_variant::keep>(&[
        "state `signal:go#1`: field `order`: `Order.status[][]`: variant `Paid(u64)` is now `Paid(u64, u64)`",
        "state `total_of#1`: waits for task `total_of`: argument `order`: `Order.status[][]`: variant `Paid(u64)` is now `Paid(u64, u64)`",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_type_keeps_its_bytes_and_resumes() {
    assert_eq!(
        renamed_type::keep::DEFINITION_HASH,
        base::keep::DEFINITION_HASH
    );
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    park(store.clone(), "r").await;
    let engine = Engine::builder_shared(store)
        .register::<renamed_type::keep>()
        .build()
        .unwrap();
    let worker = engine.spawn_worker();
    assert!(engine.check_versions().await.unwrap().is_empty());
    engine.signal("r", "go", &true).await.unwrap();
    let out = engine.result::<renamed_type::keep>("r").await.unwrap();
    assert_eq!(out, "Order { id: 1, total: 2, status: Some([Paid(3)]) }");
    worker.shutdown().await.unwrap();
}
