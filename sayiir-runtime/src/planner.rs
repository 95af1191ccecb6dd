//! The planner: what a run of a workflow does next, decided from its state's work items, the
//! task attempts in flight and the time. Pure (no I/O, no tokio, no clock of its own), so the
//! driver (a claimed instance under the engine) and the inline runner (a `#[workflow]` fn
//! called directly) interpret a state the same way, and each decision is unit-tested on its
//! own (`planner/tests.rs`).
//!
//! One round: [`plan`] lists the attempts to start now and what is ready; when nothing is
//! ready but some slot listens for a signal, the runner reads the buffered signals (the
//! driver from the store; a direct call has none) and [`Plan::decide`] picks the event to
//! feed, or says what to wait for. A finished attempt's value goes through [`outcome`] (the
//! retry decision); a freshly advanced state through [`restart_of`] (`continue_as_new`).

use sayiir_store::{SignalRecord, Timestamp};

use crate::feed::Feed;
use crate::machine::{
    OnExhausted, SlotPath, TaskOptions, TaskOutput, TaskTimeout, WorkItem, WorkKind,
};
use crate::retry;

/// The task attempts in flight, by slot.
pub(crate) trait Running {
    /// Whether an attempt of the task at `slot` runs.
    fn runs(&self, slot: &[u32]) -> bool;
    /// Whether nothing runs.
    fn is_idle(&self) -> bool;
}

impl<V, S: std::hash::BuildHasher> Running for std::collections::HashMap<SlotPath, V, S> {
    fn runs(&self, slot: &[u32]) -> bool {
        self.contains_key(slot)
    }
    fn is_idle(&self) -> bool {
        self.is_empty()
    }
}

impl Running for [SlotPath] {
    fn runs(&self, slot: &[u32]) -> bool {
        self.iter().any(|s| s == slot)
    }
    fn is_idle(&self) -> bool {
        self.is_empty()
    }
}

/// A task attempt to start: what its runner needs to run it and to decide on its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub(crate) slot: SlotPath,
    pub(crate) task: &'static str,
    /// From 1.
    pub(crate) attempt: u32,
    /// With the slot, the call's identity in the instance (idempotency key, backoff seed).
    pub(crate) origin: u64,
    pub(crate) options: TaskOptions,
    /// The attempt's persisted deadline.
    pub(crate) deadline: Option<Timestamp>,
}

impl Attempt {
    /// When the attempt is cut off: its persisted deadline, while the task has a timeout
    /// (a deadline stored before the timeout was removed from the code no longer applies).
    pub(crate) fn cutoff(&self) -> Option<Timestamp> {
        self.deadline.filter(|_| self.options.timeout.is_some())
    }

    /// What the task is told when the attempt is cut off.
    pub(crate) fn timeout(&self) -> TaskTimeout {
        TaskTimeout {
            task: self.task.to_owned(),
            after: self.options.timeout.unwrap_or_default(),
            attempt: self.attempt,
        }
    }
}

/// A state whose work restarts its workflow ([`restart_of`]) reached the planner: the
/// transition that reaches `continue_as_new` must apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a committed state restarts its workflow (continue_as_new must be applied in the transition that reaches it)"
)]
pub(crate) struct Continues;

/// One round's plan, before signals are looked at.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Attempts to start now (each one once: the next round sees them running).
    pub(crate) start: Vec<Attempt>,
    ready: Option<(SlotPath, Feed)>,
    listening: Vec<(SlotPath, String)>,
    expired: Option<SlotPath>,
    next_due: Option<Timestamp>,
    /// Whether an attempt runs once `start` has started.
    busy: bool,
}

/// What to do after the round's attempts have started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Feed this event to the state at this slot now (one transition).
    Fire(SlotPath, Feed),
    /// Nothing to feed now; attempts run: wait for one to end, or until `next_due`.
    Wait { next_due: Option<Timestamp> },
    /// Nothing to feed and nothing runs: the run waits until `next_due` (a timer, a backoff,
    /// a signal's deadline) or, without one, for one of `signals` (in state order) to arrive.
    Idle {
        next_due: Option<Timestamp>,
        signals: Vec<String>,
    },
}

/// Plans a round for a state waiting for `work`, with `running` in flight, at `now`.
///
/// Ready now (the last such item of `work` wins, as the driver always did): a fresh state
/// ([`Feed::Start`]), a task with a timeout and no deadline yet (its deadline is committed
/// before the attempt starts, so a crash does not give it a fresh budget:
/// [`Feed::Started`]), a due timer ([`Feed::Timer`]). Tasks not running and past their
/// backoff start; later ones, timers and signal deadlines give the next due time.
pub(crate) fn plan<R: Running + ?Sized>(
    work: &[WorkItem],
    running: &R,
    now: Timestamp,
) -> Result<Plan, Continues> {
    let mut plan = Plan {
        start: Vec::new(),
        ready: None,
        listening: Vec::new(),
        expired: None,
        next_due: None,
        busy: !running.is_idle(),
    };
    let mut due_at = |t: Timestamp| {
        plan.next_due = Some(plan.next_due.map_or(t, |n| n.min(t)));
    };
    let mut ready = None;
    let mut start = Vec::new();
    let mut listening = Vec::new();
    let mut expired = None;
    for item in work {
        let slot = item.slot.clone();
        match &item.kind {
            WorkKind::Immediate => ready = Some((slot, Feed::Start)),
            WorkKind::Task { .. } if running.runs(&slot) => {}
            WorkKind::Task {
                not_before: Some(t),
                ..
            } if *t > now => due_at(*t),
            WorkKind::Task {
                options:
                    TaskOptions {
                        timeout: Some(after),
                        ..
                    },
                deadline: None,
                ..
            } => {
                ready = Some((
                    slot,
                    Feed::Started {
                        deadline: now.add(*after),
                    },
                ));
            }
            WorkKind::Task {
                name,
                attempt,
                origin,
                options,
                deadline,
                ..
            } => start.push(Attempt {
                slot,
                task: name,
                attempt: *attempt,
                origin: *origin,
                options: *options,
                deadline: *deadline,
            }),
            WorkKind::Timer { due } if *due <= now => ready = Some((slot, Feed::Timer)),
            WorkKind::Timer { due } => due_at(*due),
            WorkKind::Signal { name, deadline } => {
                match deadline {
                    Some(d) if *d <= now => expired = Some(slot.clone()),
                    Some(d) => due_at(*d),
                    None => {}
                }
                listening.push((slot, name.clone()));
            }
            WorkKind::Continue { .. } => return Err(Continues),
        }
    }
    plan.busy |= !start.is_empty();
    plan.start = start;
    plan.ready = ready;
    plan.listening = listening;
    plan.expired = expired;
    Ok(plan)
}

/// Whether a round of [`plan`] for `work` with `running` in flight at `now` would feed nothing
/// but a task attempt's end: nothing is ready, no slot listens for a signal (so
/// [`Plan::decide`] waits, whatever is buffered), and nothing restarts. The same as asking
/// [`plan`], without building its lists: the driver asks it after each task value it folds
/// into a transition.
pub(crate) fn feeds_task_ends_only<R: Running + ?Sized>(
    work: &[WorkItem],
    running: &R,
    now: Timestamp,
) -> bool {
    // A task is ready only when it needs a deadline, is past its backoff and does not run:
    // the running attempts are looked up for those alone.
    work.iter().all(|item| match &item.kind {
        WorkKind::Immediate | WorkKind::Signal { .. } | WorkKind::Continue { .. } => false,
        WorkKind::Task {
            options: TaskOptions {
                timeout: Some(_), ..
            },
            deadline: None,
            not_before,
            ..
        } => not_before.is_some_and(|t| t > now) || running.runs(&item.slot),
        WorkKind::Task { .. } => true,
        WorkKind::Timer { due } => *due > now,
    })
}

impl Plan {
    /// Whether [`Plan::decide`] looks at the buffered signals: nothing else is ready and some
    /// slot listens. A runner reads them only then.
    pub(crate) fn needs_signals(&self) -> bool {
        self.ready.is_none() && !self.listening.is_empty()
    }

    /// The round's decision, given the instance's buffered signals (in send order). A ready
    /// event goes first; then the first buffered signal some listening slot takes (slots in
    /// state order); then a signal wait whose deadline has passed (fired as a timer).
    pub(crate) fn decide(self, pending: &[SignalRecord]) -> Decision {
        if let Some((slot, feed)) = self.ready {
            return Decision::Fire(slot, feed);
        }
        for (slot, name) in &self.listening {
            if let Some(s) = pending.iter().find(|s| &s.name == name) {
                return Decision::Fire(slot.clone(), Feed::Signal(s.clone()));
            }
        }
        if let Some(slot) = self.expired {
            return Decision::Fire(slot, Feed::Timer);
        }
        if self.busy {
            return Decision::Wait {
                next_due: self.next_due,
            };
        }
        Decision::Idle {
            next_due: self.next_due,
            signals: self.listening.into_iter().map(|(_, name)| name).collect(),
        }
    }
}

/// What the value of a finished attempt feeds the state: a retry (with its backoff, from
/// `now`) when the attempt failed and may run again, the value otherwise. `instance` seeds
/// the backoff's jitter with the call's identity.
pub(crate) fn outcome(instance: &str, a: &Attempt, output: TaskOutput, now: Timestamp) -> Feed {
    if retry::should_retry(&a.options, a.attempt, &output) {
        let seed = format!("{instance}/{}/{:?}", a.origin, a.slot);
        let delay = retry::delay(&a.options, a.attempt, &seed);
        return Feed::Retry {
            task: a.task,
            failed: a.attempt,
            not_before: now.add(delay),
            error: output.bytes,
        };
    }
    Feed::Task(a.task, a.attempt, output)
}

/// Whether the value `feed` that [`outcome`] made of attempt `a` parks the instance instead
/// of going to the workflow: an error that could have been retried (not a permanent one), with
/// no attempt left, of a task whose resolved `on_exhausted` is [`OnExhausted::Park`].
pub(crate) fn parks(a: &Attempt, feed: &Feed) -> bool {
    matches!(feed, Feed::Task(_, _, out) if out.is_error && !out.permanent)
        && a.options.on_exhausted == OnExhausted::Park
}

/// A `continue_as_new` a freshly advanced state reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restart<'a> {
    /// The workflow itself starts a new run from this encoded start state (its shared
    /// context kept; under the engine, in the same commit, with the history truncated).
    Run { start: &'a [u8] },
    /// A child `depth` levels below the wait at `slot` starts a new run: fed to the state.
    Child {
        slot: &'a [u32],
        start: &'a [u8],
        depth: u32,
    },
}

/// The restart the state waiting for `work` asks for, if any (the first one: only one run can
/// restart in a transition). A runner applies it at once and looks again at the result.
pub(crate) fn restart_of(work: &[WorkItem]) -> Option<Restart<'_>> {
    work.iter().find_map(|w| match &w.kind {
        WorkKind::Continue { input, depth: 0 } => Some(Restart::Run { start: input }),
        WorkKind::Continue { input, depth } => Some(Restart::Child {
            slot: &w.slot,
            start: input,
            depth: *depth,
        }),
        _ => None,
    })
}

/// The names of the signals `work` waits for (stored with a commit, so a signal buffered
/// meanwhile makes the instance due).
pub(crate) fn listening(work: &[WorkItem]) -> Vec<String> {
    work.iter()
        .filter_map(|w| match &w.kind {
            WorkKind::Signal { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The due time to store with a state waiting for `work`, committed at `now`, when the store
/// holds `stored`: the earliest time its work can make progress by itself, except that a
/// stored due time in the past stays while the new one is past too. Both say "runnable now"
/// (the older one only ranks the instance earlier for a claim after a crash), and an unchanged
/// value spares the store an index update per step (on PostgreSQL, it keeps the head's update
/// a HOT one).
pub(crate) fn due_at(
    work: &[WorkItem],
    now: Timestamp,
    stored: Option<Timestamp>,
) -> Option<Timestamp> {
    let due = work.iter().filter_map(|w| w.kind.due(now)).min();
    match (due, stored) {
        (Some(d), Some(s)) if d <= now && s <= d => Some(s),
        _ => due,
    }
}

#[cfg(test)]
mod tests;
