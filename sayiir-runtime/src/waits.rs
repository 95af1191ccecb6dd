//! Waits that are not calls of user code: durable timers (`sleep`, `sleep_until`), signals
//! (`signal::<T>(name)`, with or without `.timeout(d)`) and `continue_as_new`.
//!
//! `sleep`, `sleep_until` and `signal` each exist twice, like `#[task]`s: a function (what the
//! name means outside a workflow) and a braced struct of the same name in the type namespace
//! implementing [`Callee`], which is what `#[workflow]` bodies resolve `name(args).await` to.
#![allow(non_camel_case_types)]

use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::describe::{Describe, WaitShape};
use crate::hash::blake3;
use crate::machine::{
    Callee, DescribeWait, Input, MachineError, Resumed, SignalDecl, SignalSet, StepCx, TaskRun,
    TimeoutCallee, Wait, WorkKind, WorkSink,
};
use sayiir_store::Timestamp;

fn no_task(what: &'static str, slot: &[u32]) -> MachineError {
    MachineError::no_slot(what, slot)
}

fn never_joined(what: &'static str) -> CodecError {
    CodecError::Malformed {
        ty: what,
        detail: "this wait yields no value to encode".into(),
    }
}

/// A durable timer: the instance is parked in the store with `due` as its due time.
#[derive(Debug, Serialize, Deserialize)]
pub struct TimerWait {
    due: i64,
}

impl TimerWait {
    fn at(due: Timestamp) -> Self {
        Self {
            due: due.as_millis(),
        }
    }
}

impl Wait for TimerWait {
    type Output = ();

    fn work(&self, sink: &mut WorkSink) {
        sink.push(WorkKind::Timer {
            due: Timestamp(self.due),
        });
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        Err(no_task("sleep", slot))
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        _cx: &StepCx,
    ) -> Result<Resumed<Self, ()>, MachineError> {
        match input {
            Input::Timer if slot.is_empty() => Ok(Resumed::Ready(())),
            _ => Err(MachineError::unexpected("sleep", &input, slot)),
        }
    }

    fn encode_output(output: &()) -> Result<Vec<u8>, CodecError> {
        codec::encode(output)
    }

    fn decode_output(bytes: &[u8]) -> Result<(), CodecError> {
        codec::decode(bytes)
    }
}

impl DescribeWait for TimerWait {
    fn describe(_: &mut Describe<'_>) -> WaitShape {
        WaitShape::Timer
    }
}

/// Sleeps durably for `duration` inside a `#[workflow]`: the instance is parked in the store
/// and no worker, task or memory is held for it. Outside a workflow it is `tokio::time::sleep`.
///
/// The due time is computed when the transition that reaches the sleep runs, and committed
/// with it: a crash during the sleep neither restarts nor shortens it.
///
/// ```
/// use std::time::Duration;
///
/// #[sayiir::task]
/// async fn send(text: String) -> String {
///     text
/// }
///
/// #[sayiir::workflow]
/// async fn follow_up(user: String) -> String {
///     send(format!("welcome, {user}")).await;
///     sayiir::sleep(Duration::from_secs(3 * 24 * 3600)).await; // a row in the store, for 3 days
///     send(format!("how is it going, {user}?")).await
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = sayiir::testing::TestEngine::builder().register::<follow_up>().build()?;
/// let began = t.now();
/// t.start::<follow_up>("f-1", "ada".into()).await?;
/// assert_eq!(t.run_until_done::<follow_up>("f-1").await?, "how is it going, ada?");
/// assert!(t.now().duration_since(began)? >= Duration::from_secs(3 * 24 * 3600));
/// # Ok(())
/// # }
/// ```
pub async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}

/// The workflow-side form of [`sleep()`](fn@sleep).
pub struct sleep {}

impl Callee for sleep {
    type Return = ();
    type Wait = TimerWait;
    const HASH: [u8; 32] = blake3(b"sayiir::sleep");
}

impl sleep {
    #[doc(hidden)]
    pub fn __sayiir_begin(cx: &StepCx, duration: Duration) -> TimerWait {
        TimerWait::at(cx.now().add(duration))
    }
}

/// Sleeps durably until `time` inside a `#[workflow]` (a time in the past fires at once).
/// Outside a workflow it sleeps with tokio until then.
pub async fn sleep_until(time: SystemTime) {
    let left = time
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    tokio::time::sleep(left).await;
}

/// The workflow-side form of [`sleep_until()`](fn@sleep_until).
pub struct sleep_until {}

impl Callee for sleep_until {
    type Return = ();
    type Wait = TimerWait;
    const HASH: [u8; 32] = blake3(b"sayiir::sleep_until");
}

impl sleep_until {
    #[doc(hidden)]
    pub fn __sayiir_begin(_cx: &StepCx, time: SystemTime) -> TimerWait {
        TimerWait::at(Timestamp::from_system(time))
    }
}

/// No signal arrived before the deadline of `signal::<T>(name).timeout(d)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("no signal `{name}` arrived within {after:?}")]
pub struct SignalTimeout {
    /// Signal name.
    pub name: String,
    /// The timeout.
    pub after: Duration,
}

/// `signal::<T>(name)` outside a `#[workflow]` body: not a future. Signals are received by
/// workflows; send them with `Engine::signal`.
#[derive(Debug)]
#[must_use = "signals can only be awaited inside a #[workflow] body"]
pub struct SignalOutsideWorkflow<T> {
    _t: PhantomData<fn() -> T>,
}

impl<T> SignalOutsideWorkflow<T> {
    /// The deadline form; inside a workflow this yields `Result<T, SignalTimeout>`.
    pub fn timeout(self, _after: Duration) -> Self {
        self
    }
}

/// Waits inside a `#[workflow]` for the next signal `name` with a payload of type `T`, sent by
/// `Engine::signal`. Signals sent before the workflow waits are buffered in the store and
/// consumed in order; consuming one is part of the commit of the transition it causes. Add
/// `.timeout(d)` to get `Result<T, SignalTimeout>`. The name must be a string literal, so the
/// engine can check a sender's payload type against it.
///
/// ```
/// use std::time::Duration;
///
/// #[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
/// pub struct Decision {
///     pub approved: bool,
/// }
///
/// #[sayiir::workflow]
/// async fn review(doc: String) -> String {
///     let first: Decision = sayiir::signal::<Decision>("decision").await;
///     match sayiir::signal::<Decision>("decision").timeout(Duration::from_secs(3600)).await {
///         Ok(second) if first.approved && second.approved => format!("{doc}: published"),
///         Ok(_) => format!("{doc}: rejected"),
///         Err(timeout) => format!("{doc}: {timeout}"),
///     }
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let t = sayiir::testing::TestEngine::builder().register::<review>().build()?;
/// t.start::<review>("r-1", "post".into()).await?;
/// // Both arrive before they are awaited: buffered durably, consumed in order.
/// t.signal("r-1", "decision", &Decision { approved: true }).await?;
/// t.signal("r-1", "decision", &Decision { approved: true }).await?;
/// assert_eq!(t.run_until_done::<review>("r-1").await?, "post: published");
///
/// // A payload of another type is refused before anything is stored.
/// t.start::<review>("r-2", "draft".into()).await?;
/// assert!(t.signal("r-2", "decision", &"yes").await.is_err());
/// t.signal("r-2", "decision", &Decision { approved: true }).await?;
/// // No second decision within the hour: the timeout's error is the value.
/// let out = t.run_until_done::<review>("r-2").await?;
/// assert!(out.starts_with("draft: no signal `decision` arrived within"), "{out}");
/// # Ok(())
/// # }
/// ```
pub fn signal<T>(name: &str) -> SignalOutsideWorkflow<T> {
    let _ = name;
    SignalOutsideWorkflow { _t: PhantomData }
}

/// The workflow-side form of [`signal()`](fn@signal).
pub struct signal<T> {
    _t: PhantomData<fn() -> T>,
}

/// Bounds of a signal payload.
pub trait Payload: Serialize + DeserializeOwned + Send + 'static {}
impl<T: Serialize + DeserializeOwned + Send + 'static> Payload for T {}

impl<T: Payload> Callee for signal<T> {
    type Return = T;
    type Wait = SignalWait<T>;
    const HASH: [u8; 32] = blake3(b"sayiir::signal");

    fn declare(out: &mut SignalSet, first_literal: Option<&'static str>) {
        if let Some(name) = first_literal {
            out.push(SignalDecl::of::<T>(name));
        }
    }
}

impl<T: Payload> TimeoutCallee for signal<T> {
    type Wait = SignalTimeoutWait<T>;
}

impl<T: Payload> signal<T> {
    #[doc(hidden)]
    pub fn __sayiir_begin(_cx: &StepCx, name: &str) -> SignalWait<T> {
        SignalWait {
            name: name.to_owned(),
            _t: PhantomData,
        }
    }

    #[doc(hidden)]
    pub fn __sayiir_begin_timeout(
        cx: &StepCx,
        name: &str,
        after: Duration,
    ) -> SignalTimeoutWait<T> {
        SignalTimeoutWait {
            name: name.to_owned(),
            deadline: cx.now().add(after).as_millis(),
            after,
            _t: PhantomData,
        }
    }
}

/// A wait for a signal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SignalWait<T> {
    name: String,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Payload> Wait for SignalWait<T> {
    type Output = T;

    fn work(&self, sink: &mut WorkSink) {
        sink.push(WorkKind::Signal {
            name: self.name.clone(),
            deadline: None,
        });
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        Err(no_task("signal", slot))
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        _cx: &StepCx,
    ) -> Result<Resumed<Self, T>, MachineError> {
        match input {
            Input::Signal(bytes) if slot.is_empty() => Ok(Resumed::Ready(codec::decode(bytes)?)),
            _ => Err(MachineError::unexpected("signal", &input, slot)),
        }
    }

    fn encode_output(output: &T) -> Result<Vec<u8>, CodecError> {
        codec::encode(output)
    }

    fn decode_output(bytes: &[u8]) -> Result<T, CodecError> {
        codec::decode(bytes)
    }
}

impl<T: Payload> DescribeWait for SignalWait<T> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        WaitShape::Signal {
            payload: d.ty::<T>("signal payload"),
            timeout: false,
        }
    }
}

/// A wait for a signal with a deadline.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SignalTimeoutWait<T> {
    name: String,
    deadline: i64,
    after: Duration,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Payload> Wait for SignalTimeoutWait<T> {
    type Output = Result<T, SignalTimeout>;

    fn work(&self, sink: &mut WorkSink) {
        sink.push(WorkKind::Signal {
            name: self.name.clone(),
            deadline: Some(Timestamp(self.deadline)),
        });
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        Err(no_task("signal", slot))
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        _cx: &StepCx,
    ) -> Result<Resumed<Self, Self::Output>, MachineError> {
        match input {
            Input::Signal(bytes) if slot.is_empty() => {
                Ok(Resumed::Ready(Ok(codec::decode(bytes)?)))
            }
            Input::Timer if slot.is_empty() => Ok(Resumed::Ready(Err(SignalTimeout {
                name: self.name,
                after: self.after,
            }))),
            _ => Err(MachineError::unexpected("signal", &input, slot)),
        }
    }

    fn encode_output(output: &Self::Output) -> Result<Vec<u8>, CodecError> {
        codec::encode(output)
    }

    fn decode_output(bytes: &[u8]) -> Result<Self::Output, CodecError> {
        codec::decode(bytes)
    }
}

impl<T: Payload> DescribeWait for SignalTimeoutWait<T> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        WaitShape::Signal {
            payload: d.ty::<T>("signal payload"),
            timeout: true,
        }
    }
}

/// The argument of `continue_as_new` (what the function returns; only `#[workflow]` bodies
/// can await it).
#[derive(Debug)]
#[must_use = "`continue_as_new(input).await` can only be written inside a #[workflow] body"]
pub struct ContinueAsNew<I> {
    input: I,
}

/// Ends the current run of the workflow and starts it again, under the same instance id, with
/// `input` (the workflow's input type). Write `return sayiir::continue_as_new(next).await;`
/// inside a `#[workflow]` body. The new run starts from a fresh state; the shared
/// [`WorkflowContext`](crate::WorkflowContext) is kept; the history of the previous run is dropped, so a
/// workflow that loops this way keeps its stored size constant.
pub fn continue_as_new<I>(input: I) -> ContinueAsNew<I> {
    ContinueAsNew { input }
}

impl<I> ContinueAsNew<I> {
    #[doc(hidden)]
    pub fn __sayiir_input(self) -> I {
        self.input
    }
}

/// The pending restart of a workflow whose state type is `S` and output type `O`: holds the
/// encoded start state of the next run.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ContinueWait<S, O> {
    input: Vec<u8>,
    #[serde(skip)]
    _t: PhantomData<fn() -> (S, O)>,
}

impl<S: Serialize, O> ContinueWait<S, O> {
    /// The restart into `start`, the next run's start state (`Workflow::start(input)`).
    #[doc(hidden)]
    pub fn new(cx: &StepCx, start: S) -> Self {
        let input = codec::encode(&start).unwrap_or_else(|e| {
            cx.fail(e);
            Vec::new()
        });
        Self {
            input,
            _t: PhantomData,
        }
    }
}

impl<S: Send + 'static, O: Send + 'static> Wait for ContinueWait<S, O> {
    type Output = O;

    fn work(&self, sink: &mut WorkSink) {
        sink.push(WorkKind::Continue {
            input: self.input.clone(),
            depth: 0,
        });
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        Err(no_task("continue_as_new", slot))
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        _cx: &StepCx,
    ) -> Result<Resumed<Self, O>, MachineError> {
        Err(MachineError::unexpected("continue_as_new", &input, slot))
    }

    fn encode_output(_: &O) -> Result<Vec<u8>, CodecError> {
        Err(never_joined("continue_as_new"))
    }

    fn decode_output(_: &[u8]) -> Result<O, CodecError> {
        Err(never_joined("continue_as_new"))
    }
}

impl<S: Send + 'static, O: Send + 'static> DescribeWait for ContinueWait<S, O> {
    fn describe(_: &mut Describe<'_>) -> WaitShape {
        WaitShape::Continue
    }
}
