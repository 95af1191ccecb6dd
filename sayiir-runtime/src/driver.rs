//! Drives one claimed instance: runs the tasks its state waits for (concurrently, each in its own
//! tokio task), feeds each result to a transition as it arrives, and commits every transition
//! before acting on it. Stops when the instance finishes, waits for nothing runnable here, or
//! loses the sequence-number race to another writer.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use sayiir_store::{
    BlockKind, Blocked, Event, InstanceId, InstanceRecord, Next, Status, StoreError, Transition,
};
use serde::Serialize;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::codec::{self, CodecError};
use crate::committer::CommitError;
use crate::context::TaskContext;
use crate::machine::{Input, MachineError, SlotPath, TaskOutput, WorkItem, WorkKind};
use crate::registry::{AdvanceFailure, Advanced, DynWorkflow, panic_message};
use crate::worker::WorkerCtx;

/// Outcome of one task run.
enum TaskFailure {
    Panicked { task: &'static str, message: String },
    Codec(CodecError),
}

type TaskResult = (SlotPath, &'static str, u32, Result<TaskOutput, TaskFailure>);

/// History payload of a task transition.
#[derive(Serialize)]
struct TaskEvent<'a> {
    slot: &'a [u32],
    task: &'a str,
    attempt: u32,
    output: &'a [u8],
}

struct Driver {
    ctx: Arc<WorkerCtx>,
    wf: Arc<dyn DynWorkflow>,
    id: InstanceId,
    seq: u64,
    state: Vec<u8>,
    work: Vec<WorkItem>,
    running: JoinSet<TaskResult>,
    busy: HashSet<SlotPath>,
}

/// Why the driver stopped.
enum Stop {
    Finished,
    Waiting,
    Lost,
    Blocked(BlockKind, String),
    Failed(String),
}

pub(crate) async fn drive(ctx: Arc<WorkerCtx>, record: InstanceRecord) -> InstanceId {
    let id = record.id.clone();
    let stop = match start(&ctx, record) {
        Ok(mut d) => d.run().await,
        Err(stop) => stop,
    };
    let inner = &ctx.inner;
    match stop {
        Stop::Finished => {}
        Stop::Lost => {
            inner.metrics.conflict();
            tracing::info!("another writer moved the instance on; stopping");
            // Releases only a lease this worker still holds.
            release(&ctx, &id).await;
        }
        Stop::Waiting => release(&ctx, &id).await,
        Stop::Blocked(kind, reason) => {
            tracing::error!(
                ?kind,
                "{reason}; the instance is blocked and left untouched"
            );
            let blocked = Blocked {
                kind,
                reason,
                at: inner.now(),
            };
            if let Err(e) = inner.store.set_blocked(&id, Some(blocked)).await {
                tracing::error!(error = %e, "could not mark the instance blocked");
            }
            inner.metrics.blocked();
            release(&ctx, &id).await;
            inner.finished(&id);
        }
        Stop::Failed(why) => {
            tracing::warn!("{why}; the instance will be claimed again");
            release(&ctx, &id).await;
        }
    }
    id
}

async fn release(ctx: &WorkerCtx, id: &InstanceId) {
    if let Err(e) = ctx
        .inner
        .store
        .release(&ctx.owner, std::slice::from_ref(id))
        .await
    {
        tracing::warn!(error = %e, "could not release the lease (it will expire)");
    }
}

fn start(ctx: &Arc<WorkerCtx>, record: InstanceRecord) -> Result<Driver, Stop> {
    let Some(state) = record.state else {
        return Err(Stop::Finished);
    };
    let Some(wf) = ctx.inner.registry.get(&record.workflow, record.hash) else {
        return Err(Stop::Blocked(
            BlockKind::VersionMismatch,
            format!(
                "definition {} of `{}` is not known to this worker",
                record.hash.short(),
                record.workflow
            ),
        ));
    };
    let work = wf.work(&state).map_err(|e| {
        Stop::Blocked(
            BlockKind::CorruptState,
            format!("the stored state does not decode: {e}"),
        )
    })?;
    Ok(Driver {
        ctx: ctx.clone(),
        wf,
        id: record.id,
        seq: record.seq,
        state,
        work,
        running: JoinSet::new(),
        busy: HashSet::new(),
    })
}

impl Driver {
    async fn run(&mut self) -> Stop {
        loop {
            let mut immediate = None;
            for item in std::mem::take(&mut self.work) {
                match item.kind {
                    WorkKind::Immediate => immediate = Some(item.slot),
                    WorkKind::Task { .. } if self.busy.contains(&item.slot) => {}
                    WorkKind::Task {
                        name,
                        attempt,
                        origin,
                        ..
                    } => {
                        if let Err(stop) = self.start_task(item.slot, name, attempt, origin) {
                            return stop;
                        }
                    }
                }
            }
            let (slot, event) = match immediate {
                Some(slot) => (slot, None),
                None => match self.running.join_next().await {
                    None => return Stop::Waiting,
                    Some(Err(e)) => return Stop::Failed(format!("task runner failed: {e}")),
                    Some(Ok((slot, task, attempt, result))) => match result {
                        Ok(output) => (slot, Some((task, attempt, output))),
                        Err(TaskFailure::Panicked { task, message }) => {
                            self.ctx.inner.metrics.task_panicked();
                            return Stop::Blocked(
                                BlockKind::Panicked,
                                format!("task `{task}` panicked: {message}"),
                            );
                        }
                        Err(TaskFailure::Codec(e)) => {
                            return Stop::Blocked(
                                BlockKind::CorruptState,
                                format!("a task's arguments or output do not encode: {e}"),
                            );
                        }
                    },
                },
            };
            self.busy.remove(&slot);
            match self.step(&slot, event).await {
                Ok(true) => {}
                Ok(false) => return Stop::Finished,
                Err(stop) => return stop,
            }
        }
    }

    fn start_task(
        &mut self,
        slot: SlotPath,
        name: &'static str,
        attempt: u32,
        origin: u64,
    ) -> Result<(), Stop> {
        let run = self.wf.run(&self.state, &slot).map_err(|e| {
            Stop::Blocked(
                BlockKind::CorruptState,
                format!("cannot start task `{name}`: {e}"),
            )
        })?;
        let inner = &self.ctx.inner;
        inner.metrics.task_started();
        let tcx = TaskContext::new(
            self.wf.name(),
            self.id.as_str(),
            name,
            attempt,
            origin,
            &slot,
        );
        let span = tracing::info_span!(
            "sayiir.task",
            workflow = self.wf.name(),
            instance = %self.id,
            task = name,
            attempt,
            worker = %self.ctx.owner,
        );
        let future = tcx
            .scope(AssertUnwindSafe(run.future).catch_unwind())
            .instrument(span);
        self.busy.insert(slot.clone());
        self.running.spawn(async move {
            let result = match future.await {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(e)) => Err(TaskFailure::Codec(e)),
                Err(p) => Err(TaskFailure::Panicked {
                    task: name,
                    message: panic_message(&*p),
                }),
            };
            (slot, name, attempt, result)
        });
        Ok(())
    }

    /// Runs and commits one transition. `Ok(false)` when the instance finished.
    async fn step(
        &mut self,
        slot: &[u32],
        event: Option<(&'static str, u32, TaskOutput)>,
    ) -> Result<bool, Stop> {
        let inner = self.ctx.inner.clone();
        let next_seq = self.seq + 1;
        let (task, attempt) = event.as_ref().map_or(("", 0), |(t, a, _)| (*t, *a));
        let span = tracing::info_span!(
            "sayiir.transition",
            workflow = self.wf.name(),
            instance = %self.id,
            seq = next_seq,
            task,
            attempt,
            worker = %self.ctx.owner,
        );
        let _entered = span.enter();
        let (input, history) = match &event {
            Some((task, attempt, out)) => {
                let payload = codec::encode(&TaskEvent {
                    slot,
                    task,
                    attempt: *attempt,
                    output: &out.bytes,
                })
                .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
                (
                    Input::Task(&out.bytes),
                    Event {
                        kind: "task".into(),
                        payload,
                    },
                )
            }
            None => {
                let payload = codec::encode(&slot)
                    .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
                (
                    Input::Start,
                    Event {
                        kind: "start".into(),
                        payload,
                    },
                )
            }
        };
        let advanced = match self.wf.advance(&self.state, slot, input, next_seq) {
            Ok(a) => a,
            Err(AdvanceFailure::Panicked(m)) => {
                return Err(Stop::Blocked(
                    BlockKind::Panicked,
                    format!("workflow code panicked: {m}"),
                ));
            }
            Err(AdvanceFailure::Machine(e @ MachineError::IterationLimit { .. })) => {
                return Err(Stop::Blocked(BlockKind::IterationLimit, e.to_string()));
            }
            Err(AdvanceFailure::Machine(e)) => {
                return Err(Stop::Blocked(
                    BlockKind::CorruptState,
                    format!("transition failed: {e}"),
                ));
            }
        };
        drop(_entered);
        let now = inner.now();
        let (next, new_state, work, finished) = match advanced {
            Advanced::Suspend { state, work } => {
                let runnable = work
                    .iter()
                    .any(|w| matches!(w.kind, WorkKind::Immediate | WorkKind::Task { .. }));
                let due_at = runnable.then_some(now);
                (
                    Next::Running {
                        state: state.clone(),
                        due_at,
                    },
                    Some(state),
                    work,
                    None,
                )
            }
            Advanced::Done { output, failed } => {
                let status = if failed {
                    Status::Failed
                } else {
                    Status::Completed
                };
                (
                    Next::Finished { status, output },
                    None,
                    Vec::new(),
                    Some(failed),
                )
            }
        };
        let transition = Transition {
            id: self.id.clone(),
            expected_seq: self.seq,
            next,
            event: history,
            release_lease: false,
            now,
        };
        match self.ctx.committer.commit(transition).instrument(span).await {
            Ok(()) => {}
            Err(CommitError::Own(
                StoreError::Conflict { .. }
                | StoreError::Finished { .. }
                | StoreError::NotFound { .. },
            )) => {
                return Err(Stop::Lost);
            }
            Err(e) => return Err(Stop::Failed(format!("commit failed: {e}"))),
        }
        inner.metrics.transition();
        self.seq = next_seq;
        match (new_state, finished) {
            (Some(state), _) => {
                self.state = state;
                self.work = work;
                Ok(true)
            }
            (None, failed) => {
                inner.metrics.finished(failed.unwrap_or(false));
                inner.finished(&self.id);
                Ok(false)
            }
        }
    }
}
