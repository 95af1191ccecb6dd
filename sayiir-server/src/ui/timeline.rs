//! An instance's history as a timeline: each committed transition closes a span that started
//! at the transition before it (a task attempt, a retry's backoff, a sleep, a signal wait),
//! drawn as a bar on a shared time axis with its duration; the entries in full below.

use maud::{Markup, html};
use sayiir::admin::TimelineEntry;
use sayiir::store::Timestamp;

use super::{duration, json_block, time};

/// What a span between two entries was, from the entry that closed it: its label and class.
fn span_of(e: &TimelineEntry) -> (String, &'static str) {
    let task = e.task.as_deref().unwrap_or("?");
    let attempt = e.attempt.map(|a| format!(" #{a}")).unwrap_or_default();
    match e.kind.as_str() {
        "task" if e.error.is_some() => (format!("task {task}{attempt} failed"), "t-error"),
        "task" => (format!("task {task}{attempt}"), "t-task"),
        "retry" => (format!("task {task}{attempt} failed, retry"), "t-retry"),
        "parked" => (format!("task {task}{attempt} failed, parked"), "t-error"),
        "operator-fail" => (format!("task {task} failed by an operator"), "t-error"),
        "signal" => (
            format!("waiting for signal {}", e.signal.as_deref().unwrap_or("?")),
            "t-signal",
        ),
        "timer" => ("sleep".into(), "t-timer"),
        "started" => ("created".into(), "t-other"),
        "cancelled" => ("cancelled".into(), "t-error"),
        other => (other.replace('-', " "), "t-other"),
    }
}

/// The timeline of `entries`; `open` is what the instance waits for now (its last span runs
/// to `now`), if it is not finished.
pub(crate) fn render(entries: &[TimelineEntry], open: Option<&str>, now: Timestamp) -> Markup {
    let Some(first) = entries.first() else {
        return html! { p.muted { "No history." } };
    };
    let start = first.at.as_millis();
    let end = match open {
        Some(_) => now.as_millis().max(start),
        None => entries.last().map_or(start, |e| e.at.as_millis()),
    };
    let total = (end - start).max(1) as f64;
    let pct = |t: i64| ((t - start) as f64 / total * 100.0).clamp(0.0, 100.0);
    let mut spans = Vec::new();
    for pair in entries.windows(2) {
        let (from, to) = (pair[0].at.as_millis(), pair[1].at.as_millis());
        let (label, class) = span_of(&pair[1]);
        spans.push((label, class, from, to, pair[1].error.clone(), pair[1].seq));
    }
    if let (Some(what), Some(last)) = (open, entries.last()) {
        spans.push((what.to_owned(), "t-open", last.at.as_millis(), end, None, 0));
    }
    html! {
        div.timeline {
            div.axis {
                span { (time(first.at)) }
                span { "total " (duration((end - start).max(0) as u64)) }
            }
            @for (label, class, from, to, error, seq) in &spans {
                @let left = pct(*from);
                @let width = (pct(*to) - left).max(0.4);
                div.trow {
                    div.tlabel title=(label) {
                        @if *seq > 0 { span.seq { "#" (seq) } " " }
                        (label)
                    }
                    div.track {
                        div class={"bar " (class)}
                            style=(format!("left:{left:.2}%;width:{width:.2}%"))
                            title=(error.as_deref().unwrap_or(label)) {}
                    }
                    div.tdur { (duration((to - from).max(0) as u64)) }
                }
            }
        }
        details.entries open {
            summary { "History (" (entries.len()) " entries)" }
            table.list.compact {
                thead { tr { th { "#" } th { "Time" } th { "After" } th { "Kind" } th { "What" } } }
                tbody {
                    @for e in entries {
                        tr class=[e.error.as_ref().map(|_| "row-error")] {
                            td { (e.seq) }
                            td { (time(e.at)) }
                            td.muted.nowrap { @if let Some(d) = e.since_previous { "+" (duration(d.as_millis() as u64)) } }
                            td { code { (e.kind) } }
                            td {
                                (e.summary)
                                @if let Some(err) = &e.error {
                                    pre.errortext { (err) }
                                }
                                @if let Some(note) = &e.note { div.muted { (note) } }
                                @if let Some(v) = &e.value {
                                    @if !v.is_null() && e.error.is_none() {
                                        details.value { summary { "value" } (json_block(v)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
