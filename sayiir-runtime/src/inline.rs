//! Running a workflow directly, in memory, without a store: what calling a `#[workflow]`
//! function as a plain async fn does, and what [`run_direct`] returns as a typed result.
//!
//! Same machine and same decisions as under the engine: each round is planned by the
//! [planner](crate::planner) the driver uses (attempts by slot, deadlines committed before an
//! attempt with a timeout starts, backoff before a retry, timers, signal deadlines,
//! `continue_as_new` applied in the transition that reaches it). What differs is what a store
//! would do: no commit, no lease, no history, no payload limit, and no signal can reach the
//! run (nobody holds its id).
//!
//! **Clock.** A direct call runs on the wall clock ([`SystemClock`]), the engine's default
//! clock: every time a transition sees ([`StepCx::now`](crate::machine::StepCx::now)), every
//! due time, backoff and deadline comes from it, and every wait for one goes through it, so
//! `sayiir::sleep(d)` really sleeps `d`, a retry really waits its backoff, and a task attempt
//! is cut off at its deadline. (The test engine's virtual clock cannot serve a direct call:
//! it moves only while its engine is idle.)
//!
//! Tasks receive the resources of the [`Resources::scope`] around the call (or of the task the
//! call is made in). A panic in a task or in workflow code propagates to the caller, as in any
//! async fn.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::stream::{FuturesUnordered, StreamExt};
use sayiir_store::Timestamp;

use crate::clock::{self, Clock, SystemClock};
use crate::codec::{self, CodecError};
use crate::context::TaskContext;
use crate::feed::Feed;
use crate::machine::{
    Advance, BoxFuture, Input, MachineError, SlotPath, StepCx, TaskOutput, WorkItem, WorkSink,
    Workflow,
};
use crate::planner::{self, Attempt, Decision, Restart};
use crate::resources::{MissingResource, Resources};
use crate::shared::WorkflowContext;

/// Why a workflow called directly ([`run_direct`]) could not run to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectRunError {
    /// The run waits for a signal and nothing else can make progress: no signal can reach a
    /// direct call (nothing holds its id), so it would wait forever.
    #[error(
        "workflow `{workflow}` waits for the signal `{signal}`, which cannot reach a workflow called directly: give the wait a `.timeout(..)`, or run the workflow on an engine (`sayiir::testing::TestEngine` in tests) and send the signal there"
    )]
    WaitsForSignal {
        /// The workflow called.
        workflow: &'static str,
        /// The signal it waits for (the first one in state order, if it waits for several).
        signal: String,
    },
    /// A task takes a resource the run was not given (see [`Resources::scope`]). The tasks
    /// before it have run.
    #[error("workflow `{workflow}` run directly failed: {missing}")]
    MissingResource {
        /// The workflow called.
        workflow: &'static str,
        /// The task, the resource's type and the parameter.
        missing: MissingResource,
    },
    /// The machine failed: a value that does not round-trip through the stored format, a
    /// loop over its iteration limit, a state that waits for nothing.
    #[error("workflow `{workflow}` run directly failed: {error}")]
    Machine {
        /// The workflow called.
        workflow: &'static str,
        /// What failed.
        error: MachineError,
    },
}

impl DirectRunError {
    fn of<W: Workflow>(error: MachineError) -> Self {
        match error {
            MachineError::MissingResource(missing) => DirectRunError::MissingResource {
                workflow: W::NAME,
                missing,
            },
            error => DirectRunError::Machine {
                workflow: W::NAME,
                error,
            },
        }
    }
}

/// Runs workflow `W` directly (in memory, no store) to its end with an empty shared context,
/// as calling the `#[workflow]` fn does, but returns what stops the run as a
/// [`DirectRunError`] instead of panicking. `input` is `W::Input`: the workflow's one
/// parameter, `()` for none, a tuple of them for several.
///
/// ```
/// use sayiir_runtime::{DirectRunError, run_direct};
///
/// #[sayiir_macros::task(crate = sayiir_runtime)]
/// async fn file(doc: String) -> String {
///     format!("filed {doc}")
/// }
///
/// #[sayiir_macros::workflow(crate = sayiir_runtime)]
/// async fn approve(doc: String) -> String {
///     let filed = file(doc).await;
///     let ok = sayiir_runtime::signal::<bool>("approval").await;
///     format!("{filed}: {ok}")
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // `approve("d-1".into()).await` would panic: no signal can reach a direct call.
/// let err = run_direct::<approve>("d-1".into()).await.unwrap_err();
/// assert!(matches!(err, DirectRunError::WaitsForSignal { signal, .. } if signal == "approval"));
/// # });
/// ```
pub async fn run_direct<W: Workflow>(input: W::Input) -> Result<W::Output, DirectRunError> {
    let mut ctx = WorkflowContext::default();
    run_direct_with::<W>(&mut ctx, input).await
}

/// [`run_direct`] for a workflow taking `ctx: &mut sayiir::WorkflowContext`: runs with `ctx`, which
/// holds what the run stored in it when the call returns (also after an error).
pub async fn run_direct_with<W: Workflow>(
    ctx: &mut WorkflowContext,
    input: W::Input,
) -> Result<W::Output, DirectRunError> {
    drive::<W>(Arc::new(SystemClock), ctx, input).await
}

/// Runs `W` to its end with an empty shared context: what a `#[workflow]` fn called directly
/// does. Panics where [`run_direct`] returns an error, naming it.
pub async fn run_inline<W: Workflow>(input: W::Input) -> W::Output {
    let mut ctx = WorkflowContext::default();
    match drive::<W>(Arc::new(SystemClock), &mut ctx, input).await {
        Ok(output) => output,
        Err(e) => panic!(
            "{e}; `sayiir::run_direct::<{name}>(input)` returns this as a `sayiir::DirectRunError` instead of panicking",
            name = W::NAME
        ),
    }
}

/// Runs `W` to its end with the shared context `ctx` (what a workflow taking
/// `ctx: &mut WorkflowContext` does when called directly). Panics where [`run_direct_with`] returns
/// an error, naming it.
pub async fn run_inline_with<W: Workflow>(ctx: &mut WorkflowContext, input: W::Input) -> W::Output {
    match drive::<W>(Arc::new(SystemClock), ctx, input).await {
        Ok(output) => output,
        Err(e) => panic!(
            "{e}; `sayiir::run_direct_with::<{name}>(ctx, input)` returns this as a `sayiir::DirectRunError` instead of panicking",
            name = W::NAME
        ),
    }
}

/// A finished attempt: its slot, task, attempt number and value.
type Done = (
    SlotPath,
    &'static str,
    u32,
    Result<TaskOutput, MachineError>,
);

/// A distinct instance name per direct run, so idempotency keys of two runs never collide.
fn instance_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "inline-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A run in memory: what the driver keeps of an instance, without the store.
struct Run<W: Workflow> {
    clock: Arc<dyn Clock>,
    instance: String,
    resources: Arc<Resources>,
    /// The transitions made so far (the next one is `seq + 1`, as under the engine).
    seq: u64,
    running: FuturesUnordered<BoxFuture<Done>>,
    busy: HashMap<SlotPath, Attempt>,
    _w: std::marker::PhantomData<fn() -> W>,
}

async fn drive<W: Workflow>(
    clock: Arc<dyn Clock>,
    ctx: &mut WorkflowContext,
    input: W::Input,
) -> Result<W::Output, DirectRunError> {
    let mut run = Run::<W> {
        clock,
        instance: instance_name(),
        resources: Resources::direct(),
        seq: 0,
        running: FuturesUnordered::new(),
        busy: HashMap::new(),
        _w: std::marker::PhantomData,
    };
    let mut state = W::start(input);
    let mut work = work_of::<W>(&state);
    loop {
        let now = run.clock.now();
        let mut plan = planner::plan(&work, &run.busy, now)
            .map_err(|_| DirectRunError::of::<W>(MachineError::Stalled { workflow: W::NAME }))?;
        for attempt in std::mem::take(&mut plan.start) {
            run.start(&state, ctx, attempt)?;
        }
        let (slot, feed) = match plan.decide(&[]) {
            Decision::Fire(slot, feed) => (slot, feed),
            Decision::Wait { next_due } => {
                let clock = run.clock.clone();
                let timer = async {
                    match next_due {
                        Some(t) => clock.sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    Some(done) = run.running.next() => run.done(done)?,
                    () = timer => continue,
                }
            }
            Decision::Idle {
                next_due: Some(t), ..
            } => {
                run.clock.sleep_until(t).await;
                continue;
            }
            Decision::Idle {
                next_due: None,
                signals,
            } => {
                return Err(match signals.into_iter().next() {
                    Some(signal) => DirectRunError::WaitsForSignal {
                        workflow: W::NAME,
                        signal,
                    },
                    None => DirectRunError::of::<W>(MachineError::Stalled { workflow: W::NAME }),
                });
            }
        };
        run.seq += 1;
        let now = run.clock.now();
        match advance::<W>(ctx, state, &slot, feed.input(), run.seq, now)? {
            Advanced::Done(output) => return Ok(output),
            Advanced::Suspend {
                state: next,
                work: next_work,
                restarted,
            } => {
                if restarted {
                    // The previous run's attempts end with it (continue_as_new is never
                    // inside a join, so none runs).
                    run.running.clear();
                    run.busy.clear();
                }
                state = next;
                work = next_work;
            }
        }
    }
}

impl<W: Workflow> Run<W> {
    /// Starts `a` on a copy of `state` (the copy goes through the stored format, as a state
    /// loaded from the store would), with the shared context as it is now.
    fn start(
        &mut self,
        state: &W::State,
        ctx: &WorkflowContext,
        a: Attempt,
    ) -> Result<(), DirectRunError> {
        let copy = copy::<W>(state).map_err(|e| DirectRunError::of::<W>(e.into()))?;
        let run = W::run(&copy, &a.slot).map_err(DirectRunError::of::<W>)?;
        let tcx = TaskContext::new(
            W::NAME,
            &self.instance,
            a.task,
            a.attempt,
            a.origin,
            &a.slot,
            Arc::new(ctx.clone()),
            Arc::clone(&self.resources),
        );
        let clock = self.clock.clone();
        let (slot, task, attempt) = (a.slot.clone(), a.task, a.attempt);
        let (cutoff, timeout, timed_out) = (a.cutoff(), a.timeout(), run.timed_out);
        self.busy.insert(a.slot.clone(), a);
        self.running.push(Box::pin(async move {
            let out = match clock::within(&*clock, cutoff, tcx.scope(run.future)).await {
                Some(out) => out,
                None => timed_out(timeout).map_err(MachineError::from),
            };
            (slot, task, attempt, out)
        }));
        Ok(())
    }

    /// What a finished attempt feeds the state (its value, or a retry after its backoff).
    fn done(
        &mut self,
        (slot, task, attempt, out): Done,
    ) -> Result<(SlotPath, Feed), DirectRunError> {
        let output = out.map_err(DirectRunError::of::<W>)?;
        let feed = match self.busy.remove(&slot) {
            Some(a) => planner::outcome(&self.instance, &a, output, self.clock.now()),
            None => Feed::Task(task, attempt, output),
        };
        Ok((slot, feed))
    }
}

/// What a transition (with the restarts it reaches) left.
enum Advanced<W: Workflow> {
    Suspend {
        state: W::State,
        work: Vec<WorkItem>,
        /// The workflow itself started a new run (`continue_as_new`).
        restarted: bool,
    },
    Done(W::Output),
}

/// Feeds `input` to `state` at `slot` as transition `seq` at `now`, then applies the
/// `continue_as_new` it reaches, in the same transition, as the driver does.
fn advance<W: Workflow>(
    ctx: &mut WorkflowContext,
    state: W::State,
    slot: &[u32],
    input: Input<'_>,
    seq: u64,
    now: Timestamp,
) -> Result<Advanced<W>, DirectRunError> {
    let mut next = transition::<W>(ctx, state, slot, input, seq, now)?;
    let mut restarted = false;
    loop {
        let state = match next {
            Advance::Done(output) => return Ok(Advanced::Done(output)),
            Advance::Suspend(state) => state,
        };
        let work = work_of::<W>(&state);
        next = match planner::restart_of(&work) {
            None => {
                return Ok(Advanced::Suspend {
                    state,
                    work,
                    restarted,
                });
            }
            Some(Restart::Run { start }) => {
                restarted = true;
                let fresh = codec::decode(start).map_err(|e| DirectRunError::of::<W>(e.into()))?;
                Advance::Suspend(fresh)
            }
            Some(Restart::Child { slot, start, depth }) => {
                let input = Input::Restart { start, depth };
                transition::<W>(ctx, state, slot, input, seq, now)?
            }
        };
    }
}

/// One call of the machine's transition function with the shared context; the context is
/// updated only by a transition that succeeds.
fn transition<W: Workflow>(
    ctx: &mut WorkflowContext,
    state: W::State,
    slot: &[u32],
    input: Input<'_>,
    seq: u64,
    now: Timestamp,
) -> Result<Advance<W::State, W::Output>, DirectRunError> {
    let cx = StepCx::new(seq, now, ctx.clone());
    let next = W::advance(state, slot, input, &cx).map_err(DirectRunError::of::<W>)?;
    if let Some(e) = cx.take_error() {
        return Err(DirectRunError::of::<W>(e));
    }
    *ctx = cx.into_context();
    Ok(next)
}

fn work_of<W: Workflow>(state: &W::State) -> Vec<WorkItem> {
    let mut sink = WorkSink::new();
    W::work(state, &mut sink);
    sink.into_items()
}

fn copy<W: Workflow>(state: &W::State) -> Result<W::State, CodecError> {
    codec::decode(&codec::encode(state)?)
}

#[cfg(test)]
mod tests;
