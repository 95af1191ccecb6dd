//! Acting on instances from outside: signals, cancellation, pause and resume.
//!
//! Each one is a store operation first (so it works whatever process runs the instance, and
//! on an instance no worker holds), then a poke to this process's driver of the instance, if
//! any, so it reacts at once: a driver stops (dropping its running tasks' futures) when the
//! instance was cancelled or paused, and looks for buffered signals otherwise. A driver in
//! another process finds out when its next commit is refused or its lease renewal fails.

use sayiir_store::{
    BlockKind, Blocked, Event, InstanceId, InstanceRecord, IntoInstanceId, NewSignal, Next, Status,
};
use serde::Serialize;
use tracing::Instrument;

use crate::admin::Operation;
use crate::codec;
use crate::commit::{self, Refused};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::trace_context::store_span;

impl Engine {
    /// Sends signal `name` with `payload` to instance `id`. The payload's type is checked
    /// against what the instance's workflow waits for under that name (this engine must have
    /// the instance's definition registered); a mismatch is an error here and nothing is sent.
    /// The signal is buffered durably until the workflow consumes it; signals are consumed in
    /// the order they were sent. Errors: unknown instance, finished instance, unknown signal
    /// name, wrong payload type.
    pub async fn signal<T: Serialize + 'static>(
        &self,
        id: impl IntoInstanceId,
        name: &str,
        payload: &T,
    ) -> Result<(), EngineError> {
        let (id, record) = self.load_running(id.into_instance_id()?).await?;
        let m = self.inner.metrics.workflow(&record.workflow);
        let signal = self.signal_for(id.clone(), record, name, payload)?;
        if let Err(e) = self
            .inner
            .store
            .send_signal(signal)
            .instrument(store_span!("send_signal"))
            .await
        {
            return Err(match Refused::of(&e) {
                Refused::Finished => self.finished(id).await,
                _ => e.into(),
            });
        }
        m.signals_sent.increment(1);
        self.inner.controls.poke(&id);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The signal `name` with `payload` for the running instance `record`, checked against
    /// what its definition waits for under that name.
    pub(crate) fn signal_for<T: Serialize + 'static>(
        &self,
        id: InstanceId,
        record: InstanceRecord,
        name: &str,
        payload: &T,
    ) -> Result<NewSignal, EngineError> {
        let key = record.key();
        // An instance of an older version that a migration takes over receives what the
        // version it moves to declares: it moves before its next transition.
        let Some(entry) = self.inner.registry.runs_on(&key) else {
            return Err(EngineError::UnknownDefinition {
                id,
                workflow: record.workflow,
            });
        };
        let wf = &entry.wf;
        let decls: Vec<_> = wf.signals().of(name).copied().collect();
        if decls.is_empty() {
            let declared = wf
                .signals()
                .all()
                .iter()
                .map(|d| format!("{}: {}", d.name, d.type_name))
                .collect();
            return Err(EngineError::UnknownSignal {
                id,
                workflow: record.workflow,
                name: name.to_owned(),
                declared,
            });
        }
        let sent = std::any::TypeId::of::<T>();
        if let Some(d) = decls.iter().find(|d| d.type_id != sent) {
            return Err(EngineError::SignalType {
                id,
                name: name.to_owned(),
                expected: d.type_name,
                found: std::any::type_name::<T>(),
            });
        }
        let limit = self.inner.config.max_payload;
        let payload = codec::encode(payload)
            .map_err(|e| crate::limits::encode_error("signal payload", e, limit))?;
        crate::limits::check("signal payload", payload.len(), limit)?;
        Ok(NewSignal {
            id,
            name: name.to_owned(),
            payload,
            now: self.inner.now(),
        })
    }

    /// Cancels instance `id`: it ends `Cancelled` with `reason` (what `result` reports), in one
    /// commit that fences off any worker still running it; a task running in this process has
    /// its future dropped, a sleeping or waiting instance is finished without waking anyone.
    /// Buffered signals are dropped. Errors on an unknown or already finished instance.
    pub async fn cancel(&self, id: impl IntoInstanceId, reason: &str) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let limit = self.inner.config.max_payload;
        let output = codec::encode(reason)
            .map_err(|e| crate::limits::encode_error("cancel reason", e, limit))?;
        crate::limits::check("cancel reason", output.len(), limit)?;
        loop {
            let (_, record) = self.load_running(id.clone()).await?;
            let event = Event {
                kind: "cancelled".into(),
                payload: output.clone(),
            };
            let next = Next::Finished {
                status: Status::Cancelled,
                output: output.clone(),
            };
            // A finishing commit releases whatever lease the instance has.
            let t = commit::transition(id.clone(), record.seq, next, event, self.inner.now());
            let Err(e) = self
                .inner
                .store
                .commit(t)
                .instrument(store_span!("commit"))
                .await
            else {
                let m = &self.inner.metrics;
                m.workflow(&record.workflow).cancelled.increment(1);
                m.operation(Operation::Cancel.name());
                break;
            };
            match Refused::of(&e) {
                // A worker committed meanwhile: try again on the new head.
                Refused::MovedOn => continue,
                Refused::Finished => return Err(self.finished(id).await),
                _ => return Err(e.into()),
            }
        }
        self.inner.controls.poke(&id);
        self.inner.finished(&id);
        Ok(())
    }

    /// Pauses instance `id`: no further transition is committed until [`Engine::resume`]; a
    /// driver in this process stops at once (a running task's future is dropped and its
    /// attempt runs again after resume, with the same idempotency key). Allowed on a running
    /// instance (blocked at most by a version mismatch, which a worker finds again after
    /// resume); any other block stays, and the call fails with [`EngineError::NotAllowed`]:
    /// pausing would hide why the instance is stopped (see
    /// [`Operation`](crate::admin::Operation)).
    pub async fn pause(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let blocked = Blocked {
            kind: BlockKind::Paused,
            reason: "paused by an operator".into(),
            at: self.inner.now(),
        };
        let from = Operation::Pause.acts_on().to_vec();
        self.change_block(id, Operation::Pause, from, Some(blocked), false)
            .await
    }

    /// Resumes a paused instance: it is dispatched again from where it stopped. Fails with
    /// [`EngineError::NotPaused`] when it is not paused.
    pub async fn resume(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let from = Operation::Resume.acts_on().to_vec();
        match self
            .change_block(id.clone(), Operation::Resume, from, None, false)
            .await
        {
            Err(EngineError::NotAllowed { .. }) => Err(EngineError::NotPaused { id }),
            other => other,
        }
    }

    /// Sends signal `name` with a JSON `payload` to instance `id` (what a command line or an
    /// HTTP API receives). When this engine registers the instance's definition, the JSON is
    /// read as the Rust type the workflow declares for the signal (its serde impl decides);
    /// otherwise it is checked against and encoded by the type's description the registering
    /// binary saved in the store. A payload that is not a value of that type is
    /// [`EngineError::BadPayload`] and nothing is sent. Otherwise as [`Engine::signal`].
    pub async fn signal_json(
        &self,
        id: impl IntoInstanceId,
        name: &str,
        payload: &serde_json::Value,
    ) -> Result<(), EngineError> {
        let (id, record) = self.load_running(id.into_instance_id()?).await?;
        let key = record.key();
        let bytes = if let Some(entry) = self.inner.registry.runs_on(&key) {
            let decls: Vec<_> = entry.wf.signals().of(name).copied().collect();
            let Some(first) = decls.first() else {
                return Err(EngineError::UnknownSignal {
                    id,
                    workflow: record.workflow,
                    name: name.to_owned(),
                    declared: entry
                        .wf
                        .signals()
                        .all()
                        .iter()
                        .map(|d| format!("{}: {}", d.name, d.type_name))
                        .collect(),
                });
            };
            (first.from_json)(payload).map_err(|detail| EngineError::BadPayload {
                id: id.clone(),
                name: name.to_owned(),
                expected: first.type_name.to_owned(),
                detail,
            })?
        } else {
            let Some(shape) = self.inner.stored_shape(&key).await else {
                return Err(EngineError::UnknownDefinition {
                    id,
                    workflow: record.workflow,
                });
            };
            crate::admin::encode_signal_by_description(&shape, &id, name, payload)?
        };
        let limit = self.inner.config.max_payload;
        crate::limits::check("signal payload", bytes.len(), limit)?;
        let signal = NewSignal {
            id: id.clone(),
            name: name.to_owned(),
            payload: bytes,
            now: self.inner.now(),
        };
        if let Err(e) = self
            .inner
            .store
            .send_signal(signal)
            .instrument(store_span!("send_signal"))
            .await
        {
            return Err(match Refused::of(&e) {
                Refused::Finished => self.finished(id).await,
                _ => e.into(),
            });
        }
        self.inner
            .metrics
            .workflow(&record.workflow)
            .signals_sent
            .increment(1);
        self.inner.controls.poke(&id);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The head of instance `id`, which must exist and not have finished.
    async fn load_running(
        &self,
        id: InstanceId,
    ) -> Result<(InstanceId, InstanceRecord), EngineError> {
        let record = self.inner.load(&id).await?;
        if record.status.is_terminal() {
            return Err(EngineError::Finished {
                id,
                status: record.status,
            });
        }
        Ok((id, record))
    }

    async fn finished(&self, id: InstanceId) -> EngineError {
        match self.inner.load(&id).await {
            Ok(r) => EngineError::Finished {
                id,
                status: r.status,
            },
            Err(e) => e.into(),
        }
    }
}
