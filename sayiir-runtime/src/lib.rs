//! The sayiir runtime: the state-machine interface generated code implements, the codec, and the
//! engine that drives instances against a store. Users depend on the `sayiir` facade.

pub mod codec;
mod committer;
mod context;
mod driver;
mod engine;
mod error;
mod hash;
mod inline;
pub mod join;
pub mod machine;
mod metrics;
mod registry;
mod worker;

#[doc(hidden)]
pub mod __private;

pub use codec::CodecError;
pub use context::TaskContext;
pub use engine::{Engine, EngineBuilder, Handle, InstanceInfo, InstanceStatus};
pub use error::{EngineError, VersionMismatch};
pub use machine::{Callee, MachineError, Task, TaskOptions, Workflow};
pub use metrics::Metrics;
pub use worker::{WorkerConfig, WorkerHandle};
