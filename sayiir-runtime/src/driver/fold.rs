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
//! (`continue_as_new`). That look is taken when the fold reaches an await point (its first
//! state, and each state of another id), not after every result: within one await point, a
//! join part-way, a result changes only its own branch, so the cost of a result does not grow
//! with the join's width. A branch that is a child workflow may reach, part-way through a
//! fold, something the planner would take first (a fresh child state, a due timer, a signal
//! wait): it is taken in the next round, after this commit, as if the results folded here had
//! ended just before it. A state that finishes ends the fold. Each value is still a history
//! entry of its own (the transition's [`extra_events`](sayiir_store::Transition::extra_events)),
//! advanced at its own sequence number, and goes through [`Driver::task_done`] as before
//! (retry decisions, parking, payload limit, slots given back by the attempt itself). The
//! first attempt that cannot be folded (one that parks, blocks or fails the driver) is kept
//! for the next round ([`Driver::deferred`]), which then acts on it as if it had just ended.
//! A fold takes at most 8 × [`WorkerConfig::max_commit_batch`](crate::WorkerConfig) values
//! (4,096 by default), so a commit stays bounded; a wide join needs the room (at 512, a
//! 10,000-branch join took twice the time per branch of a 1,000-branch one, each commit
//! re-encoding the whole join).

use sayiir_store::{Event, Timestamp};

use super::{Driver, Stop};
use crate::feed::{Feed, history_event};
use crate::machine::{SlotPath, WorkItem};
use crate::planner;

/// A fold takes at most this many times `max_commit_batch` values.
const FOLD_PER_BATCH: usize = 8;

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
        work: Option<&[WorkItem]>,
        now: Timestamp,
        fold: &mut Fold,
    ) -> Option<(SlotPath, Feed)> {
        let cap = self
            .ctx
            .inner
            .config
            .max_commit_batch
            .max(1)
            .saturating_mul(FOLD_PER_BATCH);
        if fold.events.len() + 1 >= cap || self.deferred.is_some() || self.lease.expired() {
            return None;
        }
        if work.is_some_and(|work| !planner::feeds_task_ends_only(work, &self.busy, now)) {
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
