//! What a worker does with a schedule it claimed (pure: no I/O, no clock): which ticks start a
//! run now, which tick comes next, which waits, and when to look again.

use std::time::Duration;

use sayiir_store::Timestamp;

use super::{CatchUp, Overlap, StoredSpec, Ticks, cron::rfc3339_utc};

/// At most this many runs are started by one write; the rest of a long catch-up follows in
/// the next writes, at once.
pub(crate) const MAX_FIRES: usize = 100;

/// How soon a schedule holding a buffered tick looks again whether the previous run finished:
/// after a quarter of the time the tick has waited, at least this…
pub(crate) const RECHECK: Duration = Duration::from_secs(1);
/// …and at most this (so a buffered run starts at most a minute after the previous one
/// finished, and a long run costs a store read a minute).
pub(crate) const RECHECK_MAX: Duration = Duration::from_secs(60);

/// The decision for one claimed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Ticks whose runs start now, in order.
    pub(crate) fire: Vec<Timestamp>,
    /// The next tick not handled.
    pub(crate) next_tick: Option<Timestamp>,
    /// A tick waiting for the previous run to finish.
    pub(crate) buffered: Option<Timestamp>,
    /// When to look at the schedule again.
    pub(crate) due_at: Option<Timestamp>,
    /// What was dropped, in words (`None`: nothing).
    pub(crate) note: Option<String>,
    /// Ticks not run because the previous run was still running.
    pub(crate) skipped: usize,
}

/// What the schedule holds when claimed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    pub(crate) next_tick: Option<Timestamp>,
    pub(crate) buffered: Option<Timestamp>,
    /// Whether the run of the last tick fired is still running.
    pub(crate) running: bool,
}

fn since(now: Timestamp, t: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(now.0.saturating_sub(t.0)).unwrap_or(0))
}

fn sub(now: Timestamp, d: Duration) -> Timestamp {
    Timestamp(
        now.0
            .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    )
}

/// Decides what to do at `now`.
pub(crate) fn plan(spec: &StoredSpec, ticks: &Ticks, held: Held, now: Timestamp) -> Plan {
    let mut running = held.running;
    let mut fire = Vec::new();
    let mut buffered = held.buffered;
    let mut dropped: Vec<String> = Vec::new();
    if let Some(b) = buffered
        && !running
    {
        fire.push(b);
        buffered = None;
        running = true;
    }
    let mut next = held.next_tick;
    let mut due = Vec::new();
    let mut more = false;
    if let Some(first) = next.filter(|t| *t <= now) {
        let grace = spec.grace();
        match spec.catch_up() {
            CatchUp::None | CatchUp::Latest => {
                let until = spec.end().map_or(now, |e| e.min(now));
                let latest = ticks
                    .at_or_before(until)
                    .filter(|t| *t >= first)
                    .unwrap_or(first);
                let keep = since(now, latest) <= grace || spec.catch_up() == CatchUp::Latest;
                if keep {
                    due.push(latest);
                }
                let last_dropped = if keep {
                    ticks
                        .at_or_before(Timestamp(latest.0 - 1))
                        .filter(|t| *t >= first)
                } else {
                    Some(latest)
                };
                if let Some(last) = last_dropped {
                    dropped.push(missed(first, last));
                }
                next = spec.tick_after(ticks, now);
            }
            CatchUp::All { within } => {
                let horizon = sub(now, within.max(grace));
                let mut t = Some(first);
                if first < horizon {
                    t = spec.first_tick(ticks, horizon);
                    let last = t.map_or(now, |x| Timestamp(x.0 - 1));
                    if let Some(last) = ticks.at_or_before(last).filter(|x| *x >= first) {
                        dropped.push(missed(first, last));
                    }
                }
                while let Some(x) = t.filter(|x| *x <= now) {
                    if due.len() == MAX_FIRES {
                        more = true;
                        break;
                    }
                    due.push(x);
                    t = spec.tick_after(ticks, x);
                }
                next = t;
            }
        }
    }
    let mut overlapped = 0usize;
    for t in due {
        match spec.overlap() {
            Overlap::AllowAll => fire.push(t),
            Overlap::Skip if running => overlapped += 1,
            Overlap::BufferOne if running => {
                if buffered.replace(t).is_some() {
                    overlapped += 1;
                }
            }
            Overlap::Skip | Overlap::BufferOne => {
                fire.push(t);
                running = true;
            }
        }
    }
    if overlapped > 0 {
        dropped.push(format!(
            "{overlapped} tick(s) skipped while the previous run was still running"
        ));
    }
    let recheck = buffered.map(|b| now.add((since(now, b) / 4).clamp(RECHECK, RECHECK_MAX)));
    let due_at = if more {
        Some(now)
    } else {
        match (next, recheck) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    Plan {
        fire,
        next_tick: next,
        buffered,
        due_at,
        note: (!dropped.is_empty()).then(|| dropped.join("; ")),
        skipped: overlapped,
    }
}

fn missed(first: Timestamp, last: Timestamp) -> String {
    if first == last {
        format!("missed tick {} dropped", rfc3339_utc(first))
    } else {
        format!(
            "missed ticks from {} to {} dropped",
            rfc3339_utc(first),
            rfc3339_utc(last)
        )
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
