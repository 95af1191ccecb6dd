//! Running a driver's tasks: each attempt in a tokio task of its own (with its deadline, a
//! `sayiir.task` span and a [`TaskContext`]), and what its outcome feeds the transition. A
//! failed attempt (an `Err`, a timeout, a panic) marks its span with OpenTelemetry's error
//! status and the error in words (`otel.status_code`, `otel.status_description`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use sayiir_store::BlockKind;
use tracing::Instrument;

use super::limits::Held;
use super::{Driver, Stop, TaskFailure};
use crate::context::TaskContext;
use crate::describe::WorkflowShape;
use crate::feed::Feed;
use crate::machine::{MachineError, SlotPath, TaskOutput, TaskRun};
use crate::metrics::Outcome;
use crate::planner::{self, Attempt};
use crate::registry::panic_message;
use crate::shared::WorkflowContext;

impl Driver {
    pub(super) fn task_done(
        &mut self,
        slot: SlotPath,
        task: &'static str,
        attempt: u32,
        result: Result<TaskOutput, TaskFailure>,
    ) -> Result<(SlotPath, Feed), Stop> {
        let busy = self.busy.remove(&slot);
        let output = match result {
            Ok(output) => output,
            Err(TaskFailure::Panicked { task, message }) => {
                return Err(Stop::Blocked(
                    BlockKind::Panicked,
                    format!("task `{task}` panicked: {message}"),
                ));
            }
            Err(TaskFailure::Codec(e)) => {
                return Err(Stop::Blocked(
                    BlockKind::CorruptState,
                    format!("a task's arguments or output do not encode: {e}"),
                ));
            }
            Err(TaskFailure::Run(e)) => {
                return Err(Stop::Blocked(
                    BlockKind::CorruptState,
                    format!("task `{task}` cannot run: {e}"),
                ));
            }
        };
        let limit = self.ctx.inner.config.max_payload;
        if output.bytes.len() > limit {
            return Err(Stop::Blocked(
                BlockKind::PayloadTooLarge,
                crate::limits::block_reason(
                    &format!("the return value of task `{task}` (attempt {attempt})"),
                    output.bytes.len(),
                    limit,
                ),
            ));
        }
        let Some(busy) = busy else {
            return Ok((slot, Feed::Task(task, attempt, output)));
        };
        let now = self.ctx.inner.now();
        let feed = planner::outcome(self.id.as_str(), &busy, output, now);
        if planner::parks(&busy, &feed)
            && let Feed::Task(task, attempt, output) = feed
        {
            return Err(Stop::Park(slot, task.to_string(), attempt, output));
        }
        if let Feed::Retry { not_before, .. } = &feed {
            let t = self.m.task(task);
            self.ctx.inner.metrics.task_retried(&t);
            let delay = now.until(*not_before);
            tracing::info!(task, attempt, ?delay, "task attempt failed; retrying");
        }
        Ok((slot, feed))
    }

    /// Starts the attempt `a` (its `run`, made with the shared context `shared`) in a task of
    /// its own, which gives `held` back when it ends.
    pub(super) fn start_task(
        &mut self,
        a: Attempt,
        held: Option<Held>,
        run: TaskRun,
        shared: Arc<WorkflowContext>,
    ) {
        let name = a.task;
        let inner = &self.ctx.inner;
        let instruments = self.m.task(name);
        inner.metrics.task_started(&instruments);
        let metrics = Arc::clone(&inner.metrics);
        let tcx = TaskContext::new(
            self.wf.name(),
            self.id.as_str(),
            name,
            a.attempt,
            a.origin,
            &a.slot,
            shared,
            Arc::clone(&inner.resources),
        );
        let span = tracing::info_span!(
            "sayiir.task",
            sayiir.workflow.name = self.wf.name(),
            sayiir.instance.id = %self.id,
            sayiir.task.name = name,
            sayiir.task.attempt = a.attempt,
            sayiir.worker.id = %self.ctx.owner,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        self.parent.adopt(&span);
        // What a failure's words are read with, only for a span some subscriber records.
        let shape = (!span.is_disabled()).then(|| self.shape.clone());
        let future = tcx
            .scope(AssertUnwindSafe(run.future).catch_unwind())
            .instrument(span.clone());
        let clock = inner.clock.clone();
        let timed_out = run.timed_out;
        let (slot, attempt, cutoff, timeout) = (a.slot.clone(), a.attempt, a.cutoff(), a.timeout());
        self.busy.insert(a.slot.clone(), a);
        self.running.spawn(async move {
            let started = std::time::Instant::now();
            let ran = crate::clock::within(&*clock, cutoff, future).await;
            let took = started.elapsed();
            let (outcome, result) = match ran {
                Some(Ok(Ok(output))) if output.is_error => (Outcome::Error, Ok(output)),
                Some(Ok(Ok(output))) => (Outcome::Ok, Ok(output)),
                Some(Ok(Err(MachineError::Codec(e)))) => {
                    (Outcome::Error, Err(TaskFailure::Codec(e)))
                }
                Some(Ok(Err(e))) => (Outcome::Error, Err(TaskFailure::Run(e))),
                Some(Err(p)) => (
                    Outcome::Panic,
                    Err(TaskFailure::Panicked {
                        task: name,
                        message: panic_message(&*p),
                    }),
                ),
                None => {
                    tracing::warn!(task = name, attempt, after = ?timeout.after, "task timed out");
                    (
                        Outcome::Timeout,
                        timed_out(timeout).map_err(TaskFailure::Codec),
                    )
                }
            };
            metrics.task_ended(&instruments, outcome, took);
            if let Some(held) = held {
                held.give_back().await;
            }
            if let Some(shape) = shape
                && let Some(error) = failure_text(&shape, name, &result)
            {
                span.record("otel.status_code", "ERROR");
                span.record("otel.status_description", error.as_str());
            }
            (slot, name, attempt, result)
        });
    }
}

/// Why the driver stops when task `name` cannot start (its state does not decode, or has no
/// task at the slot): the state is corrupt.
pub(super) fn cannot_start(name: &str, e: &MachineError) -> Stop {
    Stop::Blocked(
        BlockKind::CorruptState,
        format!("cannot start task `{name}`: {e}"),
    )
}

/// A failed attempt's error in words (`None` for one that succeeded): its `Err` read by the
/// task's shape, or what kept it from returning.
fn failure_text(
    shape: &WorkflowShape,
    task: &str,
    result: &Result<TaskOutput, TaskFailure>,
) -> Option<String> {
    match result {
        Ok(output) if output.is_error => Some(
            crate::inspect::error_text(shape, task, &output.bytes)
                .unwrap_or_else(|| format!("an error of {} bytes", output.bytes.len())),
        ),
        Ok(_) => None,
        Err(TaskFailure::Panicked { message, .. }) => Some(format!("panicked: {message}")),
        Err(TaskFailure::Codec(e)) => Some(e.to_string()),
        Err(TaskFailure::Run(e)) => Some(e.to_string()),
    }
}
