//! The worker loop: claim runnable instances under a lease, drive each one in its own tokio task,
//! renew the leases, and sleep until the next due time or a wake-up when there is nothing to do.
//!
//! Drivers are known by their claim (instance and lease generation): an instance claimed again
//! while a driver of an earlier claim is still stopping has two drivers here, and reaping the
//! old one never touches the new one's entry.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sayiir_store::{
    BlockKind, Blocked, Claim, ClaimRequest, StoreError, Timestamp, WorkerId, WorkerRecord,
    WorkflowKey,
};
use tokio::sync::{broadcast, watch};
use tokio::task::{AbortHandle, JoinSet};
use tracing::Instrument;

use crate::committer::Committer;
use crate::core::{Inner, WorkerCtx};
use crate::driver;
use crate::error::{EngineError, VersionMismatch};
use crate::lease::LeaseClock;
use crate::registry::panic_message;
use crate::scheduler;
use crate::trace_context::{Parent, store_span};

/// A running worker. Dropping the handle leaves the worker running, with no way left to stop
/// it gracefully or to learn that it failed: keep it, and call [`WorkerHandle::shutdown`].
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// # async fn f(engine: sayiir_runtime::Engine) {
/// engine.spawn_worker();
/// # }
/// ```
#[must_use = "dropping the handle leaves the worker running with no way to shut it down: keep it and call `shutdown`"]
pub struct WorkerHandle {
    id: WorkerId,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), EngineError>>,
}

/// The worker's id and whether its task is still running.
impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("id", &self.id.0)
            .field("running", &!self.task.is_finished())
            .finish()
    }
}

impl WorkerHandle {
    /// The worker's lease owner id.
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// Stops claiming, abandons the running task attempts (they run again on the next claim,
    /// which is why tasks are at-least-once), releases the leases and returns the loop's result.
    pub async fn shutdown(self) -> Result<(), EngineError> {
        let _ = self.stop.send(true);
        self.join().await
    }

    /// Stops the worker at once, without waiting (its drivers' task futures are dropped and
    /// its leases expire).
    pub fn abort(self) {
        self.task.abort();
    }

    /// Waits for the worker to stop by itself. It only does on a fatal error: the store
    /// refused to register it, or the database file is no longer the one the store opened
    /// (deleted or replaced under it: [`StoreError::File`], which claims, lease renewals and
    /// due-time queries then fail with, as do commits and starts). A worker whose task
    /// panicked or was cancelled is [`EngineError::WorkerCrashed`].
    pub async fn join(self) -> Result<(), EngineError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(EngineError::WorkerCrashed {
                worker: self.id,
                panic: e
                    .try_into_panic()
                    .ok()
                    .map(|payload| panic_message(&*payload)),
            }),
        }
    }
}

fn new_worker_id() -> WorkerId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    WorkerId(format!("{host}:{}:{nanos:08x}", std::process::id()))
}

pub(crate) fn spawn(inner: Arc<Inner>) -> WorkerHandle {
    let id = new_worker_id();
    let (stop, stop_rx) = watch::channel(false);
    let span = tracing::info_span!("sayiir.worker", sayiir.worker.id = %id.0);
    let task = tokio::spawn(run(inner, id.clone(), stop_rx).instrument(span));
    WorkerHandle { id, stop, task }
}

async fn run(
    inner: Arc<Inner>,
    owner: WorkerId,
    mut stop: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let store = inner.store.clone();
    store
        .register_worker(&owner)
        .instrument(store_span!("register_worker"))
        .await?;
    if let Err(e) = inner.save_definitions().await {
        tracing::warn!(error = %e, "could not save the registered definitions in the store");
    }
    let cfg = inner.config.clone();
    let ctx = Arc::new(WorkerCtx {
        inner: inner.clone(),
        owner: owner.clone(),
        committer: Committer::spawn(
            store.clone(),
            cfg.max_commit_batch,
            cfg.commit_window,
            inner.metrics.clone(),
        ),
    });
    let known = inner.registry.known();
    let served = inner.registry.served();
    let started_at = Timestamp::now();
    // Aborted when this loop ends, also when the worker itself is aborted.
    let beats = AbortOnDrop(tokio::spawn(heartbeats(
        inner.clone(),
        owner.clone(),
        started_at,
        known.clone(),
    )));
    let sampler = (!cfg.sample_every.is_zero())
        .then(|| AbortOnDrop(tokio::spawn(sample(inner.clone(), cfg.sample_every))));
    let gauges = &inner.metrics.gauges;
    gauges.workers.increment(1.0);
    gauges.limit.increment(cfg.max_instances as f64);
    // Counted down when this loop ends, also when the worker is aborted.
    let _counted = Counted(inner.clone(), cfg.max_instances as f64);
    let mut wakeups = store.wakeups();
    if let Err(e) = report_version_mismatches(&inner).await {
        tracing::warn!(error = %e, "could not check for instances of unknown definitions");
    }
    let mut drivers: JoinSet<Claim> = JoinSet::new();
    let mut inflight: BTreeMap<Claim, Inflight> = BTreeMap::new();
    let mut next_renew = tokio::time::Instant::now() + cfg.lease / 3;
    let mut next_version_check = tokio::time::Instant::now() + cfg.version_check;
    let mut store_backoff = Duration::from_millis(50);
    let mut last_schedule_look = tokio::time::Instant::now();
    let refill = (cfg.claim_batch.min(cfg.max_instances) / 4).max(1);
    while !*stop.borrow() {
        while let Some(done) = drivers.try_join_next() {
            if let Ok(claim) = done {
                inflight.remove(&claim);
            }
        }
        inflight.retain(|_, d| !d.task.is_finished());
        // Renewals first: a claim that fails (and is retried) must not keep them waiting.
        let now = tokio::time::Instant::now();
        if now >= next_renew {
            if !inflight.is_empty()
                && let Err(e) = renew(&inner, &owner, &mut inflight).await
            {
                tracing::error!(error = %e, "the store cannot go on; the worker stops");
                drivers.shutdown().await;
                return Err(e.into());
            }
            next_renew = now + cfg.lease / 3;
        }
        let capacity = cfg.max_instances.saturating_sub(inflight.len());
        // A busy worker waits until a few slots are free before it claims again: one claim per
        // finished driver would cost a store write (and a due-time query) per instance.
        let can_claim = capacity > 0 && (capacity >= refill || inflight.is_empty());
        let mut more = false;
        if can_claim && !known.is_empty() {
            // Wake-ups already received are for changes committed before this claim, which
            // sees them: consumed now, they do not make an idle worker claim (and ask for the
            // next due time) again for nothing once it would wait.
            forget_wakeups(&inner, wakeups.as_mut());
            let limit = capacity.min(cfg.claim_batch);
            let now = inner.now();
            let asked = tokio::time::Instant::now();
            let req = ClaimRequest {
                owner: owner.clone(),
                now,
                lease_until: now.add(cfg.lease),
                limit,
                known: known.clone(),
            };
            // A claim in flight counts as busy until its drivers count themselves.
            inner.busy_add(1);
            let claimed = store.claim(req).instrument(store_span!("claim")).await;
            inner.busy_sub(usize::from(claimed.is_err()));
            match claimed {
                Ok(records) => {
                    store_backoff = Duration::from_millis(50);
                    more = records.len() == limit;
                    for c in records {
                        if c.took_over {
                            let m = inner.metrics.workflow(&c.record.workflow);
                            m.takeovers.increment(1);
                        }
                        let claim = c.claim();
                        stop_earlier_claims(&mut inflight, &claim);
                        let lease = LeaseClock::new(asked, cfg.lease);
                        let active = driver::Active::new(&ctx, claim.clone(), lease);
                        let (leaving, lease) = (active.leaving.clone(), active.lease.clone());
                        let span = tracing::info_span!(
                            "sayiir.instance",
                            sayiir.workflow.name = %c.record.workflow,
                            sayiir.instance.id = %claim.id,
                            sayiir.lease.generation = claim.generation,
                        );
                        // Once per claim: the parent of all the spans of this drive.
                        let parent = Parent::parse(c.record.trace_context.as_deref());
                        parent.adopt(&span);
                        let drive = driver::drive(ctx.clone(), c, active, parent);
                        let task = drivers.spawn(drive.instrument(span));
                        let entry = Inflight {
                            task,
                            leaving,
                            lease,
                        };
                        inflight.insert(claim, entry);
                    }
                    inner.busy_sub(1);
                }
                Err(e) if stops_worker(&e) => {
                    tracing::error!(error = %e, "the store cannot go on; the worker stops");
                    drivers.shutdown().await;
                    return Err(e.into());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claim failed; retrying");
                    tokio::time::sleep(store_backoff).await;
                    store_backoff = (store_backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let now = tokio::time::Instant::now();
        if now >= next_version_check {
            if let Err(e) = report_version_mismatches(&inner).await {
                tracing::warn!(error = %e, "could not check for instances of unknown definitions");
            }
            next_version_check = now + cfg.version_check;
        }
        // Schedules: fire the due ones (a read first: claiming is a write). A worker draining
        // a backlog (`more`) looks at most every `SCHEDULES_WHEN_BUSY`, not at every claim.
        let mut schedule_due = None;
        let finished: Vec<_> = std::mem::take(
            &mut *inner
                .finished_runs
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for run in &finished {
            if let Err(e) = scheduler::poke(&inner, run).await {
                tracing::warn!(instance = %run, error = %e, "could not look for a tick waiting for this run");
            }
        }
        inner.busy_sub(finished.len());
        let look = !more || last_schedule_look.elapsed() >= SCHEDULES_WHEN_BUSY;
        if !served.is_empty() && (look || !finished.is_empty()) {
            last_schedule_look = tokio::time::Instant::now();
            match store
                .next_schedule_due(&served)
                .instrument(store_span!("next_schedule_due"))
                .await
            {
                Ok(Some(due)) if due <= inner.now() => {
                    inner.busy_add(1);
                    let fired = scheduler::run_due(&inner, &owner).await;
                    inner.busy_sub(1);
                    match fired {
                        Ok(n) => more |= n > 0,
                        Err(e) if stops_worker(&e) => {
                            tracing::error!(error = %e, "the store cannot go on; the worker stops");
                            drivers.shutdown().await;
                            return Err(e.into());
                        }
                        Err(e) => tracing::warn!(error = %e, "could not claim due schedules"),
                    }
                }
                Ok(due) => schedule_due = due,
                Err(e) => tracing::warn!(error = %e, "next schedule due time unavailable"),
            }
        }
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        let mut wait = cfg.idle_poll;
        if !inflight.is_empty() {
            // Wake for the next renewal only when there are leases to renew.
            let to_renew = next_renew.saturating_duration_since(now);
            wait = wait.min(to_renew.max(Duration::from_millis(1)));
        }
        if let Some(due) = schedule_due {
            wait = wait.min(inner.now().until(due));
        }
        if can_claim {
            match store
                .next_due(&known)
                .instrument(store_span!("next_due"))
                .await
            {
                Ok(Some(due)) => wait = wait.min(inner.now().until(due)),
                Ok(None) => {}
                Err(e) if stops_worker(&e) => {
                    tracing::error!(error = %e, "the store cannot go on; the worker stops");
                    drivers.shutdown().await;
                    return Err(e.into());
                }
                Err(e) => tracing::warn!(error = %e, "next due time unavailable"),
            }
        }
        if wait.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        let hinted = async {
            match wakeups.as_mut() {
                Some(rx) => match rx.recv().await {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => false,
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = inner.wake.notified() => {}
            open = hinted => {
                if !open {
                    wakeups = None;
                }
            }
            _ = tokio::time::sleep(wait) => {}
            Some(done) = drivers.join_next(), if !drivers.is_empty() => {
                if let Ok(claim) = done {
                    inflight.remove(&claim);
                }
            }
            _ = stop.changed() => {}
        }
    }
    drivers.shutdown().await;
    drop(beats);
    drop(sampler);
    heartbeat(&inner, &owner, started_at, &known, false).await;
    store
        .unregister_worker(&owner)
        .instrument(store_span!("unregister_worker"))
        .await?;
    Ok(())
}

/// Consumes the wake-ups that already arrived: a poke of this engine's (a stored permit) and
/// the store's hints. A hint that reports a lag is a hint too; a closed channel is left for the
/// wait to see.
fn forget_wakeups(inner: &Inner, hints: Option<&mut broadcast::Receiver<()>>) {
    use std::future::Future as _;
    let poke = std::pin::pin!(inner.wake.notified());
    // The first poll takes a stored permit if there is one; else the waiter is dropped.
    let _ = poke.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    if let Some(rx) = hints {
        while let Ok(()) | Err(broadcast::error::TryRecvError::Lagged(_)) = rx.try_recv() {}
    }
}

/// How often a worker that claims batch after batch (a backlog) looks for due schedules.
const SCHEDULES_WHEN_BUSY: Duration = Duration::from_millis(100);

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Takes a worker out of the gauges of running workers when dropped.
struct Counted(Arc<Inner>, f64);

impl Drop for Counted {
    fn drop(&mut self) {
        let gauges = &self.0.metrics.gauges;
        gauges.workers.decrement(1.0);
        gauges.limit.decrement(self.1);
    }
}

/// Samples what the store holds for the gauges (due backlog, instances needing attention)
/// every `every`, until aborted: one query of the due index per sample, whatever the load.
async fn sample(inner: Arc<Inner>, every: Duration) {
    loop {
        let now = inner.now();
        match inner.store.backlog(now).await {
            Ok(b) => {
                let gauges = &inner.metrics.gauges;
                gauges.backlog.set(b.due as f64);
                let age = b.oldest_due.map_or(Duration::ZERO, |d| d.until(now));
                gauges.backlog_age.set(age.as_secs_f64());
                gauges.attention.set(b.needs_attention as f64);
                gauges.parked.set(b.parked as f64);
            }
            Err(e) => tracing::debug!(error = %e, "could not sample the due backlog"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Records this worker as alive every third of its lease, until aborted (its own task, so the
/// claim loop neither wakes for it nor waits for the store on its account).
async fn heartbeats(
    inner: Arc<Inner>,
    owner: WorkerId,
    started_at: Timestamp,
    runs: Vec<WorkflowKey>,
) {
    let every = (inner.config.lease / 3).max(Duration::from_millis(10));
    loop {
        heartbeat(&inner, &owner, started_at, &runs, true).await;
        tokio::time::sleep(every).await;
    }
}

/// Records this worker in the store ([`Store::heartbeat`]) as alive for one lease, or as
/// stopped. Wall-clock times: liveness is about processes, whatever clock the engine runs on.
/// A failure or a store that does not answer within a third of the lease is logged, not
/// fatal: the record only informs `status`, `list` and `workers`.
///
/// [`Store::heartbeat`]: sayiir_store::Store::heartbeat
async fn heartbeat(
    inner: &Inner,
    owner: &WorkerId,
    started_at: Timestamp,
    runs: &[WorkflowKey],
    alive: bool,
) {
    let now = Timestamp::now();
    let record = WorkerRecord {
        id: owner.clone(),
        started_at,
        seen_at: now,
        alive_until: if alive {
            now.add(inner.config.lease)
        } else {
            now
        },
        runs: runs.to_vec(),
    };
    // Bounded, so that a store that does not answer does not hold up the worker loop.
    let limit = (inner.config.lease / 3).max(Duration::from_millis(100));
    match tokio::time::timeout(
        limit,
        inner
            .store
            .heartbeat(record)
            .instrument(store_span!("heartbeat")),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record this worker in the store"),
        Err(_) => tracing::warn!("recording this worker in the store timed out"),
    }
}

/// Whether the worker must stop on `e` rather than retry: the database file is not the one
/// the store opened (deleted or replaced under it), so nothing it writes would last.
fn stops_worker(e: &StoreError) -> bool {
    matches!(e, StoreError::File { .. })
}

/// A running driver: its task, its [`driver::Active::leaving`] flag and its lease clock.
struct Inflight {
    task: AbortHandle,
    leaving: Arc<AtomicBool>,
    lease: Arc<LeaseClock>,
}

/// Before a driver of `claim` starts: a driver of an earlier claim of the same instance that
/// still means to drive it (not leaving) lost its lease, though it did not notice in time
/// (its own deadline stops it a little before the lease ends); it is aborted at once.
fn stop_earlier_claims(inflight: &mut BTreeMap<Claim, Inflight>, claim: &Claim) {
    let first = Claim {
        id: claim.id.clone(),
        generation: 0,
    };
    let earlier: Vec<Claim> = inflight
        .range(first..claim.clone())
        .filter(|(_, d)| !d.leaving.load(Ordering::Relaxed))
        .map(|(c, _)| c.clone())
        .collect();
    for c in earlier {
        if let Some(d) = inflight.remove(&c) {
            tracing::warn!(
                instance = %c.id,
                generation = c.generation,
                "claimed again while a driver of an earlier claim still ran; aborting it"
            );
            d.task.abort();
        }
    }
}

/// Renews the leases of every driver. A renewed lease pushes its driver's deadline back (from
/// when the renewal was asked); a failed renewal pushes nothing, so drivers stop by themselves
/// before their leases may end. Fails only with an error the worker stops on
/// ([`stops_worker`]); others are logged.
async fn renew(
    inner: &Inner,
    owner: &WorkerId,
    inflight: &mut BTreeMap<Claim, Inflight>,
) -> Result<(), StoreError> {
    let claims: Vec<Claim> = inflight.keys().cloned().collect();
    let asked = tokio::time::Instant::now();
    let until = inner.now().add(inner.config.lease);
    match inner
        .store
        .renew(owner, &claims, until)
        .instrument(store_span!("renew"))
        .await
    {
        Ok(lost) => {
            let lost: HashSet<Claim> = lost.into_iter().collect();
            for (claim, d) in inflight.iter() {
                if !lost.contains(claim) {
                    d.lease.renewed(asked);
                }
            }
            for claim in lost {
                // A driver that finished the instance or is stopping gave the lease up itself:
                // it ends on its own and is reaped like any other.
                let mine = inflight
                    .get(&claim)
                    .is_some_and(|d| d.leaving.load(Ordering::Relaxed));
                if mine {
                    continue;
                }
                if let Some(d) = inflight.remove(&claim) {
                    inner.metrics.gauges.leases_lost.increment(1);
                    tracing::warn!(
                        instance = %claim.id,
                        generation = claim.generation,
                        "lease lost; abandoning the instance"
                    );
                    d.task.abort();
                }
            }
        }
        Err(e) if stops_worker(&e) => return Err(e),
        Err(e) => tracing::warn!(
            error = %e,
            "lease renewal failed; drivers not renewed in time stop before their leases end"
        ),
    }
    Ok(())
}

/// Marks blocked the running instances of served workflows whose hash is unknown.
pub(crate) async fn report_version_mismatches(
    inner: &Inner,
) -> Result<Vec<VersionMismatch>, EngineError> {
    let served = inner.registry.served();
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let found = inner
        .store
        .find_version_mismatches(&served, &inner.registry.known())
        .instrument(store_span!("find_version_mismatches"))
        .await?;
    let mut out = Vec::new();
    for s in found {
        let Some(m) = inner.mismatch(&s) else {
            continue;
        };
        let m = inner.explain(m).await;
        tracing::error!(
            instance = %m.instance,
            workflow = %m.workflow,
            stored_version = m.stored.version,
            stored_hash = %m.stored.hash,
            stored_fingerprint = %m.stored.fingerprint,
            "{m}"
        );
        let blocked = Blocked {
            kind: BlockKind::VersionMismatch,
            reason: m.to_string(),
            at: inner.now(),
        };
        inner
            .store
            .set_blocked(&m.instance, Some(blocked))
            .instrument(store_span!("set_blocked"))
            .await?;
        inner
            .metrics
            .blocked(&m.workflow, BlockKind::VersionMismatch.name());
        out.push(m);
    }
    Ok(out)
}
