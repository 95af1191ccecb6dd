//! Drives one claimed instance: runs the tasks its state waits for (concurrently, each in its own
//! tokio task), fires due timers, delivers buffered signals, schedules retries, and commits every
//! transition before acting on it. Stops when the instance finishes, waits for nothing it can
//! do now (the last commit stored when it is next due), is cancelled or paused, loses the
//! sequence-number race to another writer, or its lease may have expired (see `lease.rs`).

mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sayiir_store::{
    BlockKind, Blocked, Claim, Claimed, InstanceId, InstanceRecord, InstanceSummary, Lease, Next,
    Status, StoreError, Timestamp, Transition,
};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::codec::CodecError;
use crate::committer::CommitError;
use crate::feed::{Feed, history_event};
use crate::lease::LeaseClock;
use crate::machine::{MachineError, SlotPath, TaskOptions, TaskOutput, WorkItem, WorkKind};
use crate::registry::{AdvanceFailure, Advanced, DynWorkflow};
use crate::worker::WorkerCtx;

/// Outcome of one task run (`Run`: it could not run, a resource missing, which `build()` rules
/// out).
enum TaskFailure {
    Panicked { task: &'static str, message: String },
    Codec(CodecError),
    Run(MachineError),
}

type TaskResult = (SlotPath, &'static str, u32, Result<TaskOutput, TaskFailure>);

/// A running task: its options and the origin of the call (for the retry decision).
struct Busy {
    options: TaskOptions,
    origin: u64,
}

struct Driver {
    ctx: Arc<WorkerCtx>,
    wf: Arc<dyn DynWorkflow>,
    id: InstanceId,
    /// The generation of the claim this driver runs under.
    generation: u64,
    /// Until when that claim's lease is surely held.
    lease: Arc<LeaseClock>,
    seq: u64,
    state: Vec<u8>,
    /// The stable id of `state`.
    state_id: String,
    work: Vec<WorkItem>,
    running: JoinSet<TaskResult>,
    busy: HashMap<SlotPath, Busy>,
    poke: Arc<Notify>,
    /// Set once this driver is about to give its lease up (see [`Active::leaving`]).
    leaving: Arc<AtomicBool>,
    /// The due time the store holds for the instance, as far as this driver knows.
    stored_due: Option<Timestamp>,
}

/// Why the driver stopped.
pub(crate) enum Stop {
    Finished,
    /// Nothing to do until a due time or a signal; the lease is still to be released.
    Waiting,
    /// As `Waiting`, but the last commit released the lease.
    Parked,
    Lost,
    /// The lease may have expired (no renewal kept it, or a renewal found it lost): the
    /// instance may be claimed again, by this worker too.
    Expired,
    Paused,
    Blocked(BlockKind, String),
    Failed(String),
}

/// A driver about to run: counted as busy and reachable by pokes from its creation (by the
/// worker, before it spawns the driver) until it is dropped, also when the driver's task is
/// aborted (a lost lease) before or while it runs.
pub(crate) struct Active {
    ctx: Arc<WorkerCtx>,
    claim: Claim,
    poke: Arc<Notify>,
    /// Until when the claim's lease is surely held; the worker extends it at each renewal.
    pub(crate) lease: Arc<LeaseClock>,
    /// Set before the driver commits a finishing transition or stops (and so releases its
    /// lease): from then on a lease found lost at renewal is the driver's own doing, and the
    /// worker must not abort it (that could cut it off between a commit's acknowledgement and
    /// its bookkeeping: counters, result waiters).
    pub(crate) leaving: Arc<AtomicBool>,
}

impl Active {
    pub(crate) fn new(ctx: &Arc<WorkerCtx>, claim: Claim, lease: LeaseClock) -> Self {
        ctx.inner.busy_add(1);
        Self {
            poke: ctx.inner.controls.register(&claim.id, claim.generation),
            leaving: Arc::new(AtomicBool::new(false)),
            lease: Arc::new(lease),
            ctx: ctx.clone(),
            claim,
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let Claim { id, generation } = &self.claim;
        self.ctx.inner.controls.unregister(id, *generation);
        self.ctx.inner.busy_sub(1);
    }
}

pub(crate) async fn drive(ctx: Arc<WorkerCtx>, claimed: Claimed, active: Active) -> Claim {
    let claim = claimed.claim();
    let mut record = claimed.record;
    let stop = match crate::takeover::take_over(&ctx, &mut record).await {
        Err(stop) => stop,
        Ok(()) => match start(&ctx, record, claim.generation, active.lease.clone()).await {
            Ok(mut d) => {
                d.poke = active.poke.clone();
                d.leaving = active.leaving.clone();
                d.run().await
            }
            Err(stop) => stop,
        },
    };
    active.leaving.store(true, Ordering::Relaxed);
    let inner = &ctx.inner;
    match stop {
        Stop::Finished => {}
        Stop::Lost => {
            inner.metrics.conflict();
            tracing::info!("another writer moved the instance on (or cancelled it); stopping");
            // Releases only the lease of this claim, if it still holds it.
            release(&ctx, &claim).await;
        }
        Stop::Expired => {
            tracing::warn!(
                "the lease may have expired (not renewed in time, or lost); stopping before the \
                 instance can be claimed again"
            );
            // If this claim still holds it, the instance is free at once (for this worker too).
            release(&ctx, &claim).await;
        }
        Stop::Waiting => release(&ctx, &claim).await,
        // Its last commit released the lease.
        Stop::Parked => {}
        Stop::Paused => {
            tracing::info!("the instance is paused; stopping");
            release(&ctx, &claim).await;
        }
        Stop::Blocked(kind, reason) => {
            tracing::error!(
                ?kind,
                "{reason}; the instance is blocked and left untouched"
            );
            let blocked = Blocked {
                kind,
                reason,
                at: inner.now(),
            };
            if let Err(e) = inner.store.set_blocked(&claim.id, Some(blocked)).await {
                tracing::error!(error = %e, "could not mark the instance blocked");
            }
            inner.metrics.blocked();
            release(&ctx, &claim).await;
            inner.finished(&claim.id);
        }
        Stop::Failed(why) => {
            tracing::warn!("{why}; the instance will be claimed again");
            release(&ctx, &claim).await;
        }
    }
    drop(active);
    claim
}

async fn release(ctx: &WorkerCtx, claim: &Claim) {
    if let Err(e) = ctx
        .inner
        .store
        .release(&ctx.owner, std::slice::from_ref(claim))
        .await
    {
        tracing::warn!(error = %e, "could not release the lease (it will expire)");
    }
}

async fn start(
    ctx: &Arc<WorkerCtx>,
    record: InstanceRecord,
    generation: u64,
    lease: Arc<LeaseClock>,
) -> Result<Driver, Stop> {
    if record.state.is_none() || record.status != Status::Running {
        return Err(Stop::Finished);
    }
    let Some(wf) = ctx.inner.registry.get(&record.key()).map(|e| e.wf.clone()) else {
        let reason = match ctx.inner.mismatch(&InstanceSummary::from(&record)) {
            Some(m) => ctx.inner.explain(m).await.to_string(),
            None => format!(
                "version {} of `{}` (definition {}, fingerprint {}) is not known to this worker",
                record.version,
                record.workflow,
                record.hash.short(),
                record.fingerprint.short()
            ),
        };
        return Err(Stop::Blocked(BlockKind::VersionMismatch, reason));
    };
    let Some(state) = record.state else {
        return Err(Stop::Finished);
    };
    let corrupt = |e: MachineError| {
        Stop::Blocked(
            BlockKind::CorruptState,
            format!("the stored state does not decode: {e}"),
        )
    };
    let work = wf.work(&state).map_err(corrupt)?;
    let state_id = match record.state_id {
        Some(s) => s,
        None => wf.state_id(&state).map_err(corrupt)?.to_string(),
    };
    Ok(Driver {
        ctx: ctx.clone(),
        wf,
        id: record.id.clone(),
        generation,
        lease,
        seq: record.seq,
        state,
        state_id,
        work,
        running: JoinSet::new(),
        busy: HashMap::new(),
        poke: Arc::new(Notify::new()),
        leaving: Arc::new(AtomicBool::new(false)),
        stored_due: record.due_at,
    })
}

impl Driver {
    /// Drives the instance until it stops; by then no task attempt of this driver runs any
    /// more (they are cancelled, and waited for), so that an instance it gives up is never
    /// worked on twice in this process.
    async fn run(&mut self) -> Stop {
        let stop = self.steps().await;
        self.running.shutdown().await;
        stop
    }

    async fn steps(&mut self) -> Stop {
        loop {
            let now = self.ctx.inner.now();
            let (ready, next_due) = match self.plan(now).await {
                Ok(p) => p,
                Err(stop) => return stop,
            };
            let (slot, feed) = match ready {
                Some(r) => r,
                None => {
                    if self.running.is_empty() {
                        // The store says the instance is due but nothing here is (a signal
                        // for a wait not reached yet woke it): store the real due time, or
                        // workers would claim it again and again until then.
                        if self.stored_due.is_some_and(|d| d <= now)
                            && next_due.is_none_or(|d| d > now)
                            && let Err(stop) = self.reschedule(next_due).await
                        {
                            return stop;
                        }
                        // The last commit stored when this instance is next due.
                        return Stop::Waiting;
                    }
                    match self.wait(next_due).await {
                        Ok(Some(r)) => r,
                        Ok(None) => continue,
                        Err(stop) => return stop,
                    }
                }
            };
            match self.step(&slot, feed).await {
                Ok(true) => {}
                Ok(false) => return Stop::Finished,
                Err(stop) => return stop,
            }
        }
    }

    /// Starts what can start and picks the next event that is ready now; otherwise returns the
    /// earliest time something becomes ready.
    async fn plan(
        &mut self,
        now: Timestamp,
    ) -> Result<(Option<(SlotPath, Feed)>, Option<Timestamp>), Stop> {
        // No attempt starts, and none keeps running, once the instance may be claimed again.
        if self.lease.expired() {
            return Err(Stop::Expired);
        }
        let mut ready = None;
        let mut next_due: Option<Timestamp> = None;
        let due_at = |t: Timestamp, next: &mut Option<Timestamp>| {
            *next = Some(next.map_or(t, |n| n.min(t)));
        };
        let mut listening: Vec<(SlotPath, String)> = Vec::new();
        let mut expired: Option<SlotPath> = None;
        for item in self.work.clone() {
            let slot = item.slot;
            match item.kind {
                WorkKind::Immediate => ready = Some((slot, Feed::Start)),
                WorkKind::Task { .. } if self.busy.contains_key(&slot) => {}
                WorkKind::Task {
                    not_before: Some(t),
                    ..
                } if t > now => due_at(t, &mut next_due),
                WorkKind::Task {
                    options:
                        TaskOptions {
                            timeout: Some(after),
                            ..
                        },
                    deadline: None,
                    ..
                } => {
                    // Persist the attempt's deadline before it runs, so a crash does not give
                    // the attempt a fresh budget.
                    ready = Some((
                        slot,
                        Feed::Started {
                            deadline: now.add(after),
                        },
                    ));
                }
                WorkKind::Task {
                    name,
                    attempt,
                    origin,
                    options,
                    deadline,
                    ..
                } => self.start_task(slot, name, attempt, origin, options, deadline)?,
                WorkKind::Timer { due } if due <= now => ready = Some((slot, Feed::Timer)),
                WorkKind::Timer { due } => due_at(due, &mut next_due),
                WorkKind::Signal { name, deadline } => {
                    match deadline {
                        Some(d) if d <= now => expired = Some(slot.clone()),
                        Some(d) => due_at(d, &mut next_due),
                        None => {}
                    }
                    listening.push((slot, name));
                }
                WorkKind::Continue { .. } => {
                    return Err(Stop::Blocked(
                        BlockKind::CorruptState,
                        "a committed state restarts its workflow (continue_as_new must be \
                         applied in the transition that reaches it)"
                            .into(),
                    ));
                }
            }
        }
        if ready.is_none() && !listening.is_empty() {
            ready = self.signal_for(&listening).await?;
        }
        if ready.is_none() {
            ready = expired.map(|slot| (slot, Feed::Timer));
        }
        Ok((ready, next_due))
    }

    /// The first buffered signal some listening slot takes (slots in state order, signals in
    /// send order).
    async fn signal_for(
        &self,
        listening: &[(SlotPath, String)],
    ) -> Result<Option<(SlotPath, Feed)>, Stop> {
        let pending = match self.ctx.inner.store.signals(&self.id).await {
            Ok(p) => p,
            Err(StoreError::NotFound { .. }) => return Err(Stop::Lost),
            Err(e) => return Err(Stop::Failed(format!("cannot read signals: {e}"))),
        };
        for (slot, name) in listening {
            if let Some(s) = pending.iter().find(|s| &s.name == name) {
                return Ok(Some((slot.clone(), Feed::Signal(s.clone()))));
            }
        }
        Ok(None)
    }

    /// Waits for a task to end, the next due time, or a poke (signal, cancel, pause).
    async fn wait(
        &mut self,
        next_due: Option<Timestamp>,
    ) -> Result<Option<(SlotPath, Feed)>, Stop> {
        let clock = self.ctx.inner.clock.clone();
        let timer = async {
            match next_due {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = self.running.join_next() => match joined {
                None => Ok(None),
                Some(Err(e)) => Err(Stop::Failed(format!("task runner failed: {e}"))),
                Some(Ok((slot, task, attempt, result))) => self.task_done(slot, task, attempt, result).map(Some),
            },
            _ = timer => Ok(None),
            () = self.lease.expiry() => Err(Stop::Expired),
            _ = self.poke.notified() => {
                self.check_control().await?;
                Ok(None)
            }
        }
    }

    /// After a poke: stop if the instance was cancelled or paused meanwhile.
    async fn check_control(&self) -> Result<(), Stop> {
        match self.ctx.inner.store.load(&self.id).await {
            Ok(r) if r.status.is_terminal() || r.seq != self.seq => Err(Stop::Lost),
            Ok(r)
                if r.blocked
                    .as_ref()
                    .is_some_and(|b| b.kind == BlockKind::Paused) =>
            {
                Err(Stop::Paused)
            }
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(Stop::Lost),
            Err(e) => Err(Stop::Failed(format!("cannot reload the instance: {e}"))),
        }
    }

    /// Runs and commits one transition. `Ok(false)` when the instance finished.
    async fn step(&mut self, slot: &[u32], feed: Feed) -> Result<bool, Stop> {
        let inner = self.ctx.inner.clone();
        let next_seq = self.seq + 1;
        let span = tracing::info_span!(
            "sayiir.transition",
            workflow = self.wf.name(),
            instance = %self.id,
            seq = next_seq,
            task = feed.task(),
            attempt = feed.attempt(),
            event = feed.kind(),
            worker = %self.ctx.owner,
        );
        let entered = span.enter();
        let now = inner.now();
        let history = history_event(slot, &feed)
            .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
        let mut advanced = self
            .wf
            .advance(&self.state, slot, feed.input(), next_seq, now)
            .map_err(blocked)?;
        // `continue_as_new`: a run that reaches it restarts in the same commit.
        let mut restarted = false;
        while let Advanced::Suspend { state, work, .. } = &advanced {
            let Some(item) = work
                .iter()
                .find(|w| matches!(w.kind, WorkKind::Continue { .. }))
            else {
                break;
            };
            let WorkKind::Continue { input, depth } = &item.kind else {
                break;
            };
            advanced = if *depth == 0 {
                restarted = true;
                self.wf.restart(state, input)
            } else {
                let restart = crate::machine::Input::Restart {
                    start: input,
                    depth: *depth,
                };
                self.wf.advance(state, &item.slot, restart, next_seq, now)
            }
            .map_err(blocked)?;
        }
        drop(entered);
        let limit = inner.config.max_payload;
        let (what, len) = match &advanced {
            Advanced::Suspend { state, .. } => ("the next state", state.len()),
            Advanced::Done { output, .. } => ("the output", output.len()),
        };
        if len > limit {
            return Err(Stop::Blocked(
                BlockKind::PayloadTooLarge,
                crate::limits::block_reason(what, len, limit),
            ));
        }
        let (next, new_state, work, finished) = match advanced {
            Advanced::Suspend {
                state,
                work,
                state_id,
            } => {
                let due_at = work.iter().filter_map(|w| w.kind.due(now)).min();
                // A stored due time in the past stays while the new one is past too: both say
                // "runnable now" (the older one only ranks the instance earlier for a claim
                // after a crash), and an unchanged value spares the store an index update per
                // step (on PostgreSQL, it keeps the head's update a HOT one).
                let due_at = match (due_at, self.stored_due) {
                    (Some(d), Some(s)) if d <= now && s <= d => Some(s),
                    _ => due_at,
                };
                (
                    Next::Running {
                        state: state.clone(),
                        due_at,
                        state_id: state_id.to_string(),
                    },
                    Some((state, state_id)),
                    work,
                    None,
                )
            }
            Advanced::Done { output, failed } => {
                let status = if failed {
                    Status::Failed
                } else {
                    Status::Completed
                };
                (
                    Next::Finished { status, output },
                    None,
                    Vec::new(),
                    Some(failed),
                )
            }
        };
        let stored_due = match &next {
            Next::Running { due_at, .. } => *due_at,
            Next::Finished { .. } => {
                self.leaving.store(true, Ordering::Relaxed);
                None
            }
        };
        // Nothing runs and nothing is due now: this commit parks the instance, and gives the
        // lease up in the same store transaction (one write instead of two per park).
        let parks = !restarted
            && self.running.is_empty()
            && stored_due.is_none_or(|d| d > now)
            && finished.is_none();
        if parks {
            self.leaving.store(true, Ordering::Relaxed);
        }
        let transition = Transition::new(self.id.clone(), self.seq, next, history, now)
            .release_lease(parks.then(|| self.own_lease()))
            .consume_signals(feed.consumed_signal())
            .truncate_history(restarted)
            .listening(listening(&work));
        self.ctx
            .committer
            .commit(transition)
            .instrument(span)
            .await
            .map_err(commit_failure)?;
        inner.metrics.transition();
        self.seq = next_seq;
        self.stored_due = stored_due;
        match (new_state, finished) {
            (Some((state, state_id)), _) => {
                if restarted {
                    // Tasks of the previous run cannot be running: continue_as_new is never
                    // inside a join.
                    self.running.abort_all();
                    self.busy.clear();
                }
                self.state = state;
                state_id.clone_into(&mut self.state_id);
                self.work = work;
                if parks {
                    return Err(Stop::Parked);
                }
                Ok(true)
            }
            (None, failed) => {
                inner.metrics.finished(failed.unwrap_or(false));
                inner.finished(&self.id);
                Ok(false)
            }
        }
    }
}

/// The names of the signals `work` waits for.
pub(crate) fn listening(work: &[WorkItem]) -> Vec<String> {
    work.iter()
        .filter_map(|w| match &w.kind {
            WorkKind::Signal { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

impl Driver {
    /// The lease this driver's claim holds.
    fn own_lease(&self) -> Lease {
        Lease {
            owner: self.ctx.owner.clone(),
            generation: self.generation,
        }
    }

    /// Commits the unchanged state with its real due time (`due`), replacing an earlier due
    /// time the store holds (set by a signal send). One history entry, `rescheduled`.
    async fn reschedule(&mut self, due: Option<Timestamp>) -> Result<(), Stop> {
        let payload = crate::codec::encode(&due.map(Timestamp::as_millis))
            .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
        let transition = Transition::new(
            self.id.clone(),
            self.seq,
            Next::Running {
                state: self.state.clone(),
                due_at: due,
                state_id: self.state_id.clone(),
            },
            sayiir_store::Event {
                kind: "rescheduled".into(),
                payload,
            },
            self.ctx.inner.now(),
        )
        .listening(listening(&self.work));
        self.ctx
            .committer
            .commit(transition)
            .await
            .map_err(commit_failure)?;
        self.seq += 1;
        self.stored_due = due;
        self.ctx.inner.metrics.transition();
        Ok(())
    }
}

/// What a refused commit means for the driver: paused, moved on by another writer (or
/// cancelled, or gone), or a store failure.
pub(crate) fn commit_failure(e: CommitError) -> Stop {
    match e {
        CommitError::Own(StoreError::Paused { .. }) => Stop::Paused,
        CommitError::Own(
            StoreError::Conflict { .. } | StoreError::Finished { .. } | StoreError::NotFound { .. },
        ) => Stop::Lost,
        e => Stop::Failed(format!("commit failed: {e}")),
    }
}

fn blocked(f: AdvanceFailure) -> Stop {
    match f {
        AdvanceFailure::Panicked(m) => {
            Stop::Blocked(BlockKind::Panicked, format!("workflow code panicked: {m}"))
        }
        AdvanceFailure::Machine(e @ MachineError::IterationLimit { .. }) => {
            Stop::Blocked(BlockKind::IterationLimit, e.to_string())
        }
        AdvanceFailure::Machine(e) => {
            Stop::Blocked(BlockKind::CorruptState, format!("transition failed: {e}"))
        }
    }
}
