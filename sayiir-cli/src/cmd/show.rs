//! `sayiir show`: one instance in detail.
//!
//! Until the engine describes instances (`Engine::describe`: decoded state, waits, carried
//! values, error, lease holder), this shows what the store's head says, with the sizes of the
//! stored values.

use sayiir::store::{BlockKind, SignalRecord, Timestamp};
use sayiir::{Engine, InstanceInfo};
use serde::Serialize;

use crate::error::{CliError, parse_id};
use crate::output::{Fields, Output, Style, clean};
use crate::pending::needs_attention;
use crate::time::{relative, rfc3339};
use crate::views::{InstanceView, block_of, status_cell};

#[derive(Serialize)]
struct ShowView {
    instance: InstanceView,
    /// What it waits for, in words (`null` once finished).
    waits_for: Option<String>,
    /// Signals sent and not consumed yet, oldest first.
    signals: Vec<SignalView>,
    /// The stored values' sizes in bytes (they are not decoded).
    stored: StoredView,
}

#[derive(Serialize)]
struct SignalView {
    name: String,
    size: usize,
    sent_at: String,
}

#[derive(Serialize)]
struct StoredView {
    input: Option<usize>,
    state: Option<usize>,
    output: Option<usize>,
    decoded: bool,
}

/// What an unfinished instance waits for: an operator when it is blocked, else what its due
/// time says.
fn waits_for(info: &InstanceInfo, now: Timestamp) -> Option<String> {
    if let Some((kind, _)) = block_of(info) {
        return Some(if kind == BlockKind::Paused {
            "`sayiir resume`: it is paused".into()
        } else {
            "an operator: it is not run while blocked (see the reason)".into()
        });
    }
    if info.status != sayiir::InstanceStatus::Running {
        return None;
    }
    Some(match info.due_at {
        None => "an outside event: a signal, or a child workflow's end".into(),
        Some(t) if t <= now => format!("a worker: due since {} ({})", rfc3339(t), relative(t, now)),
        Some(t) => format!(
            "{} ({}): a timer, a retry's backoff, or a running attempt's deadline",
            rfc3339(t),
            relative(t, now)
        ),
    })
}

fn sizes(stored: &StoredView) -> String {
    let parts: Vec<String> = [
        ("input", stored.input),
        ("state", stored.state),
        ("output", stored.output),
    ]
    .into_iter()
    .filter_map(|(what, size)| size.map(|n| format!("{what} {n} bytes")))
    .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

fn signal_line(s: &SignalRecord) -> String {
    format!(
        "{} ({} bytes, sent {})",
        clean(&s.name),
        s.payload.len(),
        rfc3339(s.sent_at)
    )
}

pub(crate) async fn run(engine: &Engine, id: &str, out: &Output) -> Result<(), CliError> {
    let id = parse_id(id)?;
    let info = engine.status(&id).await?;
    let store = engine.store();
    let record = store.load(&id).await?;
    let input = store.load_input(&id).await?;
    let signals = store.signals(&id).await?;
    let now = Timestamp::now();
    let stored = StoredView {
        input: input.as_ref().map(Vec::len),
        state: record.state.as_ref().map(Vec::len),
        output: record.output.as_ref().map(Vec::len),
        decoded: false,
    };
    let waits = waits_for(&info, now);
    if out.is_json() {
        return out.json(&ShowView {
            instance: InstanceView::of(&info),
            waits_for: waits,
            signals: signals
                .iter()
                .map(|s| SignalView {
                    name: s.name.clone(),
                    size: s.payload.len(),
                    sent_at: rfc3339(s.sent_at),
                })
                .collect(),
            stored,
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
    let (status, style) = status_cell(&info);
    let attention = match block_of(&info) {
        Some((kind, _)) if needs_attention(kind) => " (needs attention)",
        _ => "",
    };
    f.raw("status", out.paint(style, &format!("{status}{attention}")));
    if let Some((_, reason)) = block_of(&info) {
        f.add("reason", reason);
    }
    if let Some(state) = &info.state {
        f.add("state", state);
    }
    if let Some(w) = &waits {
        f.add("waits for", w);
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
    if !signals.is_empty() || waits.is_some() {
        let text = match signals.as_slice() {
            [] => "none buffered".to_owned(),
            list => format!(
                "{} buffered: {}",
                list.len(),
                list.iter().map(signal_line).collect::<Vec<_>>().join(", ")
            ),
        };
        f.raw("signals", text);
    }
    f.add(
        "created",
        format!(
            "{} ({})",
            rfc3339(info.created_at),
            relative(info.created_at, now)
        ),
    );
    f.add(
        "updated",
        format!(
            "{} ({}), after {} transition(s)",
            rfc3339(info.updated_at),
            relative(info.updated_at, now),
            info.seq
        ),
    );
    f.add("stored", sizes(&stored));
    f.raw(
        "",
        out.paint(
            Style::Dim,
            "(stored values are shown as sizes: this build does not decode them)",
        ),
    );
    out.text(&f.render(out))
}
