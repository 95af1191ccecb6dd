//! Folding task results into one transition.
//!
//! An instance has one commit in flight at a time. The attempts of a join that finish while
//! it is in flight would each wait for a transition (and a decode and an encode of the whole
//! state) of their own. Instead, the transition that feeds a task's value (or a failed
//! attempt's retry) takes the other values already there too: after each one it is shown the
//! state reached, and takes the next finished attempt (`JoinSet::try_join_next`) only if the
//! planner, looking at that state, would feed it next: nothing else is ready there (a fresh
//! state, a task to give a deadline, a due timer), no slot listens for a signal (the signals
//! are read from the store between transitions), and the state does not restart
//! (`continue_as_new`). A state that finishes ends the fold. Each value is still a history
//! entry of its own (the transition's [`extra_events`](sayiir_store::Transition::extra_events)),
//! advanced at its own sequence number, and goes through [`Driver::task_done`] as before
//! (retry decisions, parking, payload limit, slots given back by the attempt itself). The
//! first attempt that cannot be folded (one that parks, blocks or fails the driver) is kept
//! for the next round ([`Driver::deferred`]), which then acts on it as if it had just ended.
//! A fold takes at most [`WorkerConfig::max_commit_batch`](crate::WorkerConfig) values, so a
//! commit stays bounded.

use sayiir_store::{Event, Timestamp};

use super::{Driver, Stop};
use crate::feed::{Feed, history_event};
use crate::machine::{SlotPath, WorkItem};
use crate::planner;

/// The values folded so far into one transition, past the first.
#[derive(Default)]
pub(super) struct Fold {
    /// Their history entries, in order.
    pub(super) events: Vec<Event>,
}

impl Feed {
    /// Whether a transition feeding `self` may take other task values with it.
    pub(super) fn folds(&self) -> bool {
        matches!(self, Feed::Task(..) | Feed::Retry { .. })
    }
}

impl Driver {
    /// The next value to feed the state waiting for `work` in the fold `fold`, at `now`, if
    /// one has finished and the planner would feed it now (see the module's documentation).
    pub(super) fn fold_next(
        &mut self,
        work: &[WorkItem],
        now: Timestamp,
        fold: &mut Fold,
    ) -> Option<(SlotPath, Feed)> {
        let cap = self.ctx.inner.config.max_commit_batch.max(1);
        if fold.events.len() + 1 >= cap || self.deferred.is_some() || self.lease.expired() {
            return None;
        }
        if !planner::feeds_task_ends_only(work, &self.busy, now) {
            return None;
        }
        let (slot, task, attempt, result) = match self.running.try_join_next()? {
            Ok(joined) => joined,
            Err(e) => {
                self.deferred = Some(Err(Stop::Failed(format!("task runner failed: {e}"))));
                return None;
            }
        };
        match self.task_done(slot, task, attempt, result) {
            Ok((slot, feed)) if feed.folds() => match history_event(&slot, &feed) {
                Ok(event) => {
                    fold.events.push(event);
                    Some((slot, feed))
                }
                Err(e) => {
                    self.deferred = Some(Err(Stop::Failed(format!("cannot encode history: {e}"))));
                    None
                }
            },
            other => {
                self.deferred = Some(other);
                None
            }
        }
    }
}
