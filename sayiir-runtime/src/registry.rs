//! Workflows an engine serves, behind a byte-level interface the worker drives.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

use sayiir_store::Timestamp;

use crate::codec::{self, CodecError};
use crate::feed::Feed;
use crate::machine::{
    Advance, Input, MachineError, OnExhausted, SignalSet, SlotPath, StepCx, TaskRun, WorkItem,
    WorkSink, Workflow, resolve_exhausted,
};
use crate::parts::StateParts;
use crate::shared::WorkflowContext;

mod set;

pub(crate) use set::{Entry, Registry, Route};

/// The id of the start state (before the first transition).
pub(crate) const START: &str = "start";

/// The stored form of a running instance: its shared context and its state, in one blob.
fn encode_stored<S: serde::Serialize>(
    ctx: &WorkflowContext,
    state: &S,
) -> Result<Vec<u8>, CodecError> {
    codec::encode(&(ctx, state))
}

fn decode_stored<W: Workflow>(blob: &[u8]) -> Result<(WorkflowContext, W::State), CodecError> {
    codec::decode(blob)
}

/// The stored blob of a new instance of `W`, and its encoded input: the start state's fields
/// (the parameters) by name, each encoded on its own, so that a later version can start again
/// from them ([`DynWorkflow::start_from`]) after checking their shapes.
pub(crate) fn initial_state<W: Workflow>(
    input: W::Input,
) -> Result<(Vec<u8>, Vec<u8>), CodecError> {
    let state = W::start(input);
    let parts = W::dissect(&state)?;
    Ok((
        encode_stored(&WorkflowContext::default(), &state)?,
        encode_input(&parts)?,
    ))
}

/// The stored form of an instance's input: its start state's fields by name. Names and byte
/// strings only: the one possible failure is a size over the format's limit.
pub(crate) fn encode_input(parts: &StateParts) -> Result<Vec<u8>, CodecError> {
    codec::encode(parts.fields())
}

/// The start state's parts from a stored input.
pub(crate) fn decode_input(blob: &[u8]) -> Result<StateParts, CodecError> {
    let fields: Vec<(String, Vec<u8>)> = codec::decode(blob)?;
    Ok(StateParts::from_fields(START, fields))
}

/// What a fold asks for the next event to feed: shown the work of the state reached (`None`
/// when the state is still at the await point whose work it was last shown: a join part-way,
/// see `driver/fold.rs`), it returns the next event and its slot, or `None` to end the fold.
pub(crate) type FoldNext<'a> = dyn FnMut(Option<&[WorkItem]>) -> Option<(SlotPath, Feed)> + 'a;

/// One advance of a decoded state: the next state or output, and the shared context after it.
type Stepped<W> = (
    Advance<<W as Workflow>::State, <W as Workflow>::Output>,
    WorkflowContext,
);

/// What a transition produced.
pub(crate) enum Advanced {
    /// The instance suspends in `state` (stable id `state_id`) and waits for `work`.
    Suspend {
        state: Vec<u8>,
        work: Vec<WorkItem>,
        state_id: &'static str,
    },
    /// The instance finished.
    Done { output: Vec<u8>, failed: bool },
}

/// Why a transition could not be computed.
pub(crate) enum AdvanceFailure {
    /// Stored data and code disagree.
    Machine(MachineError),
    /// Workflow code panicked.
    Panicked(String),
}

/// A workflow seen through encoded states.
pub(crate) trait DynWorkflow: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn work(&self, state: &[u8]) -> Result<Vec<WorkItem>, MachineError>;
    /// Starts the tasks at `slots`, the state decoded once: each one's run (or why it cannot
    /// start), and the shared context (the tasks' snapshot).
    fn run_all(
        &self,
        state: &[u8],
        slots: &[&[u32]],
    ) -> Result<(Vec<Result<TaskRun, MachineError>>, WorkflowContext), MachineError>;
    fn advance(
        &self,
        state: &[u8],
        slot: &[u32],
        input: Input<'_>,
        seq: u64,
        now: Timestamp,
    ) -> Result<Advanced, AdvanceFailure>;
    /// [`DynWorkflow::advance`] of several events in a row, the state decoded once and encoded
    /// once: feeds `first`, then, while the state keeps running, each event `more` returns
    /// when shown the work of the state reached so far (`None` ends the fold). The `n`-th event
    /// fed (from 0) is advanced at sequence number `seq + n`. Returns the outcome of the last
    /// one and how many were fed.
    fn advance_fold(
        &self,
        state: &[u8],
        first: (&[u32], Input<'_>),
        seq: u64,
        now: Timestamp,
        more: &mut FoldNext<'_>,
    ) -> Result<(Advanced, u64), AdvanceFailure>;
    /// The blob of a new run (`continue_as_new`) with encoded `input`, keeping the context of
    /// `state`.
    fn restart(&self, state: &[u8], input: &[u8]) -> Result<Advanced, AdvanceFailure>;
    /// The signals the workflow declares.
    fn signals(&self) -> &SignalSet;
    /// The stored blob of a run starting from the start state `input` (see [`decode_input`]),
    /// with an empty shared context, and its state id.
    fn start_from(&self, input: StateParts) -> Result<(Vec<u8>, &'static str), MachineError>;
    /// The stable id of the state in a stored blob.
    fn state_id(&self, state: &[u8]) -> Result<&'static str, MachineError>;
    /// A new instance's stored blob and stored input from its inputs encoded one after another.
    fn start_raw(&self, bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), MachineError>;
    /// `#[workflow(concurrency = N)]`: the workflow type's limit of running instances.
    fn concurrency(&self) -> Option<std::num::NonZeroU32>;
}

/// The byte-level face of workflow `W`.
pub(crate) struct Typed<W> {
    signals: SignalSet,
    _w: PhantomData<fn() -> W>,
}

impl<W: Workflow> Typed<W> {
    pub(crate) fn new() -> Self {
        let mut signals = SignalSet::default();
        W::signals(&mut signals);
        Self {
            signals,
            _w: PhantomData,
        }
    }
}

/// The work of `state`, each task's `on_exhausted` resolved: the task's own option, else the
/// nearest workflow's that has one (children resolve theirs in `ChildWait::work`), else
/// [`OnExhausted::Fail`].
fn work_of<W: Workflow>(state: &W::State) -> Vec<WorkItem> {
    let mut sink = WorkSink::new();
    W::work(state, &mut sink);
    let mut items = sink.into_items();
    resolve_exhausted(&mut items, W::ON_EXHAUSTED.or(OnExhausted::Fail));
    items
}

/// One [`Workflow::advance`] of the decoded `state` (shared context `ctx`) at sequence number
/// `seq`: the next state or output, and the context after it.
fn step<W: Workflow>(
    state: W::State,
    slot: &[u32],
    input: Input<'_>,
    seq: u64,
    now: Timestamp,
    ctx: WorkflowContext,
) -> Result<Stepped<W>, AdvanceFailure> {
    let cx = StepCx::new(seq, now, ctx);
    let next = catch_unwind(AssertUnwindSafe(|| W::advance(state, slot, input, &cx)))
        .map_err(|p| AdvanceFailure::Panicked(panic_message(&*p)))?
        .map_err(AdvanceFailure::Machine)?;
    if let Some(e) = cx.take_error() {
        return Err(AdvanceFailure::Machine(e));
    }
    Ok((next, cx.into_context()))
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

impl<W: Workflow> DynWorkflow for Typed<W> {
    fn name(&self) -> &'static str {
        W::NAME
    }

    fn concurrency(&self) -> Option<std::num::NonZeroU32> {
        W::CONCURRENCY
    }

    fn work(&self, state: &[u8]) -> Result<Vec<WorkItem>, MachineError> {
        let (_, state) = decode_stored::<W>(state)?;
        Ok(work_of::<W>(&state))
    }

    fn run_all(
        &self,
        state: &[u8],
        slots: &[&[u32]],
    ) -> Result<(Vec<Result<TaskRun, MachineError>>, WorkflowContext), MachineError> {
        let (ctx, state) = decode_stored::<W>(state)?;
        let runs = slots.iter().map(|slot| W::run(&state, slot)).collect();
        Ok((runs, ctx))
    }

    fn advance(
        &self,
        state: &[u8],
        slot: &[u32],
        input: Input<'_>,
        seq: u64,
        now: Timestamp,
    ) -> Result<Advanced, AdvanceFailure> {
        let (ctx, state) =
            decode_stored::<W>(state).map_err(|e| AdvanceFailure::Machine(e.into()))?;
        let cx = StepCx::new(seq, now, ctx);
        let next = catch_unwind(AssertUnwindSafe(|| W::advance(state, slot, input, &cx)))
            .map_err(|p| AdvanceFailure::Panicked(panic_message(&*p)))?
            .map_err(AdvanceFailure::Machine)?;
        if let Some(e) = cx.take_error() {
            return Err(AdvanceFailure::Machine(e));
        }
        let ctx = cx.into_context();
        let enc = |e| AdvanceFailure::Machine(MachineError::Codec(e));
        Ok(match next {
            Advance::Suspend(state) => {
                let work = work_of::<W>(&state);
                Advanced::Suspend {
                    state: encode_stored(&ctx, &state).map_err(enc)?,
                    work,
                    state_id: W::state_id(&state),
                }
            }
            Advance::Done(output) => Advanced::Done {
                failed: W::is_failure(&output),
                output: W::encode_output(&output).map_err(enc)?,
            },
        })
    }

    fn advance_fold(
        &self,
        state: &[u8],
        first: (&[u32], Input<'_>),
        seq: u64,
        now: Timestamp,
        more: &mut FoldNext<'_>,
    ) -> Result<(Advanced, u64), AdvanceFailure> {
        let (mut ctx, mut state) =
            decode_stored::<W>(state).map_err(|e| AdvanceFailure::Machine(e.into()))?;
        let (slot, input) = first;
        let mut next = step::<W>(state, slot, input, seq, now, ctx)?;
        let mut fed = 1;
        let enc = |e| AdvanceFailure::Machine(MachineError::Codec(e));
        // The await point whose work `more` was last shown. Within one await point (a join
        // part-way) a fed result changes only its own branch, so the work of the whole state
        // (a list as long as the join) is built once per await point, not once per result.
        let mut shown: Option<&'static str> = None;
        let work = loop {
            let (advance, c) = next;
            ctx = c;
            match advance {
                Advance::Done(output) => {
                    return Ok((
                        Advanced::Done {
                            failed: W::is_failure(&output),
                            output: W::encode_output(&output).map_err(enc)?,
                        },
                        fed,
                    ));
                }
                Advance::Suspend(s) => state = s,
            }
            let id = W::state_id(&state);
            let (work, asked) = if shown == Some(id) {
                (None, more(None))
            } else {
                shown = Some(id);
                let work = work_of::<W>(&state);
                let asked = more(Some(&work));
                (Some(work), asked)
            };
            let Some((slot, feed)) = asked else {
                break work.unwrap_or_else(|| work_of::<W>(&state));
            };
            next = step::<W>(state, &slot, feed.input(), seq + fed, now, ctx)?;
            fed += 1;
        };
        Ok((
            Advanced::Suspend {
                state: encode_stored(&ctx, &state).map_err(enc)?,
                work,
                state_id: W::state_id(&state),
            },
            fed,
        ))
    }

    fn restart(&self, state: &[u8], input: &[u8]) -> Result<Advanced, AdvanceFailure> {
        let m = |e: CodecError| AdvanceFailure::Machine(MachineError::Codec(e));
        let (ctx, _) = decode_stored::<W>(state).map_err(m)?;
        let state: W::State = codec::decode(input).map_err(m)?;
        let work = work_of::<W>(&state);
        Ok(Advanced::Suspend {
            state: encode_stored(&ctx, &state).map_err(m)?,
            work,
            state_id: W::state_id(&state),
        })
    }

    fn signals(&self) -> &SignalSet {
        &self.signals
    }

    fn start_from(&self, input: StateParts) -> Result<(Vec<u8>, &'static str), MachineError> {
        let state = W::assemble(input)?;
        Ok((
            encode_stored(&WorkflowContext::default(), &state)?,
            W::state_id(&state),
        ))
    }

    fn state_id(&self, state: &[u8]) -> Result<&'static str, MachineError> {
        let (_, state) = decode_stored::<W>(state)?;
        Ok(W::state_id(&state))
    }

    fn start_raw(&self, bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), MachineError> {
        let state = W::start_raw(bytes)?;
        let parts = W::dissect(&state)?;
        Ok((
            encode_stored(&WorkflowContext::default(), &state)?,
            encode_input(&parts)?,
        ))
    }
}
