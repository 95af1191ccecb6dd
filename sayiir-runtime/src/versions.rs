//! Versions at run time: what is registered, how many instances each version has (to see an
//! old version drain), the lock file, and restarting instances on the newest version.

use std::num::NonZeroUsize;
use std::path::Path;

use sayiir_store::{
    BlockKind, DefinitionHash, DefinitionRef, Event, Fingerprint, InstanceId, InstanceRecord,
    InstanceSummary, IntoInstanceId, ListQuery, Restart, Status, StoreError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::codec::{self, CodecError};
use crate::describe::{FieldShape, WorkflowShape};
use crate::engine::{Engine, InstanceInfo};
use crate::error::EngineError;
use crate::lock::{self, LockError, LockMode, LockOutcome};
use crate::machine::{MachineError, Workflow};
use crate::registry::{Entry, START, decode_input, initial_state};
use crate::shape::{self, Shape};
use crate::trace_context::store_span;

/// Instances of one definition of a workflow, by status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionStats {
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Definition hash.
    pub hash: DefinitionHash,
    /// Fingerprint of its stored types.
    pub fingerprint: Fingerprint,
    /// Running and not blocked.
    pub running: u64,
    /// Running but blocked (version mismatch, corrupt state, panic, paused...).
    pub blocked: u64,
    /// Completed.
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl VersionStats {
    /// Whether no instance of this definition is left to run (none running, none blocked).
    pub fn drained(&self) -> bool {
        self.running == 0 && self.blocked == 0
    }
}

/// What [`Engine::restart`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restarted {
    /// The instance.
    pub id: InstanceId,
    /// The definition of the run that ended.
    pub from: DefinitionRef,
    /// The definition of the new run.
    pub to: DefinitionRef,
}

/// Which instances [`Engine::restart_all`] restarts: the unfinished instances (running or
/// blocked) of one workflow, optionally of one version and in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestartFilter {
    /// Workflow name.
    pub workflow: String,
    /// Only instances of this version.
    pub version: Option<u32>,
    /// Only instances in the state of this stable id (e.g. `charge#1`).
    pub state: Option<String>,
}

impl RestartFilter {
    /// Every unfinished instance of `workflow`.
    pub fn workflow(workflow: &str) -> Self {
        Self {
            workflow: workflow.to_string(),
            version: None,
            state: None,
        }
    }

    /// Only those of `version`.
    #[must_use]
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// Only those in state `state`.
    #[must_use]
    pub fn state(mut self, state: &str) -> Self {
        self.state = Some(state.to_string());
        self
    }
}

/// The payload of a `restarted` history entry.
#[derive(Serialize)]
struct RestartedEvent<'a> {
    from_version: u32,
    from_hash: [u8; 32],
    from_fingerprint: [u8; 32],
    from_status: &'a str,
    from_seq: u64,
    to_version: u32,
    reason: &'a str,
}

/// The changes between two input lists (the start states' fields, matched by name).
fn input_changes(old: &[FieldShape], new: &[FieldShape]) -> Vec<String> {
    let mut out = Vec::new();
    for f in new {
        match old.iter().find(|o| o.name == f.name) {
            None => out.push(format!("input `{}: {}` is new", f.name, f.ty.shape)),
            Some(o) => {
                for line in shape::diff(&o.ty.shape, &f.ty.shape) {
                    out.push(format!("input `{}`: {line}", f.name));
                }
            }
        }
    }
    out
}

impl Engine {
    /// The descriptions of every workflow version this engine registers (and of the versions
    /// its migrations take instances over from): what the lock file records.
    pub fn definitions(&self) -> Vec<WorkflowShape> {
        let mut v: Vec<WorkflowShape> = self
            .inner
            .registry
            .shapes()
            .into_iter()
            .map(|(s, _)| (*s).clone())
            .collect();
        v.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
        v
    }

    /// Checks the workflows lock file at `path` against the registered definitions (see
    /// `docs/versioning.md`): a definition that changed without a version bump, a new one and
    /// one no longer registered are errors with a readable diff; `SAYIIR_UPDATE_LOCK=1`
    /// accepts them by rewriting the file.
    pub fn check_lock(&self, path: impl AsRef<Path>) -> Result<LockOutcome, LockError> {
        lock::check(&self.definitions(), path)
    }

    /// [`Engine::check_lock`] in an explicit mode, whatever the environment says.
    pub fn check_lock_with(
        &self,
        path: impl AsRef<Path>,
        mode: LockMode,
    ) -> Result<LockOutcome, LockError> {
        lock::check_with(&self.definitions(), path, mode)
    }

    /// Starts an instance of the newest registered version of workflow `name`, with `input`:
    /// the value of its one input, or a tuple of its inputs, whose type must have the
    /// structure of that version's input types ([`EngineError::WrongInput`] otherwise). What
    /// callers that know a workflow by name only (a queue consumer, an admin tool) use, so that
    /// new starts go to the newest version while older ones drain. Idempotent on `id`: an
    /// existing instance of any version of `name` is returned as it is.
    pub async fn start_by_name<I: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        id: impl IntoInstanceId,
        input: &I,
    ) -> Result<InstanceInfo, EngineError> {
        let id = id.into_instance_id()?;
        let Some(target) = self.inner.registry.latest(name).cloned() else {
            return Err(EngineError::UnknownWorkflow {
                workflow: name.to_string(),
            });
        };
        let wants = match target.shape.inputs.as_slice() {
            [one] => one.ty.shape.clone(),
            many => Shape::Tuple(many.iter().map(|f| f.ty.shape.clone()).collect()),
        };
        let given = shape::shape_of::<I>().map_err(|why| EngineError::WrongInput {
            workflow: name.to_string(),
            version: target.def.version,
            expected: wants.to_string(),
            found: format!(
                "`{}`, whose structure cannot be traced: {why}",
                std::any::type_name::<I>()
            ),
        })?;
        if given.fingerprint() != wants.fingerprint() {
            return Err(EngineError::WrongInput {
                workflow: name.to_string(),
                version: target.def.version,
                expected: wants.to_string(),
                found: given.to_string(),
            });
        }
        let mut raw = Vec::new();
        codec::append_raw(&mut raw, input).map_err(|source| EngineError::Encode {
            what: "input",
            source,
        })?;
        let limit = self.inner.config.max_payload;
        crate::limits::check("input", raw.len(), limit)?;
        let (state, input) = target.wf.start_raw(&raw).map_err(|e| match e {
            MachineError::Codec(e @ CodecError::TooLarge { .. }) => {
                crate::limits::encode_error("input", e, limit)
            }
            e => EngineError::WrongInput {
                workflow: name.to_string(),
                version: target.def.version,
                expected: wants.to_string(),
                found: e.to_string(),
            },
        })?;
        let record = self
            .inner
            .create(id.clone(), target.wf.name(), target.def, input, state)
            .await?;
        if record.workflow != name {
            return Err(EngineError::WrongWorkflow {
                id,
                expected: target.wf.name(),
                found: record.workflow,
            });
        }
        Ok(self.inner.info(InstanceSummary::from(&record)))
    }

    /// Instance counts per workflow definition and status, to see an old version drain.
    pub async fn version_stats(&self) -> Result<Vec<VersionStats>, EngineError> {
        let rows = self
            .inner
            .store
            .version_counts()
            .instrument(store_span!("version_counts"))
            .await?;
        let mut out: Vec<VersionStats> = Vec::new();
        for r in rows {
            let i = match out.iter().position(|s| {
                (&s.workflow, s.version, s.hash, s.fingerprint)
                    == (&r.workflow, r.version, r.hash, r.fingerprint)
            }) {
                Some(i) => i,
                None => {
                    out.push(VersionStats {
                        workflow: r.workflow.clone(),
                        version: r.version,
                        hash: r.hash,
                        fingerprint: r.fingerprint,
                        running: 0,
                        blocked: 0,
                        completed: 0,
                        failed: 0,
                        cancelled: 0,
                    });
                    out.len() - 1
                }
            };
            let s = &mut out[i];
            // A version-mismatch mark from another binary does not keep this engine from
            // running the instance (see `Inner::info`).
            let runs_here = self.inner.registry.runs_on(&r.key()).is_some();
            let blocked = match r.blocked {
                Some(BlockKind::VersionMismatch) if runs_here => None,
                b => b,
            };
            match (r.status, blocked) {
                (Status::Running, None) => s.running += r.count,
                (Status::Running, Some(_)) => s.blocked += r.count,
                (Status::Completed, _) => s.completed += r.count,
                (Status::Failed, _) => s.failed += r.count,
                _ => s.cancelled += r.count,
            }
        }
        Ok(out)
    }

    /// Ends instance `id` (whatever its status: running, blocked, finished) and starts it again
    /// as a new run of the newest registered version of its workflow, from the input it was
    /// created (or last restarted) with, under the same id. The history of both runs is kept,
    /// linked by a `restarted` entry. The input must have the shape the newest version takes
    /// ([`EngineError::InputChanged`] otherwise: use [`Engine::restart_with`]).
    pub async fn restart(
        &self,
        id: impl IntoInstanceId,
        reason: &str,
    ) -> Result<Restarted, EngineError> {
        let id = id.into_instance_id()?;
        loop {
            let record = self.inner.load(&id).await?;
            let Some(target) = self.inner.registry.latest(&record.workflow).cloned() else {
                return Err(EngineError::UnknownWorkflow {
                    workflow: record.workflow,
                });
            };
            let Some(input) = self
                .inner
                .store
                .load_input(&id)
                .instrument(store_span!("load_input"))
                .await?
            else {
                return Err(EngineError::InputChanged {
                    id,
                    workflow: record.workflow,
                    version: target.def.version,
                    changes: vec![
                        "the instance was created before inputs were stored, so it has none to start from".into(),
                    ],
                });
            };
            let old_inputs = self.inputs_of(&record).await;
            let changes = match &old_inputs {
                Some(old) => input_changes(old, &target.shape.inputs),
                None => vec![format!(
                    "the description of its definition (version {}, definition {}) was never saved, so its input cannot be checked",
                    record.version,
                    record.hash.short()
                )],
            };
            if !changes.is_empty() {
                return Err(EngineError::InputChanged {
                    id,
                    workflow: record.workflow,
                    version: target.def.version,
                    changes,
                });
            }
            let parts = decode_input(&input).map_err(|source| EngineError::Corrupt {
                id: id.clone(),
                what: "input",
                source,
            })?;
            let (state, state_id) =
                target
                    .wf
                    .start_from(parts)
                    .map_err(|e| EngineError::InputChanged {
                        id: id.clone(),
                        workflow: record.workflow.clone(),
                        version: target.def.version,
                        changes: vec![e.to_string()],
                    })?;
            match self
                .commit_restart(&record, &target, input, state, state_id, reason)
                .await?
            {
                Some(r) => return Ok(r),
                // Another writer moved the instance on: restart from its new head.
                None => continue,
            }
        }
    }

    /// Like [`Engine::restart`], on version `W` (which must be registered, under the same
    /// workflow name) with a new `input`: for instances whose stored input does not fit.
    pub async fn restart_with<W: Workflow>(
        &self,
        id: impl IntoInstanceId,
        input: W::Input,
        reason: &str,
    ) -> Result<Restarted, EngineError> {
        let id = id.into_instance_id()?;
        let target = self.inner.registered::<W>()?.clone();
        let (state, input) = initial_state::<W>(input)
            .map_err(|e| crate::limits::encode_error("input", e, self.inner.config.max_payload))?;
        loop {
            let record = self.inner.load(&id).await?;
            if record.workflow != W::NAME {
                return Err(EngineError::WrongWorkflow {
                    id,
                    expected: W::NAME,
                    found: record.workflow,
                });
            }
            let committed = self
                .commit_restart(
                    &record,
                    &target,
                    input.clone(),
                    state.clone(),
                    START,
                    reason,
                )
                .await?;
            if let Some(r) = committed {
                return Ok(r);
            }
        }
    }

    /// Restarts every unfinished instance matching `filter` on the newest version (see
    /// [`Engine::restart`]); each gets its own outcome.
    pub async fn restart_all(
        &self,
        filter: &RestartFilter,
        reason: &str,
    ) -> Result<Vec<(InstanceId, Result<Restarted, EngineError>)>, EngineError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let mut query = ListQuery::new()
                .workflow(filter.workflow.clone())
                .status(Status::Running)
                .after(after.clone())
                .limit(NonZeroUsize::new(500));
            query.version = filter.version;
            query.state_id = filter.state.clone();
            // Rows that do not decode cannot be restarted by id; the listing reports them.
            let page = self
                .inner
                .store
                .list(&query)
                .instrument(store_span!("list"))
                .await?
                .instances;
            let Some(last) = page.last() else {
                return Ok(out);
            };
            after = Some(last.id.clone());
            for s in page {
                let r = self.restart(&s.id, reason).await;
                out.push((s.id, r));
            }
        }
    }

    /// The inputs of the definition `r` runs under: from the registry, else from the store.
    async fn inputs_of(&self, r: &InstanceRecord) -> Option<Vec<FieldShape>> {
        let key = r.key();
        if let Some(e) = self.inner.registry.get(&key) {
            return Some(e.shape.inputs.clone());
        }
        if let Some(route) = self.inner.registry.route(&key) {
            return Some(route.from.inputs.clone());
        }
        self.inner
            .stored_shape(&key)
            .await
            .map(|s| s.inputs.clone())
    }

    /// Commits the restart of `record` onto `target`; `None` when another writer moved the
    /// instance on first.
    async fn commit_restart(
        &self,
        record: &InstanceRecord,
        target: &Entry,
        input: Vec<u8>,
        state: Vec<u8>,
        state_id: &str,
        reason: &str,
    ) -> Result<Option<Restarted>, EngineError> {
        let limit = self.inner.config.max_payload;
        crate::limits::check("input", input.len(), limit)?;
        crate::limits::check("start state (the input)", state.len(), limit)?;
        self.inner.save_definitions().await?;
        let now = self.inner.now();
        let payload = codec::encode(&RestartedEvent {
            from_version: record.version,
            from_hash: record.hash.0,
            from_fingerprint: record.fingerprint.0,
            from_status: &record.status.to_string(),
            from_seq: record.seq,
            to_version: target.def.version,
            reason,
        })
        .map_err(|source| EngineError::Encode {
            what: "history entry",
            source,
        })?;
        let restart = Restart {
            id: record.id.clone(),
            expected_seq: record.seq,
            definition: target.def,
            input,
            state,
            state_id: state_id.to_string(),
            due_at: Some(now),
            event: Event {
                kind: "restarted".into(),
                payload,
            },
            now,
            // The new run joins the restarting caller's trace, if it is in one.
            trace_context: crate::trace_context::current(),
        };
        match self
            .inner
            .store
            .restart(restart)
            .instrument(store_span!("restart"))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            instance = %record.id,
            from_version = record.version,
            to_version = target.def.version,
            "instance restarted"
        );
        // A driver of the old run in this process stops (its next commit would be refused).
        self.inner.controls.poke(&record.id);
        self.inner.wake.notify_one();
        Ok(Some(Restarted {
            id: record.id.clone(),
            from: record.definition(),
            to: target.def,
        }))
    }
}
