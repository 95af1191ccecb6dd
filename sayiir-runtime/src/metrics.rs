//! In-process counters, rendered in the OpenMetrics text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one engine.
#[derive(Debug, Default)]
pub struct Metrics {
    transitions: AtomicU64,
    instances_completed: AtomicU64,
    instances_failed: AtomicU64,
    tasks_started: AtomicU64,
    task_panics: AtomicU64,
    commit_batches: AtomicU64,
    commit_batch_transitions: AtomicU64,
    commit_conflicts: AtomicU64,
    create_batches: AtomicU64,
    create_batch_instances: AtomicU64,
    instances_blocked: AtomicU64,
    task_retries: AtomicU64,
}

fn inc(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn transition(&self) {
        inc(&self.transitions, 1);
    }
    pub(crate) fn finished(&self, failed: bool) {
        inc(
            if failed {
                &self.instances_failed
            } else {
                &self.instances_completed
            },
            1,
        );
    }
    pub(crate) fn task_started(&self) {
        inc(&self.tasks_started, 1);
    }
    pub(crate) fn task_panicked(&self) {
        inc(&self.task_panics, 1);
    }
    pub(crate) fn batch(&self, n: usize) {
        inc(&self.commit_batches, 1);
        inc(
            &self.commit_batch_transitions,
            u64::try_from(n).unwrap_or(u64::MAX),
        );
    }
    pub(crate) fn create_batch(&self, n: usize) {
        inc(&self.create_batches, 1);
        inc(
            &self.create_batch_instances,
            u64::try_from(n).unwrap_or(u64::MAX),
        );
    }
    pub(crate) fn task_retried(&self) {
        inc(&self.task_retries, 1);
    }
    pub(crate) fn conflict(&self) {
        inc(&self.commit_conflicts, 1);
    }
    pub(crate) fn blocked(&self) {
        inc(&self.instances_blocked, 1);
    }

    /// Failed task attempts that were scheduled for a retry.
    pub fn task_retries(&self) -> u64 {
        self.task_retries.load(Ordering::Relaxed)
    }

    /// Committed transitions.
    pub fn transitions(&self) -> u64 {
        self.transitions.load(Ordering::Relaxed)
    }

    /// Instances this engine's workers drove to completion (output committed).
    pub fn instances_completed(&self) -> u64 {
        self.instances_completed.load(Ordering::Relaxed)
    }

    /// Instances this engine has marked blocked.
    pub fn instances_blocked(&self) -> u64 {
        self.instances_blocked.load(Ordering::Relaxed)
    }

    /// Store transactions used for commits, and the transitions they carried.
    pub fn commit_batches(&self) -> (u64, u64) {
        (
            self.commit_batches.load(Ordering::Relaxed),
            self.commit_batch_transitions.load(Ordering::Relaxed),
        )
    }

    /// Store transactions used by [`Engine::start`](crate::Engine::start) to create instances,
    /// and the creations they carried (new or existing; starts outside a tokio runtime are
    /// not counted).
    pub fn create_batches(&self) -> (u64, u64) {
        (
            self.create_batches.load(Ordering::Relaxed),
            self.create_batch_instances.load(Ordering::Relaxed),
        )
    }

    /// The counters in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let rows: [(&str, &str, &AtomicU64); 12] = [
            (
                "sayiir_transitions",
                "committed transitions",
                &self.transitions,
            ),
            (
                "sayiir_instances_completed",
                "instances finished with success",
                &self.instances_completed,
            ),
            (
                "sayiir_instances_failed",
                "instances finished with an error output",
                &self.instances_failed,
            ),
            (
                "sayiir_tasks_started",
                "task runs started",
                &self.tasks_started,
            ),
            (
                "sayiir_task_panics",
                "task runs that panicked",
                &self.task_panics,
            ),
            (
                "sayiir_commit_batches",
                "store transactions used for commits",
                &self.commit_batches,
            ),
            (
                "sayiir_commit_batch_transitions",
                "transitions committed in those transactions",
                &self.commit_batch_transitions,
            ),
            (
                "sayiir_create_batches",
                "store transactions used to create started instances",
                &self.create_batches,
            ),
            (
                "sayiir_create_batch_instances",
                "creations carried by those transactions",
                &self.create_batch_instances,
            ),
            (
                "sayiir_commit_conflicts",
                "commits refused by the sequence-number check",
                &self.commit_conflicts,
            ),
            (
                "sayiir_instances_blocked",
                "instances marked blocked",
                &self.instances_blocked,
            ),
            (
                "sayiir_task_retries",
                "failed task attempts scheduled for a retry",
                &self.task_retries,
            ),
        ];
        for (name, help, v) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}_total {}",
                v.load(Ordering::Relaxed)
            );
        }
        out.push_str("# EOF\n");
        out
    }
}
