//! The slots of concurrency limits, in memory: the reference semantics of
//! [`Store::acquire_slot`](crate::Store::acquire_slot).

use std::collections::BTreeMap;

use super::Row;
use crate::{InstanceId, Lease, LimitUsage, SlotHolder, SlotRequest, Timestamp};

/// Every limit a slot was asked of, by key.
#[derive(Debug, Default)]
pub(super) struct Limits {
    by_key: BTreeMap<String, Limit>,
}

#[derive(Debug)]
struct Limit {
    limit: u32,
    /// Holders, by instance and call.
    holders: BTreeMap<(InstanceId, String), Lease>,
    /// By worker: the holder of its last request and the attempts it reported waiting.
    waiters: BTreeMap<String, (InstanceId, Lease, u64)>,
}

/// Whether `lease` still holds its instance at `now`.
fn live(rows: &BTreeMap<InstanceId, Row>, id: &InstanceId, lease: &Lease, now: Timestamp) -> bool {
    rows.get(id)
        .and_then(|r| r.record.lease.as_ref())
        .is_some_and(|l| {
            l.owner == lease.owner && l.generation == lease.generation && l.live_at(now)
        })
}

impl Limits {
    pub(super) fn acquire(&mut self, rows: &BTreeMap<InstanceId, Row>, req: SlotRequest) -> bool {
        let limit = self.by_key.entry(req.key).or_insert_with(|| Limit {
            limit: req.limit.get(),
            holders: BTreeMap::new(),
            waiters: BTreeMap::new(),
        });
        limit.limit = req.limit.get();
        limit
            .holders
            .retain(|(id, _), lease| live(rows, id, lease, req.now));
        let SlotHolder {
            instance,
            call,
            lease,
        } = req.holder;
        let key = (instance.clone(), call);
        if let Some(held) = limit.holders.get(&key) {
            return *held == lease;
        }
        let granted = limit.holders.len() < usize::try_from(limit.limit).unwrap_or(usize::MAX);
        let waiting = if granted {
            limit.holders.insert(key, lease.clone());
            req.waiting.saturating_sub(1)
        } else {
            req.waiting
        };
        if waiting == 0 {
            limit.waiters.remove(&lease.owner.0);
        } else {
            limit
                .waiters
                .insert(lease.owner.0.clone(), (instance, lease, waiting));
        }
        granted
    }

    pub(super) fn release(&mut self, key: &str, holder: &SlotHolder) {
        if let Some(limit) = self.by_key.get_mut(key) {
            let k = (holder.instance.clone(), holder.call.clone());
            if limit.holders.get(&k).is_some_and(|l| *l == holder.lease) {
                limit.holders.remove(&k);
            }
        }
    }

    pub(super) fn usage(
        &self,
        rows: &BTreeMap<InstanceId, Row>,
        now: Timestamp,
    ) -> Vec<LimitUsage> {
        self.by_key
            .iter()
            .map(|(key, limit)| LimitUsage {
                key: key.clone(),
                limit: limit.limit,
                in_use: limit
                    .holders
                    .iter()
                    .filter(|((id, _), lease)| live(rows, id, lease, now))
                    .count() as u64,
                waiting: limit
                    .waiters
                    .values()
                    .filter(|(id, lease, _)| live(rows, id, lease, now))
                    .map(|(_, _, n)| n)
                    .sum(),
            })
            .collect()
    }
}
