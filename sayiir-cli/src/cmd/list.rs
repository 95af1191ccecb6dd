//! `sayiir list`.

use sayiir::Engine;
use sayiir::store::DamagedRow;
use serde::Serialize;

use crate::args::ListArgs;
use crate::error::{CliError, parse_id};
use crate::output::{Output, Style, Table, clean};
use crate::select;
use crate::views::{InstanceView, short_time, status_cell};

#[derive(Serialize)]
struct ListView {
    instances: Vec<InstanceView>,
    /// Rows of the store that match and do not decode (left as they are).
    damaged: Vec<DamagedView>,
    /// The cursor of the next page (`--after`), when this page is full.
    next: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct DamagedView {
    id: String,
    workflow: Option<String>,
    problem: String,
}

impl DamagedView {
    pub(crate) fn of(d: &DamagedRow) -> Self {
        Self {
            id: d.id.clone(),
            workflow: d.workflow.clone(),
            problem: d.problem.clone(),
        }
    }
}

/// The lines that report damaged rows, for human output.
pub(crate) fn damaged_lines(damaged: &[DamagedRow], out: &Output) -> String {
    let mut text = String::new();
    if !damaged.is_empty() {
        let head = format!(
            "{} matching row(s) of the store do not decode (left as they are):",
            damaged.len()
        );
        text.push_str(&out.paint(Style::Red, &head));
        text.push('\n');
        for d in damaged {
            text.push_str(&format!("  {}\n", clean(&d.to_string())));
        }
    }
    text
}

pub(crate) async fn run(engine: &Engine, args: &ListArgs, out: &Output) -> Result<(), CliError> {
    let after = args.after.as_deref().map(parse_id).transpose()?;
    let page = select::page(engine, &args.filter, after, args.limit).await?;
    if out.is_json() {
        return out.json(&ListView {
            instances: page.instances.iter().map(InstanceView::of).collect(),
            damaged: page.damaged.iter().map(DamagedView::of).collect(),
            next: page.next.as_ref().map(ToString::to_string),
        });
    }
    let mut table = Table::new(&[
        "ID", "WORKFLOW", "VERSION", "STATUS", "STATE", "CREATED", "UPDATED",
    ]);
    for i in &page.instances {
        let (status, style) = status_cell(i);
        table.styled([
            (i.id.to_string(), Style::Plain),
            (i.workflow.clone(), Style::Plain),
            (i.version.to_string(), Style::Plain),
            (status, style),
            (i.state.clone().unwrap_or_else(|| "-".into()), Style::Plain),
            (short_time(i.created_at), Style::Dim),
            (short_time(i.updated_at), Style::Dim),
        ]);
    }
    let mut text = if table.is_empty() {
        "no instance matches\n".to_owned()
    } else {
        table.render(out)
    };
    text.push_str(&damaged_lines(&page.damaged, out));
    if let Some(next) = &page.next {
        text.push_str(&out.paint(
            Style::Dim,
            &format!("next page: --after {}", clean(next.as_str())),
        ));
        text.push('\n');
    }
    out.text(&text)
}
