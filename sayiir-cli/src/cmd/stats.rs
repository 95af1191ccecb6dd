//! `sayiir stats`: instances by workflow and status, the backlog of due work, the workers
//! (`Engine::stats`, `Engine::workers`).

use std::collections::BTreeMap;

use sayiir::Engine;
use sayiir::store::{BlockKind, Status, Timestamp};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, Style, Table};
use crate::time::{relative, rfc3339};

#[derive(Serialize, Default, Clone, Copy)]
struct Counts {
    /// Not finished and not blocked (an operator's retry or fail request being carried out
    /// counts here).
    running: u64,
    paused: u64,
    /// Blocked for a reason that needs an operator.
    needs_attention: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    total: u64,
}

impl Counts {
    fn add(&mut self, status: Status, blocked: Option<BlockKind>, n: u64) {
        let slot = match (status, blocked) {
            (Status::Running, Some(BlockKind::Paused)) => &mut self.paused,
            (Status::Running, Some(k)) if k.needs_attention() => &mut self.needs_attention,
            (Status::Running, _) => &mut self.running,
            (Status::Completed, _) => &mut self.completed,
            (Status::Failed, _) => &mut self.failed,
            _ => &mut self.cancelled,
        };
        *slot += n;
        self.total += n;
    }

    fn cells(&self) -> [u64; 7] {
        [
            self.running,
            self.paused,
            self.needs_attention,
            self.completed,
            self.failed,
            self.cancelled,
            self.total,
        ]
    }
}

#[derive(Serialize)]
struct WorkflowCounts {
    workflow: String,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct Workers {
    /// Workers alive now (in any process using the store).
    alive: usize,
    /// Workers that stopped recently (their records are kept a day).
    stopped: usize,
}

#[derive(Serialize)]
struct StatsView {
    workflows: Vec<WorkflowCounts>,
    total: Counts,
    /// Instances due that no worker has claimed: work waiting for a worker.
    due: u64,
    /// The earliest due time among them (RFC 3339): how far behind the workers are.
    oldest_due: Option<String>,
    workers: Workers,
    /// When the counts were read (RFC 3339).
    at: String,
}

fn backlog_line(due: u64, oldest: Option<Timestamp>, now: Timestamp) -> String {
    match oldest {
        Some(t) if due > 0 => format!(
            "due, not claimed by a worker: {due} (the oldest due since {}, {})",
            rfc3339(t),
            relative(t, now)
        ),
        _ => format!("due, not claimed by a worker: {due}"),
    }
}

pub(crate) async fn run(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let stats = engine.stats().await?;
    let mut by_workflow: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for g in &stats.groups {
        by_workflow
            .entry(g.workflow.clone())
            .or_default()
            .add(g.status, g.blocked, g.count);
        total.add(g.status, g.blocked, g.count);
    }
    let workers = engine.workers().await?;
    let alive = workers.iter().filter(|w| w.alive).count();
    let view = StatsView {
        workflows: by_workflow
            .into_iter()
            .map(|(workflow, counts)| WorkflowCounts { workflow, counts })
            .collect(),
        total,
        due: stats.due,
        oldest_due: stats.oldest_due.map(rfc3339),
        workers: Workers {
            alive,
            stopped: workers.len() - alive,
        },
        at: rfc3339(stats.at),
    };
    if out.is_json() {
        return out.json(&view);
    }
    let header = [
        "WORKFLOW",
        "RUNNING",
        "PAUSED",
        "ATTENTION",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TOTAL",
    ];
    let mut table = Table::new(&header);
    let row = |name: &str, c: &Counts, style: Style| {
        let mut cells = vec![(name.to_owned(), style)];
        for (i, n) in c.cells().into_iter().enumerate() {
            let s = match i {
                2 if n > 0 => Style::Red,
                _ => style,
            };
            cells.push((n.to_string(), s));
        }
        cells
    };
    for w in &view.workflows {
        table.styled(row(&w.workflow, &w.counts, Style::Plain));
    }
    table.styled(row("(all)", &view.total, Style::Bold));
    let mut text = table.render(out);
    text.push_str(&backlog_line(stats.due, stats.oldest_due, stats.at));
    text.push('\n');
    text.push_str(&format!(
        "workers: {} alive, {} stopped recently\n",
        view.workers.alive, view.workers.stopped
    ));
    out.text(&text)
}
