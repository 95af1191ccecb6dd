//! # sayiir
//!
//! A durable workflow engine for Rust. Write a workflow as a plain `async fn` that calls tasks;
//! [`#[workflow]`](macro@workflow) compiles it into a typed state machine whose every
//! transition is committed to a store before it counts as done, so instances survive crashes
//! and resume where they were. [`#[task]`](macro@task) marks the functions it calls.
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
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let engine = sayiir::Engine::builder(sayiir::SqliteStore::open("app.db")?)
//!         .register::<checkout>()
//!         .build()?;
//!     let worker = engine.spawn_worker();
//!     let handle = engine.start::<checkout>("order-42", Order { id: 42, total: 999 }).await?;
//!     println!("{:?}", handle.result().await?);
//!     worker.shutdown().await?;
//!     Ok(())
//! }
//! ```
//!
//! Where to go next:
//!
//! - [`Engine`]: starting instances, signals, results, workers; [`testing::TestEngine`]: the
//!   same engine on a virtual clock, for tests.
//! - The guides in [`docs`]: [what a workflow body may contain](docs::workflow_rules),
//!   [every error](docs::errors), [testing](docs::testing), [resources](docs::resources),
//!   [versions](docs::versioning), [production](docs::production),
//!   [operations](docs::operations), [schedules](docs::schedules),
//!   [the `sayiir` command line](docs::cli),
//!   [performance](docs::performance), [the stored format](docs::format).
//!
//! # Features
//!
//! - `sqlite` (default): [`SqliteStore`], an embedded store in one file.
//! - `postgres`: [`PgStore`], for several worker processes sharing one database.
//! - `otel`: OpenTelemetry tracing across processes. [`Engine::start`] (and `start_by_name`,
//!   `start_in`, the restarts) stores the W3C trace context of the current span with the
//!   instance, and every span of the instance — `sayiir.instance`, `sayiir.transition`,
//!   `sayiir.task`, in whichever worker, after any crash — becomes a child of it: one trace
//!   shows the whole life of an instance. Install `tracing-opentelemetry`'s layer in every
//!   process. Without the feature nothing of OpenTelemetry is compiled in.
//!
//! - `prometheus`: the Prometheus recorder and a `/metrics` endpoint
//!   ([`metrics::install_prometheus`], [`metrics::serve_prometheus`]).
//!
//! [`MemoryStore`] (for tests) is always there.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod docs;
pub mod metrics;

#[doc = include_str!("../../sayiir-macros/doc/task.md")]
#[cfg(doctest)]
pub struct TaskMacroDoctests;

#[doc = include_str!("../../sayiir-macros/doc/workflow.md")]
#[cfg(doctest)]
pub struct WorkflowMacroDoctests;

pub use sayiir_macros::task;
pub use sayiir_macros::workflow;
pub use sayiir_runtime::testing;
pub use sayiir_runtime::{
    BuildError, BuildProblem, CodecError, ContextError, DEFAULT_MAX_PAYLOAD, Engine, EngineBuilder,
    EngineError, InstanceHandle, InstanceInfo, InstanceStatus, LockError, LockMode, LockOutcome,
    Metrics, Migrate, MigrateError, Migration, MissingResource, OnExhausted, Res, ResourceNeed,
    Resources, RestartFilter, Restarted, RetryPolicy, SignalTimeout, StaleLock, StartOptions, Task,
    TaskContext, TaskOptions, TaskRate, TaskTimeout, VersionMismatch, VersionStats, WorkerConfig,
    WorkerHandle, WorkerInfo, Workflow, WorkflowContext, WrongDefinition, continue_as_new, signal,
    sleep, sleep_until,
};
/// Run a `#[workflow]` directly (in memory, no store) with a typed error instead of a panic.
pub use sayiir_runtime::{DirectRunError, run_direct, run_direct_with};
pub use sayiir_runtime::{admin, describe, inspect, schedule, shape};
pub use sayiir_store as store;
pub use sayiir_store::{
    InstanceId, IntoInstanceId, ListQuery, Listing, MemoryStore, Transactional,
};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sayiir_store::{PgOptions, PgStore, sqlx};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sayiir_store::{SqliteOptions, SqliteStore, Synchronous, rusqlite};

#[doc(hidden)]
pub use sayiir_runtime::__private;

/// Runs calls concurrently and yields every result, as a tuple.
///
/// In a `#[workflow]` body, `sayiir::join!(a(..), b(..)).await` is a fork/join point: every
/// branch runs concurrently (as tasks of the worker that holds the instance), each branch's
/// result is committed as it arrives, so after a crash only the unfinished branches run again,
/// and the await yields `(a's return value, b's return value, ...)`. 2 to 8 branches, each a
/// call of a `#[task]` or `#[workflow]` function. Outside workflows it is `tokio::join!`.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// #[sayiir::task]
/// async fn quote(supplier: String) -> u64 {
///     tokio::time::sleep(Duration::from_millis(500)).await;
///     supplier.len() as u64 * 100
/// }
///
/// #[sayiir::task]
/// async fn stock(item: String) -> bool {
///     tokio::time::sleep(Duration::from_millis(500)).await;
///     !item.is_empty()
/// }
///
/// #[sayiir::workflow]
/// async fn offer(item: String) -> Option<u64> {
///     let (price, available) = sayiir::join!(quote("acme".into()), stock(item)).await;
///     available.then_some(price)
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = sayiir::Engine::builder(sayiir::MemoryStore::new()).register::<offer>().build()?;
/// let worker = engine.spawn_worker();
/// let began = Instant::now();
/// let handle = engine.start::<offer>("o-1", "anvil".into()).await?;
/// assert_eq!(handle.result().await?, Some(400));
/// assert!(began.elapsed() < Duration::from_millis(950)); // the branches ran concurrently
/// worker.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! join {
    ($($call:expr),+ $(,)?) => {
        async { $crate::__private::tokio::join!($($call),+) }
    };
}

/// Runs fallible calls concurrently: `Ok` of every success value, or an error.
///
/// In a `#[workflow]` body every branch runs to the end (none is abandoned), then the await
/// yields `Ok((a, b, ...))` or the error of the first failed branch **in argument order**, so
/// the outcome does not depend on timing. All branches must return `Result` with the same
/// error type. Outside workflows it is `tokio::try_join!`, which stops at the first error.
///
/// ```
/// #[sayiir::task]
/// async fn reserve(item: String) -> Result<u32, String> {
///     if item == "unobtainium" { Err(format!("no {item}")) } else { Ok(1) }
/// }
///
/// #[sayiir::workflow]
/// async fn pair(a: String, b: String) -> Result<u32, String> {
///     let (x, y) = sayiir::try_join!(reserve(a), reserve(b)).await?;
///     Ok(x + y)
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = sayiir::testing::TestEngine::builder().register::<pair>().build()?;
/// t.start::<pair>("p-1", ("anvil".into(), "rope".into())).await?;
/// t.start::<pair>("p-2", ("anvil".into(), "unobtainium".into())).await?;
/// assert_eq!(t.run_until_done::<pair>("p-1").await?, Ok(2));
/// assert_eq!(t.run_until_done::<pair>("p-2").await?, Err("no unobtainium".into()));
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! try_join {
    ($($call:expr),+ $(,)?) => {
        async { $crate::__private::tokio::try_join!($($call),+) }
    };
}

/// Runs a dynamic number of calls concurrently and yields their results in order.
///
/// In a `#[workflow]` body write `sayiir::join_all(items.into_iter().map(|x| task(x))).await`
/// (exactly that shape: an iterator, `.map` and a closure that calls one `#[task]` or
/// `#[workflow]` function): every call becomes a branch that runs concurrently and commits as it
/// finishes; the state stores the finished branches' results. Outside workflows it is
/// `futures::future::join_all`.
///
/// ```
/// #[sayiir::task]
/// async fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// #[sayiir::workflow]
/// async fn squares(ns: Vec<u64>) -> Vec<u64> {
///     sayiir::join_all(ns.into_iter().map(|n| square(n))).await
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = sayiir::testing::TestEngine::builder().register::<squares>().build()?;
/// t.start::<squares>("s-1", vec![1, 2, 3]).await?;
/// assert_eq!(t.run_until_done::<squares>("s-1").await?, [1, 4, 9]);
/// // Called directly, the workflow runs in memory.
/// assert_eq!(squares(vec![4]).await, [16]);
/// # Ok(())
/// # }
/// ```
pub async fn join_all<I>(calls: I) -> Vec<<I::Item as std::future::Future>::Output>
where
    I: IntoIterator,
    I::Item: std::future::Future,
{
    __private::futures_util::future::join_all(calls).await
}

/// Like [`join_all`] for fallible calls: `Ok` of every success value, or the first error in
/// argument order once every branch has finished (in a workflow body):
/// `let sent = sayiir::try_join_all(users.into_iter().map(|u| notify(u))).await?;`.
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
