//! How long a driver may still drive its instance: until the lease of its claim may have
//! expired in the store.
//!
//! The store's lease ends at the time the claim (or the last renewal that kept it) was asked
//! plus [`WorkerConfig::lease`]; once it has ended, any worker may claim the instance again,
//! this worker included. So a driver must not start a task attempt, nor keep one running,
//! after that time: it stops a little before ([`LeaseClock::deadline`]), whether the renewals
//! failed, were not even attempted (the worker loop waiting on a store that does not answer),
//! or said the lease was lost. A task result that still arrives afterwards is dropped with its
//! driver; had it been committed, the compare-and-swap on the sequence number would have
//! refused it once a newer claim moved the instance on.
//!
//! Time here is the monotonic clock (tokio's), not the engine's [`Clock`]: a virtual clock's
//! jumps must not stop drivers, and on the system clock both advance together.
//!
//! [`WorkerConfig::lease`]: crate::WorkerConfig::lease
//! [`Clock`]: crate::clock::Clock

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Until when a driver's lease is surely held.
#[derive(Debug)]
pub(crate) struct LeaseClock {
    lease: Duration,
    /// When the claim or the last successful renewal was asked.
    asked: Mutex<Instant>,
}

impl LeaseClock {
    /// The lease of a claim asked at `asked`, for `lease`.
    pub(crate) fn new(asked: Instant, lease: Duration) -> Self {
        Self {
            lease,
            asked: Mutex::new(asked),
        }
    }

    fn asked(&self) -> Instant {
        // The guarded value is a single `Instant`, replaced in one assignment.
        *self.asked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A renewal asked at `asked` succeeded.
    pub(crate) fn renewed(&self, asked: Instant) {
        let mut last = self.asked.lock().unwrap_or_else(|e| e.into_inner());
        *last = (*last).max(asked);
    }

    /// When the driver stops: a tenth of the lease before the store's lease may end, so that a
    /// driver stopping late (a busy runtime) is still gone when the instance can be claimed
    /// again.
    pub(crate) fn deadline(&self) -> Instant {
        self.asked() + self.lease - self.lease / 10
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    /// Resolves once the deadline has passed (renewals meanwhile push it back).
    pub(crate) async fn expiry(&self) {
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expires_a_tenth_of_the_lease_early_unless_renewed() {
        let start = Instant::now();
        let lease = LeaseClock::new(start, Duration::from_millis(200));
        assert_eq!(lease.deadline(), start + Duration::from_millis(180));
        assert!(!lease.expired());
        lease.renewed(start + Duration::from_millis(100));
        // An older renewal's answer arriving late does not move it back.
        lease.renewed(start + Duration::from_millis(10));
        assert_eq!(lease.deadline(), start + Duration::from_millis(280));
        lease.expiry().await;
        assert!(Instant::now() >= start + Duration::from_millis(280));
        assert!(lease.expired());
    }
}
