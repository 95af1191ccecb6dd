//! `sayiir limits`: every concurrency limit with its usage (`Engine::limits`): tasks' limits
//! (`task:<name>`), workflow types' (`workflow:<name>`) and concurrency keys' (`key:<key>`).

use sayiir::Engine;

use crate::error::CliError;
use crate::output::{Output, Style, Table};

pub(crate) async fn run(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let limits = engine.limits().await?;
    if out.is_json() {
        return out.json(&limits);
    }
    if limits.is_empty() {
        return out.text("no concurrency limits used\n");
    }
    let mut table = Table::new(&["LIMIT", "MAX", "IN USE", "WAITING"]);
    for l in &limits {
        let style = if l.in_use >= u64::from(l.limit) {
            Style::Yellow
        } else {
            Style::Plain
        };
        table.styled([
            (l.key.clone(), Style::Plain),
            (l.limit.to_string(), Style::Plain),
            (l.in_use.to_string(), style),
            (l.waiting.to_string(), Style::Plain),
        ]);
    }
    out.text(&table.render(out))
}
