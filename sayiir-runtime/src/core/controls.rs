//! Pokes for this process's drivers: how a signal, cancel or pause made through the engine
//! reaches the driver of the instance at once (see `control.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sayiir_store::InstanceId;
use tokio::sync::Notify;

/// Pokes for the drivers running in this process, by instance and claim generation: a driver
/// left over from an earlier claim of the instance (stopping, not reaped yet) has its own, so
/// unregistering it leaves the current driver's in place.
#[derive(Default)]
pub(crate) struct Controls {
    drivers: Mutex<Pokes>,
}

/// The pokes of each instance's drivers, with their claim generations.
type Pokes = HashMap<InstanceId, Vec<(u64, Arc<Notify>)>>;

impl Controls {
    fn drivers(&self) -> std::sync::MutexGuard<'_, Pokes> {
        // Every change is one insertion or removal.
        self.drivers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the driver of claim `generation` of `id`.
    pub(crate) fn register(&self, id: &InstanceId, generation: u64) -> Arc<Notify> {
        let poke = Arc::new(Notify::new());
        self.drivers()
            .entry(id.clone())
            .or_default()
            .push((generation, poke.clone()));
        poke
    }

    /// Unregisters the driver of claim `generation` of `id` (only that one).
    pub(crate) fn unregister(&self, id: &InstanceId, generation: u64) {
        let mut d = self.drivers();
        if let Some(pokes) = d.get_mut(id) {
            pokes.retain(|(g, _)| *g != generation);
            if pokes.is_empty() {
                d.remove(id);
            }
        }
    }

    /// Wakes the drivers of `id` (a permit is stored for one that is not waiting right now).
    pub(crate) fn poke(&self, id: &InstanceId) {
        if let Some(pokes) = self.drivers().get(id) {
            for (_, n) in pokes {
                n.notify_one();
            }
        }
    }

    /// The number of instances with a registered driver.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.drivers().len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Reaping a driver of an earlier claim leaves the current driver reachable.
    #[tokio::test]
    async fn unregistering_an_earlier_claim_keeps_the_current_driver() {
        let controls = Controls::default();
        let id = InstanceId::new("a").unwrap();
        let old = controls.register(&id, 1);
        let current = controls.register(&id, 2);
        controls.unregister(&id, 1);
        controls.poke(&id);
        tokio::time::timeout(std::time::Duration::from_secs(5), current.notified())
            .await
            .expect("the current driver was poked");
        drop(old);
        controls.unregister(&id, 2);
        assert_eq!(controls.len(), 0);
    }
}
