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
    /// Holders and waiters, by instance and call.
    entries: BTreeMap<(InstanceId, String), Entry>,
}

#[derive(Debug)]
struct Entry {
    lease: Lease,
    waiting: bool,
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
            entries: BTreeMap::new(),
        });
        limit.limit = req.limit.get();
        limit
            .entries
            .retain(|(id, _), e| live(rows, id, &e.lease, req.now));
        let SlotHolder {
            instance,
            call,
            lease,
        } = req.holder;
        let key = (instance, call);
        if let Some(e) = limit.entries.get(&key)
            && !e.waiting
        {
            return e.lease == lease;
        }
        let held = limit.entries.values().filter(|e| !e.waiting).count();
        let granted = held < usize::try_from(limit.limit).unwrap_or(usize::MAX);
        limit.entries.insert(
            key,
            Entry {
                lease,
                waiting: !granted,
            },
        );
        granted
    }

    pub(super) fn release(&mut self, key: &str, holder: &SlotHolder) {
        if let Some(limit) = self.by_key.get_mut(key) {
            let k = (holder.instance.clone(), holder.call.clone());
            if limit
                .entries
                .get(&k)
                .is_some_and(|e| e.lease == holder.lease)
            {
                limit.entries.remove(&k);
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
            .map(|(key, limit)| {
                let (mut in_use, mut waiting) = (0, 0);
                for ((id, _), e) in &limit.entries {
                    if live(rows, id, &e.lease, now) {
                        if e.waiting {
                            waiting += 1;
                        } else {
                            in_use += 1;
                        }
                    }
                }
                LimitUsage {
                    key: key.clone(),
                    limit: limit.limit,
                    in_use,
                    waiting,
                }
            })
            .collect()
    }
}
