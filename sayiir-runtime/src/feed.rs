//! What a transition is fed, as the driver sees it, and the history entry it leaves.

use serde::Serialize;

use sayiir_store::{Event, SignalRecord, Timestamp};

use crate::codec::{self, CodecError};
use crate::machine::{Input, TaskOutput};

/// One event for the state at a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Feed {
    /// First transition of a fresh state.
    Start,
    /// A task attempt ended and its value goes to the workflow.
    Task(&'static str, u32, TaskOutput),
    /// A task attempt failed and will be retried.
    Retry {
        task: &'static str,
        failed: u32,
        not_before: Timestamp,
        error: Vec<u8>,
    },
    /// A task with a timeout starts an attempt with this deadline.
    Started { deadline: Timestamp },
    /// An operator retries a parked call: it runs again from attempt 1.
    Rearm { task: String, exhausted: u32 },
    /// An operator lets a parked call's error (its last attempt's output) flow into the
    /// workflow.
    Released(String, u32, TaskOutput),
    /// A timer or a signal's deadline passed.
    Timer,
    /// A buffered signal is delivered (and consumed by the same commit).
    Signal(SignalRecord),
}

#[derive(Serialize)]
struct TaskEvent<'a> {
    slot: &'a [u32],
    task: &'a str,
    attempt: u32,
    output: &'a [u8],
}

#[derive(Serialize)]
struct RetryEvent<'a> {
    slot: &'a [u32],
    task: &'a str,
    failed_attempt: u32,
    not_before: i64,
    error: &'a [u8],
}

#[derive(Serialize)]
struct RearmEvent<'a> {
    slot: &'a [u32],
    task: &'a str,
    exhausted_attempt: u32,
}

#[derive(Serialize)]
struct SignalEvent<'a> {
    slot: &'a [u32],
    name: &'a str,
    signal_id: u64,
    payload: &'a [u8],
}

impl Feed {
    pub(crate) fn input(&self) -> Input<'_> {
        match self {
            Feed::Start => Input::Start,
            Feed::Task(_, _, out) => Input::Task(&out.bytes),
            Feed::Retry {
                failed, not_before, ..
            } => Input::Retry {
                attempt: failed + 1,
                not_before: *not_before,
            },
            Feed::Started { deadline } => Input::Started {
                deadline: *deadline,
            },
            Feed::Rearm { .. } => Input::Rearm,
            Feed::Released(_, _, out) => Input::Task(&out.bytes),
            Feed::Timer => Input::Timer,
            Feed::Signal(s) => Input::Signal(&s.payload),
        }
    }

    /// History kind (and span field).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Feed::Start => "start",
            Feed::Task(..) => "task",
            Feed::Retry { .. } => "retry",
            Feed::Started { .. } => "task-started",
            Feed::Rearm { .. } => "operator-retry",
            Feed::Released(..) => "operator-fail",
            Feed::Timer => "timer",
            Feed::Signal(_) => "signal",
        }
    }

    pub(crate) fn task(&self) -> &str {
        match self {
            Feed::Task(t, ..) | Feed::Retry { task: t, .. } => t,
            Feed::Rearm { task, .. } | Feed::Released(task, ..) => task,
            _ => "",
        }
    }

    pub(crate) fn attempt(&self) -> u32 {
        match self {
            Feed::Task(_, a, _) | Feed::Retry { failed: a, .. } | Feed::Released(_, a, _) => *a,
            Feed::Rearm { .. } => 1,
            _ => 0,
        }
    }

    pub(crate) fn consumed_signal(&self) -> Option<u64> {
        match self {
            Feed::Signal(s) => Some(s.signal_id),
            _ => None,
        }
    }
}

/// The history entry of feeding `feed` at `slot`: what caused the transition.
pub(crate) fn history_event(slot: &[u32], feed: &Feed) -> Result<Event, CodecError> {
    let payload = match feed {
        Feed::Start | Feed::Timer => codec::encode(&slot)?,
        Feed::Task(task, attempt, out) => codec::encode(&TaskEvent {
            slot,
            task,
            attempt: *attempt,
            output: &out.bytes,
        })?,
        Feed::Released(task, attempt, out) => codec::encode(&TaskEvent {
            slot,
            task,
            attempt: *attempt,
            output: &out.bytes,
        })?,
        Feed::Rearm { task, exhausted } => codec::encode(&RearmEvent {
            slot,
            task,
            exhausted_attempt: *exhausted,
        })?,
        Feed::Retry {
            task,
            failed,
            not_before,
            error,
        } => codec::encode(&RetryEvent {
            slot,
            task,
            failed_attempt: *failed,
            not_before: not_before.as_millis(),
            error,
        })?,
        Feed::Started { deadline } => codec::encode(&(slot, deadline.as_millis()))?,
        Feed::Signal(s) => codec::encode(&SignalEvent {
            slot,
            name: &s.name,
            signal_id: s.signal_id,
            payload: &s.payload,
        })?,
    };
    Ok(Event {
        kind: feed.kind().into(),
        payload,
    })
}
