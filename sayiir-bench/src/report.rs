//! Summary table and JSON lines.

use std::fmt::Write as _;

use crate::Args;
use crate::baseline::Baseline;
use crate::linear::Linear;

/// One scenario's result.
pub(crate) enum Report {
    Baseline(Baseline),
    Linear(Linear),
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "null".into()
    }
}

impl Report {
    /// One JSON object (one line).
    pub(crate) fn json(&self, args: &Args) -> String {
        let store = args.store.name();
        match self {
            Report::Baseline(b) => {
                let passes: Vec<String> = b
                    .passes
                    .iter()
                    .map(|p| {
                        format!(
                            "{{\"name\":\"{}\",\"batch\":{},\"ops\":{},\"seconds\":{:.6},\
                             \"per_sec\":{}}}",
                            p.name,
                            p.batch,
                            p.ops,
                            p.elapsed.as_secs_f64(),
                            num(p.per_sec())
                        )
                    })
                    .collect();
                format!(
                    "{{\"scenario\":\"baseline\",\"store\":\"{store}\",\"smoke\":{},\
                     \"instances\":{},\"batched_ceiling\":{},\"passes\":[{}]}}",
                    args.smoke,
                    b.instances,
                    num(b.batched_ceiling()),
                    passes.join(",")
                )
            }
            Report::Linear(l) => format!(
                "{{\"scenario\":\"linear\",\"store\":\"{store}\",\"smoke\":{},\"instances\":{},\
                 \"in_flight\":{},\"steps\":{},\"create_seconds\":{:.6},\"seconds\":{:.6},\
                 \"transitions\":{},\"commit_batches\":{},\"workflows_per_sec\":{},\
                 \"steps_per_sec\":{},\"avg_commit_batch\":{},\"baseline_batched\":{},\
                 \"ratio_to_baseline\":{}}}",
                args.smoke,
                l.instances,
                l.in_flight,
                crate::linear::STEPS,
                l.create_elapsed.as_secs_f64(),
                l.elapsed.as_secs_f64(),
                l.transitions,
                l.batches,
                num(l.workflows_per_sec()),
                num(l.steps_per_sec()),
                num(l.avg_batch()),
                l.ceiling.map_or("null".into(), num),
                l.ratio().map_or("null".into(), |r| format!("{r:.4}")),
            ),
        }
    }
}

/// The human-readable summary.
pub(crate) fn table(args: &Args, reports: &[Report]) -> String {
    let mut out = String::new();
    let store = args.store.name();
    for r in reports {
        match r {
            Report::Baseline(b) => {
                let _ = writeln!(
                    out,
                    "\nbaseline  store={store}  instances={}  (Store trait, no engine)",
                    b.instances
                );
                let _ = writeln!(
                    out,
                    "  {:<12} {:>6} {:>10} {:>14}",
                    "pass", "batch", "seconds", "transitions/s"
                );
                for p in &b.passes {
                    let _ = writeln!(
                        out,
                        "  {:<12} {:>6} {:>10.3} {:>14.0}",
                        p.name,
                        p.batch,
                        p.elapsed.as_secs_f64(),
                        p.per_sec()
                    );
                }
            }
            Report::Linear(l) => {
                let _ = writeln!(
                    out,
                    "\nlinear  store={store}  instances={}  in-flight={}  steps={}",
                    l.instances,
                    l.in_flight,
                    crate::linear::STEPS
                );
                let rows: [(&str, String); 7] = [
                    ("create s", format!("{:.3}", l.create_elapsed.as_secs_f64())),
                    ("run s", format!("{:.3}", l.elapsed.as_secs_f64())),
                    ("workflows/s", format!("{:.0}", l.workflows_per_sec())),
                    ("steps/s", format!("{:.0}", l.steps_per_sec())),
                    ("avg batch", format!("{:.1}", l.avg_batch())),
                    (
                        "baseline",
                        l.ceiling.map_or("-".into(), |c| format!("{c:.0}")),
                    ),
                    (
                        "ratio",
                        l.ratio()
                            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
                    ),
                ];
                for (k, v) in rows {
                    let _ = writeln!(out, "  {k:<12} {v:>12}");
                }
            }
        }
    }
    out
}
