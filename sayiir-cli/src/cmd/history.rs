//! `sayiir history`: the committed transitions of an instance (`Engine::timeline`).

use sayiir::Engine;
use sayiir::admin::TimelineEntry;
use serde::Serialize;

use crate::error::{CliError, parse_id};
use crate::output::{Output, Style, Table, clean};
use crate::time::duration;

/// `history --json`: the engine's timeline entries as they serialize (`time` in RFC 3339,
/// `at` and `since_previous` in milliseconds).
#[derive(Serialize)]
struct HistoryView<'a> {
    id: &'a str,
    entries: &'a [TimelineEntry],
}

pub(crate) async fn run(engine: &Engine, id: &str, out: &Output) -> Result<(), CliError> {
    let id = parse_id(id)?;
    let entries = engine.timeline(&id).await?;
    if out.is_json() {
        return out.json(&HistoryView {
            id: id.as_str(),
            entries: &entries,
        });
    }
    let mut table = Table::new(&["SEQ", "TIME", "AFTER", "KIND", "WHAT"]);
    for e in &entries {
        let after = e
            .since_previous
            .map_or_else(|| "-".into(), |d| format!("+{}", duration(d)));
        let style = if e.error.is_some() {
            Style::Red
        } else {
            Style::Plain
        };
        table.styled([
            (e.seq.to_string(), Style::Plain),
            (e.time.clone(), Style::Dim),
            (after, Style::Plain),
            (e.kind.clone(), Style::Bold),
            (e.summary.clone(), style),
        ]);
    }
    let mut text = table.render(out);
    let notes: Vec<&str> = entries.iter().filter_map(|e| e.note.as_deref()).collect();
    if let Some(note) = notes.first() {
        text.push_str(&out.paint(
            Style::Dim,
            &format!(
                "values not shown for {} entr{} of `{}`: {}",
                notes.len(),
                if notes.len() == 1 { "y" } else { "ies" },
                clean(id.as_str()),
                clean(note)
            ),
        ));
        text.push('\n');
    }
    out.text(&text)
}
