//! The sayiir runtime: the state-machine interface generated code implements, the codec, and the
//! engine that drives instances against a store. Users depend on the `sayiir` facade.

pub mod codec;
mod hash;
mod context;
mod inline;
pub mod machine;

#[doc(hidden)]
pub mod __private;

pub use codec::CodecError;
pub use machine::{Callee, MachineError, Task, TaskOptions, Workflow};
pub use context::TaskContext;
