//! The waits of calls: a task call (`TaskWait`) and a child workflow (`ChildWait`).

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{
    Advance, DescribeWait, Input, MachineError, Resumed, StepCx, Task, TaskRun, Wait, WorkKind,
    WorkSink, Workflow, resolve_exhausted,
};
use crate::codec::CodecError;
use crate::describe::{Describe, WaitShape};
use sayiir_store::Timestamp;

/// A pending task call. The arguments are stored encoded, so a wait is self-contained: any
/// worker can run it from the bytes alone. The attempt number, the backoff time of the next
/// attempt and the deadline of the current one are part of the state, so a crash neither
/// resets nor skips attempts and a restarted attempt keeps its deadline.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct TaskWait<T: Task> {
    args: Vec<u8>,
    origin: u64,
    attempt: u32,
    not_before: Option<i64>,
    deadline: Option<i64>,
    #[serde(skip)]
    _task: PhantomData<fn() -> T>,
}

impl<T: Task> TaskWait<T> {
    /// A first attempt of `T` with encoded `args`, issued by the transition in `cx`.
    pub fn new(cx: &StepCx, args: Vec<u8>) -> Self {
        Self {
            args,
            origin: cx.seq(),
            attempt: 1,
            not_before: None,
            deadline: None,
            _task: PhantomData,
        }
    }
}

impl<T: Task> std::fmt::Debug for TaskWait<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskWait")
            .field("task", &T::NAME)
            .field("origin", &self.origin)
            .field("attempt", &self.attempt)
            .field("not_before", &self.not_before)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl<T: Task> Wait for TaskWait<T> {
    type Output = T::Return;

    fn work(&self, sink: &mut WorkSink) {
        sink.push(WorkKind::Task {
            name: T::NAME,
            attempt: self.attempt,
            origin: self.origin,
            options: T::OPTIONS,
            not_before: self.not_before.map(Timestamp),
            deadline: self.deadline.map(Timestamp),
        });
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        if !slot.is_empty() {
            return Err(MachineError::no_slot(T::NAME, slot));
        }
        Ok(TaskRun {
            name: T::NAME,
            attempt: self.attempt,
            future: T::call_encoded(&self.args)?,
            timed_out: T::timed_out,
        })
    }

    fn resume(
        mut self,
        slot: &[u32],
        input: Input<'_>,
        _cx: &StepCx,
    ) -> Result<Resumed<Self, T::Return>, MachineError> {
        if !slot.is_empty() {
            return Err(MachineError::unexpected(T::NAME, &input, slot));
        }
        match input {
            Input::Task(bytes) => Ok(Resumed::Ready(T::decode_return(bytes)?)),
            Input::Retry {
                attempt,
                not_before,
            } if attempt > self.attempt => {
                self.attempt = attempt;
                self.not_before = Some(not_before.as_millis());
                self.deadline = None;
                Ok(Resumed::Pending(self))
            }
            Input::Rearm => {
                self.attempt = 1;
                self.not_before = None;
                self.deadline = None;
                Ok(Resumed::Pending(self))
            }
            Input::Started { deadline } if self.deadline.is_none() => {
                self.deadline = Some(deadline.as_millis());
                Ok(Resumed::Pending(self))
            }
            _ => Err(MachineError::unexpected(T::NAME, &input, slot)),
        }
    }

    fn encode_output(output: &T::Return) -> Result<Vec<u8>, CodecError> {
        T::encode_return(output)
    }

    fn decode_output(bytes: &[u8]) -> Result<T::Return, CodecError> {
        T::decode_return(bytes)
    }
}

impl<T: Task> DescribeWait for TaskWait<T> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        WaitShape::Task(d.task::<T>())
    }
}

/// A child workflow running as part of its parent: the child's whole state nests in the
/// parent's, and events are routed to it with the same slot paths.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ChildWait<W: Workflow> {
    state: W::State,
}

impl<W: Workflow> ChildWait<W> {
    /// The child at its start state.
    pub fn new(input: W::Input) -> Self {
        Self {
            state: W::start(input),
        }
    }
}

impl<W: Workflow> Wait for ChildWait<W> {
    type Output = W::Output;

    fn work(&self, sink: &mut WorkSink) {
        let mut child = WorkSink::new();
        W::work(&self.state, &mut child);
        let mut items = child.into_items();
        resolve_exhausted(&mut items, W::ON_EXHAUSTED);
        for item in items {
            let kind = match item.kind {
                WorkKind::Continue { input, depth } => WorkKind::Continue {
                    input,
                    depth: depth + 1,
                },
                other => other,
            };
            sink.push_at(&item.slot, kind);
        }
    }

    fn run(&self, slot: &[u32]) -> Result<TaskRun, MachineError> {
        W::run(&self.state, slot)
    }

    fn resume(
        self,
        slot: &[u32],
        input: Input<'_>,
        cx: &StepCx,
    ) -> Result<Resumed<Self, W::Output>, MachineError> {
        if let Input::Restart { start, depth } = input {
            if depth <= 1 {
                return Ok(Resumed::Pending(Self {
                    state: crate::codec::decode(start)?,
                }));
            }
            let input = Input::Restart {
                start,
                depth: depth - 1,
            };
            return Ok(match W::advance(self.state, slot, input, cx)? {
                Advance::Suspend(state) => Resumed::Pending(Self { state }),
                Advance::Done(output) => Resumed::Ready(output),
            });
        }
        Ok(match W::advance(self.state, slot, input, cx)? {
            Advance::Suspend(state) => Resumed::Pending(Self { state }),
            Advance::Done(output) => Resumed::Ready(output),
        })
    }

    fn encode_output(output: &W::Output) -> Result<Vec<u8>, CodecError> {
        W::encode_output(output)
    }

    fn decode_output(bytes: &[u8]) -> Result<W::Output, CodecError> {
        W::decode_output(bytes)
    }
}

impl<W: Workflow> DescribeWait for ChildWait<W> {
    fn describe(d: &mut Describe<'_>) -> WaitShape {
        WaitShape::Child(Box::new(d.workflow::<W>()))
    }
}
