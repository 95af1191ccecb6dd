//! Workflows an engine serves, behind a byte-level interface the worker drives.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use sayiir_store::{DefinitionHash, Fingerprint, Timestamp, WorkflowKey};

use crate::codec::{self, CodecError};
use crate::machine::{
    Advance, Input, MachineError, SignalSet, StepCx, TaskRun, WorkItem, WorkSink, Workflow,
};
use crate::shared::Context;

/// The stored form of a running instance: its shared context and its state, in one blob.
fn encode_stored<S: serde::Serialize>(ctx: &Context, state: &S) -> Result<Vec<u8>, CodecError> {
    codec::encode(&(ctx, state))
}

fn decode_stored<W: Workflow>(blob: &[u8]) -> Result<(Context, W::State), CodecError> {
    codec::decode(blob)
}

/// The stored blob of a new instance of `W`.
pub(crate) fn initial_state<W: Workflow>(input: W::Input) -> Result<Vec<u8>, CodecError> {
    encode_stored(&Context::default(), &W::start(input))
}

/// What a transition produced.
pub(crate) enum Advanced {
    /// The instance suspends in `state` and waits for `work`.
    Suspend { state: Vec<u8>, work: Vec<WorkItem> },
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
    /// Starts the task at `slot`; also returns the shared context (the task's snapshot).
    fn run(&self, state: &[u8], slot: &[u32]) -> Result<(TaskRun, Context), MachineError>;
    fn advance(
        &self,
        state: &[u8],
        slot: &[u32],
        input: Input<'_>,
        seq: u64,
        now: Timestamp,
    ) -> Result<Advanced, AdvanceFailure>;
    /// The blob of a new run (`continue_as_new`) with encoded `input`, keeping the context of
    /// `state`.
    fn restart(&self, state: &[u8], input: &[u8]) -> Result<Advanced, AdvanceFailure>;
    /// The signals the workflow declares.
    fn signals(&self) -> &SignalSet;
}

struct Entry<W> {
    signals: SignalSet,
    _w: PhantomData<fn() -> W>,
}

fn work_of<W: Workflow>(state: &W::State) -> Vec<WorkItem> {
    let mut sink = WorkSink::new();
    W::work(state, &mut sink);
    sink.into_items()
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

impl<W: Workflow> DynWorkflow for Entry<W> {
    fn name(&self) -> &'static str {
        W::NAME
    }

    fn work(&self, state: &[u8]) -> Result<Vec<WorkItem>, MachineError> {
        let (_, state) = decode_stored::<W>(state)?;
        Ok(work_of::<W>(&state))
    }

    fn run(&self, state: &[u8], slot: &[u32]) -> Result<(TaskRun, Context), MachineError> {
        let (ctx, state) = decode_stored::<W>(state)?;
        Ok((W::run(state, slot)?, ctx))
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
                }
            }
            Advance::Done(output) => Advanced::Done {
                failed: W::is_failure(&output),
                output: W::encode_output(&output).map_err(enc)?,
            },
        })
    }

    fn restart(&self, state: &[u8], input: &[u8]) -> Result<Advanced, AdvanceFailure> {
        let m = |e: CodecError| AdvanceFailure::Machine(MachineError::Codec(e));
        let (ctx, _) = decode_stored::<W>(state).map_err(m)?;
        let state: W::State = codec::decode(input).map_err(m)?;
        let work = work_of::<W>(&state);
        Ok(Advanced::Suspend {
            state: encode_stored(&ctx, &state).map_err(m)?,
            work,
        })
    }

    fn signals(&self) -> &SignalSet {
        &self.signals
    }
}

/// The workflows of one engine, by name and definition hash.
#[derive(Default, Clone)]
pub(crate) struct Registry {
    entries: BTreeMap<(String, DefinitionHash), Arc<dyn DynWorkflow>>,
}

impl Registry {
    pub(crate) fn register<W: Workflow>(&mut self) {
        let key = (W::NAME.to_string(), DefinitionHash(W::DEFINITION_HASH));
        let mut signals = SignalSet::default();
        W::signals(&mut signals);
        self.entries.insert(
            key,
            Arc::new(Entry::<W> {
                signals,
                _w: PhantomData,
            }),
        );
    }

    pub(crate) fn get(&self, name: &str, hash: DefinitionHash) -> Option<Arc<dyn DynWorkflow>> {
        self.entries.get(&(name.to_string(), hash)).cloned()
    }

    pub(crate) fn known(&self) -> Vec<WorkflowKey> {
        self.entries
            .keys()
            .map(|(workflow, hash)| WorkflowKey {
                workflow: workflow.clone(),
                hash: *hash,
                fingerprint: Fingerprint::UNKNOWN,
            })
            .collect()
    }

    pub(crate) fn served(&self) -> Vec<String> {
        self.entries
            .keys()
            .map(|(n, _)| n.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    pub(crate) fn hashes_of(&self, name: &str) -> Vec<DefinitionHash> {
        self.entries
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, h)| *h)
            .collect()
    }
}
