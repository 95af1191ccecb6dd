//! An instance's history rendered for people: each entry's time (RFC 3339), the time since the
//! entry before it, and what caused it in words, with task outputs, errors and signal payloads
//! decoded to JSON through the workflow's description.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use sayiir_store::{HistoryEntry, Timestamp};

use super::decode::Decoder;
use crate::codec;

/// One entry of [`Engine::timeline`](crate::Engine::timeline).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimelineEntry {
    /// Sequence number of the transition (0: the creation).
    pub seq: u64,
    /// Commit time.
    pub at: Timestamp,
    /// Commit time in RFC 3339 (UTC, milliseconds).
    pub time: String,
    /// Time since the entry before it (`None` for the first one shown).
    #[serde(with = "millis_opt")]
    pub since_previous: Option<Duration>,
    /// The stored kind (`started`, `task`, `retry`, `signal`, `parked`, … — see
    /// `docs/format.md`).
    pub kind: String,
    /// The task the entry is about, if any.
    pub task: Option<String>,
    /// The task's attempt, if any (from 1).
    pub attempt: Option<u32>,
    /// The signal the entry delivered, if any.
    pub signal: Option<String>,
    /// The error of a failed attempt, in words (a string error as it is, another error type
    /// as compact JSON).
    pub error: Option<String>,
    /// The entry's value as JSON: a task's output, a signal's payload, the input, a cancel
    /// reason; `None` when the entry carries none or it could not be decoded (see `note`).
    pub value: Option<serde_json::Value>,
    /// Why the value is not shown, when it is not (no description of the instance's
    /// definition, or bytes that do not match it).
    pub note: Option<String>,
    /// One line for people.
    pub summary: String,
    /// Size of the stored payload, in bytes.
    pub size: usize,
}

/// Durations as whole milliseconds in JSON.
mod millis_opt {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }
}

/// A time in RFC 3339 (UTC, with milliseconds), or the raw number when it is out of range.
pub fn rfc3339(t: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.as_millis()) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{} ms since the epoch", t.as_millis()),
    }
}

// The payloads of the entries, as `feed.rs`, `control.rs`, `versions.rs` and
// `driver/takeover.rs` write them (postcard: fields by position); `tests` pins them against
// the writers.

#[derive(Deserialize)]
struct TaskEvent {
    slot: Vec<u32>,
    task: String,
    attempt: u32,
    output: Vec<u8>,
}

#[derive(Deserialize)]
struct RetryEvent {
    slot: Vec<u32>,
    task: String,
    failed_attempt: u32,
    not_before: i64,
    error: Vec<u8>,
}

#[derive(Deserialize)]
struct SignalEvent {
    slot: Vec<u32>,
    name: String,
    signal_id: u64,
    payload: Vec<u8>,
}

#[derive(Deserialize)]
struct ParkedEvent {
    slot: Vec<u32>,
    task: String,
    attempt: u32,
    error: Vec<u8>,
}

#[derive(Deserialize)]
struct RearmEvent {
    slot: Vec<u32>,
    task: String,
    exhausted_attempt: u32,
}

#[derive(Deserialize)]
struct MigratedEvent {
    from_version: u32,
    _from_hash: [u8; 32],
    _from_fingerprint: [u8; 32],
    from_state: String,
    to_version: u32,
    _to_hash: [u8; 32],
    _to_fingerprint: [u8; 32],
    to_state: String,
}

#[derive(Deserialize)]
struct RestartedEvent {
    from_version: u32,
    _from_hash: [u8; 32],
    _from_fingerprint: [u8; 32],
    from_status: String,
    from_seq: u64,
    to_version: u32,
    reason: String,
}

/// Renders `entries` (in order) with `decoder`.
pub(crate) fn render(entries: &[HistoryEntry], decoder: &Decoder) -> Vec<TimelineEntry> {
    let mut out = Vec::with_capacity(entries.len());
    let mut previous: Option<Timestamp> = None;
    for e in entries {
        let mut entry = TimelineEntry {
            seq: e.seq,
            at: e.at,
            time: rfc3339(e.at),
            since_previous: previous.map(|p| p.until(e.at)),
            kind: e.kind.clone(),
            task: None,
            attempt: None,
            signal: None,
            error: None,
            value: None,
            note: None,
            summary: String::new(),
            size: e.payload.len(),
        };
        previous = Some(e.at);
        if let Err(why) = describe_entry(&mut entry, &e.payload, decoder) {
            entry.note = Some(why.clone());
            if entry.summary.is_empty() {
                entry.summary = format!("{} ({} bytes; {why})", e.kind, e.payload.len());
            }
        }
        out.push(entry);
    }
    out
}

/// Fills in what entry `e` says. An error is a note: the part that could be read stays.
fn describe_entry(e: &mut TimelineEntry, payload: &[u8], d: &Decoder) -> Result<(), String> {
    let undecodable = |err: codec::CodecError| format!("the payload does not decode: {err}");
    match e.kind.as_str() {
        "started" => {
            e.summary = "started".into();
            let input = d.input(payload)?;
            e.summary = format!("started with {}", compact(&input));
            e.value = Some(input);
        }
        "start" => e.summary = "began running".into(),
        "task" | "operator-fail" => {
            let t: TaskEvent = codec::decode(payload).map_err(undecodable)?;
            let (label, slot) = (
                if e.kind == "task" {
                    ""
                } else {
                    " (released by an operator)"
                },
                t.slot,
            );
            e.task = Some(t.task.clone());
            e.attempt = Some(t.attempt);
            let at = place(&slot);
            match d.task_output(&t.task, &t.output) {
                Ok(out) => {
                    match crate::inspect::error_of(&out) {
                        Some(err) => {
                            e.summary = format!(
                                "task `{}`{at} attempt {} failed{label}: {err}",
                                t.task, t.attempt
                            );
                            e.error = Some(err);
                        }
                        None => {
                            e.summary = format!(
                                "task `{}`{at} attempt {} returned {}",
                                t.task,
                                t.attempt,
                                compact(&out)
                            );
                        }
                    }
                    e.value = Some(out);
                }
                Err(why) => {
                    e.summary = format!(
                        "task `{}`{at} attempt {} returned {} bytes{label}",
                        t.task,
                        t.attempt,
                        t.output.len()
                    );
                    return Err(why);
                }
            }
        }
        "retry" => {
            let r: RetryEvent = codec::decode(payload).map_err(undecodable)?;
            e.task = Some(r.task.clone());
            e.attempt = Some(r.failed_attempt);
            let at = place(&r.slot);
            let next = rfc3339(Timestamp(r.not_before));
            let out = d.task_output(&r.task, &r.error);
            let err = match &out {
                Ok(v) => crate::inspect::error_of(v).unwrap_or_else(|| compact(v)),
                Err(_) => format!("{} bytes", r.error.len()),
            };
            e.summary = format!(
                "task `{}`{at} attempt {} failed: {err}; attempt {} not before {next}",
                r.task,
                r.failed_attempt,
                r.failed_attempt + 1
            );
            e.error = Some(err);
            e.value = Some(out?);
        }
        "parked" => {
            let p: ParkedEvent = codec::decode(payload).map_err(undecodable)?;
            e.task = Some(p.task.clone());
            e.attempt = Some(p.attempt);
            let at = place(&p.slot);
            let out = d.task_output(&p.task, &p.error);
            let err = match &out {
                Ok(v) => crate::inspect::error_of(v).unwrap_or_else(|| compact(v)),
                Err(_) => format!("{} bytes", p.error.len()),
            };
            e.summary = format!(
                "parked: task `{}`{at} failed its last attempt ({}): {err}; needs attention",
                p.task, p.attempt
            );
            e.error = Some(err);
            e.value = Some(out?);
        }
        "operator-retry" => {
            let r: RearmEvent = codec::decode(payload).map_err(undecodable)?;
            e.task = Some(r.task.clone());
            e.summary = format!(
                "retried by an operator: task `{}`{} runs again from attempt 1 (it had failed \
                 attempt {})",
                r.task,
                place(&r.slot),
                r.exhausted_attempt
            );
        }
        "task-started" => {
            let (slot, deadline): (Vec<u32>, i64) = codec::decode(payload).map_err(undecodable)?;
            e.summary = format!(
                "task{} started an attempt, deadline {}",
                place(&slot),
                rfc3339(Timestamp(deadline))
            );
        }
        "timer" => {
            let slot: Vec<u32> = codec::decode(payload).map_err(undecodable)?;
            e.summary = format!("timer{} fired", place(&slot));
        }
        "signal" => {
            let s: SignalEvent = codec::decode(payload).map_err(undecodable)?;
            e.signal = Some(s.name.clone());
            let at = place(&s.slot);
            match d.signal_payload(&s.name, &s.payload) {
                Ok(v) => {
                    e.summary = format!(
                        "signal `{}`{at} delivered (#{}): {}",
                        s.name,
                        s.signal_id,
                        compact(&v)
                    );
                    e.value = Some(v);
                }
                Err(why) => {
                    e.summary = format!(
                        "signal `{}`{at} delivered (#{}): {} bytes",
                        s.name,
                        s.signal_id,
                        s.payload.len()
                    );
                    return Err(why);
                }
            }
        }
        "rescheduled" => {
            let due: Option<i64> = codec::decode(payload).map_err(undecodable)?;
            e.summary = match due {
                Some(t) => format!("next due {}", rfc3339(Timestamp(t))),
                None => "waits for an outside event".into(),
            };
        }
        "cancelled" => {
            let reason: String = codec::decode(payload).map_err(undecodable)?;
            e.summary = format!("cancelled: {reason}");
            e.value = Some(serde_json::Value::String(reason));
        }
        "migrated" => {
            let m: MigratedEvent = codec::decode(payload).map_err(undecodable)?;
            e.summary = format!(
                "migrated from version {} (state `{}`) to version {} (state `{}`)",
                m.from_version, m.from_state, m.to_version, m.to_state
            );
        }
        "restarted" => {
            let r: RestartedEvent = codec::decode(payload).map_err(undecodable)?;
            e.summary = format!(
                "restarted on version {} (the previous run, version {}, was {} at entry {}): {}",
                r.to_version, r.from_version, r.from_status, r.from_seq, r.reason
            );
        }
        other => e.summary = other.to_string(),
    }
    Ok(())
}

/// ` at branch [1, 0]` for a slot inside a join or a child, nothing at the top.
fn place(slot: &[u32]) -> String {
    if slot.is_empty() {
        String::new()
    } else {
        format!(" at {slot:?}")
    }
}

/// Compact JSON, cut at 200 characters for a one-line summary.
pub(crate) fn compact(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 200 {
        return s;
    }
    let cut: String = s.chars().take(199).collect();
    format!("{cut}…")
}
