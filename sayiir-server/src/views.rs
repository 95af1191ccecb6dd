//! The JSON shapes of the endpoints: the same as `sayiir … --json` prints (sayiir-cli's
//! `views.rs` and commands), so that the command line and the API agree.

use sayiir::admin::{LimitInfo, RateInfo, Waiting};
use sayiir::store::{LeaseHolder, Timestamp};
use sayiir::{InstanceInfo, InstanceStatus};
use serde::Serialize;
use serde_json::{Value, json};

/// `t` in RFC 3339, UTC, to the millisecond (a damaged time: its milliseconds).
pub(crate) fn rfc3339(t: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.as_millis()) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{} ms since the epoch", t.as_millis()),
    }
}

/// An instance (`sayiir list --json`'s items).
#[derive(Debug, Serialize)]
pub(crate) struct InstanceView {
    id: String,
    workflow: String,
    version: u32,
    hash: String,
    fingerprint: String,
    /// `running`, `blocked`, `completed`, `failed` or `cancelled`.
    status: &'static str,
    block: Option<BlockView>,
    state: Option<String>,
    seq: u64,
    due_at: Option<String>,
    created_at: String,
    updated_at: String,
    no_live_worker: bool,
    priority: i8,
}

/// Why an instance is blocked.
#[derive(Debug, Serialize)]
pub(crate) struct BlockView {
    kind: &'static str,
    reason: String,
    needs_attention: bool,
}

impl InstanceView {
    pub(crate) fn of(i: &InstanceInfo) -> Self {
        let (status, block) = match &i.status {
            InstanceStatus::Running => ("running", None),
            InstanceStatus::Blocked { kind, reason } => (
                "blocked",
                Some(BlockView {
                    kind: kind.name(),
                    reason: reason.clone(),
                    needs_attention: kind.needs_attention(),
                }),
            ),
            InstanceStatus::Completed => ("completed", None),
            InstanceStatus::Failed => ("failed", None),
            InstanceStatus::Cancelled => ("cancelled", None),
            _ => ("unknown", None),
        };
        Self {
            id: i.id.to_string(),
            workflow: i.workflow.clone(),
            version: i.version,
            hash: i.hash.to_string(),
            fingerprint: i.fingerprint.to_string(),
            status,
            block,
            state: i.state.clone(),
            seq: i.seq,
            due_at: i.due_at.map(rfc3339),
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
            no_live_worker: i.no_live_worker,
            priority: i.priority,
        }
    }
}

/// A lease (`sayiir show --json`'s `lease`).
#[derive(Serialize)]
pub(crate) struct LeaseView {
    owner: String,
    until: String,
    generation: u64,
    live: bool,
}

impl LeaseView {
    pub(crate) fn of(l: &LeaseHolder, now: Timestamp) -> Self {
        Self {
            owner: l.owner.to_string(),
            until: rfc3339(l.until),
            generation: l.generation,
            live: l.live_at(now),
        }
    }
}

/// A wait as JSON, times in RFC 3339 (`sayiir show --json`'s `waiting`).
pub(crate) fn waiting_json(w: &Waiting) -> Value {
    let time = |t: &Option<Timestamp>| t.map(rfc3339);
    match w {
        Waiting::Runnable { slot } => json!({"kind": "runnable", "slot": slot}),
        Waiting::Task {
            slot,
            task,
            attempt,
            attempts,
            not_before,
            deadline,
            parks_when_exhausted,
        } => json!({
            "kind": "task", "slot": slot, "task": task, "attempt": attempt,
            "attempts": attempts, "not_before": time(not_before), "deadline": time(deadline),
            "parks_when_exhausted": parks_when_exhausted,
        }),
        Waiting::Timer { slot, due } => {
            json!({"kind": "timer", "slot": slot, "due": rfc3339(*due)})
        }
        Waiting::Signal {
            slot,
            name,
            deadline,
        } => json!({"kind": "signal", "slot": slot, "name": name, "deadline": time(deadline)}),
        Waiting::ContinueAsNew { slot } => json!({"kind": "continue_as_new", "slot": slot}),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

/// `sayiir limits --json`.
#[derive(Serialize)]
pub(crate) struct Limits<'a> {
    pub(crate) concurrency: &'a [LimitInfo],
    pub(crate) rates: Vec<Rate<'a>>,
}

/// A rate limit: its interval in microseconds.
#[derive(Serialize)]
pub(crate) struct Rate<'a> {
    key: &'a str,
    interval_us: u128,
    burst: u32,
    in_use: u64,
    waiting: u64,
}

impl<'a> From<&'a RateInfo> for Rate<'a> {
    fn from(r: &'a RateInfo) -> Self {
        Self {
            key: &r.key,
            interval_us: r.interval.as_micros(),
            burst: r.burst,
            in_use: r.in_use,
            waiting: r.waiting,
        }
    }
}
