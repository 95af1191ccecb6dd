//! What a running task can learn about itself.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;

use crate::resources::{Res, Resources};
use crate::shared::WorkflowContext;

tokio::task_local! {
    static CURRENT: TaskContext;
}

/// Identity of one task run, available inside the task through [`TaskContext::current`].
///
/// Tasks run at least once: a process that dies after a task finished but before its result
/// was committed runs it again on restart. [`TaskContext::idempotency_key`] is the same for every
/// run of the same call, so side effects can be de-duplicated with it.
#[derive(Debug, Clone)]
pub struct TaskContext {
    workflow: &'static str,
    instance: String,
    task: &'static str,
    attempt: u32,
    idempotency_key: String,
    shared: Arc<WorkflowContext>,
    resources: Arc<Resources>,
}

/// Equal when they describe the same run with the same shared state and the same set of
/// resources (the same values, not equal ones: resources need not implement `PartialEq`).
impl PartialEq for TaskContext {
    fn eq(&self, other: &Self) -> bool {
        self.workflow == other.workflow
            && self.instance == other.instance
            && self.task == other.task
            && self.attempt == other.attempt
            && self.idempotency_key == other.idempotency_key
            && self.shared == other.shared
            && Arc::ptr_eq(&self.resources, &other.resources)
    }
}

impl Eq for TaskContext {}

/// The resources of the task running on this tokio task, if any.
pub(crate) fn current_resources() -> Option<Arc<Resources>> {
    CURRENT.try_with(|c| Arc::clone(&c.resources)).ok()
}

impl TaskContext {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        workflow: &'static str,
        instance: &str,
        task: &'static str,
        attempt: u32,
        origin: u64,
        slot: &[u32],
        shared: Arc<WorkflowContext>,
        resources: Arc<Resources>,
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
            resources,
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
    pub fn shared(&self) -> &WorkflowContext {
        &self.shared
    }

    /// The resource of type `T` the engine was given (`EngineBuilder::resource`), for code
    /// that runs inside a task without taking it as a `Res<T>` parameter (a helper the task
    /// calls). `None` when the engine has none of that type. A workflow called directly sees
    /// the resources of the `Resources::scope` around the call.
    pub fn resource<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Res<T>> {
        self.resources.get::<T>()
    }

    pub(crate) fn scope<F: Future>(self, f: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, f)
    }
}
