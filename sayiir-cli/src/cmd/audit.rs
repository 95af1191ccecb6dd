//! `sayiir audit`: the HTTP API's audit log (`Engine::audit`), newest first, a page at a time.

use std::num::NonZeroUsize;

use sayiir::Engine;
use sayiir::admin::{AuditEntry, AuditResult};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, Style, Table, clean};
use crate::time::rfc3339;

#[derive(Serialize)]
struct EntryView<'a> {
    id: u64,
    at: String,
    who: &'a str,
    action: &'a str,
    targets: &'a [String],
    detail: Option<&'a str>,
    #[serde(flatten)]
    result: &'a AuditResult,
}

/// The JSON of `audit --json` (what `GET /api/v1/audit` gives).
#[derive(Serialize)]
struct PageView<'a> {
    entries: Vec<EntryView<'a>>,
    next: Option<u64>,
}

pub(crate) async fn run(
    engine: &Engine,
    after: Option<u64>,
    limit: NonZeroUsize,
    out: &Output,
) -> Result<(), CliError> {
    let entries: Vec<AuditEntry> = engine.audit(after, limit).await?;
    let next = if entries.len() >= limit.get() {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    if out.is_json() {
        return out.json(&PageView {
            entries: entries
                .iter()
                .map(|e| EntryView {
                    id: e.id,
                    at: rfc3339(e.at),
                    who: &e.who,
                    action: &e.action,
                    targets: &e.targets,
                    detail: e.detail.as_deref(),
                    result: &e.result,
                })
                .collect(),
            next,
        });
    }
    if entries.is_empty() {
        return out.text("no audit entries\n");
    }
    let mut table = Table::new(&["ID", "AT", "WHO", "ACTION", "ON", "DETAIL", "RESULT"]);
    for e in &entries {
        let (result, style) = match &e.result {
            AuditResult::Ok => ("ok".to_owned(), Style::Green),
            AuditResult::Failed { kind, message } => (format!("{kind}: {message}"), Style::Red),
        };
        table.styled([
            (e.id.to_string(), Style::Plain),
            (rfc3339(e.at), Style::Dim),
            (clean(&e.who).into_owned(), Style::Plain),
            (clean(&e.action).into_owned(), Style::Bold),
            (clean(&e.targets.join(",")).into_owned(), Style::Plain),
            (
                clean(e.detail.as_deref().unwrap_or("")).into_owned(),
                Style::Plain,
            ),
            (clean(&result).into_owned(), style),
        ]);
    }
    let mut text = table.render(out);
    if let Some(next) = next {
        text.push_str(&format!("next page: --after {next}\n"));
    }
    out.text(&text)
}
