//! `sayiir versions`: instances of each workflow definition by status (`Engine::version_stats`).

use sayiir::Engine;
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, Style, Table};

#[derive(Serialize)]
struct VersionView {
    workflow: String,
    version: u32,
    hash: String,
    fingerprint: String,
    running: u64,
    blocked: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    /// No instance of this definition is left to run.
    drained: bool,
}

pub(crate) async fn run(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let mut stats = engine.version_stats().await?;
    stats.sort_by(|a, b| (&a.workflow, a.version).cmp(&(&b.workflow, b.version)));
    let views: Vec<VersionView> = stats
        .iter()
        .map(|s| VersionView {
            workflow: s.workflow.clone(),
            version: s.version,
            hash: s.hash.to_string(),
            fingerprint: s.fingerprint.to_string(),
            running: s.running,
            blocked: s.blocked,
            completed: s.completed,
            failed: s.failed,
            cancelled: s.cancelled,
            drained: s.drained(),
        })
        .collect();
    if out.is_json() {
        return out.json(&views);
    }
    if views.is_empty() {
        return out.text("no instances\n");
    }
    let mut table = Table::new(&[
        "WORKFLOW",
        "VERSION",
        "DEFINITION",
        "FINGERPRINT",
        "RUNNING",
        "BLOCKED",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "DRAINED",
    ]);
    for (v, s) in views.iter().zip(&stats) {
        let (drained, style) = if v.drained {
            ("yes", Style::Green)
        } else {
            ("no", Style::Yellow)
        };
        table.styled([
            (v.workflow.clone(), Style::Plain),
            (v.version.to_string(), Style::Plain),
            (s.hash.short(), Style::Dim),
            (s.fingerprint.short(), Style::Dim),
            (v.running.to_string(), Style::Plain),
            (v.blocked.to_string(), Style::Plain),
            (v.completed.to_string(), Style::Plain),
            (v.failed.to_string(), Style::Plain),
            (v.cancelled.to_string(), Style::Plain),
            (drained.to_owned(), style),
        ]);
    }
    out.text(&table.render(out))
}
