//! The operator's API on [`Engine`]: counts ([`Engine::stats`]), one instance in full
//! ([`Engine::describe`]), its history for people ([`Engine::timeline`]), and the actions on
//! instances that need attention ([`Engine::retry`], [`Engine::fail`]; `pause`, `resume` and
//! `cancel` are in `control.rs`), each allowed only from the statuses [`Operation`] lists.
//!
//! Everything here works on any store whether or not this engine registers the instance's
//! workflow: with its registration, values are decoded through the workflow's own types; else
//! through the description the registering binary saved in the store; else shown as sizes.

mod audit;
mod decode;
mod leases;
mod limits;
mod timeline;

use std::collections::BTreeMap;

use serde::Serialize;

use sayiir_store::{
    BlockChange, BlockKind, Blocked, InstanceId, InstanceRecord, InstanceSummary, IntoInstanceId,
    LeaseHolder, Status, StoreError, Timestamp, WorkflowKey,
};

pub use crate::ops::Operation;
pub use decode::DecodedBy;
pub use limits::{LimitInfo, RateInfo};
pub use sayiir_store::{AuditEntry, AuditResult, LeaseInfo, NewAuditEntry};
pub use timeline::{TimelineEntry, rfc3339};

pub use crate::inspect::{StateView, WaitView};
use tracing::Instrument;

use crate::engine::{Engine, InstanceInfo, InstanceStatus};
use crate::error::EngineError;
use crate::machine::{OnExhausted, WorkKind};
use crate::trace_context::store_span;
use decode::Decoder;

/// Instance counts per workflow, version, status and block, and the backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// One row per (workflow, version, status, block kind), ordered by those.
    pub groups: Vec<StatsGroup>,
    /// Instances due but not claimed by any worker (running, due, not blocked, no live
    /// lease): work waiting for a worker.
    pub due: u64,
    /// The earliest due time among them: how far behind the workers are.
    pub oldest_due: Option<Timestamp>,
    /// When the counts were read.
    pub at: Timestamp,
}

/// One row of [`Stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatsGroup {
    /// Workflow name.
    pub workflow: String,
    /// Declared version.
    pub version: u32,
    /// Status.
    pub status: Status,
    /// The block of running instances, if any.
    pub blocked: Option<BlockKind>,
    /// How many.
    pub count: u64,
}

/// Everything about one instance ([`Engine::describe`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Description {
    /// Status, workflow, version, hash, state id, times (as [`Engine::status`]).
    pub info: InstanceInfo,
    /// The worker holding its lease (an expired lease is shown with its end).
    pub lease: Option<LeaseHolder>,
    /// What it waits for, as the registered code says (task attempts with their limits,
    /// timers, signals by name); empty when this engine does not register its definition
    /// (then [`Description::state`]'s wait says what the stored state holds).
    pub waiting: Vec<Waiting>,
    /// The current state decoded: its id, carried values as JSON, its wait.
    pub state: Option<StateView>,
    /// Size of the stored state, in bytes.
    pub state_size: Option<usize>,
    /// The output of a finished instance, as JSON.
    pub output: Option<serde_json::Value>,
    /// Size of the stored output, in bytes.
    pub output_size: Option<usize>,
    /// Signals sent and not consumed yet, in send order.
    pub signals: Vec<PendingSignal>,
    /// How the values were decoded.
    pub decoded_by: DecodedBy,
    /// What could not be decoded, and why.
    pub problems: Vec<String>,
    /// What an operator may do to it now.
    pub allowed: Vec<Operation>,
}

/// A wait of the current state, as the registered code reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Waiting {
    /// The state advances right away (it has not run its first transition).
    Runnable {
        /// Slot path (empty at the top; branch indexes inside joins and children).
        slot: Vec<u32>,
    },
    /// A task call.
    Task {
        /// Slot path.
        slot: Vec<u32>,
        /// Task name.
        task: String,
        /// The attempt to run (from 1).
        attempt: u32,
        /// Attempts allowed (`retries + 1`).
        attempts: u32,
        /// Its backoff: not before this time.
        not_before: Option<Timestamp>,
        /// The running attempt's deadline (tasks with a timeout).
        deadline: Option<Timestamp>,
        /// Whether its last failure parks the instance (else the error flows).
        parks_when_exhausted: bool,
    },
    /// A durable timer.
    Timer {
        /// Slot path.
        slot: Vec<u32>,
        /// When it fires.
        due: Timestamp,
    },
    /// A signal.
    Signal {
        /// Slot path.
        slot: Vec<u32>,
        /// Signal name.
        name: String,
        /// Its deadline, if any.
        deadline: Option<Timestamp>,
    },
    /// `continue_as_new` (applied by the transition that reaches it).
    ContinueAsNew {
        /// Slot path.
        slot: Vec<u32>,
    },
}

/// A signal buffered for an instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PendingSignal {
    /// Store-assigned id (send order).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Send time.
    pub sent_at: Timestamp,
    /// Payload as JSON, when it decodes.
    pub value: Option<serde_json::Value>,
    /// Payload size, in bytes.
    pub size: usize,
}

impl Engine {
    /// Counts of instances per workflow, version, status and block kind, and the due backlog
    /// (instances due that no worker has claimed).
    pub async fn stats(&self) -> Result<Stats, EngineError> {
        let store = &self.inner.store;
        let mut groups: BTreeMap<(String, u32, i64, Option<i64>), StatsGroup> = BTreeMap::new();
        for c in store
            .version_counts()
            .instrument(store_span!("version_counts"))
            .await?
        {
            let key = (
                c.workflow.clone(),
                c.version,
                c.status.code(),
                c.blocked.map(BlockKind::code),
            );
            groups
                .entry(key)
                .or_insert_with(|| StatsGroup {
                    workflow: c.workflow.clone(),
                    version: c.version,
                    status: c.status,
                    blocked: c.blocked,
                    count: 0,
                })
                .count += c.count;
        }
        let at = self.inner.now();
        let backlog = store.backlog(at).instrument(store_span!("backlog")).await?;
        Ok(Stats {
            groups: groups.into_values().collect(),
            due: backlog.due,
            oldest_due: backlog.oldest_due,
            at,
        })
    }

    /// Everything about instance `id`: its status, definition and state, what it waits for,
    /// its carried values and output decoded to JSON, its buffered signals, the lease holder
    /// and the operations allowed on it. Values are decoded through the registered workflow's
    /// types, or the description saved in the store, or shown as sizes (see
    /// [`Description::decoded_by`]); a value that does not decode is listed in
    /// [`Description::problems`] and never fails the call.
    pub async fn describe(&self, id: impl IntoInstanceId) -> Result<Description, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.load(&id).await?;
        let info = self.status_of(&record).await?;
        let decoder = self.decoder_for(&record.key()).await;
        let mut problems = Vec::new();
        let mut waiting = Vec::new();
        let mut state = None;
        if let Some(blob) = &record.state {
            if let Some(entry) = self.inner.registry.get(&record.key()) {
                match entry.wf.work(blob) {
                    Ok(items) => waiting = items.into_iter().map(waiting_of).collect(),
                    Err(e) => problems.push(format!("the state does not decode: {e}")),
                }
            }
            match decoder.state(blob) {
                Ok(v) => state = Some(v),
                Err(why) => problems.push(format!("state: {why}")),
            }
        }
        let mut output = None;
        if let Some(bytes) = &record.output {
            let decoded = if record.status == Status::Cancelled {
                crate::codec::decode::<String>(bytes)
                    .map(serde_json::Value::String)
                    .map_err(|e| e.to_string())
            } else {
                decoder.output(bytes)
            };
            match decoded {
                Ok(v) => output = Some(v),
                Err(why) => problems.push(format!("output: {why}")),
            }
        }
        let mut signals = Vec::new();
        if !record.status.is_terminal() {
            for s in self
                .inner
                .store
                .signals(&id)
                .instrument(store_span!("signals"))
                .await?
            {
                let value = match decoder.signal_payload(&s.name, &s.payload) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        problems.push(format!("signal #{} `{}`: {why}", s.signal_id, s.name));
                        None
                    }
                };
                signals.push(PendingSignal {
                    id: s.signal_id,
                    size: s.payload.len(),
                    name: s.name,
                    sent_at: s.sent_at,
                    value,
                });
            }
        }
        Ok(Description {
            allowed: Operation::allowed_on(&info.status),
            info,
            lease: record.lease.clone(),
            waiting,
            state,
            state_size: record.state.as_ref().map(Vec::len),
            output,
            output_size: record.output.as_ref().map(Vec::len),
            signals,
            decoded_by: decoder.by().clone(),
            problems,
        })
    }

    /// The history of instance `id` for people: each entry's time in RFC 3339, the time since
    /// the entry before, the task, attempt, error and signal it is about, and its value as
    /// JSON (decoded as in [`Engine::describe`]). The raw entries are [`Engine::history`].
    pub async fn timeline(
        &self,
        id: impl IntoInstanceId,
    ) -> Result<Vec<TimelineEntry>, EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.load(&id).await?;
        let entries = self
            .inner
            .store
            .history(&id, None, None)
            .instrument(store_span!("history"))
            .await?;
        let decoder = self.decoder_for(&record.key()).await;
        Ok(timeline::render(&entries, &decoder))
    }

    /// Runs again the failed call of a parked instance (needs attention: a task's attempts
    /// were used up) with a fresh attempt budget — attempt 1 again, the same arguments and the
    /// same idempotency key — or lets a worker try again an instance blocked because code
    /// panicked, a migration failed or a value was over the payload limit. Takes effect in
    /// whichever worker claims it (any process: the request is stored); the history shows an
    /// `operator-retry` entry. Errors with [`EngineError::NotAllowed`] from any other status
    /// ([`EngineError::Finished`] once finished).
    pub async fn retry(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let record = self.inner.load(&id).await?;
        let parked = record
            .blocked
            .as_ref()
            .is_some_and(|b| b.kind == BlockKind::Parked);
        let (from, to) = if parked {
            (
                vec![Some(BlockKind::Parked)],
                Some(self.request(BlockKind::RetryRequested, "retry")),
            )
        } else {
            (Operation::Retry.acts_on().to_vec(), None)
        };
        self.change_block(id, Operation::Retry, from, to, true)
            .await
    }

    /// Lets the error of a parked instance's failed call flow into the workflow, as if the
    /// task were not configured to park: the workflow's code sees the `Err` at the call's
    /// `.await` (and may compensate, or fail). Takes effect in whichever worker claims it; the
    /// history shows an `operator-fail` entry. Errors with [`EngineError::NotAllowed`] unless
    /// the instance is parked.
    pub async fn fail(&self, id: impl IntoInstanceId) -> Result<(), EngineError> {
        let id = id.into_instance_id()?;
        let to = Some(self.request(BlockKind::FailRequested, "fail"));
        self.change_block(id, Operation::Fail, vec![Some(BlockKind::Parked)], to, true)
            .await
    }

    fn request(&self, kind: BlockKind, what: &str) -> Blocked {
        Blocked {
            kind,
            reason: format!("{what} requested by an operator"),
            at: self.inner.now(),
        }
    }

    /// The compare-and-set of an operator's action: the block moves from one of `from` to
    /// `to` atomically, or the call fails with [`EngineError::NotAllowed`] naming the status.
    pub(crate) async fn change_block(
        &self,
        id: InstanceId,
        operation: Operation,
        from: Vec<Option<BlockKind>>,
        to: Option<Blocked>,
        wake: bool,
    ) -> Result<(), EngineError> {
        let change = BlockChange::new(id.clone(), from, to, self.inner.now()).wake(wake);
        match self
            .inner
            .store
            .update_block(change)
            .instrument(store_span!("update_block"))
            .await
        {
            Ok(()) => {
                self.inner.metrics.operation(operation.name());
                self.inner.controls.poke(&id);
                self.inner.wake.notify_one();
                Ok(())
            }
            Err(StoreError::BlockState { actual, .. }) => Err(EngineError::NotAllowed {
                id,
                operation,
                status: crate::ops::status_words(Status::Running, actual),
            }),
            Err(StoreError::Finished { .. }) => {
                let status = self.inner.load(&id).await?.status;
                Err(EngineError::Finished { id, status })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// How this engine reports `record` (as [`Engine::status`]).
    async fn status_of(&self, record: &InstanceRecord) -> Result<InstanceInfo, EngineError> {
        let mut info = [self.inner.info(InstanceSummary::from(record))];
        self.mark_unserved(&mut info).await?;
        let [info] = info;
        Ok(info)
    }

    /// The decoder of an instance of definition `key`.
    async fn decoder_for(&self, key: &WorkflowKey) -> Decoder {
        if let Some(entry) = self.inner.registry.get(key) {
            return Decoder::registered(entry.wf.signals().clone(), entry.shape.clone());
        }
        if let Some(shape) = self.inner.stored_shape(key).await {
            return Decoder::stored(shape);
        }
        Decoder::nothing(format!(
            "definition {} (fingerprint {}) of `{}` is neither registered with this engine nor \
             described in the store",
            key.hash.short(),
            key.fingerprint.short(),
            key.workflow
        ))
    }
}

fn waiting_of(item: crate::machine::WorkItem) -> Waiting {
    let slot = item.slot.to_vec();
    match item.kind {
        WorkKind::Immediate => Waiting::Runnable { slot },
        WorkKind::Task {
            name,
            attempt,
            options,
            not_before,
            deadline,
            ..
        } => Waiting::Task {
            slot,
            task: name.to_string(),
            attempt,
            attempts: options.retries.saturating_add(1),
            not_before,
            deadline,
            parks_when_exhausted: options.on_exhausted == OnExhausted::Park,
        },
        WorkKind::Timer { due } => Waiting::Timer { slot, due },
        WorkKind::Signal { name, deadline } => Waiting::Signal {
            slot,
            name,
            deadline,
        },
        WorkKind::Continue { .. } => Waiting::ContinueAsNew { slot },
    }
}

/// A JSON signal payload encoded by the description of the instance's definition (no code of
/// the workflow here): the one signal payload type of the description the JSON is a value of.
/// A description does not name its signals, so a JSON value that several of its payload types
/// accept is refused as ambiguous.
pub(crate) fn encode_signal_by_description(
    shape: &crate::describe::WorkflowShape,
    id: &InstanceId,
    name: &str,
    payload: &serde_json::Value,
) -> Result<Vec<u8>, EngineError> {
    let types = shape.signal_payloads();
    let bad = |expected: String, detail: String| EngineError::BadPayload {
        id: id.clone(),
        name: name.to_owned(),
        expected,
        detail,
    };
    if types.is_empty() {
        return Err(bad(
            "signal payload".into(),
            format!("workflow `{}` waits for no signal", shape.name),
        ));
    }
    let mut accepted = Vec::new();
    let mut refusals = Vec::new();
    for t in &types {
        match crate::inspect::from_json(&t.shape, payload) {
            Ok(bytes) => accepted.push((t.rust.clone(), bytes)),
            Err(e) if types.len() == 1 => refusals.push(e.to_string()),
            Err(e) => refusals.push(format!("not a `{}`: {e}", t.rust)),
        }
    }
    let names = || {
        types
            .iter()
            .map(|t| t.rust.as_str())
            .collect::<Vec<_>>()
            .join("` or `")
    };
    match accepted.len() {
        1 => Ok(accepted.remove(0).1),
        0 => Err(bad(names(), refusals.join("; "))),
        _ => Err(bad(
            names(),
            "the value fits several of the workflow's signal payload types and the stored \
             description does not say which one `"
                .to_string()
                + name
                + "` takes: send it from a binary that registers the workflow",
        )),
    }
}

impl Operation {
    /// Whether the operation is allowed on an instance in `status`.
    pub fn allowed(self, status: &InstanceStatus) -> bool {
        let block = match status {
            InstanceStatus::Running => None,
            InstanceStatus::Blocked { kind, .. } => Some(*kind),
            _ => return false,
        };
        self == Operation::Cancel || self.acts_on().contains(&block)
    }

    /// The operations allowed on an instance in `status`, in [`Operation::ALL`] order.
    pub fn allowed_on(status: &InstanceStatus) -> Vec<Operation> {
        Operation::ALL
            .into_iter()
            .filter(|op| op.allowed(status))
            .collect()
    }
}
