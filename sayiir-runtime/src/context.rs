//! What a running task can learn about itself.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;

use crate::shared::Context;

tokio::task_local! {
    static CURRENT: TaskContext;
}

/// Identity of one task run, available inside the task through [`TaskContext::current`].
///
/// Tasks run at least once: a process that dies after a task finished but before its result
/// was committed runs it again on restart. [`TaskContext::idempotency_key`] is the same for every
/// run of the same call, so side effects can be de-duplicated with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    workflow: &'static str,
    instance: String,
    task: &'static str,
    attempt: u32,
    idempotency_key: String,
    shared: Arc<Context>,
}

impl TaskContext {
    pub(crate) fn new(
        workflow: &'static str,
        instance: &str,
        task: &'static str,
        attempt: u32,
        origin: u64,
        slot: &[u32],
        shared: Arc<Context>,
    ) -> Self {
        let mut key = format!("{instance}/{origin}");
        for s in slot {
            let _ = write!(key, ".{s}");
        }
        Self {
            workflow,
            instance: instance.to_owned(),
            task,
            attempt,
            idempotency_key: key,
            shared,
        }
    }

    /// The context of the task running on this tokio task, if any.
    pub fn current() -> Option<TaskContext> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Workflow name.
    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// Instance id (`inline` when the workflow function is called directly).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Task name.
    pub fn task(&self) -> &'static str {
        self.task
    }

    /// Attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `instance/origin[.slot…]`: identical for every run of the same call of the same instance,
    /// whatever the attempt (a retry after an attempt whose outcome was lost must not charge
    /// twice), different for every other call (including the same task called again later).
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// The workflow's shared state as it was when this attempt started (read-only: tasks
    /// report through their return value; the workflow writes the context).
    pub fn shared(&self) -> &Context {
        &self.shared
    }

    pub(crate) fn scope<F: Future>(self, f: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, f)
    }
}
