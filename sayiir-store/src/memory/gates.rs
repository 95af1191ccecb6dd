//! Admission gates in memory: the reference semantics of the concurrency limits of workflow
//! types and keys (see `docs/flow-control.md`). An admission slot belongs to an instance from
//! its admission until it finishes, whatever becomes of the workers that run it.

use std::collections::BTreeMap;

use super::Row;
use crate::{BlockKind, Blocked, GateRequest, InstanceId, LimitUsage, Timestamp};

/// The gate of a gated instance (kept once it finished, for a restart).
#[derive(Debug, Clone)]
pub(super) struct Gate {
    /// Its gate keys.
    keys: Vec<String>,
    /// Its place in the global creation order.
    ticket: u64,
    /// Whether it holds a slot of every gate.
    admitted: bool,
    /// Whether it takes part (false once finished).
    active: bool,
}

/// Every gate's limit as last asked, and the last ticket handed out.
#[derive(Debug, Default)]
pub(super) struct Gates {
    limits: BTreeMap<String, u32>,
    last_ticket: u64,
}

pub(super) use crate::types::waiting_block;

impl Gates {
    /// Enters instance `id` (just created with `gates`) in its gates' queues and admits what
    /// fits. Nothing for an instance without gates.
    pub(super) fn enter(
        &mut self,
        rows: &mut BTreeMap<InstanceId, Row>,
        id: &InstanceId,
        gates: &[GateRequest],
        now: Timestamp,
    ) {
        if gates.is_empty() {
            return;
        }
        let mut keys = Vec::with_capacity(gates.len());
        for g in gates {
            self.limits.insert(g.key.clone(), g.limit.max(1));
            if !keys.contains(&g.key) {
                keys.push(g.key.clone());
            }
        }
        self.requeue(rows, id, Some(keys), now);
    }

    /// Puts `id` at the end of the queues of `keys` (its stored keys when `None`), waiting,
    /// then admits what fits.
    pub(super) fn requeue(
        &mut self,
        rows: &mut BTreeMap<InstanceId, Row>,
        id: &InstanceId,
        keys: Option<Vec<String>>,
        now: Timestamp,
    ) {
        self.last_ticket += 1;
        let ticket = self.last_ticket;
        let Some(row) = rows.get_mut(id) else {
            return;
        };
        let Some(keys) = keys.or_else(|| row.gate.as_ref().map(|g| g.keys.clone())) else {
            return;
        };
        for k in &keys {
            self.limits.entry(k.clone()).or_insert(1);
        }
        row.gate = Some(Gate {
            keys,
            ticket,
            admitted: false,
            active: true,
        });
        row.record.blocked = Some(waiting_block(now));
        self.admit(rows, now);
    }

    /// Instance `id` finished: its slot (or its place in the queues) is given up, and the
    /// earliest waiters that now fit are admitted.
    pub(super) fn leave(
        &mut self,
        rows: &mut BTreeMap<InstanceId, Row>,
        id: &InstanceId,
        now: Timestamp,
    ) {
        let Some(row) = rows.get_mut(id) else {
            return;
        };
        let Some(gate) = row.gate.as_mut() else {
            return;
        };
        gate.active = false;
        gate.admitted = false;
        if is_waiting(&row.record.blocked) {
            row.record.blocked = None;
        }
        self.admit(rows, now);
    }

    /// Whether `id` waits for admission (gated, unfinished, not admitted).
    pub(super) fn waits(rows: &BTreeMap<InstanceId, Row>, id: &InstanceId) -> bool {
        rows.get(id)
            .and_then(|r| r.gate.as_ref())
            .is_some_and(|g| g.active && !g.admitted)
    }

    /// Admits, in ticket order, every waiter all of whose gates have room.
    fn admit(&mut self, rows: &mut BTreeMap<InstanceId, Row>, now: Timestamp) {
        let mut in_use: BTreeMap<&str, u64> = BTreeMap::new();
        let mut waiters: Vec<(u64, InstanceId)> = Vec::new();
        for (id, row) in rows.iter() {
            let Some(g) = row.gate.as_ref().filter(|g| g.active) else {
                continue;
            };
            if g.admitted {
                for k in &g.keys {
                    *in_use.entry(k.as_str()).or_default() += 1;
                }
            } else {
                waiters.push((g.ticket, id.clone()));
            }
        }
        waiters.sort();
        let mut in_use: BTreeMap<String, u64> =
            in_use.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
        for (_, id) in waiters {
            let Some(row) = rows.get_mut(&id) else {
                continue;
            };
            let Some(g) = row.gate.as_mut() else {
                continue;
            };
            let fits = g.keys.iter().all(|k| {
                let limit = u64::from(self.limits.get(k).copied().unwrap_or(1));
                in_use.get(k).copied().unwrap_or(0) < limit
            });
            if !fits {
                continue;
            }
            g.admitted = true;
            for k in &g.keys {
                *in_use.entry(k.clone()).or_default() += 1;
            }
            let r = &mut row.record;
            if is_waiting(&r.blocked) {
                r.blocked = None;
            }
            r.due_at = Some(r.due_at.map_or(now, |d| d.min(now)));
        }
    }

    /// Each gate's limit, admitted instances and waiters.
    pub(super) fn usage(&self, rows: &BTreeMap<InstanceId, Row>) -> Vec<LimitUsage> {
        let mut out: BTreeMap<&str, LimitUsage> = self
            .limits
            .iter()
            .map(|(k, limit)| {
                let usage = LimitUsage {
                    key: k.clone(),
                    limit: *limit,
                    in_use: 0,
                    waiting: 0,
                };
                (k.as_str(), usage)
            })
            .collect();
        for row in rows.values() {
            let Some(g) = row.gate.as_ref().filter(|g| g.active) else {
                continue;
            };
            for k in &g.keys {
                if let Some(u) = out.get_mut(k.as_str()) {
                    if g.admitted {
                        u.in_use += 1;
                    } else {
                        u.waiting += 1;
                    }
                }
            }
        }
        out.into_values().collect()
    }
}

fn is_waiting(blocked: &Option<Blocked>) -> bool {
    blocked
        .as_ref()
        .is_some_and(|b| b.kind == BlockKind::AwaitingAdmission)
}
