//! Figures of one scenario run, their medians over runs, the summary table and JSON lines.

use std::fmt::Write as _;

/// Named figures of one run of one scenario on one store, in a fixed order.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) store: String,
    pub(crate) figures: Vec<(String, f64)>,
}

impl Row {
    pub(crate) fn new(scenario: impl Into<String>, store: &str) -> Self {
        Self {
            scenario: scenario.into(),
            store: store.to_owned(),
            figures: Vec::new(),
        }
    }

    /// Adds (or replaces) a figure.
    pub(crate) fn set(&mut self, name: &str, value: f64) -> &mut Self {
        match self.figures.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.figures.push((name.to_owned(), value)),
        }
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// `name=value ...`, the format child processes report in.
    pub(crate) fn to_line(&self) -> String {
        let mut out = String::from("figures");
        for (n, v) in &self.figures {
            let _ = write!(out, " {n}={v}");
        }
        out
    }

    /// Parses [`Row::to_line`].
    pub(crate) fn parse_line(scenario: &str, store: &str, line: &str) -> Option<Row> {
        let rest = line.trim().strip_prefix("figures")?;
        let mut row = Row::new(scenario, store);
        for pair in rest.split_whitespace() {
            let (n, v) = pair.split_once('=')?;
            row.set(n, v.parse().ok()?);
        }
        Some(row)
    }
}

/// What a recorder costs: for each `X+recorder` summary, its runs' figure against those of
/// `X` on the same store, run by run (the same run of the process, one after the other) and
/// as the ratio of medians: `steps_per_s` (higher is better) for `linear`, `p50_ms` (lower is
/// better) for `latency`. Empty without such pairs.
pub(crate) fn recorder_cost(summaries: &[Summary]) -> String {
    let mut out = String::new();
    for with in summaries {
        let Some((base, recorder)) = with.scenario.split_once('+') else {
            continue;
        };
        let Some(without) = summaries
            .iter()
            .find(|s| s.scenario == base && s.store == with.store)
        else {
            continue;
        };
        let figures: &[&str] = if base == "latency" {
            &["p50_ms"]
        } else {
            &["steps_per_s", "cpu_us_per_step"]
        };
        for &figure in figures {
            let paired: Vec<f64> = with
                .runs
                .iter()
                .zip(&without.runs)
                .filter_map(|(w, o)| Some(w.get(figure)? / o.get(figure)?))
                .collect();
            let (Some(w), Some(o)) = (with.get(figure), without.get(figure)) else {
                continue;
            };
            let runs: Vec<String> = paired.iter().map(|r| format!("{r:.3}")).collect();
            let _ = writeln!(
                out,
                "{recorder} recorder, {base} [{}]: {figure} {w:.3} with / {o:.3} without = \
                 {:.3} (ratio of medians); run by run {}, median {:.3}",
                with.store,
                w / o,
                runs.join(" "),
                median(paired)
            );
        }
    }
    out
}

/// The runs of one (scenario, store) pair and their medians.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub(crate) scenario: String,
    pub(crate) store: String,
    pub(crate) runs: Vec<Row>,
    pub(crate) median: Vec<(String, f64)>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Groups rows by (scenario, store) in first-seen order and takes each figure's median.
pub(crate) fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut out: Vec<Summary> = Vec::new();
    for r in rows {
        match out
            .iter_mut()
            .find(|s| s.scenario == r.scenario && s.store == r.store)
        {
            Some(s) => s.runs.push(r.clone()),
            None => out.push(Summary {
                scenario: r.scenario.clone(),
                store: r.store.clone(),
                runs: vec![r.clone()],
                median: Vec::new(),
            }),
        }
    }
    for s in &mut out {
        let names: Vec<String> = s.runs[0].figures.iter().map(|(n, _)| n.clone()).collect();
        s.median = names
            .into_iter()
            .map(|n| {
                let xs = s.runs.iter().filter_map(|r| r.get(&n)).collect();
                let m = median(xs);
                (n, m)
            })
            .collect();
    }
    out
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn json_object(figures: &[(String, f64)]) -> String {
    let fields: Vec<String> = figures
        .iter()
        .map(|(n, v)| format!("\"{n}\":{}", json_num(*v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

impl Summary {
    pub(crate) fn get(&self, name: &str) -> Option<f64> {
        self.median.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// One JSON object: the medians and every run.
    pub(crate) fn json(&self, smoke: bool) -> String {
        let runs: Vec<String> = self.runs.iter().map(|r| json_object(&r.figures)).collect();
        format!(
            "{{\"scenario\":\"{}\",\"store\":\"{}\",\"smoke\":{smoke},\"runs\":{},\
             \"median\":{},\"each_run\":[{}]}}",
            self.scenario,
            self.store,
            self.runs.len(),
            json_object(&self.median),
            runs.join(",")
        )
    }
}

/// Columns of the summary table: (figure, heading, decimals).
const COLUMNS: [(&str, &str, usize); 7] = [
    ("workflows_per_s", "workflows/s", 0),
    ("steps_per_s", "steps/s", 0),
    ("p50_ms", "p50 ms", 3),
    ("p95_ms", "p95 ms", 3),
    ("p99_ms", "p99 ms", 3),
    ("peak_rss_mib", "peak MiB", 1),
    ("ratio", "vs base", 2),
];

/// The human-readable summary: medians, one line per (scenario, store).
pub(crate) fn table(summaries: &[Summary]) -> String {
    let mut out = String::new();
    let runs = summaries.iter().map(|s| s.runs.len()).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "\nsayiir-bench summary (medians of {runs} run{})",
        if runs == 1 { "" } else { "s" }
    );
    let _ = write!(out, "{:<18} {:<14}", "scenario", "store");
    for (_, heading, _) in COLUMNS {
        let _ = write!(out, " {heading:>11}");
    }
    let _ = writeln!(out, "  other");
    for s in summaries {
        let _ = write!(out, "{:<18} {:<14}", s.scenario, s.store);
        for (name, _, decimals) in COLUMNS {
            match s.get(name) {
                Some(v) if v.is_finite() => {
                    let _ = write!(out, " {v:>11.decimals$}");
                }
                _ => {
                    let _ = write!(out, " {:>11}", "-");
                }
            }
        }
        let other: Vec<String> = s
            .median
            .iter()
            .filter(|(n, _)| !COLUMNS.iter().any(|(c, _, _)| c == n))
            .map(|(n, v)| format!("{n}={}", short(*v)))
            .collect();
        let _ = writeln!(out, "  {}", other.join(" "));
    }
    out
}

fn short(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_are_per_figure_and_lines_round_trip() {
        let mut rows = Vec::new();
        for (i, v) in [3.0, 1.0, 2.0].into_iter().enumerate() {
            let mut r = Row::new("linear", "sqlite-full");
            r.set("steps_per_s", v).set("run", i as f64);
            rows.push(r);
        }
        let s = summarize(&rows);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].get("steps_per_s"), Some(2.0));
        assert_eq!(s[0].get("run"), Some(1.0));
        let line = rows[0].to_line();
        let back = Row::parse_line("linear", "sqlite-full", &line).unwrap();
        assert_eq!(back.figures, rows[0].figures);
        assert!(table(&s).contains("linear"));
        assert!(s[0].json(false).contains("\"steps_per_s\":2"));
    }
}
