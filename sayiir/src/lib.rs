//! # sayiir
//!
//! A durable workflow engine for Rust. Write a workflow as a plain `async fn` that calls tasks;
//! `#[workflow]` compiles it into a typed state machine whose every transition is committed to a
//! store before it counts as done, so instances survive crashes and resume where they were.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Clone)]
//! struct Order { id: u64, total: u64 }
//!
//! #[sayiir::task(retries = 3, timeout = "30s")]
//! async fn charge(order: Order) -> Result<u64, String> {
//!     Ok(order.total)
//! }
//!
//! #[sayiir::task]
//! async fn ship(order: Order, paid: u64) -> String {
//!     format!("order {} shipped ({paid} paid)", order.id)
//! }
//!
//! #[sayiir::workflow]
//! async fn checkout(order: Order) -> Result<String, String> {
//!     let paid = charge(order.clone()).await?;
//!     let label = ship(order, paid).await;
//!     Ok(label)
//! }
//! ```
//!
//! See `docs/workflow-rules.md` for what a workflow body may contain and how it is lowered.

pub use sayiir_macros::{task, workflow};
pub use sayiir_runtime::{
    Callee, CodecError, Engine, EngineBuilder, EngineError, Handle, InstanceInfo, InstanceStatus,
    MachineError, Metrics, Task, TaskContext, TaskOptions, VersionMismatch, WorkerConfig,
    WorkerHandle, Workflow,
};
pub use sayiir_store as store;
pub use sayiir_store::{InstanceId, ListQuery, MemoryStore};
#[cfg(feature = "sqlite")]
pub use sayiir_store::{SqliteOptions, SqliteStore, Synchronous};

#[doc(hidden)]
pub use sayiir_runtime::__private;

/// The README's examples, compiled as doctests so they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
