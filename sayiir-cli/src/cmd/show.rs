//! `sayiir show`: one instance in full (`Engine::describe`).

use sayiir::admin::{DecodedBy, Description, PendingSignal, Waiting};
use sayiir::inspect::WaitView;
use sayiir::store::{LeaseHolder, Timestamp};
use sayiir::{Engine, InstanceStatus};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{CliError, parse_id};
use crate::output::{Fields, Output, Style, clean};
use crate::time::{relative, rfc3339};
use crate::views::{InstanceView, block_of, status_cell};

/// `show --json`.
#[derive(Serialize)]
struct ShowView<'a> {
    instance: InstanceView,
    /// What it waits for, as the registered code says (empty without it: see `state.wait`).
    waiting: Vec<Value>,
    /// The current state decoded (`Engine::describe`'s `StateView`; its times are
    /// milliseconds since the epoch).
    state: Option<&'a sayiir::inspect::StateView>,
    state_size: Option<usize>,
    /// The output of a finished instance (a cancelled one's reason).
    output: Option<&'a Value>,
    output_size: Option<usize>,
    signals: Vec<SignalView<'a>>,
    lease: Option<LeaseView>,
    /// `registered`, `stored_description`, or `nothing` with why.
    decoded_by: &'a DecodedBy,
    /// What could not be decoded, and why.
    problems: &'a [String],
    /// The actions allowed now.
    allowed: Vec<&'static str>,
}

#[derive(Serialize)]
struct SignalView<'a> {
    id: u64,
    name: &'a str,
    sent_at: String,
    value: Option<&'a Value>,
    size: usize,
}

#[derive(Serialize)]
struct LeaseView {
    owner: String,
    until: String,
    generation: u64,
    live: bool,
}

fn lease_view(l: &LeaseHolder, now: Timestamp) -> LeaseView {
    LeaseView {
        owner: l.owner.to_string(),
        until: rfc3339(l.until),
        generation: l.generation,
        live: l.live_at(now),
    }
}

/// `t` for people: `2025-03-01T08:30:00.250Z (in 4s)`.
fn when(t: Timestamp, now: Timestamp) -> String {
    format!("{} ({})", rfc3339(t), relative(t, now))
}

/// A wait as JSON, times in RFC 3339.
fn waiting_json(w: &Waiting) -> Value {
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

/// A wait in words.
fn waiting_line(w: &Waiting, now: Timestamp) -> String {
    let (slot, what) = match w {
        Waiting::Runnable { slot } => (slot, "its next step, now".to_owned()),
        Waiting::Task {
            slot,
            task,
            attempt,
            attempts,
            not_before,
            deadline,
            parks_when_exhausted,
        } => {
            let mut s = format!("task `{task}`, attempt {attempt} of {attempts}");
            if let Some(t) = not_before.filter(|t| *t > now) {
                s.push_str(&format!(", not before {}", when(t, now)));
            }
            if let Some(t) = deadline {
                s.push_str(&format!(", deadline {}", when(*t, now)));
            }
            if *parks_when_exhausted {
                s.push_str("; parks when its attempts run out");
            }
            (slot, s)
        }
        Waiting::Timer { slot, due } => (slot, format!("a timer due {}", when(*due, now))),
        Waiting::Signal {
            slot,
            name,
            deadline,
        } => {
            let until = deadline
                .map(|t| format!(", until {}", when(t, now)))
                .unwrap_or_default();
            (slot, format!("signal `{name}`{until}"))
        }
        Waiting::ContinueAsNew { slot } => (slot, "continue_as_new".to_owned()),
        other => return serde_json::to_string(other).unwrap_or_default(),
    };
    if slot.is_empty() {
        what
    } else {
        format!("branch {slot:?}: {what}")
    }
}

/// What a stored wait is, in words (when the engine does not register the definition).
fn wait_view_line(w: &WaitView) -> String {
    let done = |branches: &[sayiir::inspect::BranchView]| {
        branches
            .iter()
            .filter(|b| matches!(b, sayiir::inspect::BranchView::Done(_)))
            .count()
    };
    match w {
        WaitView::Task { task, attempt, .. } => format!("task `{task}`, attempt {attempt}"),
        WaitView::Child { workflow, .. } => format!("child workflow `{workflow}`"),
        WaitView::Join { branches, .. } | WaitView::JoinAll { branches, .. } => format!(
            "a join of {} branches ({} done)",
            branches.len(),
            done(branches)
        ),
        WaitView::Timer { due, .. } => format!("a timer due {}", rfc3339(Timestamp(*due))),
        WaitView::Signal {
            name, payload_type, ..
        } => format!("signal `{name}` (a `{payload_type}`)"),
        WaitView::ContinueAsNew { .. } => "continue_as_new".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// A JSON value on one line, cut after `max` characters.
fn compact(v: &Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        s
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}… ({} bytes as JSON)", s.len())
    }
}

fn signal_line(s: &PendingSignal) -> String {
    let value = s
        .value
        .as_ref()
        .map_or_else(|| format!("{} bytes", s.size), |v| compact(v, 120));
    format!(
        "#{} `{}` {value} (sent {})",
        s.id,
        s.name,
        rfc3339(s.sent_at)
    )
}

fn decoded_line(d: &Description) -> String {
    let sizes = [("state", d.state_size), ("output", d.output_size)]
        .into_iter()
        .filter_map(|(what, n)| n.map(|n| format!("{what} {n} bytes")))
        .collect::<Vec<_>>()
        .join(", ");
    match &d.decoded_by {
        DecodedBy::Registered => "by the workflow's registered types".into(),
        DecodedBy::StoredDescription => "by the description the workflow's binary saved in the \
                                         store"
            .into(),
        DecodedBy::Nothing(why) => format!("no: {why}; shown as sizes: {sizes}"),
        other => format!("{other:?}"),
    }
}

pub(crate) async fn run(engine: &Engine, id: &str, out: &Output) -> Result<(), CliError> {
    let id = parse_id(id)?;
    let d = engine.describe(&id).await?;
    let now = Timestamp::now();
    let info = &d.info;
    if out.is_json() {
        return out.json(&ShowView {
            instance: InstanceView::of(info),
            waiting: d.waiting.iter().map(waiting_json).collect(),
            state: d.state.as_ref(),
            state_size: d.state_size,
            output: d.output.as_ref(),
            output_size: d.output_size,
            signals: d
                .signals
                .iter()
                .map(|s| SignalView {
                    id: s.id,
                    name: &s.name,
                    sent_at: rfc3339(s.sent_at),
                    value: s.value.as_ref(),
                    size: s.size,
                })
                .collect(),
            lease: d.lease.as_ref().map(|l| lease_view(l, now)),
            decoded_by: &d.decoded_by,
            problems: &d.problems,
            allowed: d.allowed.iter().map(|o| o.name()).collect(),
        });
    }
    let mut f = Fields::new();
    f.raw("instance", out.paint(Style::Bold, &clean(info.id.as_str())));
    f.add(
        "workflow",
        format!(
            "{}, version {} (definition {}, fingerprint {})",
            info.workflow,
            info.version,
            info.hash.short(),
            info.fingerprint.short()
        ),
    );
    let (status, style) = status_cell(info);
    let attention = match block_of(info) {
        Some((kind, _)) if kind.needs_attention() => " (needs attention)",
        _ => "",
    };
    f.raw("status", out.paint(style, &format!("{status}{attention}")));
    if let Some((_, reason)) = block_of(info) {
        f.add("reason", reason);
    }
    if let Some(state) = &info.state {
        f.add("state", state);
    }
    if info.priority != 0 {
        f.add("priority", info.priority.to_string());
    }
    let mut waits: Vec<String> = d.waiting.iter().map(|w| waiting_line(w, now)).collect();
    if waits.is_empty()
        && let Some(w) = d.state.as_ref().and_then(|s| s.wait.as_ref())
    {
        waits.push(wait_view_line(w));
    }
    if info.status == InstanceStatus::Running
        && waits.is_empty()
        && let Some(t) = info.due_at
    {
        waits.push(format!("its next step, due {}", when(t, now)));
    }
    for (i, w) in waits.iter().enumerate() {
        f.add(if i == 0 { "waits for" } else { "" }, w);
    }
    if info.no_live_worker {
        f.raw(
            "worker",
            out.paint(
                Style::Yellow,
                "no live worker runs this definition: it waits until one starts",
            ),
        );
    }
    if let Some(state) = &d.state {
        for (i, (name, value)) in state.fields.iter().enumerate() {
            f.add(
                if i == 0 { "carries" } else { "" },
                format!("{name} = {}", compact(value, 200)),
            );
        }
    }
    if let Some(output) = &d.output {
        let label = if info.status == InstanceStatus::Cancelled {
            "reason"
        } else {
            "output"
        };
        f.add(label, compact(output, 400));
    }
    for (i, s) in d.signals.iter().enumerate() {
        f.add(if i == 0 { "signals" } else { "" }, signal_line(s));
    }
    if let Some(l) = &d.lease {
        let live = if l.live_at(now) { "held" } else { "expired" };
        f.add(
            "lease",
            format!(
                "{} (claim {}), {live} until {}",
                l.owner,
                l.generation,
                when(l.until, now)
            ),
        );
    }
    f.add("created", when(info.created_at, now));
    f.add(
        "updated",
        format!(
            "{}, after {} transition(s)",
            when(info.updated_at, now),
            info.seq
        ),
    );
    let allowed: Vec<&str> = d.allowed.iter().map(|o| o.name()).collect();
    f.add(
        "allowed",
        if allowed.is_empty() {
            "nothing (it has finished)".to_owned()
        } else {
            allowed.join(", ")
        },
    );
    f.add("decoded", decoded_line(&d));
    for (i, p) in d.problems.iter().enumerate() {
        f.raw(
            if i == 0 { "problems" } else { "" },
            out.paint(Style::Red, &clean(p)),
        );
    }
    out.text(&f.render(out))
}
