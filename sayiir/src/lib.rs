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
pub use sayiir_runtime::testing;
pub use sayiir_runtime::{
    BuildError, BuildProblem, Callee, CodecError, Context, ContextError, Engine, EngineBuilder,
    EngineError, Handle, InstanceInfo, InstanceStatus, LockError, LockMode, LockOutcome,
    MachineError, Metrics, Migrate, MigrateError, Migration, RestartFilter, Restarted, RetryPolicy,
    SignalTimeout, StaleLock, Task, TaskContext, TaskOptions, TaskTimeout, VersionMismatch,
    VersionStats, WorkerConfig, WorkerHandle, Workflow, WrongDefinition, continue_as_new, signal,
    sleep, sleep_until,
};
pub use sayiir_runtime::{codec, describe, shape};
pub use sayiir_store as store;
pub use sayiir_store::{InstanceId, ListQuery, MemoryStore, Transactional};
#[cfg(feature = "postgres")]
pub use sayiir_store::{PgOptions, PgStore, sqlx};
#[cfg(feature = "sqlite")]
pub use sayiir_store::{SqliteOptions, SqliteStore, Synchronous, rusqlite};

#[doc(hidden)]
pub use sayiir_runtime::__private;

/// Runs calls concurrently and yields every result, as a tuple.
///
/// In a `#[workflow]` body, `sayiir::join!(a(..), b(..)).await` is a fork/join point: every
/// branch runs concurrently (in one worker or several), each branch's result is committed as it
/// arrives, and the await yields `(a's return value, b's return value, ...)`. Up to 8 branches,
/// each a call of a `#[task]` or `#[workflow]` function. Outside workflows it joins the futures.
#[macro_export]
macro_rules! join {
    ($($call:expr),+ $(,)?) => {
        async { $crate::__private::tokio::join!($($call),+) }
    };
}

/// Runs fallible calls concurrently: `Ok` of every success value, or an error.
///
/// In a `#[workflow]` body every branch runs to the end (none is abandoned), then the await
/// yields `Ok((a, b, ...))` or the error of the first failed branch **in argument order**. All
/// branches must return `Result` with the same error type. Outside workflows it is
/// `tokio::try_join!`, which stops at the first error.
#[macro_export]
macro_rules! try_join {
    ($($call:expr),+ $(,)?) => {
        async { $crate::__private::tokio::try_join!($($call),+) }
    };
}

/// Runs a dynamic number of calls concurrently and yields their results in order.
///
/// In a `#[workflow]` body write `sayiir::join_all(items.into_iter().map(|x| task(x))).await`:
/// every call becomes a branch that runs concurrently and commits as it finishes.
pub async fn join_all<I>(calls: I) -> Vec<<I::Item as std::future::Future>::Output>
where
    I: IntoIterator,
    I::Item: std::future::Future,
{
    __private::futures_util::future::join_all(calls).await
}

/// Like [`join_all`] for fallible calls: `Ok` of every success value, or the first error in
/// argument order once every branch has finished (in a workflow body).
pub async fn try_join_all<I, T, E>(calls: I) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    I::Item: std::future::Future<Output = Result<T, E>>,
{
    let mut out = Vec::new();
    for r in join_all(calls).await {
        out.push(r?);
    }
    Ok(out)
}

/// The README's examples, compiled as doctests so they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
