//! Acting on instances from outside: signals, cancellation, pause and resume.
//!
//! Each one is a store operation first (so it works whatever process runs the instance, and
//! on an instance no worker holds), then a poke to this process's driver of the instance, if
//! any, so it reacts at once: a driver stops (dropping its running tasks' futures) when the
//! instance was cancelled or paused, and looks for buffered signals otherwise. A driver in
//! another process finds out when its next commit is refused or its lease renewal fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sayiir_store::{
    BlockKind, Blocked, Event, InstanceId, InstanceRecord, IntoInstanceId, NewSignal, Next, Status,
    StoreError, Transition,
};
use serde::Serialize;
use tokio::sync::Notify;

use crate::codec;
use crate::engine::Engine;
use crate::error::EngineError;

/// Pokes for the drivers running in this process, by instance and claim generation: a driver
/// left over from an earlier claim of the instance (stopping, not reaped yet) has its own, so
/// unregistering it leaves the current driver's in place.
#[derive(Default)]
pub(crate) struct Controls {
    drivers: Mutex<Pokes>,
}

/// The pokes of each instance's drivers, with their claim generations.
type Pokes = HashMap<InstanceId, Vec<(u64, Arc<Notify>)>>;

impl Controls {
    fn drivers(&self) -> std::sync::MutexGuard<'_, Pokes> {
        // Every change is one insertion or removal.
        self.drivers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the driver of claim `generation` of `id`.
    pub(crate) fn register(&self, id: &InstanceId, generation: u64) -> Arc<Notify> {
        let poke = Arc::new(Notify::new());
        self.drivers()
            .entry(id.clone())
            .or_default()
            .push((generation, poke.clone()));
        poke
    }

    /// Unregisters the driver of claim `generation` of `id` (only that one).
    pub(crate) fn unregister(&self, id: &InstanceId, generation: u64) {
        let mut d = self.drivers();
        if let Some(pokes) = d.get_mut(id) {
            pokes.retain(|(g, _)| *g != generation);
            if pokes.is_empty() {
                d.remove(id);
            }
        }
    }

    /// Wakes the drivers of `id` (a permit is stored for one that is not waiting right now).
    pub(crate) fn poke(&self, id: &InstanceId) {
        if let Some(pokes) = self.drivers().get(id) {
            for (_, n) in pokes {
                n.notify_one();
            }
        }
    }

    /// The number of instances with a registered driver.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.drivers().len()
    }
}

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
        let signal = self.signal_for(id.clone(), record, name, payload)?;
        match self.inner.store.send_signal(signal).await {
            Ok(_) => {}
            Err(StoreError::Finished { .. }) => return Err(self.finished(id).await),
            Err(e) => return Err(e.into()),
        }
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
            // A finishing commit releases whatever lease the instance has.
            let t = Transition::new(
                id.clone(),
                record.seq,
                Next::Finished {
                    status: Status::Cancelled,
                    output: output.clone(),
                },
                event,
                self.inner.now(),
            );
            match self.inner.store.commit(t).await {
                Ok(()) => break,
                // A worker committed meanwhile: try again on the new head.
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::Finished { .. }) => return Err(self.finished(id).await),
                Err(e) => return Err(e.into()),
            }
        }
        self.inner.controls.poke(&id);
        self.inner.finished(&id);
        Ok(())
    }

    /// Pauses instance `id`: no further transition is committed until [`Engine::resume`]; a
    /// driver in this process stops at once (a running task's future is dropped and its
    /// attempt runs again after resume, with the same idempotency key).
    pub async fn pause(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let (id, _) = self.load_running(id.into_instance_id()?).await?;
        let blocked = Blocked {
            kind: BlockKind::Paused,
            reason: "paused by Engine::pause".into(),
            at: self.inner.now(),
        };
        self.inner.store.set_blocked(&id, Some(blocked)).await?;
        self.inner.controls.poke(&id);
        Ok(())
    }

    /// Resumes a paused instance: it is dispatched again from where it stopped.
    pub async fn resume(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let (id, record) = self.load_running(id.into_instance_id()?).await?;
        if record.blocked.as_ref().map(|b| b.kind) != Some(BlockKind::Paused) {
            return Err(EngineError::NotPaused { id });
        }
        self.inner.store.set_blocked(&id, None).await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The head of instance `id`, which must exist and not have finished.
    async fn load_running(
        &self,
        id: InstanceId,
    ) -> Result<(InstanceId, InstanceRecord), EngineError> {
        let record = self.inner.store.load(&id).await?;
        if record.status.is_terminal() {
            return Err(EngineError::Finished {
                id,
                status: record.status,
            });
        }
        Ok((id, record))
    }

    async fn finished(&self, id: InstanceId) -> EngineError {
        match self.inner.store.load(&id).await {
            Ok(r) => EngineError::Finished {
                id,
                status: r.status,
            },
            Err(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Reaping a driver of an earlier claim leaves the current driver reachable.
    #[tokio::test]
    async fn unregistering_an_earlier_claim_keeps_the_current_driver() {
        let controls = Controls::default();
        let id = InstanceId::new("a").unwrap();
        let old = controls.register(&id, 1);
        let current = controls.register(&id, 2);
        controls.unregister(&id, 1);
        controls.poke(&id);
        tokio::time::timeout(std::time::Duration::from_secs(5), current.notified())
            .await
            .expect("the current driver was poked");
        drop(old);
        controls.unregister(&id, 2);
        assert_eq!(controls.len(), 0);
    }
}
