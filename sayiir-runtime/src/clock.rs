//! The engine's clock. Every time the runtime stores (due times, deadlines, backoff) comes
//! from [`Clock::now`], and every wait for such a time goes through [`Clock::sleep_until`], so
//! the test engine can run workflows that sleep for days in virtual time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use sayiir_store::Timestamp;
use tokio::sync::Notify;

use crate::machine::BoxFuture;

/// A source of time for an engine.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: Timestamp) -> BoxFuture<()>;
}

/// Wall-clock time (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<()> {
        let left = Timestamp::now().until(at);
        Box::pin(tokio::time::sleep(left))
    }
}

/// Time that moves only when told to ([`VirtualClock::advance`], [`VirtualClock::set`]).
#[derive(Debug)]
pub struct VirtualClock {
    now: AtomicI64,
    moved: Notify,
    // Serializes moves so `now` never goes backwards under concurrent `set`s.
    lock: Mutex<()>,
}

impl VirtualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: AtomicI64::new(start.as_millis()),
            moved: Notify::new(),
            lock: Mutex::new(()),
        }
    }

    /// Moves the clock to `at` (never backwards) and wakes every sleeper that is due.
    pub fn set(&self, at: Timestamp) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if at.as_millis() > self.now.load(Ordering::SeqCst) {
            self.now.store(at.as_millis(), Ordering::SeqCst);
        }
        self.moved.notify_waiters();
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: std::time::Duration) {
        let at = self.now().add(d);
        self.set(at);
    }
}

impl Clock for std::sync::Arc<VirtualClock> {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<()> {
        let me = self.clone();
        Box::pin(async move {
            loop {
                let moved = me.moved.notified();
                tokio::pin!(moved);
                moved.as_mut().enable();
                if me.now() >= at {
                    return;
                }
                moved.await;
            }
        })
    }
}

impl VirtualClock {
    /// The current virtual time.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
}

/// Runs `future` until `clock` reaches `cutoff`, if given: its output, or `None` once cut off
/// (the future is dropped). How task attempts meet their deadlines, under the engine and in
/// direct calls alike.
pub(crate) async fn within<F: std::future::Future>(
    clock: &dyn Clock,
    cutoff: Option<Timestamp>,
    future: F,
) -> Option<F::Output> {
    let limit = async {
        match cutoff {
            Some(at) => clock.sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        out = future => Some(out),
        () = limit => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn virtual_sleepers_wake_when_time_passes_their_due_time() {
        let c = Arc::new(VirtualClock::new(Timestamp(1_000)));
        let sleeper = tokio::spawn(Clock::sleep_until(&c, Timestamp(61_000)));
        tokio::task::yield_now().await;
        c.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        c.advance(Duration::from_secs(30));
        sleeper.await.unwrap();
        c.set(Timestamp(0));
        assert_eq!(c.now(), Timestamp(61_000), "time never goes backwards");
    }
}
