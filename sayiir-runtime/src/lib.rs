//! The sayiir runtime: the state-machine interface generated code implements, the codec, and the
//! engine that drives instances against a store. Users depend on the `sayiir` facade.

mod builder;
pub mod clock;
mod codec;
mod committer;
mod context;
mod control;
mod creator;
pub mod describe;
mod driver;
mod engine;
mod error;
mod feed;
mod hash;
mod inline;
mod join;
mod lease;
mod limits;
pub mod lock;
mod machine;
mod metrics;
pub mod migrate;
mod parts;
mod registry;
mod resources;
mod retry;
pub mod shape;
mod shared;
mod takeover;
pub mod testing;
mod transactional;
mod versions;
mod waits;
mod worker;

#[doc(hidden)]
pub mod __private;

pub use builder::{BuildError, BuildProblem, EngineBuilder};
pub use codec::CodecError;
pub use context::TaskContext;
pub use engine::{Engine, InstanceHandle, InstanceInfo, InstanceStatus, WorkerInfo};
pub use error::{EngineError, VersionMismatch, WrongDefinition};
pub use limits::DEFAULT_MAX_PAYLOAD;
pub use lock::{LockError, LockMode, LockOutcome, StaleLock};
pub use machine::{RetryPolicy, Task, TaskOptions, TaskTimeout, Workflow};
pub use metrics::Metrics;
pub use migrate::{Migrate, MigrateError, Migration};
pub use resources::{MissingResource, Res, ResourceNeed, Resources};
pub use shared::{ContextError, WorkflowContext};
pub use versions::{RestartFilter, Restarted, VersionStats};
pub use waits::{SignalTimeout, continue_as_new, signal, sleep, sleep_until};
pub use worker::{WorkerConfig, WorkerHandle};
