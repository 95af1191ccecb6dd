//! Metrics, recorded through the [`metrics`] facade: the application installs the recorder
//! (Prometheus with the facade's `prometheus` feature, or any other exporter); with none, each
//! recording is a check of an empty handle. [`names`] lists every metric.
//!
//! The same calls keep a few per-engine counts ([`Metrics`], read by
//! [`Engine::metrics`](crate::Engine::metrics)), so tests and benchmarks need no recorder.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::Label;

use crate::describe::{WaitShape, WorkflowShape};

mod instruments;
pub mod names;

pub(crate) use instruments::{
    Gauges, Outcome, StoreInstruments, TaskInstruments, WorkflowInstruments,
};
pub use names::describe;

/// The counts one engine keeps, fed by the same calls that record the metrics ([`names`]).
#[derive(Default)]
struct Counts {
    transitions: AtomicU64,
    instances_completed: AtomicU64,
    instances_failed: AtomicU64,
    instances_blocked: AtomicU64,
    tasks_started: AtomicU64,
    task_panics: AtomicU64,
    task_retries: AtomicU64,
    commit_batches: AtomicU64,
    commit_batch_transitions: AtomicU64,
    commit_conflicts: AtomicU64,
    create_batches: AtomicU64,
    create_batch_instances: AtomicU64,
}

fn inc(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// One engine's metrics: the recorder's handles, and the counts the engine keeps itself.
pub struct Metrics {
    counts: Counts,
    store: StoreInstruments,
    pub(crate) gauges: Gauges,
    /// The registered workflows', registered when the engine was built.
    workflows: HashMap<Box<str>, Arc<WorkflowInstruments>>,
    /// Others' (a signal to an instance of a workflow this engine does not run…).
    others: Mutex<HashMap<Box<str>, Arc<WorkflowInstruments>>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        f.debug_struct("Metrics")
            .field("transitions", &get(&c.transitions))
            .field("instances_completed", &get(&c.instances_completed))
            .field("instances_failed", &get(&c.instances_failed))
            .field("instances_blocked", &get(&c.instances_blocked))
            .field("tasks_started", &get(&c.tasks_started))
            .field("task_panics", &get(&c.task_panics))
            .field("task_retries", &get(&c.task_retries))
            .field("commit_batches", &self.commit_batches())
            .field("commit_conflicts", &get(&c.commit_conflicts))
            .field("create_batches", &self.create_batches())
            .finish()
    }
}

impl Metrics {
    /// Registers the handles of the `store` backend's metrics and of each workflow (name and
    /// task names), after describing every metric to the recorder installed now.
    pub(crate) fn new<'a>(
        store: &'static str,
        workflows: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>,
    ) -> Self {
        describe();
        let mut map: HashMap<Box<str>, Vec<&str>> = HashMap::new();
        for (name, tasks) in workflows {
            map.entry(Box::from(name)).or_default().extend(tasks);
        }
        let workflows = map
            .into_iter()
            .map(|(name, mut tasks)| {
                tasks.sort_unstable();
                tasks.dedup();
                let w = WorkflowInstruments::register(&name, tasks);
                (name, Arc::new(w))
            })
            .collect();
        Self {
            counts: Counts::default(),
            store: StoreInstruments::register(store),
            gauges: Gauges::register(),
            workflows,
            others: Mutex::new(HashMap::new()),
        }
    }

    /// The instruments of workflow `name`.
    pub(crate) fn workflow(&self, name: &str) -> Arc<WorkflowInstruments> {
        if let Some(w) = self.workflows.get(name) {
            return Arc::clone(w);
        }
        let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            others
                .entry(Box::from(name))
                .or_insert_with(|| Arc::new(WorkflowInstruments::register(name, []))),
        )
    }

    pub(crate) fn transition(&self, w: &WorkflowInstruments) {
        inc(&self.counts.transitions, 1);
        w.transitions.increment(1);
    }

    pub(crate) fn finished(&self, w: &WorkflowInstruments, failed: bool) {
        if failed {
            inc(&self.counts.instances_failed, 1);
            w.failed.increment(1);
        } else {
            inc(&self.counts.instances_completed, 1);
            w.completed.increment(1);
        }
    }

    pub(crate) fn task_started(&self, t: &TaskInstruments) {
        inc(&self.counts.tasks_started, 1);
        t.started.increment(1);
    }

    pub(crate) fn task_ended(&self, t: &TaskInstruments, outcome: Outcome, took: Duration) {
        if outcome == Outcome::Panic {
            inc(&self.counts.task_panics, 1);
        }
        t.ended(outcome, took.as_secs_f64());
    }

    pub(crate) fn task_retried(&self, t: &TaskInstruments) {
        inc(&self.counts.task_retries, 1);
        t.retried.increment(1);
    }

    pub(crate) fn commit_batch(&self, n: usize, took: Duration) {
        inc(&self.counts.commit_batches, 1);
        inc(&self.counts.commit_batch_transitions, count(n));
        self.store.commit_batch.record(n as f64);
        self.store.commit_duration.record(took.as_secs_f64());
    }

    pub(crate) fn create_batch(&self, n: usize) {
        inc(&self.counts.create_batches, 1);
        inc(&self.counts.create_batch_instances, count(n));
        self.store.start_batch.record(n as f64);
    }

    pub(crate) fn conflict(&self, w: &WorkflowInstruments) {
        inc(&self.counts.commit_conflicts, 1);
        w.conflicts.increment(1);
    }

    /// An instance of `workflow` blocked with `kind` (its stable name).
    pub(crate) fn blocked(&self, workflow: &str, kind: &'static str) {
        inc(&self.counts.instances_blocked, 1);
        match self.workflows.get(workflow) {
            Some(w) => w.blocked(kind),
            None => instruments::blocked(Label::new("workflow", workflow.to_owned()), kind),
        }
    }

    /// An operator's action (`kind`) was accepted.
    pub(crate) fn operation(&self, kind: &'static str) {
        metrics::counter!(names::OPERATIONS, "kind" => kind).increment(1);
    }

    /// Failed task attempts that were scheduled for a retry.
    pub fn task_retries(&self) -> u64 {
        get(&self.counts.task_retries)
    }

    /// Committed transitions, counted by history entry: a commit that folds several task
    /// results counts one per result ([`Metrics::commit_batches`] counts the commits).
    pub fn transitions(&self) -> u64 {
        get(&self.counts.transitions)
    }

    /// Instances this engine's workers drove to completion (output committed).
    pub fn instances_completed(&self) -> u64 {
        get(&self.counts.instances_completed)
    }

    /// Instances this engine's workers finished with an error output.
    pub fn instances_failed(&self) -> u64 {
        get(&self.counts.instances_failed)
    }

    /// Instances this engine has marked blocked.
    pub fn instances_blocked(&self) -> u64 {
        get(&self.counts.instances_blocked)
    }

    /// Task attempts started.
    pub fn tasks_started(&self) -> u64 {
        get(&self.counts.tasks_started)
    }

    /// Task attempts that panicked.
    pub fn task_panics(&self) -> u64 {
        get(&self.counts.task_panics)
    }

    /// Commits refused because another writer moved the instance on.
    pub fn commit_conflicts(&self) -> u64 {
        get(&self.counts.commit_conflicts)
    }

    /// Store transactions used for commits, and the transitions they carried.
    pub fn commit_batches(&self) -> (u64, u64) {
        (
            get(&self.counts.commit_batches),
            get(&self.counts.commit_batch_transitions),
        )
    }

    /// Store transactions used by [`Engine::start`](crate::Engine::start) to create instances,
    /// and the creations they carried (new or existing; starts outside a tokio runtime are
    /// not counted).
    pub fn create_batches(&self) -> (u64, u64) {
        (
            get(&self.counts.create_batches),
            get(&self.counts.create_batch_instances),
        )
    }
}

/// The names of the tasks a workflow's instances run (its own and its children's).
pub(crate) fn tasks_of(shape: &WorkflowShape) -> Vec<&str> {
    fn walk<'a>(wait: &'a WaitShape, out: &mut Vec<&'a str>) {
        match wait {
            WaitShape::Task(t) => out.push(&t.name),
            WaitShape::Child(w) => out.extend(tasks_of(w)),
            WaitShape::Join(ws) => ws.iter().for_each(|w| walk(w, out)),
            WaitShape::JoinAll(w) => walk(w, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for state in &shape.states {
        if let Some(w) = &state.wait {
            walk(w, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests;
