//! The sayiir runtime: the state-machine interface generated code implements, the codec, and the
//! engine that drives instances against a store. Users depend on the `sayiir` facade.

// Layers, bottom to top. A module names only modules of its own layer or below (checked on the
// sources by `layers.rs`), so the engine's parts form no cycle:
//  0. the machine contract and what it is made of: machine, waits, join, shared, codec, hash,
//     shape, describe, inspect, parts, migrate, resources, context, clock, retry, feed, limits,
//     lease, metrics, trace_context, registry, lock, error, schedule (specs, cron ticks, plans),
//     start_options
//  1. planner (pure: what a run does next, for the driver and the inline runner alike), commit
//     (the one `Transition` constructor, what a refused write means), batcher
//  2. committer and creator (group commit and group creation on the batcher); inline (a
//     `#[workflow]` fn called directly: the planner and the machine, no store)
//  3. core: `Inner` (store, registry, engine-wide `WorkerConfig`, clock, pokes, waiters) and
//     `WorkerCtx`, shared by everything above
//  4. driver (one claimed instance; takeover, task attempts); scheduler (firing due schedules)
//  5. worker (claims, leases, drivers)
//  6. engine and builder (`Engine`, `InstanceHandle`; each names the other: `Engine::builder`)
//  7. `impl Engine` blocks of the API: control, versions, transactional, admin, schedules;
//     testing;
//     __private

pub mod admin;
mod batcher;
mod builder;
pub mod clock;
mod codec;
mod commit;
mod committer;
mod context;
mod control;
mod core;
mod creator;
pub mod describe;
mod driver;
mod engine;
mod error;
mod feed;
mod hash;
mod inline;
pub mod inspect;
mod join;
mod lease;
mod limits;
pub mod lock;
mod machine;
pub mod metrics;
pub mod migrate;
mod ops;
mod parts;
mod planner;
mod registry;
mod resources;
mod retry;
pub mod schedule;
mod scheduler;
mod schedules;
pub mod shape;
mod shared;
mod start_options;
pub mod testing;
mod trace_context;
mod transactional;
mod versions;
mod waits;
mod worker;

#[doc(hidden)]
pub mod __private;
#[cfg(test)]
mod layers;

pub use crate::core::WorkerConfig;
pub use builder::{BuildError, BuildProblem, EngineBuilder};
pub use codec::CodecError;
pub use context::TaskContext;
pub use engine::{Engine, InstanceHandle, InstanceInfo, InstanceStatus, WorkerInfo};
pub use error::{EngineError, VersionMismatch, WrongDefinition};
pub use inline::{DirectRunError, run_direct, run_direct_with};
pub use limits::DEFAULT_MAX_PAYLOAD;
pub use lock::{LockError, LockMode, LockOutcome, StaleLock};
pub use machine::{OnExhausted, RetryPolicy, Task, TaskOptions, TaskRate, TaskTimeout, Workflow};
pub use metrics::Metrics;
pub use migrate::{Migrate, MigrateError, Migration};
pub use resources::{MissingResource, Res, ResourceNeed, Resources};
pub use shared::{ContextError, WorkflowContext};
pub use start_options::StartOptions;
pub use versions::{RestartFilter, Restarted, VersionStats};
pub use waits::{SignalTimeout, continue_as_new, signal, sleep, sleep_until};
pub use worker::WorkerHandle;
