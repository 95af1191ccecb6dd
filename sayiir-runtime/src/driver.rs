//! Drives one claimed instance: runs the tasks its state waits for (concurrently, each in its own
//! tokio task), fires due timers, delivers buffered signals, schedules retries, and commits every
//! transition before acting on it. Stops when the instance finishes, waits for nothing it can
//! do now (the last commit stored when it is next due), is cancelled or paused, loses the
//! sequence-number race to another writer, or its lease may have expired (see `lease.rs`).

mod attention;
mod fold;
mod limits;
mod takeover;
mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sayiir_store::{
    BlockKind, BlockWrite, Blocked, Claim, Claimed, InstanceId, InstanceRecord, InstanceSummary,
    Lease, Next, SignalRecord, Status, Timestamp,
};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::codec::CodecError;
use crate::commit::{self, Refused};
use crate::committer::CommitError;
use crate::core::WorkerCtx;
use crate::describe::WorkflowShape;
use crate::feed::{Feed, history_event};
use crate::lease::LeaseClock;
use crate::machine::{Input, MachineError, SlotPath, TaskOutput, WorkItem, WorkKind};
use crate::metrics::WorkflowInstruments;
use crate::planner::{self, Attempt, Decision, Restart};
use crate::registry::{AdvanceFailure, Advanced, DynWorkflow};
use crate::trace_context::{Parent, store_span};

/// Outcome of one task run (`Run`: it could not run, a resource missing, which `build()` rules
/// out).
enum TaskFailure {
    Panicked { task: &'static str, message: String },
    Codec(CodecError),
    Run(MachineError),
}

type TaskResult = (SlotPath, &'static str, u32, Result<TaskOutput, TaskFailure>);

struct Driver {
    ctx: Arc<WorkerCtx>,
    wf: Arc<dyn DynWorkflow>,
    /// The workflow's metrics.
    m: Arc<WorkflowInstruments>,
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
    /// The attempts in `running`, by slot.
    busy: HashMap<SlotPath, Attempt>,
    poke: Arc<Notify>,
    /// Set once this driver is about to give its lease up (see [`Active::leaving`]).
    leaving: Arc<AtomicBool>,
    /// The due time the store holds for the instance, as far as this driver knows.
    stored_due: Option<Timestamp>,
    /// The description of the instance's definition (error texts of parked calls).
    shape: Arc<WorkflowShape>,
    /// An operator's request (retry or fail) the claim handed over, carried out first.
    request: Option<BlockKind>,
    /// The next commit clears the instance's block (the request it carries out).
    clear_block: bool,
    /// The trace context the instance was started under: the parent of this driver's spans.
    parent: Parent,
    /// Rounds in a row in which an attempt was refused a slot of its task's limit.
    slot_waits: u32,
    /// Set in a round that refused an attempt a slot: the local waiters of that limit.
    waiting_on: Option<Arc<crate::core::LocalLimit>>,
    /// This driver asks the store again for its process (see `limits.rs`).
    poller: Option<limits::Poller>,
    /// The attempts of this driver waiting for a slot, by slot.
    queued: HashMap<SlotPath, limits::Queued>,
    /// The last wait ended (a slot given back here, a delay, a poke): ask for slots again.
    woken: bool,
    /// The starts reserved of their task's rate limit by attempts not started yet, by slot.
    reserved: HashMap<SlotPath, Timestamp>,
    /// Set in a round in which an attempt waits for its reserved start: the earliest.
    rate_wait: Option<Timestamp>,
    /// The instance's concurrency key: the limits of `per_key` tasks are split by it.
    concurrency_key: Option<String>,
    /// An attempt's end taken out of `running` by a fold that could not take it (see
    /// `fold.rs`): the next wait returns it first.
    deferred: Option<Result<(SlotPath, Feed), Stop>>,
}

/// Why the driver stopped.
pub(crate) enum Stop {
    Finished,
    /// Nothing to do until a due time or a signal; the lease is still to be released.
    Waiting,
    /// As `Waiting`, but the last commit released the lease.
    Parked,
    /// A call's attempts are used up and its task parks: `Driver::park` commits it.
    Park(SlotPath, String, u32, TaskOutput),
    /// The last commit parked the instance for an operator (and released the lease).
    NeedsAttention,
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
        ctx.inner.metrics.gauges.in_flight.increment(1.0);
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
        self.ctx.inner.metrics.gauges.in_flight.decrement(1.0);
    }
}

/// Drives the instance `claimed` until it stops; its spans are children of `parent`.
pub(crate) async fn drive(
    ctx: Arc<WorkerCtx>,
    claimed: Claimed,
    active: Active,
    parent: Parent,
) -> Claim {
    let claim = claimed.claim();
    let mut record = claimed.record;
    let m = ctx.inner.metrics.workflow(&record.workflow);
    if let Some(due) = record.due_at {
        let waited = due.until(ctx.inner.now());
        m.start_delay.record(waited.as_secs_f64());
    }
    let stop = match takeover::take_over(&ctx, &mut record, &m).await {
        Err(stop) => stop,
        Ok(()) => match start(&ctx, record, claim.generation, active.lease.clone(), &m).await {
            Ok(mut d) => {
                d.poke = active.poke.clone();
                d.leaving = active.leaving.clone();
                d.parent = parent;
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
            inner.metrics.conflict(&m);
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
        Stop::NeedsAttention => {
            inner.metrics.blocked(m.name(), BlockKind::Parked.name());
            inner.finished(&claim.id);
        }
        // `steps` commits a park; one cannot end a drive.
        Stop::Park(..) => {
            tracing::error!("a park was not committed; the instance will be claimed again");
            release(&ctx, &claim).await;
        }
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
            if let Err(e) = inner
                .store
                .set_blocked(&claim.id, Some(blocked))
                .instrument(store_span!("set_blocked"))
                .await
            {
                tracing::error!(error = %e, "could not mark the instance blocked");
            }
            inner.metrics.blocked(m.name(), kind.name());
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
        .instrument(store_span!("release"))
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
    m: &Arc<WorkflowInstruments>,
) -> Result<Driver, Stop> {
    if record.state.is_none() || record.status != Status::Running {
        return Err(Stop::Finished);
    }
    let Some((wf, shape)) = ctx
        .inner
        .registry
        .get(&record.key())
        .map(|e| (e.wf.clone(), e.shape.clone()))
    else {
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
        m: m.clone(),
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
        shape,
        request: record
            .blocked
            .as_ref()
            .map(|b| b.kind)
            .filter(|k| k.is_request()),
        clear_block: false,
        parent: Parent::default(),
        slot_waits: 0,
        waiting_on: None,
        poller: None,
        queued: HashMap::new(),
        woken: false,
        reserved: HashMap::new(),
        rate_wait: None,
        concurrency_key: record.concurrency_key,
        deferred: None,
    })
}

impl Driver {
    /// Drives the instance until it stops; by then no task attempt of this driver runs any
    /// more (they are cancelled, and waited for), so that an instance it gives up is never
    /// worked on twice in this process.
    async fn run(&mut self) -> Stop {
        let stop = match self.request.take() {
            Some(kind) => match self.perform(kind).await {
                Ok(true) => self.steps().await,
                Ok(false) => Stop::Finished,
                Err(stop) => stop,
            },
            None => self.steps().await,
        };
        self.running.shutdown().await;
        stop
    }

    async fn steps(&mut self) -> Stop {
        loop {
            let now = self.ctx.inner.now();
            let decision = match self.plan(now).await {
                Ok(d) => d,
                Err(stop) => return stop,
            };
            let (slot, feed) = match decision {
                Decision::Fire(slot, feed) => (slot, feed),
                Decision::Idle { next_due, .. } => {
                    // The store says the instance is due but nothing here is (a signal for a
                    // wait not reached yet woke it): store the real due time, or workers
                    // would claim it again and again until then.
                    if self.stored_due.is_some_and(|d| d <= now)
                        && next_due.is_none_or(|d| d > now)
                        && let Err(stop) = self.reschedule(next_due).await
                    {
                        return stop;
                    }
                    // The last commit stored when this instance is next due.
                    return Stop::Waiting;
                }
                Decision::Wait { next_due } => match self.wait(next_due).await {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(Stop::Park(slot, task, attempt, output)) => {
                        return self.park(slot, &task, attempt, output).await;
                    }
                    Err(stop) => return stop,
                },
            };
            match self.step(&slot, feed).await {
                Ok(true) => {}
                Ok(false) => return Stop::Finished,
                Err(stop) => return stop,
            }
        }
    }

    /// Starts the attempts the planner starts and returns its decision (see `planner.rs`),
    /// reading the buffered signals only when it looks at them.
    async fn plan(&mut self, now: Timestamp) -> Result<Decision, Stop> {
        // No attempt starts, and none keeps running, once the instance may be claimed again.
        if self.lease.expired() {
            return Err(Stop::Expired);
        }
        let plan = planner::plan(&self.work, &self.busy, now)
            .map_err(|e| Stop::Blocked(BlockKind::CorruptState, e.to_string()))?;
        self.waiting_on = None;
        self.rate_wait = None;
        let mut refused = false;
        // The state is decoded once for all the attempts the round starts.
        let (runs, shared) = match plan.start.first() {
            None => (Vec::new(), Arc::default()),
            Some(first) => {
                let slots: Vec<&[u32]> = plan.start.iter().map(|a| a.slot.as_slice()).collect();
                let (runs, shared) = self
                    .wf
                    .run_all(&self.state, &slots)
                    .map_err(|e| tasks::cannot_start(first.task, &e))?;
                (runs, Arc::new(shared))
            }
        };
        for (attempt, run) in plan.start.iter().zip(runs) {
            match self.take_slot(attempt).await? {
                Some(held) => {
                    let run = run.map_err(|e| tasks::cannot_start(attempt.task, &e))?;
                    self.start_task(attempt.clone(), held, run, Arc::clone(&shared));
                }
                None => refused = true,
            }
        }
        if !refused {
            self.slot_waits = 0;
            self.poller = None;
            self.queued.clear();
        }
        let pending = if plan.needs_signals() {
            self.pending_signals().await?
        } else {
            Vec::new()
        };
        // An attempt's end a fold left for later is still to be fed: the round waits for it
        // (the next wait returns it at once), as it would for an attempt still running.
        let decision = match plan.decide(&pending) {
            Decision::Idle { next_due, .. } if self.deferred.is_some() => {
                Decision::Wait { next_due }
            }
            decision => decision,
        };
        // An attempt refused a slot waits with the instance held: until a slot may be free.
        Ok(match (decision, self.slot_retry(now)) {
            (Decision::Wait { next_due } | Decision::Idle { next_due, .. }, Some(retry)) => {
                Decision::Wait {
                    next_due: Some(next_due.map_or(retry, |d| d.min(retry))),
                }
            }
            (decision, _) => decision,
        })
    }

    /// The signals buffered for the instance, in send order.
    async fn pending_signals(&self) -> Result<Vec<SignalRecord>, Stop> {
        self.ctx
            .inner
            .store
            .signals(&self.id)
            .instrument(store_span!("signals"))
            .await
            .map_err(|e| stop(&Refused::of(&e), "cannot read signals"))
    }

    /// Waits for a task to end, the next due time, or a poke (signal, cancel, pause).
    async fn wait(
        &mut self,
        next_due: Option<Timestamp>,
    ) -> Result<Option<(SlotPath, Feed)>, Stop> {
        if let Some(ended) = self.deferred.take() {
            return ended.map(Some);
        }
        let clock = self.ctx.inner.clock.clone();
        // Nothing runs: the driver only waits for the clock (a reserved start, a slot). The
        // engine is held only then (most waits have an attempt running).
        let timed = next_due
            .filter(|_| self.running.is_empty())
            .map(|t| (self.ctx.inner.clone(), t));
        let timer = async {
            let _timed = timed.as_ref().map(|(inner, t)| inner.timed_wait(*t));
            match next_due {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let freed = self.waiting_on.clone();
        let slot_freed = async {
            match freed {
                Some(local) => local.freed.notified().await,
                None => std::future::pending().await,
            }
        };
        let waited = tokio::select! {
            joined = self.running.join_next(), if !self.running.is_empty() => match joined {
                None => Ok(None),
                Some(Err(e)) => Err(Stop::Failed(format!("task runner failed: {e}"))),
                Some(Ok((slot, task, attempt, result))) => self.task_done(slot, task, attempt, result).map(Some),
            },
            _ = timer => Ok(None),
            () = slot_freed => Ok(None),
            () = self.lease.expiry() => Err(Stop::Expired),
            _ = self.poke.notified() => {
                self.check_control().await?;
                Ok(None)
            }
        };
        // A wait that ends without a result (a slot given back, the delay, a poke) lets an
        // attempt waiting for a slot ask again.
        if matches!(waited, Ok(None)) {
            self.woken = self.waiting_on.is_some();
        }
        waited
    }

    /// After a poke: stop if the instance was cancelled or paused meanwhile.
    async fn check_control(&self) -> Result<(), Stop> {
        match self.ctx.inner.load(&self.id).await {
            Ok(r) if r.status.is_terminal() || r.seq != self.seq => Err(Stop::Lost),
            Ok(r)
                if r.blocked
                    .as_ref()
                    .is_some_and(|b| b.kind == BlockKind::Paused) =>
            {
                Err(Stop::Paused)
            }
            Ok(_) => Ok(()),
            Err(e) => Err(stop(&Refused::of(&e), "cannot reload the instance")),
        }
    }

    /// Runs and commits one transition. `Ok(false)` when the instance finished.
    async fn step(&mut self, slot: &[u32], feed: Feed) -> Result<bool, Stop> {
        let started = std::time::Instant::now();
        let inner = self.ctx.inner.clone();
        let next_seq = self.seq + 1;
        let span = tracing::debug_span!(
            "sayiir.transition",
            sayiir.workflow.name = self.wf.name(),
            sayiir.instance.id = %self.id,
            sayiir.transition.seq = next_seq,
            sayiir.task.name = feed.task(),
            sayiir.task.attempt = feed.attempt(),
            sayiir.transition.event = feed.kind(),
            sayiir.transition.events = tracing::field::Empty,
            sayiir.worker.id = %self.ctx.owner,
        );
        self.parent.adopt(&span);
        let entered = span.enter();
        let now = inner.now();
        if matches!(feed, Feed::Timer) {
            self.timer_fired(slot, now);
        }
        let history = history_event(slot, &feed)
            .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
        let mut fold = fold::Fold::default();
        let (advanced, fed) = if feed.folds() {
            let wf = Arc::clone(&self.wf);
            let state = std::mem::take(&mut self.state);
            let folded =
                wf.advance_fold(&state, (slot, feed.input()), next_seq, now, &mut |work| {
                    self.fold_next(work, now, &mut fold)
                });
            self.state = state;
            folded
        } else {
            self.wf
                .advance(&self.state, slot, feed.input(), next_seq, now)
                .map(|a| (a, 1))
        }
        .map_err(blocked)?;
        let mut advanced = advanced;
        // The sequence number of the last history entry (the head's after the commit).
        let last_seq = next_seq + (fed - 1);
        span.record("sayiir.transition.events", fed);
        // `continue_as_new`: a run that reaches it restarts in the same commit.
        let mut restarted = false;
        while let Advanced::Suspend { state, work, .. } = &advanced {
            let Some(restart) = planner::restart_of(work) else {
                break;
            };
            advanced = match restart {
                Restart::Run { start } => {
                    restarted = true;
                    self.wf.restart(state, start)
                }
                Restart::Child { slot, start, depth } => {
                    let input = Input::Restart { start, depth };
                    self.wf.advance(state, slot, input, last_seq, now)
                }
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
                let due_at = planner::due_at(&work, now, self.stored_due);
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
            && self.deferred.is_none()
            && stored_due.is_none_or(|d| d > now)
            && finished.is_none();
        if parks {
            self.leaving.store(true, Ordering::Relaxed);
        }
        let mut transition = commit::transition(self.id.clone(), self.seq, next, history, now)
            .extra_events(fold.events);
        transition.release_lease = parks.then(|| self.own_lease());
        transition.consume_signals = feed.consumed_signal().into_iter().collect();
        transition.truncate_history = restarted;
        transition.listening = planner::listening(&work);
        if std::mem::take(&mut self.clear_block) {
            transition = transition.block(BlockWrite::Clear);
        }
        self.ctx
            .committer
            .commit(transition)
            .instrument(span)
            .await
            .map_err(commit_failure)?;
        // One per history entry: a fold of `fed` values counts `fed` transitions, and one step
        // latency (its first value's).
        for _ in 0..fed {
            inner.metrics.transition(&self.m);
        }
        self.m.step_latency.record(started.elapsed().as_secs_f64());
        if feed.consumed_signal().is_some() {
            self.m.signals_consumed.increment(1);
        }
        self.seq = last_seq;
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
                inner.metrics.finished(&self.m, failed.unwrap_or(false));
                inner.finished(&self.id);
                Ok(false)
            }
        }
    }
}

impl Driver {
    /// The lease this driver's claim holds.
    fn own_lease(&self) -> Lease {
        Lease {
            owner: self.ctx.owner.clone(),
            generation: self.generation,
        }
    }

    /// Records how late the timer (or signal deadline) at `slot` fires at `now`.
    fn timer_fired(&self, slot: &[u32], now: Timestamp) {
        let due = self
            .work
            .iter()
            .find(|w| w.slot == slot)
            .and_then(|w| match &w.kind {
                WorkKind::Timer { due } => Some(*due),
                WorkKind::Signal { deadline, .. } => *deadline,
                _ => None,
            });
        if let Some(due) = due {
            self.m.timer_lateness.record(due.until(now).as_secs_f64());
        }
    }

    /// Commits the unchanged state with its real due time (`due`), replacing an earlier due
    /// time the store holds (set by a signal send). One history entry, `rescheduled`.
    async fn reschedule(&mut self, due: Option<Timestamp>) -> Result<(), Stop> {
        let payload = crate::codec::encode(&due.map(Timestamp::as_millis))
            .map_err(|e| Stop::Failed(format!("cannot encode history: {e}")))?;
        let next = Next::Running {
            state: self.state.clone(),
            due_at: due,
            state_id: self.state_id.clone(),
        };
        let event = sayiir_store::Event {
            kind: "rescheduled".into(),
            payload,
        };
        let now = self.ctx.inner.now();
        let mut transition = commit::transition(self.id.clone(), self.seq, next, event, now);
        transition.listening = planner::listening(&self.work);
        self.ctx
            .committer
            .commit(transition)
            .await
            .map_err(commit_failure)?;
        self.seq += 1;
        self.stored_due = due;
        self.ctx.inner.metrics.transition(&self.m);
        Ok(())
    }
}

/// What a refused commit means for the driver (see [`stop`]).
fn commit_failure(e: CommitError) -> Stop {
    stop(&Refused::of_commit(&e), "commit failed")
}

/// What a store error met while `doing` something means for the driver: paused; moved on by
/// another writer, finished (cancelled) or gone, so no longer this driver's; or a store
/// failure, after which the instance is claimed again.
fn stop(refused: &Refused, doing: &str) -> Stop {
    match refused {
        Refused::Paused => Stop::Paused,
        Refused::MovedOn | Refused::Finished | Refused::Gone => Stop::Lost,
        Refused::Failed(e) => Stop::Failed(format!("{doing}: {e}")),
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
