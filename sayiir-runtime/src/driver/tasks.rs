//! Running a driver's tasks: each attempt in a tokio task of its own (with its deadline, a
//! `sayiir.task` span and a [`TaskContext`]), and what its outcome feeds the transition.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use sayiir_store::{BlockKind, Timestamp};
use tracing::Instrument;

use super::{Busy, Driver, Stop, TaskFailure};
use crate::context::TaskContext;
use crate::feed::Feed;
use crate::machine::{MachineError, SlotPath, TaskOptions, TaskOutput, TaskTimeout};
use crate::registry::panic_message;
use crate::retry;

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
                self.ctx.inner.metrics.task_panicked();
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
        if let Some(Busy { options, origin }) = busy
            && retry::should_retry(&options, attempt, &output)
        {
            let seed = format!("{}/{origin}/{slot:?}", self.id);
            let delay = retry::delay(&options, attempt, &seed);
            self.ctx.inner.metrics.task_retried();
            tracing::info!(task, attempt, ?delay, "task attempt failed; retrying");
            let not_before = self.ctx.inner.now().add(delay);
            return Ok((
                slot,
                Feed::Retry {
                    task,
                    failed: attempt,
                    not_before,
                    error: output.bytes,
                },
            ));
        }
        Ok((slot, Feed::Task(task, attempt, output)))
    }

    pub(super) fn start_task(
        &mut self,
        slot: SlotPath,
        name: &'static str,
        attempt: u32,
        origin: u64,
        options: TaskOptions,
        deadline: Option<Timestamp>,
    ) -> Result<(), Stop> {
        let (run, shared) = self.wf.run(&self.state, &slot).map_err(|e| {
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
            Arc::new(shared),
            Arc::clone(&inner.resources),
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
        let clock = inner.clock.clone();
        let timed_out = run.timed_out;
        self.busy.insert(slot.clone(), Busy { options, origin });
        self.running.spawn(async move {
            let limit = async {
                match (deadline, options.timeout) {
                    (Some(d), Some(_)) => clock.sleep_until(d).await,
                    _ => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                out = future => Some(out),
                _ = limit => None,
            };
            let result = match outcome {
                Some(Ok(Ok(output))) => Ok(output),
                Some(Ok(Err(MachineError::Codec(e)))) => Err(TaskFailure::Codec(e)),
                Some(Ok(Err(e))) => Err(TaskFailure::Run(e)),
                Some(Err(p)) => Err(TaskFailure::Panicked {
                    task: name,
                    message: panic_message(&*p),
                }),
                None => {
                    let after = options.timeout.unwrap_or_default();
                    tracing::warn!(task = name, attempt, ?after, "task timed out");
                    timed_out(TaskTimeout {
                        task: name.to_owned(),
                        after,
                        attempt,
                    })
                    .map_err(TaskFailure::Codec)
                }
            };
            (slot, name, attempt, result)
        });
        Ok(())
    }
}
