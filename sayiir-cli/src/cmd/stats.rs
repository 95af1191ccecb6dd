//! `sayiir stats`: instances by workflow and status, and the workers.
//!
//! Until the engine has `Engine::stats`, the counts come from the store's counts by definition,
//! status and block kind.

use std::collections::BTreeMap;

use sayiir::Engine;
use sayiir::store::{BlockKind, Status};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, Style, Table};
use crate::pending::needs_attention;

#[derive(Serialize, Default, Clone, Copy)]
struct Counts {
    /// Not finished and not blocked.
    running: u64,
    paused: u64,
    /// Blocked for a reason other than a pause.
    needs_attention: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    total: u64,
}

impl Counts {
    fn add(&mut self, status: Status, blocked: Option<BlockKind>, n: u64) {
        let slot = match (status, blocked) {
            (Status::Running, None) => &mut self.running,
            (Status::Running, Some(k)) if !needs_attention(k) => &mut self.paused,
            (Status::Running, Some(_)) => &mut self.needs_attention,
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
    workers: Workers,
}

pub(crate) async fn run(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let rows = engine
        .store()
        .version_counts()
        .await
        .map_err(sayiir::EngineError::from)?;
    let mut by_workflow: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for r in rows {
        by_workflow
            .entry(r.workflow.clone())
            .or_default()
            .add(r.status, r.blocked, r.count);
        total.add(r.status, r.blocked, r.count);
    }
    let workers = engine.workers().await?;
    let alive = workers.iter().filter(|w| w.alive).count();
    let view = StatsView {
        workflows: by_workflow
            .into_iter()
            .map(|(workflow, counts)| WorkflowCounts { workflow, counts })
            .collect(),
        total,
        workers: Workers {
            alive,
            stopped: workers.len() - alive,
        },
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
    text.push_str(&format!(
        "workers: {} alive, {} stopped recently\n",
        view.workers.alive, view.workers.stopped
    ));
    out.text(&text)
}
