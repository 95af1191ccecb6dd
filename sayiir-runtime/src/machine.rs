//! The interface between macro-generated state machines and the runtime.
//!
//! `#[workflow]` turns an async fn into a [`Workflow`]: a serializable state enum with one
//! variant per suspension point, and functions that say what a state waits for ([`Workflow::work`]),
//! start the leaf work of a state ([`Workflow::run`]) and advance a state with an event
//! ([`Workflow::advance`]). What a suspension point waits for is a [`Wait`] value stored in the
//! variant: a task call ([`TaskWait`]) today; joins, timers, signals and child workflows are further
//! `Wait` implementations, addressed by a slot path from the state down to one leaf.
//!
//! `#[task]` turns an async fn into a [`Task`]. Both tasks and workflows are [`Callee`]s: things a
//! workflow body can call and `.await`, each with the `Wait` that represents the pending call.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::seal::{TaskSeal, WorkflowSeal};
use crate::codec::CodecError;
use crate::describe::{Describe, TaskShape, WaitShape, WorkflowShape};
use crate::parts::StateParts;
use crate::resources::{MissingResource, ResourceNeed};
use crate::shared::WorkflowContext;

mod calls;
mod exhausted;

pub use calls::{ChildWait, TaskWait};
pub use exhausted::OnExhausted;
pub(crate) use exhausted::resolve_exhausted;
use sayiir_store::Timestamp;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Options of a task that may change under running instances (not part of any hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOptions {
    /// Further attempts after a failed one.
    pub retries: u32,
    /// Deadline of one attempt.
    pub timeout: Option<Duration>,
    /// Delay before the first retry; each further retry doubles it (with jitter).
    pub backoff: Duration,
    /// Upper bound of the delay between attempts.
    pub max_backoff: Duration,
    /// What happens when the attempts are used up and the last one failed with an error that
    /// may be retried (`#[task(on_exhausted = "park")]`).
    pub on_exhausted: OnExhausted,
    /// At most this many attempts of the task run at once across all workers sharing the
    /// store (`#[task(concurrency = N)]`); `None`: no limit.
    pub concurrency: Option<NonZeroU32>,
    /// Starts of the task's attempts across all workers sharing the store are spaced at
    /// least this far apart past a burst (`#[task(rate = "100/s", burst = N)]`); `None`: no
    /// rate limit.
    pub rate: Option<TaskRate>,
    /// `concurrency` and `rate` apply to each concurrency key apart
    /// ([`StartOptions::concurrency_key`](crate::StartOptions::concurrency_key) of the
    /// calling instance; instances without a key share the task's own limit)
    /// (`#[task(per_key = true)]`).
    pub per_key: bool,
}

/// A task's rate limit (`#[task(rate = "..", burst = ..)]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskRate {
    /// The time between two starts past the burst (1 s / 100 for `"100/s"`).
    pub interval: Duration,
    /// Starts that may fall at one instant (at least 1; `0` is taken as 1).
    pub burst: u32,
}

impl TaskOptions {
    /// No retries, no timeout; 100 ms first backoff, capped at 60 s; on exhaustion, what the
    /// calling workflow says (the error flows into it unless it says `park`).
    pub const DEFAULT: TaskOptions = TaskOptions {
        retries: 0,
        timeout: None,
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(60),
        on_exhausted: OnExhausted::Inherit,
        concurrency: None,
        rate: None,
        per_key: false,
    };
}

/// What a task that ran past its `timeout` returns: converted into the task's error type with
/// `From<TaskTimeout>` (a task with a `timeout` option must return `Result<T, E>` with such an
/// `E`). It retries like any other error unless `E`'s [`RetryPolicy`] says it is permanent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("task `{task}` timed out after {after:?} (attempt {attempt})")]
pub struct TaskTimeout {
    /// Task name.
    pub task: String,
    /// The task's timeout.
    pub after: Duration,
    /// The attempt that timed out.
    pub attempt: u32,
}

/// Tasks whose error type is `String` can have a `timeout`: the error is the timeout's message.
impl From<TaskTimeout> for String {
    fn from(t: TaskTimeout) -> String {
        t.to_string()
    }
}

/// Implemented by task error types that can tell a permanent failure (not worth retrying)
/// from a transient one. Error types that do not implement it are always retried (up to the
/// task's `retries`).
pub trait RetryPolicy {
    /// Whether this error must not be retried.
    fn is_permanent(&self) -> bool;
}

/// An async function marked `#[task]`, as the type of the same name the macro adds beside it:
/// `<charge as sayiir::Task>::NAME`.
///
/// Sealed: `#[task]` implements it, and it cannot be implemented by hand (its supertrait is
/// in the hidden `__private` module, and the functions generated code calls are hidden and
/// may change). Its arguments and return value cross the trait only as encoded bytes, so the
/// serde bounds are checked once, at the user's types, by generated code.
pub trait Task: TaskSeal + Sized + 'static {
    /// The declared return type (`Result<T, E>` or a plain `T`).
    type Return: Send + 'static;
    /// Stable name (the function name unless renamed with `name = "..."`).
    const NAME: &'static str;
    /// blake3 of the task's canonical signature (name, argument and return types as written).
    const SIGNATURE_HASH: [u8; 32];
    /// Retry and timeout options.
    const OPTIONS: TaskOptions;
    /// Decodes the arguments and starts the function; the future takes the task's resources
    /// from its [`TaskContext`](crate::TaskContext) and yields the encoded return value.
    #[doc(hidden)]
    fn call_encoded(args: &[u8])
    -> Result<BoxFuture<Result<TaskOutput, MachineError>>, CodecError>;
    /// Decodes a return value produced by [`Task::call_encoded`].
    #[doc(hidden)]
    fn decode_return(bytes: &[u8]) -> Result<Self::Return, CodecError>;
    /// Encodes a return value as [`Task::call_encoded`] does.
    #[doc(hidden)]
    fn encode_return(value: &Self::Return) -> Result<Vec<u8>, CodecError>;
    /// The return value of an attempt that ran past the task's timeout: `Err(E::from(t))`.
    /// Only called for tasks with a `timeout` option.
    #[doc(hidden)]
    fn timed_out(timeout: TaskTimeout) -> Result<TaskOutput, CodecError>;
    /// The shapes of the arguments and the return type (what a state stores of a call).
    #[doc(hidden)]
    fn describe(d: &mut Describe<'_>) -> TaskShape;
    /// The resources the task takes (its `Res<T>` parameters), in parameter order. Not part of
    /// any hash or fingerprint; checked against the engine's resources at `build()`.
    #[doc(hidden)]
    fn resources() -> Vec<ResourceNeed> {
        Vec::new()
    }
}

/// The encoded return value of one task run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutput {
    /// Encoded return value.
    pub bytes: Vec<u8>,
    /// Whether it is an `Err` (for retries).
    pub is_error: bool,
    /// Whether the error says it must not be retried ([`RetryPolicy`]).
    pub permanent: bool,
}

/// Something a workflow body can call and `.await`: a task or another workflow.
pub trait Callee: 'static {
    /// What `.await` on the call yields.
    type Return;
    /// The pending call, stored in the caller's state.
    type Wait: Wait<Output = Self::Return>;
    /// Hash that enters the caller's definition hash.
    const HASH: [u8; 32];
    /// Declares the signals this call can receive, given the call's first argument when it is
    /// a string literal. Signals declare themselves; child workflows declare theirs.
    fn declare(_out: &mut SignalSet, _first_literal: Option<&'static str>) {}
}

/// A callee that `.timeout(d)` applies to inside a workflow (signals).
#[diagnostic::on_unimplemented(
    message = "`.timeout(..)` applies to `sayiir::signal` waits only",
    label = "this call has no `.timeout`",
    note = "a task's deadline is an option of the task: `#[task(timeout = \"30s\")]`"
)]
pub trait TimeoutCallee: Callee {
    /// The pending call with a deadline.
    type Wait: Wait;
}

/// One signal a workflow can receive: its name and payload type.
#[derive(Debug, Clone, Copy)]
pub struct SignalDecl {
    /// Signal name.
    pub name: &'static str,
    /// Payload type.
    pub type_id: std::any::TypeId,
    /// Payload type name, for messages.
    pub type_name: &'static str,
    /// A JSON payload read as the payload type (serde), then encoded as a signal payload is
    /// stored; the error says why the JSON is not a value of that type.
    pub from_json: fn(&serde_json::Value) -> Result<Vec<u8>, String>,
    /// A stored payload decoded as the payload type, then rendered as JSON (serde).
    pub to_json: fn(&[u8]) -> Result<serde_json::Value, String>,
}

impl SignalDecl {
    /// The declaration of signal `name` with payload type `T`.
    pub fn of<T: Serialize + DeserializeOwned + 'static>(name: &'static str) -> Self {
        Self {
            name,
            type_id: std::any::TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            from_json: |json| {
                let value = T::deserialize(json).map_err(|e| e.to_string())?;
                crate::codec::encode(&value).map_err(|e| e.to_string())
            },
            to_json: |bytes| {
                let value: T = crate::codec::decode(bytes).map_err(|e| e.to_string())?;
                serde_json::to_value(&value).map_err(|e| e.to_string())
            },
        }
    }
}

/// Declarations are the same when they name the same signal with the same payload type.
impl PartialEq for SignalDecl {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.type_id == other.type_id
    }
}

impl Eq for SignalDecl {}

/// The signals a workflow declares (its own and its children's).
#[derive(Debug, Default, Clone)]
pub struct SignalSet {
    decls: Vec<SignalDecl>,
}

impl SignalSet {
    /// Adds a declaration (duplicates are kept once).
    pub fn push(&mut self, decl: SignalDecl) {
        if !self.decls.contains(&decl) {
            self.decls.push(decl);
        }
    }

    /// Declarations of `name` (several if different waits expect different types).
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SignalDecl> + 'a {
        self.decls.iter().filter(move |d| d.name == name)
    }

    /// Every declaration.
    pub fn all(&self) -> &[SignalDecl] {
        &self.decls
    }
}

/// Where a piece of work sits inside a state: indices from the state's wait down to one leaf.
/// Empty for a state that waits on a single task.
pub(crate) type SlotPath = Vec<u32>;

/// One piece of work a state waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// Address of the leaf.
    pub slot: SlotPath,
    /// What it is.
    pub kind: WorkKind,
}

/// Kinds of work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkKind {
    /// The state can advance right away (a workflow that has not run its first transition).
    Immediate,
    /// A task to run.
    Task {
        /// Task name.
        name: &'static str,
        /// Attempt number, from 1.
        attempt: u32,
        /// Sequence number of the transition that issued the call: with the slot, a stable
        /// identity of this call within the instance.
        origin: u64,
        /// Options of the task as compiled into this binary.
        options: TaskOptions,
        /// The attempt must not start before this time (backoff after a failed attempt).
        not_before: Option<Timestamp>,
        /// Deadline of the attempt, persisted when it started (tasks with a timeout).
        deadline: Option<Timestamp>,
    },
    /// A durable timer (`sayiir::sleep`): fire it with [`Input::Timer`] once `due` has passed.
    Timer {
        /// When it fires.
        due: Timestamp,
    },
    /// A wait for a signal: feed it with [`Input::Signal`]; when `deadline` passes first, fire
    /// it with [`Input::Timer`].
    Signal {
        /// Signal name.
        name: String,
        /// Deadline (`.timeout(d)`), if any.
        deadline: Option<Timestamp>,
    },
    /// The workflow ends this run and starts again from this encoded start state
    /// (`continue_as_new`).
    Continue {
        /// Encoded start state of the next run.
        input: Vec<u8>,
        /// 0 for the workflow itself, `n` for a child `n` levels down (child calls share
        /// their parent's slot paths, so the slot alone does not say whose run restarts).
        depth: u32,
    },
}

impl WorkKind {
    /// When this work can next make progress by itself: `now` for runnable work, the due time
    /// of a timer or backoff, `None` for work that waits for an outside event or is started
    /// by the transition itself.
    pub fn due(&self, now: Timestamp) -> Option<Timestamp> {
        match self {
            WorkKind::Immediate => Some(now),
            WorkKind::Task { not_before, .. } => Some(not_before.map_or(now, |t| t.max(now))),
            WorkKind::Timer { due } => Some(*due),
            WorkKind::Signal { deadline, .. } => *deadline,
            WorkKind::Continue { .. } => Some(now),
        }
    }
}

/// Collects work items, prefixing slot paths as it descends into nested waits.
#[derive(Debug, Default)]
pub struct WorkSink {
    prefix: SlotPath,
    items: Vec<WorkItem>,
}

impl WorkSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records work at the current prefix.
    pub fn push(&mut self, kind: WorkKind) {
        self.items.push(WorkItem {
            slot: self.prefix.clone(),
            kind,
        });
    }

    /// Records work at `slot` below the current prefix.
    pub fn push_at(&mut self, slot: &[u32], kind: WorkKind) {
        let mut full = self.prefix.clone();
        full.extend_from_slice(slot);
        self.items.push(WorkItem { slot: full, kind });
    }

    /// Runs `f` with `index` appended to the prefix (descending into a sub-wait).
    pub fn nested(&mut self, index: u32, f: impl FnOnce(&mut Self)) {
        self.prefix.push(index);
        f(self);
        self.prefix.pop();
    }

    /// The collected items.
    pub fn into_items(self) -> Vec<WorkItem> {
        self.items
    }
}

/// What a transition is fed.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Nothing: advance an [`WorkKind::Immediate`] slot.
    Start,
    /// The encoded return value of the task at the slot.
    Task(&'a [u8]),
    /// The task at the slot failed and will run again as attempt `attempt` not before
    /// `not_before`.
    Retry {
        /// The next attempt number.
        attempt: u32,
        /// Earliest start of that attempt.
        not_before: Timestamp,
    },
    /// An operator retries the task at the slot (whose attempts were used up): it runs again
    /// as attempt 1, with a fresh attempt budget, the same arguments and the same idempotency
    /// key.
    Rearm,
    /// The task at the slot starts its current attempt with this deadline.
    Started {
        /// Deadline of the attempt.
        deadline: Timestamp,
    },
    /// The timer (or the signal's deadline) at the slot has passed.
    Timer,
    /// The encoded payload of a signal for the wait at the slot.
    Signal(&'a [u8]),
    /// The child workflow `depth` levels below the wait at the slot starts a new run from this
    /// encoded start state (its `continue_as_new`).
    Restart {
        /// Encoded start state.
        start: &'a [u8],
        /// Child levels down, from 1.
        depth: u32,
    },
}

impl Input<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Input::Start => "start",
            Input::Task(_) => "task result",
            Input::Retry { .. } => "retry",
            Input::Rearm => "retry by an operator",
            Input::Started { .. } => "task start",
            Input::Timer => "timer",
            Input::Signal(_) => "signal",
            Input::Restart { .. } => "restart",
        }
    }
}

/// Context of one transition.
#[derive(Default)]
pub struct StepCx {
    seq: u64,
    now: Timestamp,
    context: std::cell::RefCell<WorkflowContext>,
    error: std::cell::Cell<Option<MachineError>>,
}

impl std::fmt::Debug for StepCx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepCx")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl StepCx {
    /// Context of the transition that will commit as `seq` at time `now`, with the
    /// workflow's shared state.
    pub fn new(seq: u64, now: Timestamp, context: WorkflowContext) -> Self {
        Self {
            seq,
            now,
            context: std::cell::RefCell::new(context),
            error: std::cell::Cell::new(None),
        }
    }

    /// The sequence number this transition will commit as.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The time of this transition (virtual under the test engine). Deadlines of sleeps and
    /// signal timeouts are computed from it and stored, so a replay sees the same ones.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The workflow's shared state, borrowed for the user code of one transition. Generated
    /// code borrows it only around user code, which never runs a nested transition.
    pub fn context(&self) -> std::cell::RefMut<'_, WorkflowContext> {
        self.context.borrow_mut()
    }

    /// Takes the shared state back after the transition.
    pub fn into_context(self) -> WorkflowContext {
        self.context.into_inner()
    }

    /// Records an encoding failure inside generated code that cannot return it directly; the
    /// transition then fails with it.
    pub fn fail(&self, error: CodecError) {
        self.record(MachineError::Codec(error));
    }

    /// Records that a loop of the workflow ran more iterations than its limit; the transition
    /// then fails with [`MachineError::IterationLimit`].
    pub fn iteration_limit(&self, workflow: &'static str, limit: u64) {
        self.record(MachineError::IterationLimit { workflow, limit });
    }

    fn record(&self, error: MachineError) {
        let first = self.error.take();
        self.error.set(Some(first.unwrap_or(error)));
    }

    /// Takes the recorded failure.
    pub fn take_error(&self) -> Option<MachineError> {
        self.error.take()
    }
}

/// Result of feeding an event to a wait.
#[derive(Debug)]
pub enum Resumed<W, T> {
    /// Still waiting (e.g. a join with branches left), with the updated wait.
    Pending(W),
    /// The wait is over with this value.
    Ready(T),
}

/// Result of a transition.
#[derive(Debug)]
pub enum Advance<S, O> {
    /// The workflow suspends in a new state.
    Suspend(S),
    /// The workflow finished with its output.
    Done(O),
}

/// A task run started from a state: its future yields the encoded return value.
pub struct TaskRun {
    /// Task name.
    pub name: &'static str,
    /// Attempt number.
    pub attempt: u32,
    /// The future.
    pub future: BoxFuture<Result<TaskOutput, MachineError>>,
    /// The return value of this attempt when it runs past its timeout.
    pub timed_out: fn(TaskTimeout) -> Result<TaskOutput, CodecError>,
}

impl std::fmt::Debug for TaskRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRun")
            .field("name", &self.name)
            .field("attempt", &self.attempt)
            .finish()
    }
}

/// Errors of the state-machine functions. They mean stored data and code disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MachineError {
    /// A blob failed to decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// An event was addressed to a slot that does not exist in the state.
    #[error("state `{state}` has no slot {slot:?}")]
    NoSuchSlot {
        /// State (variant) name.
        state: &'static str,
        /// Slot path.
        slot: SlotPath,
    },
    /// A loop ran more iterations than `#[workflow(max_iterations = N)]` (or its loop's
    /// `#[sayiir::max_iterations(N)]`) allows.
    #[error("a loop of workflow `{workflow}` exceeded its limit of {limit} iterations")]
    IterationLimit {
        /// Workflow name.
        workflow: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A state waits for nothing that can make progress here.
    #[error("workflow `{workflow}` waits for nothing that can make progress")]
    Stalled {
        /// Workflow name.
        workflow: &'static str,
    },
    /// A migration addressed a state this version does not have.
    #[error("workflow `{workflow}` has no state `{state}`")]
    NoSuchState {
        /// Workflow name.
        workflow: &'static str,
        /// The state's stable identity.
        state: String,
    },
    /// A migration function failed.
    #[error("the migration of state `{state}` failed: {detail}")]
    Migration {
        /// The old state's id.
        state: String,
        /// What went wrong.
        detail: String,
    },
    /// A migration did not provide a part of the state it builds.
    #[error("state `{state}` needs its {part}, which the migration did not provide")]
    MissingPart {
        /// The state's stable identity.
        state: String,
        /// Which part (`field `x``, `wait`).
        part: String,
    },
    /// A task needed a resource its run was not given (a workflow called directly, outside a
    /// `Resources::scope` that has it).
    #[error(transparent)]
    MissingResource(#[from] MissingResource),
    /// An event of the wrong kind for the slot.
    #[error("state `{state}` cannot take a {event} event at slot {slot:?}")]
    UnexpectedEvent {
        /// State (variant) name.
        state: &'static str,
        /// Event kind.
        event: &'static str,
        /// Slot path.
        slot: SlotPath,
    },
}

impl MachineError {
    /// Builds [`MachineError::UnexpectedEvent`].
    pub fn unexpected(state: &'static str, input: &Input<'_>, slot: &[u32]) -> Self {
        MachineError::UnexpectedEvent {
            state,
            event: input.describe(),
            slot: slot.to_vec(),
        }
    }

    /// Builds [`MachineError::NoSuchSlot`].
    pub fn no_slot(state: &'static str, slot: &[u32]) -> Self {
        MachineError::NoSuchSlot {
            state,
            slot: slot.to_vec(),
        }
    }
}

/// A pending await stored in a state variant.
pub trait Wait: Serialize + DeserializeOwned + Send + 'static {
    /// The value the await yields.
    type Output;
    /// Reports the work this wait needs.
    fn work(&self, sink: &mut WorkSink);
    /// Starts the leaf work at `slot`.
    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError>;
    /// Feeds an event addressed to `slot`.
    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        cx: &StepCx,
    ) -> Result<Resumed<Self, Self::Output>, MachineError>;
    /// Encodes an output (joins keep finished branches' outputs as bytes).
    fn encode_output(output: &Self::Output) -> Result<Vec<u8>, CodecError>;
    /// Decodes an output encoded by [`Wait::encode_output`].
    fn decode_output(bytes: &[u8]) -> Result<Self::Output, CodecError>;
}

/// What a wait stores, for the definition's shape. Apart from [`Wait`] so that describing a
/// wait asks nothing more of its type than the wait's own parts (a `try_join!` of calls that
/// do not return `Result` is reported once, by `Wait`).
pub trait DescribeWait {
    /// What this wait stores.
    fn describe(d: &mut Describe<'_>) -> WaitShape;
}

/// A workflow compiled by `#[workflow]`, as the type of the same name the macro adds beside
/// the function: users name it in [`Engine::start`](crate::Engine::start) and friends
/// (`engine.start::<checkout>(..)`), as a bound (`W: sayiir::Workflow`, `W::Output`), and read
/// its identity (`<checkout as sayiir::Workflow>::NAME`, `VERSION`, `DEFINITION_HASH`; the
/// hash is also the inherent `checkout::DEFINITION_HASH`).
///
/// Sealed: `#[workflow]` implements it, and it cannot be implemented by hand (its supertrait
/// is in the hidden `__private` module, and the state-machine functions generated code
/// provides are hidden and may change).
pub trait Workflow: WorkflowSeal + Sized + Send + Sync + 'static {
    /// The input: the single parameter's type, `()` for none, a tuple for several.
    type Input: Send + 'static;
    /// The declared return type.
    type Output: Send + 'static;
    /// The state enum.
    #[doc(hidden)]
    type State: Serialize + DeserializeOwned + Send + 'static;
    /// Stable name (the function name unless renamed with `name = "..."`).
    const NAME: &'static str;
    /// Declared version (`#[workflow(version = N)]`, default 1).
    const VERSION: u32;
    /// blake3 over the canonical encoding of the lowered definition.
    const DEFINITION_HASH: [u8; 32];
    /// `#[workflow(on_exhausted = "..")]`: what the tasks it calls without an `on_exhausted`
    /// option of their own do when their attempts are used up.
    const ON_EXHAUSTED: OnExhausted = OnExhausted::Inherit;
    /// `#[workflow(concurrency = N)]`: at most this many instances of this workflow type are
    /// running (admitted and not finished) at once, across all workers; the others wait, in
    /// order of creation. Not part of the definition hash. See `docs/flow-control.md`.
    const CONCURRENCY: Option<NonZeroU32> = None;
    /// The state before the first transition.
    #[doc(hidden)]
    fn start(input: Self::Input) -> Self::State;
    /// The work `state` waits for.
    #[doc(hidden)]
    fn work(state: &Self::State, sink: &mut WorkSink);
    /// Starts the leaf work at `slot` of `state`.
    #[doc(hidden)]
    fn run(state: &Self::State, slot: &[u32]) -> Result<TaskRun, MachineError>;
    /// Runs one transition.
    #[doc(hidden)]
    fn advance(
        state: Self::State,
        slot: &[u32],
        input: Input<'_>,
        cx: &StepCx,
    ) -> Result<Advance<Self::State, Self::Output>, MachineError>;
    /// Whether an output counts as a failure (an `Err` of a `Result` return type).
    #[doc(hidden)]
    fn is_failure(output: &Self::Output) -> bool;
    /// Encodes an output.
    #[doc(hidden)]
    fn encode_output(output: &Self::Output) -> Result<Vec<u8>, CodecError>;
    /// Decodes an output.
    #[doc(hidden)]
    fn decode_output(bytes: &[u8]) -> Result<Self::Output, CodecError>;
    /// Declares the signals the workflow (and its children) can receive.
    #[doc(hidden)]
    fn signals(out: &mut SignalSet);
    /// What the workflow stores, state by state (see [`WorkflowShape`]).
    #[doc(hidden)]
    fn describe(d: &mut Describe<'_>) -> WorkflowShape;
    /// The stable identity of `state` (`start`, `charge#1`, or a `#[sayiir::state]` label).
    #[doc(hidden)]
    fn state_id(state: &Self::State) -> &'static str;
    /// Takes `state` apart: its identity, each carried field and its wait encoded on their own
    /// (for migrations to another version).
    #[doc(hidden)]
    fn dissect(state: &Self::State) -> Result<StateParts, CodecError>;
    /// Builds the state `parts.id()` from parts (each part decoded as this version's type).
    #[doc(hidden)]
    fn assemble(parts: StateParts) -> Result<Self::State, MachineError>;
    /// The start state from the inputs encoded one after another (as a tuple of them, or the
    /// one input, encodes).
    #[doc(hidden)]
    fn start_raw(bytes: &[u8]) -> Result<Self::State, MachineError>;
}

/// Types `?` can unwrap in a workflow body; names the type of `call(..).await?`.
pub trait Unwrap {
    /// The success type.
    type Ok;
}

impl<T, E> Unwrap for Result<T, E> {
    type Ok = T;
}

impl<T> Unwrap for Option<T> {
    type Ok = T;
}

/// A `Result` return type of a workflow; names the error type its `?` converts into.
#[diagnostic::on_unimplemented(
    message = "a workflow whose return type is named `Result` must return `core::result::Result`",
    label = "this is not `core::result::Result<T, E>`"
)]
pub trait ResultOutput {
    /// The error type.
    type Err;
    /// Whether the value is an `Err`.
    fn is_err(&self) -> bool;
}

impl<T, E> ResultOutput for Result<T, E> {
    type Err = E;
    fn is_err(&self) -> bool {
        Result::is_err(self)
    }
}

/// The seals of [`Workflow`] and [`Task`]: public only through the hidden `__private` module
/// (generated code implements them), defined here, below everything that names them.
pub(crate) mod seal {
    /// The seal of [`Workflow`](super::Workflow): generated code implements it beside `Workflow`, so a hand-written
    /// `impl sayiir::Workflow` fails here, with this message.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a workflow compiled by `#[sayiir::workflow]`: `sayiir::Workflow` cannot be implemented by hand",
        label = "`sayiir::Workflow` is implemented by `#[sayiir::workflow]` only",
        note = "write the workflow as an `async fn` marked `#[sayiir::workflow]`: the macro adds a type of the same name that implements `Workflow`"
    )]
    pub trait WorkflowSeal {}

    /// The seal of [`Task`](super::Task): generated code implements it beside `Task`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a task compiled by `#[sayiir::task]`: `sayiir::Task` cannot be implemented by hand",
        label = "`sayiir::Task` is implemented by `#[sayiir::task]` only",
        note = "write the task as an `async fn` marked `#[sayiir::task]`: the macro adds a type of the same name that implements `Task`"
    )]
    pub trait TaskSeal {}
}
