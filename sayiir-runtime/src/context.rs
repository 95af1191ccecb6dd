//! What a running task can learn about itself.

use std::fmt::Write as _;
use std::future::Future;

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
}

impl TaskContext {
    pub(crate) fn new(
        workflow: &'static str,
        instance: &str,
        task: &'static str,
        attempt: u32,
        origin: u64,
        slot: &[u32],
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
    /// different for every other call (including the same task called again later).
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    pub(crate) fn scope<F: Future>(self, f: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, f)
    }
}
