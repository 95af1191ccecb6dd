//! Running a workflow directly, in memory, without a store: what calling a `#[workflow]`
//! function as a plain async fn does. Same machine, same task context, real time: sleeps and
//! backoffs wait with tokio, timeouts cut tasks off; signals cannot reach such a run, so a wait
//! for one ends at its timeout or fails the run as stalled. Tasks receive the resources of the
//! `Resources::scope` around the call (or of the task the call is made in); a task that takes
//! one the run was not given fails the run with `MachineError::MissingResource`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::stream::{FuturesUnordered, StreamExt};
use sayiir_store::Timestamp;

use crate::codec::{self, CodecError};
use crate::context::TaskContext;
use crate::machine::{
    Advance, BoxFuture, Input, MachineError, SlotPath, StepCx, TaskOutput, TaskTimeout, WorkKind,
    WorkSink, Workflow,
};
use crate::resources::Resources;
use crate::retry;
use crate::shared::WorkflowContext;

/// Runs `W` to its end with an empty shared context.
pub async fn run_inline<W: Workflow>(input: W::Input) -> W::Output {
    let mut ctx = WorkflowContext::default();
    run_inline_with::<W>(&mut ctx, input).await
}

/// Runs `W` to its end with the shared context `ctx` (what a workflow taking
/// `ctx: &mut WorkflowContext` does when called directly). Panics if the run cannot go on: a stored
/// value that does not round-trip, a wait for a signal without a timeout, or a task that takes
/// a resource the run was not given (see [`Resources::scope`]).
pub async fn run_inline_with<W: Workflow>(ctx: &mut WorkflowContext, input: W::Input) -> W::Output {
    match drive::<W>(ctx, input).await {
        Ok(output) => output,
        Err(e) => panic!("workflow `{}` run directly failed: {e}", W::NAME),
    }
}

type Done = (SlotPath, u32, Result<TaskOutput, MachineError>);
type Running = FuturesUnordered<BoxFuture<Done>>;

/// A distinct instance name per direct run, so idempotency keys of two runs never collide.
fn instance_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "inline-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn copy<W: Workflow>(state: &W::State) -> Result<W::State, CodecError> {
    codec::decode(&codec::encode(state)?)
}

enum Event {
    Start,
    Task(u32, TaskOutput),
    Timer,
}

async fn drive<W: Workflow>(
    ctx: &mut WorkflowContext,
    input: W::Input,
) -> Result<W::Output, MachineError> {
    let instance = instance_name();
    let resources = Resources::direct();
    let mut state = W::start(input);
    let mut seq = 0u64;
    let mut running: Running = FuturesUnordered::new();
    let mut busy: HashSet<SlotPath> = HashSet::new();
    'outer: loop {
        let mut sink = WorkSink::new();
        W::work(&state, &mut sink);
        let now = Timestamp::now();
        let mut ready = None;
        let mut next_due: Option<(Timestamp, SlotPath, bool)> = None;
        for item in sink.into_items() {
            let slot = item.slot;
            match item.kind {
                WorkKind::Immediate => ready = Some((slot, Event::Start)),
                WorkKind::Continue { input, depth } => {
                    if depth == 0 {
                        state = codec::decode(&input)?;
                        running.clear();
                        busy.clear();
                        continue 'outer;
                    }
                    let cx = step(seq, ctx);
                    let restart = Input::Restart {
                        start: &input,
                        depth,
                    };
                    state = match W::advance(state, &slot, restart, &cx)? {
                        Advance::Suspend(s) => s,
                        Advance::Done(o) => return Ok(o),
                    };
                    continue 'outer;
                }
                WorkKind::Timer { due }
                | WorkKind::Signal {
                    deadline: Some(due),
                    ..
                } => {
                    if due <= now {
                        ready = Some((slot, Event::Timer));
                    } else if next_due.as_ref().is_none_or(|(d, ..)| due < *d) {
                        next_due = Some((due, slot, false));
                    }
                }
                WorkKind::Signal { deadline: None, .. } => {}
                WorkKind::Task { .. } if busy.contains(&slot) => {}
                WorkKind::Task {
                    not_before: Some(t),
                    ..
                } if t > now => {
                    if next_due.as_ref().is_none_or(|(d, ..)| t < *d) {
                        next_due = Some((t, slot, true));
                    }
                }
                WorkKind::Task {
                    name,
                    attempt,
                    origin,
                    options,
                    ..
                } => {
                    let run = W::run(copy::<W>(&state)?, &slot)?;
                    let shared = Arc::new(ctx.clone());
                    let tcx = TaskContext::new(
                        W::NAME,
                        &instance,
                        name,
                        attempt,
                        origin,
                        &slot,
                        shared,
                        Arc::clone(&resources),
                    );
                    busy.insert(slot.clone());
                    let timed_out = run.timed_out;
                    running.push(Box::pin(async move {
                        let fut = tcx.scope(run.future);
                        let out = match options.timeout {
                            None => fut.await,
                            Some(after) => match tokio::time::timeout(after, fut).await {
                                Ok(out) => out,
                                Err(_) => timed_out(TaskTimeout {
                                    task: name.to_owned(),
                                    after,
                                    attempt,
                                })
                                .map_err(MachineError::from),
                            },
                        };
                        (slot, attempt, out)
                    }));
                }
            }
        }
        let (slot, event) = match ready {
            Some(r) => r,
            None => {
                let timer = async {
                    match &next_due {
                        Some((due, ..)) => tokio::time::sleep(Timestamp::now().until(*due)).await,
                        None => std::future::pending().await,
                    }
                };
                if running.is_empty() && next_due.is_none() {
                    return Err(MachineError::Stalled { workflow: W::NAME });
                }
                tokio::select! {
                    Some((slot, attempt, out)) = running.next() => (slot, Event::Task(attempt, out?)),
                    _ = timer => match next_due.take() {
                        Some((_, _, true)) => continue,
                        Some((_, slot, false)) => (slot, Event::Timer),
                        None => continue,
                    },
                }
            }
        };
        busy.remove(&slot);
        seq += 1;
        let cx = step(seq, ctx);
        let next = match &event {
            Event::Start => W::advance(state, &slot, Input::Start, &cx)?,
            Event::Timer => W::advance(state, &slot, Input::Timer, &cx)?,
            Event::Task(attempt, out) => {
                let mut sink = WorkSink::new();
                W::work(&state, &mut sink);
                let options = sink.into_items().into_iter().find_map(|w| match w.kind {
                    WorkKind::Task {
                        options, origin, ..
                    } if w.slot == slot => Some((options, origin)),
                    _ => None,
                });
                match options {
                    Some((o, origin)) if retry::should_retry(&o, *attempt, out) => {
                        let seed = format!("{instance}/{origin}/{slot:?}");
                        let not_before = Timestamp::now().add(retry::delay(&o, *attempt, &seed));
                        let input = Input::Retry {
                            attempt: attempt + 1,
                            not_before,
                        };
                        W::advance(state, &slot, input, &cx)?
                    }
                    _ => W::advance(state, &slot, Input::Task(&out.bytes), &cx)?,
                }
            }
        };
        if let Some(e) = cx.take_error() {
            return Err(e);
        }
        *ctx = cx.into_context();
        match next {
            Advance::Suspend(s) => state = s,
            Advance::Done(output) => return Ok(output),
        }
    }
}

fn step(seq: u64, ctx: &WorkflowContext) -> StepCx {
    StepCx::new(seq, Timestamp::now(), ctx.clone())
}
