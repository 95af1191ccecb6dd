//! Transitions as the runtime writes them, and what a refused one means: the one place that
//! builds a [`Transition`] (a step, a reschedule, a migration, a cancel) and the one place
//! that reads a store error met on the way (the driver turns it into its `Stop`, the engine's
//! calls into an [`EngineError`](crate::EngineError)).

use sayiir_store::{Event, InstanceId, Next, StoreError, Timestamp, Transition};

use crate::batcher::BatchError;

/// The transition of instance `id` from sequence number `expected_seq` to `next`, leaving
/// `event` in the history, at `now`; releasing no lease, consuming no signal, keeping the
/// history and the definition, listening for nothing. The caller sets what else it does.
pub(crate) fn transition(
    id: InstanceId,
    expected_seq: u64,
    next: Next,
    event: Event,
    now: Timestamp,
) -> Transition {
    Transition::new(id, expected_seq, next, event, now)
}

/// What a store error met while writing an instance (or reading it to write it) means for
/// the writer.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Another writer committed first (compare-and-swap on the sequence number): the writer's
    /// view is stale.
    MovedOn,
    /// The instance finished meanwhile (completed, failed or cancelled).
    Finished,
    /// There is no such instance (any more).
    Gone,
    /// The instance is paused: it takes no transition until it is resumed.
    Paused,
    /// The store (or the batch, or the committer) failed: nothing says the instance moved.
    Failed(String),
}

impl Refused {
    /// The meaning of a store error.
    pub(crate) fn of(e: &StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Refused::MovedOn,
            StoreError::Finished { .. } => Refused::Finished,
            StoreError::NotFound { .. } => Refused::Gone,
            StoreError::Paused { .. } => Refused::Paused,
            e => Refused::Failed(e.to_string()),
        }
    }

    /// The meaning of a failed group commit: the transition's own error as [`Refused::of`];
    /// a failed batch or a stopped committer is a failure.
    pub(crate) fn of_commit(e: &BatchError) -> Self {
        match e {
            BatchError::Own(e) => Self::of(e),
            e => Refused::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;

    #[test]
    fn store_errors_read_the_same_for_every_writer() {
        let id = || InstanceId::new("i-1").unwrap();
        let read = |e: StoreError| format!("{:?}", Refused::of(&e));
        assert_eq!(
            read(StoreError::Conflict {
                id: id(),
                expected: 1,
                actual: 2
            }),
            "MovedOn"
        );
        assert_eq!(read(StoreError::Finished { id: id() }), "Finished");
        assert_eq!(read(StoreError::NotFound { id: id() }), "Gone");
        assert_eq!(read(StoreError::Paused { id: id() }), "Paused");
        let down = StoreError::Unavailable {
            detail: "down".into(),
        };
        assert!(matches!(Refused::of(&down), Refused::Failed(m) if m == down.to_string()));
        // Through the committer: a transition's own error reads as above; the batch's, or a
        // stopped committer, is a failure even when the batch's error is a conflict.
        let own = BatchError::Own(StoreError::Paused { id: id() });
        assert!(matches!(Refused::of_commit(&own), Refused::Paused));
        let batch = BatchError::Batch(Arc::new(StoreError::NotFound { id: id() }));
        assert!(matches!(Refused::of_commit(&batch), Refused::Failed(_)));
        assert!(matches!(
            Refused::of_commit(&BatchError::Closed),
            Refused::Failed(m) if m == "the worker is stopping"
        ));
    }

    #[test]
    fn a_transition_changes_only_what_its_caller_sets() {
        let next = Next::Finished {
            status: sayiir_store::Status::Cancelled,
            output: vec![1],
        };
        let event = Event {
            kind: "cancelled".into(),
            payload: vec![1],
        };
        let t = transition(
            InstanceId::new("i-1").unwrap(),
            4,
            next,
            event,
            Timestamp(9),
        );
        assert_eq!(
            (t.id.as_str(), t.expected_seq, t.now),
            ("i-1", 4, Timestamp(9))
        );
        assert!(t.release_lease.is_none() && t.redefine.is_none() && !t.truncate_history);
        assert!(t.consume_signals.is_empty() && t.listening.is_empty());
    }
}
