//! `sayiir history`: the committed transitions of an instance.
//!
//! Until the engine renders history (`Engine::timeline`: task names, attempts, error texts,
//! signal names and payloads), each entry shows its kind and its payload's size.

use sayiir::Engine;
use sayiir::store::{HistoryEntry, Timestamp};
use serde::Serialize;

use crate::error::{CliError, parse_id};
use crate::output::{Output, Style, Table, clean};
use crate::time::{duration, rfc3339};

#[derive(Serialize)]
struct HistoryView {
    id: String,
    entries: Vec<EntryView>,
    /// Whether payloads are decoded (`false`: only their sizes are shown).
    decoded: bool,
}

#[derive(Serialize)]
struct EntryView {
    seq: u64,
    at: String,
    /// Milliseconds since the entry before it (`null` for the first one).
    after_ms: Option<u64>,
    kind: String,
    size: usize,
}

fn since(prev: Option<Timestamp>, at: Timestamp) -> Option<std::time::Duration> {
    prev.map(|p| p.until(at))
}

pub(crate) async fn run(engine: &Engine, id: &str, out: &Output) -> Result<(), CliError> {
    let id = parse_id(id)?;
    let entries: Vec<HistoryEntry> = engine.history(&id).await?;
    if entries.is_empty() {
        // An unknown id (some stores answer an empty history): say so.
        engine.status(&id).await?;
    }
    if out.is_json() {
        let mut prev = None;
        let view = HistoryView {
            id: id.to_string(),
            entries: entries
                .iter()
                .map(|e| {
                    let after = since(prev, e.at);
                    prev = Some(e.at);
                    EntryView {
                        seq: e.seq,
                        at: rfc3339(e.at),
                        after_ms: after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                        kind: e.kind.clone(),
                        size: e.payload.len(),
                    }
                })
                .collect(),
            decoded: false,
        };
        return out.json(&view);
    }
    let mut table = Table::new(&["SEQ", "TIME", "AFTER", "KIND", "PAYLOAD"]);
    let mut prev = None;
    for e in &entries {
        let after = since(prev, e.at).map_or_else(|| "-".into(), |d| format!("+{}", duration(d)));
        prev = Some(e.at);
        table.styled([
            (e.seq.to_string(), Style::Plain),
            (rfc3339(e.at), Style::Dim),
            (after, Style::Plain),
            (e.kind.clone(), Style::Bold),
            (format!("{} bytes", e.payload.len()), Style::Plain),
        ]);
    }
    let mut text = table.render(out);
    text.push_str(&out.paint(
        Style::Dim,
        &format!(
            "{} entries of `{}`; payloads are shown as sizes: this build does not decode them",
            entries.len(),
            clean(id.as_str())
        ),
    ));
    text.push('\n');
    out.text(&text)
}
