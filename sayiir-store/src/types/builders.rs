//! Constructors and setters of the `#[non_exhaustive]` records users of the [`Store`] trait
//! build: backends ([`InstanceRecord`]), the runtime and tests ([`NewInstance`],
//! [`Transition`], [`ListQuery`]).
//!
//! [`Store`]: crate::Store

use std::num::NonZeroUsize;

use super::{
    BlockKind, BlockWrite, Blocked, DefinitionRef, Event, GateRequest, InstanceId, InstanceRecord,
    Lease, LeaseHolder, ListQuery, NewInstance, Next, Status, Timestamp, Transition,
};

impl InstanceRecord {
    /// The head of instance `id` of `workflow` under `definition`, at sequence number `seq` in
    /// `status`, created at `created_at` and last written then; with no state, state id,
    /// output, due time, block, lease or trace context until set.
    pub fn new(
        id: InstanceId,
        workflow: impl Into<String>,
        definition: DefinitionRef,
        seq: u64,
        status: Status,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            workflow: workflow.into(),
            version: definition.version,
            hash: definition.hash,
            fingerprint: definition.fingerprint,
            seq,
            status,
            state_id: None,
            state: None,
            output: None,
            due_at: None,
            blocked: None,
            created_at,
            updated_at: created_at,
            lease: None,
            trace_context: None,
            priority: 0,
            head_start_ms: 0,
            concurrency_key: None,
        }
    }

    /// Sets [`InstanceRecord::priority`] and [`InstanceRecord::head_start_ms`].
    #[must_use]
    pub fn priority(mut self, priority: i8, head_start_ms: i64) -> Self {
        self.priority = priority;
        self.head_start_ms = head_start_ms;
        self
    }

    /// Sets [`InstanceRecord::concurrency_key`].
    #[must_use]
    pub fn concurrency_key(mut self, key: impl Into<Option<String>>) -> Self {
        self.concurrency_key = key.into();
        self
    }

    /// Sets [`InstanceRecord::state_id`].
    #[must_use]
    pub fn state_id(mut self, state_id: impl Into<Option<String>>) -> Self {
        self.state_id = state_id.into();
        self
    }

    /// Sets [`InstanceRecord::state`].
    #[must_use]
    pub fn state(mut self, state: impl Into<Option<Vec<u8>>>) -> Self {
        self.state = state.into();
        self
    }

    /// Sets [`InstanceRecord::output`].
    #[must_use]
    pub fn output(mut self, output: impl Into<Option<Vec<u8>>>) -> Self {
        self.output = output.into();
        self
    }

    /// Sets [`InstanceRecord::due_at`].
    #[must_use]
    pub fn due_at(mut self, due_at: impl Into<Option<Timestamp>>) -> Self {
        self.due_at = due_at.into();
        self
    }

    /// Sets [`InstanceRecord::blocked`].
    #[must_use]
    pub fn blocked(mut self, blocked: impl Into<Option<Blocked>>) -> Self {
        self.blocked = blocked.into();
        self
    }

    /// Sets [`InstanceRecord::updated_at`].
    #[must_use]
    pub fn updated_at(mut self, updated_at: Timestamp) -> Self {
        self.updated_at = updated_at;
        self
    }

    /// Sets [`InstanceRecord::lease`].
    #[must_use]
    pub fn lease(mut self, lease: impl Into<Option<LeaseHolder>>) -> Self {
        self.lease = lease.into();
        self
    }

    /// Sets [`InstanceRecord::trace_context`].
    #[must_use]
    pub fn trace_context(mut self, trace_context: impl Into<Option<String>>) -> Self {
        self.trace_context = trace_context.into();
        self
    }
}

impl NewInstance {
    /// Instance `id` of `workflow` under `definition`, created at `now` in the state
    /// `state_id` (encoded as `state`), with history entry 0 `event`; runnable at once
    /// (`due_at` is `now`), with an empty input and no trace context until set.
    pub fn new(
        id: InstanceId,
        workflow: impl Into<String>,
        definition: DefinitionRef,
        state_id: impl Into<String>,
        state: Vec<u8>,
        event: Event,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            workflow: workflow.into(),
            version: definition.version,
            hash: definition.hash,
            fingerprint: definition.fingerprint,
            state_id: state_id.into(),
            input: Vec::new(),
            state,
            due_at: Some(now),
            event,
            now,
            trace_context: None,
            priority: 0,
            head_start_ms: 0,
            gates: Vec::new(),
            concurrency_key: None,
        }
    }

    /// Sets [`NewInstance::priority`] and [`NewInstance::head_start_ms`].
    #[must_use]
    pub fn priority(mut self, priority: i8, head_start_ms: i64) -> Self {
        self.priority = priority;
        self.head_start_ms = head_start_ms;
        self
    }

    /// Sets [`NewInstance::gates`].
    #[must_use]
    pub fn gates(mut self, gates: Vec<GateRequest>) -> Self {
        self.gates = gates;
        self
    }

    /// Sets [`NewInstance::concurrency_key`].
    #[must_use]
    pub fn concurrency_key(mut self, key: impl Into<Option<String>>) -> Self {
        self.concurrency_key = key.into();
        self
    }

    /// Sets [`NewInstance::input`].
    #[must_use]
    pub fn input(mut self, input: Vec<u8>) -> Self {
        self.input = input;
        self
    }

    /// Sets [`NewInstance::trace_context`].
    #[must_use]
    pub fn trace_context(mut self, trace_context: impl Into<Option<String>>) -> Self {
        self.trace_context = trace_context.into();
        self
    }

    /// Sets [`NewInstance::due_at`] (`None`: it waits for an outside event).
    #[must_use]
    pub fn due_at(mut self, due_at: impl Into<Option<Timestamp>>) -> Self {
        self.due_at = due_at.into();
        self
    }

    /// The head it has once created (its history entry 0, `event`, and its input are not part
    /// of it).
    pub fn into_record(self) -> InstanceRecord {
        InstanceRecord {
            id: self.id,
            workflow: self.workflow,
            version: self.version,
            hash: self.hash,
            fingerprint: self.fingerprint,
            seq: 0,
            status: Status::Running,
            state_id: Some(self.state_id),
            state: Some(self.state),
            output: None,
            due_at: self.due_at,
            blocked: None,
            created_at: self.now,
            updated_at: self.now,
            lease: None,
            trace_context: self.trace_context,
            priority: self.priority,
            head_start_ms: self.head_start_ms,
            concurrency_key: self.concurrency_key,
        }
    }
}

impl Transition {
    /// The step of instance `id` from sequence number `expected_seq` to `next`, leaving `event`
    /// in the history, committed at `now`; it releases no lease, consumes no signal, keeps
    /// the history, the definition and the block, and listens for no signal until set.
    pub fn new(
        id: InstanceId,
        expected_seq: u64,
        next: Next,
        event: Event,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            expected_seq,
            next,
            event,
            extra_events: Vec::new(),
            release_lease: None,
            consume_signals: Vec::new(),
            truncate_history: false,
            redefine: None,
            listening: Vec::new(),
            block: BlockWrite::Keep,
            now,
        }
    }

    /// Sets [`Transition::extra_events`].
    #[must_use]
    pub fn extra_events(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.extra_events = events.into_iter().collect();
        self
    }

    /// The sequence number of the head once `self` is committed: `expected_seq + 1` plus
    /// one per extra event. `None` on overflow.
    pub fn next_seq(&self) -> Option<u64> {
        let extra = u64::try_from(self.extra_events.len()).ok()?;
        self.expected_seq.checked_add(1)?.checked_add(extra)
    }

    /// Sets [`Transition::release_lease`].
    #[must_use]
    pub fn release_lease(mut self, lease: impl Into<Option<Lease>>) -> Self {
        self.release_lease = lease.into();
        self
    }

    /// Sets [`Transition::consume_signals`].
    #[must_use]
    pub fn consume_signals(mut self, signal_ids: impl IntoIterator<Item = u64>) -> Self {
        self.consume_signals = signal_ids.into_iter().collect();
        self
    }

    /// Sets [`Transition::truncate_history`].
    #[must_use]
    pub fn truncate_history(mut self, truncate: bool) -> Self {
        self.truncate_history = truncate;
        self
    }

    /// Sets [`Transition::redefine`].
    #[must_use]
    pub fn redefine(mut self, definition: impl Into<Option<DefinitionRef>>) -> Self {
        self.redefine = definition.into();
        self
    }

    /// Sets [`Transition::listening`].
    #[must_use]
    pub fn listening<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.listening = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`Transition::block`].
    #[must_use]
    pub fn block(mut self, block: BlockWrite) -> Self {
        self.block = block;
        self
    }
}

impl ListQuery {
    /// Every instance, no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only instances of this workflow.
    #[must_use]
    pub fn workflow(mut self, workflow: impl Into<String>) -> Self {
        self.workflow = Some(workflow.into());
        self
    }

    /// Only instances of this declared version.
    #[must_use]
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// Only instances in this status.
    #[must_use]
    pub fn status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Only instances in the state with this id.
    #[must_use]
    pub fn state_id(mut self, state_id: impl Into<String>) -> Self {
        self.state_id = Some(state_id.into());
        self
    }

    /// Only blocked (`true`) or unblocked (`false`) instances.
    #[must_use]
    pub fn blocked(mut self, blocked: bool) -> Self {
        self.blocked = Some(blocked);
        self
    }

    /// Only instances blocked by one of `kinds` (none at all if it is empty).
    #[must_use]
    pub fn blocked_by(mut self, kinds: impl IntoIterator<Item = BlockKind>) -> Self {
        let mut kinds: Vec<BlockKind> = kinds.into_iter().collect();
        kinds.sort_by_key(|k| k.code());
        kinds.dedup();
        self.block_kinds = Some(kinds);
        self
    }

    /// Only instances that need an operator: blocked by a kind whose
    /// [`BlockKind::needs_attention`] holds.
    #[must_use]
    pub fn needs_attention(self) -> Self {
        self.blocked_by(
            BlockKind::ALL
                .iter()
                .copied()
                .filter(|k| k.needs_attention()),
        )
    }

    /// Only instances created at `from` or later.
    #[must_use]
    pub fn created_from(mut self, from: Timestamp) -> Self {
        self.created.from = Some(from);
        self
    }

    /// Only instances created before `until`.
    #[must_use]
    pub fn created_until(mut self, until: Timestamp) -> Self {
        self.created.until = Some(until);
        self
    }

    /// Only instances last written at `from` or later.
    #[must_use]
    pub fn updated_from(mut self, from: Timestamp) -> Self {
        self.updated.from = Some(from);
        self
    }

    /// Only instances last written before `until`.
    #[must_use]
    pub fn updated_until(mut self, until: Timestamp) -> Self {
        self.updated.until = Some(until);
        self
    }

    /// Only ids starting with `prefix` (byte by byte).
    #[must_use]
    pub fn id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.id_prefix = Some(prefix.into());
        self
    }

    /// Only ids strictly greater than `id` (the keyset cursor: the last id of the previous
    /// page).
    #[must_use]
    pub fn after(mut self, id: impl Into<Option<InstanceId>>) -> Self {
        self.after = id.into();
        self
    }

    /// At most this many instances (`None`: no limit). `NonZeroUsize::new(n)` gives either.
    #[must_use]
    pub fn limit(mut self, limit: impl Into<Option<NonZeroUsize>>) -> Self {
        self.limit = limit.into();
        self
    }
}
