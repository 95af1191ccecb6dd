//! Handles to the recorder's metrics, registered once (when the engine is built, or the first
//! time a name not known then is met) and kept, so that recording a step costs an atomic
//! operation per metric and no allocation, and nothing with no recorder installed.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use metrics::{Counter, Gauge, Histogram, Label, counter, gauge, histogram};

use super::names::*;

/// How a task attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It returned `Ok`.
    Ok,
    /// It returned `Err` (or its arguments or output did not encode).
    Error,
    /// Its timeout cut it off.
    Timeout,
    /// It panicked.
    Panic,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Timeout,
        Outcome::Panic,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Panic => "panic",
        }
    }
}

/// One task of one workflow.
pub(crate) struct TaskInstruments {
    pub(crate) started: Counter,
    pub(crate) retried: Counter,
    /// By [`Outcome`], in [`Outcome::ALL`]'s order: the attempt's count and duration.
    ended: [(Counter, Histogram); 4],
}

impl TaskInstruments {
    fn register(workflow: &Label, task: &str) -> Self {
        let labels = vec![workflow.clone(), Label::new("task", task.to_owned())];
        let ended = Outcome::ALL.map(|o| {
            let count = match o {
                Outcome::Ok => TASKS_SUCCEEDED,
                Outcome::Error => TASKS_FAILED,
                Outcome::Timeout => TASKS_TIMED_OUT,
                Outcome::Panic => TASKS_PANICKED,
            };
            let mut with_outcome = labels.clone();
            with_outcome.push(Label::from_static_parts("outcome", o.label()));
            (
                counter!(count, labels.clone()),
                histogram!(TASK_ATTEMPT_DURATION, with_outcome),
            )
        });
        Self {
            started: counter!(TASKS_STARTED, labels.clone()),
            retried: counter!(TASKS_RETRIED, labels),
            ended,
        }
    }

    pub(crate) fn ended(&self, outcome: Outcome, seconds: f64) {
        let (count, duration) = match outcome {
            Outcome::Ok => &self.ended[0],
            Outcome::Error => &self.ended[1],
            Outcome::Timeout => &self.ended[2],
            Outcome::Panic => &self.ended[3],
        };
        count.increment(1);
        duration.record(seconds);
    }
}

/// One workflow (all its versions): what its instances record, and its tasks'.
pub(crate) struct WorkflowInstruments {
    label: Label,
    pub(crate) transitions: Counter,
    pub(crate) started: Counter,
    pub(crate) completed: Counter,
    pub(crate) failed: Counter,
    pub(crate) cancelled: Counter,
    pub(crate) conflicts: Counter,
    pub(crate) takeovers: Counter,
    pub(crate) signals_sent: Counter,
    pub(crate) signals_consumed: Counter,
    pub(crate) step_latency: Histogram,
    pub(crate) start_delay: Histogram,
    pub(crate) timer_lateness: Histogram,
    /// Runs of schedules started by a tick, by a backfill; ticks skipped; fire delay.
    pub(crate) schedule_ticks: Counter,
    pub(crate) schedule_backfills: Counter,
    pub(crate) schedule_skipped: Counter,
    pub(crate) schedule_delay: Histogram,
    tasks: RwLock<HashMap<Box<str>, Arc<TaskInstruments>>>,
}

impl WorkflowInstruments {
    pub(crate) fn register<'a>(name: &str, tasks: impl IntoIterator<Item = &'a str>) -> Self {
        let label = Label::new("workflow", name.to_owned());
        let l = || vec![label.clone()];
        let tasks = tasks
            .into_iter()
            .map(|t| (Box::from(t), Arc::new(TaskInstruments::register(&label, t))))
            .collect();
        Self {
            transitions: counter!(TRANSITIONS, l()),
            started: counter!(INSTANCES_STARTED, l()),
            completed: counter!(INSTANCES_COMPLETED, l()),
            failed: counter!(INSTANCES_FAILED, l()),
            cancelled: counter!(INSTANCES_CANCELLED, l()),
            conflicts: counter!(COMMIT_CONFLICTS, l()),
            takeovers: counter!(LEASE_TAKEOVERS, l()),
            signals_sent: counter!(SIGNALS_SENT, l()),
            signals_consumed: counter!(SIGNALS_CONSUMED, l()),
            step_latency: histogram!(STEP_LATENCY, l()),
            start_delay: histogram!(CLAIM_TO_START_DELAY, l()),
            timer_lateness: histogram!(TIMER_LATENESS, l()),
            schedule_ticks: counter!(SCHEDULE_RUNS, trigger(&label, "tick")),
            schedule_backfills: counter!(SCHEDULE_RUNS, trigger(&label, "backfill")),
            schedule_skipped: counter!(SCHEDULE_TICKS_SKIPPED, l()),
            schedule_delay: histogram!(SCHEDULE_FIRE_DELAY, l()),
            tasks: RwLock::new(tasks),
            label,
        }
    }

    /// The workflow's name.
    pub(crate) fn name(&self) -> &str {
        self.label.value()
    }

    /// The instruments of `task`, registered now if the engine did not know it at build.
    pub(crate) fn task(&self, task: &str) -> Arc<TaskInstruments> {
        {
            let tasks = self.tasks.read().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = tasks.get(task) {
                return Arc::clone(t);
            }
        }
        let mut tasks = self.tasks.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            tasks
                .entry(Box::from(task))
                .or_insert_with(|| Arc::new(TaskInstruments::register(&self.label, task))),
        )
    }

    /// Counts an instance of this workflow blocked with `kind` (rare: registered per call).
    pub(crate) fn blocked(&self, kind: &'static str) {
        blocked(self.label.clone(), kind);
    }
}

/// Counts an instance of the workflow `label` names blocked with `kind`.
pub(crate) fn blocked(workflow: Label, kind: &'static str) {
    counter!(
        INSTANCES_BLOCKED,
        vec![workflow, Label::from_static_parts("kind", kind)]
    )
    .increment(1);
}

/// The store's: commits and creations.
pub(crate) struct StoreInstruments {
    pub(crate) commit_batch: Histogram,
    pub(crate) commit_duration: Histogram,
    pub(crate) start_batch: Histogram,
}

impl StoreInstruments {
    pub(crate) fn register(store: &'static str) -> Self {
        let l = || vec![Label::from_static_parts("store", store)];
        Self {
            commit_batch: histogram!(COMMIT_BATCH_SIZE, l()),
            commit_duration: histogram!(COMMIT_DURATION, l()),
            start_batch: histogram!(START_BATCH_SIZE, l()),
        }
    }
}

/// The process's workers, and what they sample from the store.
pub(crate) struct Gauges {
    pub(crate) workers: Gauge,
    pub(crate) in_flight: Gauge,
    pub(crate) limit: Gauge,
    pub(crate) backlog: Gauge,
    pub(crate) backlog_age: Gauge,
    pub(crate) attention: Gauge,
    pub(crate) parked: Gauge,
    pub(crate) leases_lost: Counter,
}

impl Gauges {
    pub(crate) fn register() -> Self {
        Self {
            workers: gauge!(WORKERS),
            in_flight: gauge!(INSTANCES_IN_FLIGHT),
            limit: gauge!(INSTANCES_LIMIT),
            backlog: gauge!(DUE_BACKLOG),
            backlog_age: gauge!(DUE_BACKLOG_AGE),
            attention: gauge!(NEEDING_ATTENTION),
            parked: gauge!(PARKED),
            leases_lost: counter!(LEASES_LOST),
        }
    }
}

/// The labels of a schedule's runs: its workflow and what started them.
fn trigger(workflow: &Label, trigger: &'static str) -> Vec<Label> {
    vec![workflow.clone(), Label::new("trigger", trigger)]
}
