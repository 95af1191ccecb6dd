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

/// Marks an `async fn` as a task: a unit of work a workflow calls, whose arguments and return
/// value are stored (see `docs/workflow-rules.md` for the options: `retries`, `backoff`,
/// `max_backoff`, `timeout`, `name`, `crate`).
///
/// A parameter whose type is written `Res<T>` (`sayiir::Res<T>`) is a **resource** the engine
/// gives the task when it runs (`Engine::builder(store).resource(value)`): a database pool, an
/// HTTP client. The workflow calls the task without it, it is not stored and it enters no hash;
/// `build()` refuses a workflow whose tasks take a resource the engine was not given. See
/// `docs/resources.md`.
///
/// ```
/// use sayiir::{Engine, MemoryStore, Res};
///
/// pub struct Http {
///     base: String,
/// }
///
/// #[sayiir::task(retries = 3)]
/// async fn fetch(path: String, http: Res<Http>) -> Result<String, String> {
///     Ok(format!("{}/{path}", http.base))
/// }
///
/// #[sayiir::workflow]
/// async fn crawl(path: String) -> Result<String, String> {
///     fetch(path).await // no `http` here
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let engine = Engine::builder(MemoryStore::new())
///     .resource(Http { base: "https://example.com".into() })
///     .register::<crawl>()
///     .build()
///     .unwrap();
/// let worker = engine.spawn_worker();
/// let handle = engine.start::<crawl>("c-1", "robots.txt".into()).await.unwrap();
/// assert_eq!(handle.result().await.unwrap().unwrap(), "https://example.com/robots.txt");
/// worker.shutdown().await.unwrap();
///
/// // Without the resource, the engine is not built.
/// let err = Engine::builder(MemoryStore::new()).register::<crawl>().build().err().unwrap();
/// assert!(err.to_string().contains("task `fetch` of workflow `crawl` version 1 takes `http: Res<Http>`"));
/// # });
/// ```
pub use sayiir_macros::task;
pub use sayiir_macros::workflow;
pub use sayiir_runtime::testing;
pub use sayiir_runtime::{
    BuildError, BuildProblem, CodecError, ContextError, DEFAULT_MAX_PAYLOAD, Engine, EngineBuilder,
    EngineError, InstanceHandle, InstanceInfo, InstanceStatus, LockError, LockMode, LockOutcome,
    Metrics, Migrate, MigrateError, Migration, MissingResource, Res, ResourceNeed, Resources,
    RestartFilter, Restarted, RetryPolicy, SignalTimeout, StaleLock, Task, TaskContext,
    TaskOptions, TaskTimeout, VersionMismatch, VersionStats, WorkerConfig, WorkerHandle,
    WorkerInfo, Workflow, WorkflowContext, WrongDefinition, continue_as_new, signal, sleep,
    sleep_until,
};
pub use sayiir_runtime::{describe, shape};
pub use sayiir_store as store;
pub use sayiir_store::{
    InstanceId, IntoInstanceId, ListQuery, Listing, MemoryStore, Transactional,
};
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

/// The examples of `docs/resources.md`, compiled and run as doctests.
#[doc = include_str!("../../docs/resources.md")]
#[cfg(doctest)]
pub struct ResourcesDoctests;
