//! What [`state_to_json`](super::state_to_json) returns: a running instance's stored state,
//! named and rendered as JSON.

use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A running instance's stored state, read with its workflow's description
/// ([`state_to_json`](super::state_to_json)).
///
/// Serializes (with `serde_json`) to an object whose `fields`, and a task's `args`, are
/// objects in stored order; the paths of [`InspectError`](super::InspectError)s met while
/// reading a state point into that object (`.fields.order`, `.wait.task.args.order`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StateView {
    /// The state's stable id (`start`, `charge#1`, the label of `#[sayiir::state("..")]`).
    pub state_id: String,
    /// Its variant in the generated state enum (`Start`, `S1`, …).
    pub variant: String,
    /// The values the state carries, by name, in stored order: the inputs for the start
    /// state, the variables that live across the await otherwise.
    #[serde(serialize_with = "in_order")]
    pub fields: Vec<(String, Value)>,
    /// What the state waits for, as stored (`None` for the start state).
    pub wait: Option<WaitView>,
    /// The shared context (`WorkflowContext`): its keys, each with its size. Empty for a child
    /// workflow's state and a `continue_as_new`'s next run (a child shares its parent's
    /// context, which the parent's view lists).
    pub context: Vec<ContextEntry>,
}

/// One key of a state's shared context (`WorkflowContext`).
///
/// The description of a workflow says nothing of its context's types: any key can hold any
/// type, set by the workflow's code. Each value is stored with its type's Rust name (as
/// `std::any::type_name` wrote it when the value was set, for messages) and the fingerprint of
/// its type's [`Shape`](crate::shape::Shape); `value` is the value as JSON only when a type of
/// the workflow's description (an input, a carried field, a task argument or output, a signal
/// payload, an output, of the workflow or of a child) has that fingerprint, so that shape is
/// the value's; otherwise only the size is known.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ContextEntry {
    /// The key.
    pub key: String,
    /// The Rust name of the value's type when it was set.
    pub type_name: String,
    /// The fingerprint of the value's type's shape, in hex.
    pub fingerprint: String,
    /// The size of the value's blob, in bytes.
    pub size: usize,
    /// The value, when the description holds a type of its fingerprint (see above).
    pub value: Option<Value>,
}

/// What a state waits for, as stored. Times are milliseconds since the Unix epoch, as stored
/// (`sayiir_store::Timestamp`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WaitView {
    /// A task call.
    #[non_exhaustive]
    Task {
        /// The task's name.
        task: String,
        /// The attempt, from 1.
        attempt: u32,
        /// The sequence number of the transition that made the call.
        origin: u64,
        /// The earliest start of the next attempt, after a failed one (the backoff).
        not_before: Option<i64>,
        /// The deadline of the running attempt (tasks with a `timeout`, once it started).
        deadline: Option<i64>,
        /// The arguments, by parameter name, in order (resources, `Res<T>`, are not stored).
        #[serde(serialize_with = "in_order")]
        args: Vec<(String, Value)>,
    },
    /// A child workflow, whose whole state is stored in its parent's.
    #[non_exhaustive]
    Child {
        /// The child's workflow name.
        workflow: String,
        /// The child's state (its `context` is empty: the child shares its parent's).
        state: Box<StateView>,
    },
    /// `join!` / `try_join!`: one branch per call, in argument order.
    #[non_exhaustive]
    Join {
        /// The branches.
        branches: Vec<BranchView>,
    },
    /// `join_all` / `try_join_all`: one branch per call, in order.
    #[non_exhaustive]
    JoinAll {
        /// The branches.
        branches: Vec<BranchView>,
    },
    /// A durable timer (`sleep`, `sleep_until`).
    #[non_exhaustive]
    Timer {
        /// When it fires.
        due: i64,
    },
    /// A signal.
    ///
    /// The description of a workflow holds a signal wait's payload type but not the signal's
    /// name (`WaitShape::Signal`); the name here is the one stored in the wait itself.
    #[non_exhaustive]
    Signal {
        /// The signal's name, as stored in the wait.
        name: String,
        /// The Rust name of the payload's type (from the description).
        payload_type: String,
        /// Until when it waits (`.timeout(d)`); `None` without a timeout.
        deadline: Option<i64>,
        /// The timeout as written (`.timeout(d)`); `None` without one.
        timeout: Option<Duration>,
    },
    /// `continue_as_new`: the next run's start state (its inputs).
    #[non_exhaustive]
    ContinueAsNew {
        /// The start state of the next run.
        next: Box<StateView>,
    },
}

/// One branch of a join.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BranchView {
    /// Still running: what it waits for.
    Pending(WaitView),
    /// Finished: its value (a task's return value, a child's output, `null` for a timer, a
    /// signal's payload; `{"Ok": ..}` / `{"Err": ..}` for a signal with a timeout), kept until
    /// the last branch finishes.
    Done(Value),
}

/// Named values as a JSON object in their order (`serde_json::to_value` would sort them; its
/// writers keep the order).
fn in_order<S: Serializer>(entries: &[(String, Value)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, v)?;
    }
    map.end()
}
