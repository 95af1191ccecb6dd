//! `cancel`, `pause`, `resume`, `retry`, `fail`: on instances given by id, or on those filters
//! select (listed first, then confirmed).

use std::io::{IsTerminal, Write};

use futures_util::stream::{self, StreamExt};
use sayiir::{Engine, InstanceId, InstanceInfo};
use serde::Serialize;

use crate::args::Targets;
use crate::error::{CliError, parse_id};
use crate::output::{Output, Style, Table, clean};
use crate::select;
use crate::views::status_cell;

/// An action on one instance.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action<'a> {
    Cancel { reason: &'a str },
    Pause,
    Resume,
    Retry,
    Fail,
}

/// How many instances are acted on at once.
const CONCURRENCY: usize = 8;

impl Action<'_> {
    fn verb(self) -> &'static str {
        match self {
            Action::Cancel { .. } => "cancel",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Retry => "retry",
            Action::Fail => "fail",
        }
    }

    /// What an instance it succeeded on is now.
    fn done(self) -> &'static str {
        match self {
            Action::Cancel { .. } => "cancelled",
            Action::Pause => "paused",
            Action::Resume => "resumed",
            Action::Retry => "retry requested",
            Action::Fail => "fail requested",
        }
    }

    async fn apply(self, engine: &Engine, id: &InstanceId) -> Result<(), CliError> {
        match self {
            Action::Cancel { reason } => engine.cancel(id, reason).await?,
            Action::Pause => engine.pause(id).await?,
            Action::Resume => engine.resume(id).await?,
            Action::Retry => engine.retry(id).await?,
            Action::Fail => engine.fail(id).await?,
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ActionView {
    action: &'static str,
    /// How many instances the ids or filters selected.
    selected: usize,
    succeeded: usize,
    failed: usize,
    results: Vec<ResultView>,
}

#[derive(Serialize)]
struct ResultView {
    id: String,
    ok: bool,
    /// The error, when it failed.
    error: Option<String>,
    /// The exit code the error gives alone (see `sayiir --help`), when it failed.
    code: Option<u8>,
}

pub(crate) async fn run(
    engine: &Engine,
    action: Action<'_>,
    targets: &Targets,
    out: &Output,
) -> Result<(), CliError> {
    if !targets.ids.is_empty() {
        let mut ids: Vec<InstanceId> = Vec::new();
        for given in &targets.ids {
            let id = parse_id(given)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if let [id] = ids.as_slice() {
            // One instance: its error is the command's, with its own exit code.
            action.apply(engine, id).await?;
            return report(action, 1, vec![(id.clone(), Ok(()))], out);
        }
        return act_on(engine, action, ids, out).await;
    }
    if targets.filter.is_empty() {
        return Err(CliError::Usage(format!(
            "say which instances to {}: their ids, or filter options (e.g. `--status needs-attention --workflow checkout`); see `{} --help`",
            action.verb(),
            action.verb()
        )));
    }
    let selected = select::all(engine, &targets.filter).await?;
    if selected.is_empty() {
        if out.is_json() {
            return report(action, 0, Vec::new(), out);
        }
        return out.text("no instance matches; nothing to do\n");
    }
    if !out.is_json() {
        out.text(&preview(action, &selected, out))?;
    }
    if !targets.yes {
        confirm(action, selected.len()).await?;
    }
    let ids = selected.into_iter().map(|i| i.id).collect();
    act_on(engine, action, ids, out).await
}

fn preview(action: Action<'_>, selected: &[InstanceInfo], out: &Output) -> String {
    let mut table = Table::new(&["ID", "WORKFLOW", "VERSION", "STATUS", "STATE"]);
    for i in selected {
        let (status, style) = status_cell(i);
        table.styled([
            (i.id.to_string(), Style::Plain),
            (i.workflow.clone(), Style::Plain),
            (i.version.to_string(), Style::Plain),
            (status, style),
            (i.state.clone().unwrap_or_else(|| "-".into()), Style::Plain),
        ]);
    }
    let mut text = table.render(out);
    text.push_str(&out.paint(
        Style::Bold,
        &format!("{} instance(s) to {}", selected.len(), action.verb()),
    ));
    text.push('\n');
    text
}

/// Asks on the terminal; without one, refuses (the caller gives `--yes`).
async fn confirm(action: Action<'_>, n: usize) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "refusing to {} {n} instance(s) without confirmation: stdin is not a terminal; add --yes",
            action.verb()
        )));
    }
    let answer = tokio::task::spawn_blocking(|| {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "Proceed? [y/N] ");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| CliError::Io {
        context: "cannot read the answer".into(),
        source: std::io::Error::other(e.to_string()),
    })?
    .map_err(|source| CliError::Io {
        context: "cannot read the answer".into(),
        source,
    })?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::NotConfirmed),
    }
}

async fn act_on(
    engine: &Engine,
    action: Action<'_>,
    ids: Vec<InstanceId>,
    out: &Output,
) -> Result<(), CliError> {
    let selected = ids.len();
    let results: Vec<(InstanceId, Result<(), CliError>)> = stream::iter(ids)
        .map(|id| async move {
            let r = action.apply(engine, &id).await;
            (id, r)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    report(action, selected, results, out)
}

/// Prints each instance's result and the summary; an error when any failed.
fn report(
    action: Action<'_>,
    selected: usize,
    results: Vec<(InstanceId, Result<(), CliError>)>,
    out: &Output,
) -> Result<(), CliError> {
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let view = ActionView {
        action: action.verb(),
        selected,
        succeeded: results.len() - failed,
        failed,
        results: results
            .iter()
            .map(|(id, r)| ResultView {
                id: id.to_string(),
                ok: r.is_ok(),
                error: r.as_ref().err().map(CliError::line),
                code: r.as_ref().err().map(CliError::exit_code),
            })
            .collect(),
    };
    if out.is_json() {
        out.json(&view)?;
    } else {
        let mut text = String::new();
        for (id, r) in &results {
            let line = match r {
                Ok(()) => out.paint(Style::Green, action.done()),
                Err(e) => out.paint(Style::Red, &format!("not {}: {}", action.done(), e.line())),
            };
            text.push_str(&format!("{}  {line}\n", clean(id.as_str())));
        }
        if selected > 1 {
            text.push_str(&format!(
                "{}: {} of {selected} instance(s) {}, {failed} failed\n",
                action.verb(),
                view.succeeded,
                action.done()
            ));
        }
        out.text(&text)?;
    }
    if failed > 0 {
        return Err(CliError::Partial {
            action: action.verb(),
            failed,
            total: selected,
        });
    }
    Ok(())
}
