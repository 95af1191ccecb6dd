//! Running a workflow directly, in memory, without a store: what calling a `#[workflow]`
//! function as a plain async fn does.

use std::collections::HashSet;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::codec::{self, CodecError};
use crate::context::TaskContext;
use crate::machine::{
    Advance, BoxFuture, Input, SlotPath, StepCx, TaskOutput, WorkKind, WorkSink, Workflow,
};

/// Instance id reported by [`TaskContext`] for direct calls.
pub(crate) const INLINE_INSTANCE: &str = "inline";

/// Runs workflow `W` to completion in this task: same transitions and task runs as under an
/// engine, concurrent join branches included, but nothing is persisted.
///
/// # Panics
///
/// A direct call has no error channel besides the workflow's own output, so it panics when a
/// state or value fails to encode or decode (a bug in a type's serde implementation).
pub async fn run_inline<W: Workflow>(input: W::Input) -> W::Output {
    match drive::<W>(input).await {
        Ok(output) => output,
        Err(e) => panic!("workflow `{}` run directly failed: {e}", W::NAME),
    }
}

type Running = FuturesUnordered<BoxFuture<(SlotPath, Result<TaskOutput, CodecError>)>>;

async fn drive<W: Workflow>(input: W::Input) -> Result<W::Output, crate::MachineError> {
    let mut state = W::start(input);
    let mut seq = 0u64;
    let mut running: Running = FuturesUnordered::new();
    let mut busy: HashSet<SlotPath> = HashSet::new();
    loop {
        let mut sink = WorkSink::new();
        W::work(&state, &mut sink);
        let mut immediate = None;
        for item in sink.into_items() {
            match item.kind {
                WorkKind::Immediate => immediate = Some(item.slot),
                WorkKind::Task {
                    name,
                    attempt,
                    origin,
                    ..
                } if !busy.contains(&item.slot) => {
                    let copy: W::State = codec::decode(&codec::encode(&state)?)?;
                    let run = W::run(copy, &item.slot)?;
                    let cx = TaskContext::new(
                        W::NAME,
                        INLINE_INSTANCE,
                        name,
                        attempt,
                        origin,
                        &item.slot,
                    );
                    let slot = item.slot.clone();
                    busy.insert(item.slot);
                    running.push(Box::pin(async move { (slot, cx.scope(run.future).await) }));
                }
                _ => {}
            }
        }
        let (slot, output) = match immediate {
            Some(slot) => (slot, None),
            None => match running.next().await {
                Some((slot, output)) => (slot, Some(output?)),
                None => {
                    return Err(crate::MachineError::Stalled { workflow: W::NAME });
                }
            },
        };
        busy.remove(&slot);
        seq += 1;
        let cx = StepCx::new(seq);
        let input = match &output {
            Some(out) => Input::Task(&out.bytes),
            None => Input::Start,
        };
        let next = W::advance(state, &slot, input, &cx)?;
        if let Some(e) = cx.take_error() {
            return Err(e);
        }
        match next {
            Advance::Suspend(s) => state = s,
            Advance::Done(output) => return Ok(output),
        }
    }
}
