//! `sayiir schedules …`: the engine's schedules API (`Engine::schedules`,
//! `describe_schedule`, `pause_schedule`, `resume_schedule`, `delete_schedule`, `backfill`).

use sayiir::Engine;
use sayiir::schedule::{ScheduleInfo, ScheduleState, to_system};
use sayiir::store::Timestamp;
use serde::Serialize;

use crate::args::ScheduleCommand;
use crate::error::CliError;
use crate::output::{Fields, Output, Style, Table, clean};
use crate::time::rfc3339;

pub(crate) async fn run(
    engine: &Engine,
    command: &ScheduleCommand,
    out: &Output,
) -> Result<(), CliError> {
    match command {
        ScheduleCommand::List => list(engine, out).await,
        ScheduleCommand::Show { id } => show(&engine.describe_schedule(id).await?, out),
        ScheduleCommand::Pause { id } => {
            let info = engine.pause_schedule(id).await?;
            done(out, &info, &format!("paused schedule `{id}`\n"))
        }
        ScheduleCommand::Resume { id } => {
            let info = engine.resume_schedule(id).await?;
            let next = info
                .next_fires_local
                .first()
                .map_or_else(|| "no tick left".to_owned(), |t| format!("next run at {t}"));
            done(out, &info, &format!("resumed schedule `{id}`: {next}\n"))
        }
        ScheduleCommand::Delete { id } => {
            engine.delete_schedule(id).await?;
            if out.is_json() {
                return out.json(&serde_json::json!({ "deleted": id }));
            }
            out.text(&format!(
                "deleted schedule `{}` (the instances it started are kept)\n",
                clean(id)
            ))
        }
        ScheduleCommand::Backfill { id, from, to } => {
            let done = engine
                .backfill(id, to_system(*from), to_system(*to))
                .await?;
            #[derive(Serialize)]
            struct View<'a> {
                started: Vec<&'a str>,
                existing: Vec<&'a str>,
            }
            let view = View {
                started: done.started.iter().map(|i| i.as_str()).collect(),
                existing: done.existing.iter().map(|i| i.as_str()).collect(),
            };
            if out.is_json() {
                return out.json(&view);
            }
            let mut text = format!(
                "started {} run(s); {} tick(s) of the range already had one\n",
                view.started.len(),
                view.existing.len()
            );
            for i in &view.started {
                text.push_str(&format!("  {}\n", clean(i)));
            }
            out.text(&text)
        }
    }
}

fn state(info: &ScheduleInfo) -> (&'static str, Style) {
    match info.state {
        ScheduleState::Active => ("active", Style::Green),
        ScheduleState::Paused => ("paused", Style::Yellow),
        ScheduleState::Ended => ("ended", Style::Dim),
        _ => ("?", Style::Plain),
    }
}

async fn list(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let all = engine.schedules().await?;
    if out.is_json() {
        return out.json(&all);
    }
    if all.is_empty() {
        return out.text("no schedules\n");
    }
    let mut table = Table::new(&[
        "ID", "WORKFLOW", "CRON", "ZONE", "STATE", "NEXT", "LAST RUN", "NOTE",
    ]);
    for s in &all {
        let (name, style) = state(s);
        table.styled([
            (s.id.clone(), Style::Plain),
            (s.workflow.clone(), Style::Plain),
            (s.cron.clone(), Style::Plain),
            (s.time_zone.clone(), Style::Plain),
            (name.to_owned(), style),
            (
                s.next_fires_local.first().cloned().unwrap_or_default(),
                Style::Plain,
            ),
            (
                s.last_instance
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                Style::Dim,
            ),
            (s.note.clone().unwrap_or_default(), Style::Yellow),
        ]);
    }
    out.text(&table.render(out))
}

fn show(info: &ScheduleInfo, out: &Output) -> Result<(), CliError> {
    if out.is_json() {
        return out.json(info);
    }
    let time = |t: Option<Timestamp>| t.map(rfc3339).unwrap_or_else(|| "-".into());
    let mut f = Fields::new();
    f.add("id", &info.id);
    f.add("workflow", &info.workflow);
    f.add("cron", &info.cron);
    f.add("time zone", &info.time_zone);
    let (name, style) = state(info);
    f.raw("state", out.paint(style, name));
    f.add(
        "overlap",
        serde_json::to_value(info.overlap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    );
    f.add("catch-up", &info.catch_up);
    f.add("start", time(info.start));
    f.add("end", time(info.end));
    f.add("next tick", time(info.next_tick));
    let fires: Vec<String> = info
        .next_fires
        .iter()
        .zip(&info.next_fires_local)
        .map(|(utc, local)| format!("{} ({})", clean(local), rfc3339(*utc)))
        .collect();
    // One fire time a line, under the first.
    let indent = format!("\n{}", " ".repeat("next fires".len() + 2));
    f.raw(
        "next fires",
        if fires.is_empty() {
            "-".to_owned()
        } else {
            fires.join(&indent)
        },
    );
    f.add("buffered", time(info.buffered));
    f.add(
        "last run",
        info.last_instance
            .as_ref()
            .map_or_else(|| "-".to_owned(), |i| i.to_string()),
    );
    f.add("note", info.note.as_deref().unwrap_or("-"));
    f.add("revision", info.revision.to_string());
    if let Some(lease) = &info.lease {
        f.add(
            "lease",
            format!("{} until {}", lease.owner.0, rfc3339(lease.until)),
        );
    }
    out.text(&f.render(out))
}

fn done(out: &Output, info: &ScheduleInfo, text: &str) -> Result<(), CliError> {
    if out.is_json() {
        out.json(info)
    } else {
        out.text(text)
    }
}
