//! Rate limits of tasks (`#[task(rate = "100/s")]`): an attempt reserves its start of the
//! store's rate limit `task:<name>` (`Store::reserve_start`, once per attempt of this driver)
//! and waits, with the instance held, until the reserved time.
//!
//! Concurrency limits of tasks (`#[task(concurrency = N)]`): an attempt starts only once it
//! holds a slot of the store's limit `task:<name>` (`Store::acquire_slot`), held under this
//! driver's lease, and gives it back when it ends. A slot of a driver that dies is free once
//! its lease expires (the store counts only live leases). A refused attempt is not failed: the
//! driver keeps the instance and asks again when an attempt of this process gives a slot of
//! the limit back; one waiting driver per process and limit (the poller, [`LocalLimit`]) also
//! asks after a short, growing delay, for slots given back by other processes. An attempt
//! that finds another of its process already waiting for the limit does not ask until woken.
//! Each request reports the attempts of the process waiting for the limit
//! (`SlotRequest::waiting`), which `Engine::limits` sums over live workers.

use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sayiir_store::{RateRequest, SlotHolder, SlotRequest, Store, Timestamp};
use tracing::Instrument;

use super::{Driver, Stop, stop};
use crate::commit::Refused;
use crate::core::LocalLimit;
use crate::machine::{TaskOptions, TaskRate};
use crate::planner::Attempt;
use crate::trace_context::store_span;

/// The poller's first delay before asking again; it doubles up to [`MAX_RETRY`] while the
/// attempt keeps waiting.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const MAX_RETRY: Duration = Duration::from_millis(500);
/// A waiter that is not the poller asks again after this long even if nothing woke it (it
/// may wait for two limits at once and listen to one).
const FALLBACK: Duration = Duration::from_secs(2);

/// A slot an attempt holds, given back when it ends.
pub(super) struct Held {
    key: String,
    holder: SlotHolder,
    store: Arc<dyn Store>,
    local: Arc<LocalLimit>,
}

impl Held {
    /// Gives the slot back and wakes a local driver waiting for one. A failure leaves the slot
    /// held until the lease ends (never counted twice, only late).
    pub(super) async fn give_back(self) {
        if let Err(e) = self
            .store
            .release_slot(&self.key, &self.holder)
            .instrument(store_span!("release_slot"))
            .await
        {
            tracing::warn!(error = %e, key = self.key, "could not give a slot back (it ends with the lease)");
        }
        self.local.freed.notify_one();
    }
}

/// The poller's role for one limit in this process, handed on (to the next local waiter woken)
/// when dropped.
pub(super) struct Poller(Arc<LocalLimit>);

impl Drop for Poller {
    fn drop(&mut self) {
        self.0.polling.store(false, Ordering::SeqCst);
        self.0.freed.notify_one();
    }
}

/// An attempt of this process counted as waiting for a slot of one limit, until dropped.
pub(super) struct Queued(Arc<LocalLimit>);

impl Queued {
    fn new(local: &Arc<LocalLimit>) -> Self {
        local.waiters.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(local))
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The key of a task's limits: `task:<name>`, or with `#[task(per_key = true)]` and an
/// instance started with a concurrency key, `task:<name>/key:<key>` (one limit per key).
pub(crate) fn task_key(task: &str, per_key: Option<&str>) -> String {
    match per_key {
        Some(key) => format!("task:{task}/key:{key}"),
        None => format!("task:{task}"),
    }
}

impl Driver {
    /// The key of the limits of `a`'s task for this instance.
    fn limit_key(&self, a: &Attempt) -> String {
        let key = self
            .concurrency_key
            .as_deref()
            .filter(|_| a.options.per_key);
        task_key(a.task, key)
    }
}

impl Driver {
    /// Takes a slot for `a` if its task has a concurrency limit: `Ok(Some(None))` without a
    /// limit, `Ok(Some(Some(held)))` with a slot, `Ok(None)` when the limit is full (the
    /// attempt waits; see [`Driver::slot_retry`]).
    pub(super) async fn take_slot(&mut self, a: &Attempt) -> Result<Option<Option<Held>>, Stop> {
        if let Some(rate) = a.options.rate
            && let Some(start) = self.reserve_start(a, rate).await?
        {
            self.rate_wait = Some(self.rate_wait.map_or(start, |w| w.min(start)));
            return Ok(None);
        }
        let Some(limit) = a.options.concurrency else {
            self.reserved.remove(&a.slot);
            return Ok(Some(None));
        };
        let key = self.limit_key(a);
        let inner = &self.ctx.inner;
        let local = inner.local_limit(&key);
        if !self
            .queued
            .get(&a.slot)
            .is_some_and(|q| Arc::ptr_eq(&q.0, &local))
        {
            self.queued.insert(a.slot.clone(), Queued::new(&local));
        }
        let polls_this = self
            .poller
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.0, &local));
        // Another attempt of this process already asks for this limit: wait to be woken.
        if !polls_this && !std::mem::take(&mut self.woken) && local.polling.load(Ordering::SeqCst) {
            self.waiting_on = Some(local);
            return Ok(None);
        }
        let call = format!("{:?}@{}", a.slot, a.origin);
        let holder = SlotHolder::new(self.id.clone(), call, self.own_lease());
        let request = SlotRequest::new(key.clone(), limit, holder.clone(), inner.now())
            .waiting(local.waiters.load(Ordering::SeqCst).max(1));
        let granted = inner
            .store
            .acquire_slot(request)
            .instrument(store_span!("acquire_slot"))
            .await
            .map_err(|e| stop(&Refused::of(&e), "cannot take a slot"))?;
        if !granted {
            self.slot_waits = self.slot_waits.saturating_add(1);
            if self.poller.is_none() && !local.polling.swap(true, Ordering::SeqCst) {
                self.poller = Some(Poller(Arc::clone(&local)));
            }
            self.waiting_on = Some(local);
            return Ok(None);
        }
        self.queued.remove(&a.slot);
        self.reserved.remove(&a.slot);
        if polls_this {
            self.poller = None;
        }
        Ok(Some(Some(Held {
            key,
            holder,
            store: Arc::clone(&inner.store),
            local,
        })))
    }

    /// The start `a` reserved of its task's rate limit (reserved now if it has none yet):
    /// `None` once it may start, the reserved time while it is ahead.
    async fn reserve_start(
        &mut self,
        a: &Attempt,
        rate: TaskRate,
    ) -> Result<Option<Timestamp>, Stop> {
        let inner = &self.ctx.inner;
        let now = inner.now();
        let start = match self.reserved.get(&a.slot) {
            Some(t) => *t,
            None => {
                let interval = u64::try_from(rate.interval.as_micros()).unwrap_or(u64::MAX);
                let request = RateRequest::new(
                    self.limit_key(a),
                    NonZeroU64::new(interval).unwrap_or(NonZeroU64::MIN),
                    NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN),
                    now,
                );
                let t = inner
                    .store
                    .reserve_start(request)
                    .instrument(store_span!("reserve_start"))
                    .await
                    .map_err(|e| stop(&Refused::of(&e), "cannot reserve a start"))?;
                self.reserved.insert(a.slot.clone(), t);
                t
            }
        };
        Ok((start > now).then_some(start))
    }

    /// When to ask again for a slot refused this round (`None` if none was): the poller sooner
    /// at first, then less often, with jitter so that processes do not ask in step; the
    /// others after [`FALLBACK`] (a local slot given back or the poller's leaving wakes them
    /// before).
    /// An attempt waiting for its reserved start of a rate limit wakes at that start.
    pub(super) fn slot_retry(&self, now: Timestamp) -> Option<Timestamp> {
        let slot = self.waiting_on.as_ref().map(|_| {
            if self.poller.is_none() {
                return now.add(FALLBACK);
            }
            let backoff = TaskOptions {
                backoff: FIRST_RETRY,
                max_backoff: MAX_RETRY,
                ..TaskOptions::DEFAULT
            };
            now.add(crate::retry::delay(
                &backoff,
                self.slot_waits.max(1),
                self.id.as_str(),
            ))
        });
        match (slot, self.rate_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
