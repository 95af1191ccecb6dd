//! `on_exhausted`: what happens to a call whose attempts are used up, and how the policy of a
//! task without one is found (the nearest workflow's).

use super::{WorkItem, WorkKind};

/// What the engine does with a task call whose last attempt failed with an error that may be
/// retried (not a permanent one, see [`RetryPolicy`](super::RetryPolicy)) when no attempt is left: the
/// `on_exhausted` option of `#[task]` and `#[workflow]`.
///
/// A task's own option wins; a task without one follows the workflow that calls it, a child
/// workflow without one follows its parent, and an instance whose workflow says nothing lets
/// the error flow ([`OnExhausted::Fail`]). A workflow called directly (as a plain `async fn`,
/// without an engine) always lets the error flow: there is no operator to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnExhausted {
    /// Not said here: the calling workflow decides (`Fail` at the top).
    Inherit,
    /// The `Err` is returned to the workflow at the call's `.await`, as for any error.
    Fail,
    /// The instance is parked as *needs attention* (blocked with `BlockKind::Parked`, the last
    /// error in the reason), at the state of the call, until an operator retries the call
    /// with a fresh attempt budget (`Engine::retry`), lets the error flow (`Engine::fail`) or
    /// cancels the instance.
    Park,
}

impl OnExhausted {
    /// `self`, or `outer` where `self` is [`OnExhausted::Inherit`].
    pub const fn or(self, outer: OnExhausted) -> OnExhausted {
        match self {
            OnExhausted::Inherit => outer,
            other => other,
        }
    }
}

/// Gives the task calls among `items` whose `on_exhausted` is [`OnExhausted::Inherit`] the
/// policy `outer` (a workflow's, resolved from the inside out).
pub(crate) fn resolve_exhausted(items: &mut [WorkItem], outer: OnExhausted) {
    for item in items {
        if let WorkKind::Task { options, .. } = &mut item.kind {
            options.on_exhausted = options.on_exhausted.or(outer);
        }
    }
}
