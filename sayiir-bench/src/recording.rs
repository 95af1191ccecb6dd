//! What recording costs a step, from parts that load on the machine does not blur: the scrape
//! of the recorder the runs used says how many recordings each transition made (counter
//! increments, histogram samples); the CPU time of each kind of recording is then measured on a
//! fresh Prometheus recorder, in one thread, with the histograms drained as the exporter's
//! upkeep does. Their product, per transition, against `linear`'s CPU time per step without a
//! recorder, is the recorder's share of a step's CPU.

use std::hint::black_box;

use metrics::Label;
use sayiir::metrics::PrometheusHandle;

use crate::flows::cpu_seconds;

/// Recordings counted from a scrape: counter increments (every sayiir counter moves by one per
/// event) and histogram samples, and the transitions they came with.
#[derive(Debug, Default, PartialEq)]
struct Counted {
    increments: f64,
    samples: f64,
    transitions: f64,
}

/// Counts the recordings of a Prometheus text exposition.
fn count(text: &str) -> Counted {
    let mut c = Counted::default();
    for line in text.lines().filter(|l| l.starts_with("sayiir_")) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        if name.ends_with("_total") {
            c.increments += value;
            if name == sayiir::metrics::names::TRANSITIONS {
                c.transitions += value;
            }
        } else if name.ends_with("_count") {
            c.samples += value;
        }
    }
    c
}

/// CPU nanoseconds per call of `f`, over `n` calls.
fn cpu_ns(n: u64, mut f: impl FnMut(u64)) -> f64 {
    let start = cpu_seconds();
    for i in 0..n {
        f(i);
    }
    (cpu_seconds() - start) * 1e9 / n as f64
}

/// The lines the bench prints: recordings per transition, the CPU cost of each kind, and the
/// share they make of each store's `cpu_us_per_step` (`linear` without a recorder, medians).
pub(crate) fn cost_per_step(
    handle: &PrometheusHandle,
    cpu_us_per_step: &[(String, f64)],
) -> String {
    let c = count(&handle.render());
    if c.transitions == 0.0 {
        return String::new();
    }
    let Ok((recorder, fresh)) = sayiir::metrics::prometheus_recorder() else {
        return "recording cost: cannot build a recorder to measure\n".to_owned();
    };
    let labels = || vec![Label::new("workflow", "w"), Label::new("task", "t")];
    let (counter, histogram) = metrics::with_local_recorder(&recorder, || {
        (
            metrics::counter!("sayiir_bench_total", labels()),
            metrics::histogram!("sayiir_bench_seconds", labels()),
        )
    });
    // Enough calls for the 10 ms ticks of /proc/self/stat to be under 5 % of each figure.
    let n = 20_000_000;
    let increment = cpu_ns(n, |_| counter.increment(black_box(1)));
    let sample = cpu_ns(n, |i| {
        histogram.record(black_box((i % 1000) as f64 * 1e-5));
        // The upkeep drains what was recorded (every 5 s in an application).
        if i % 1_000_000 == 999_999 {
            fresh.run_upkeep();
        }
    });
    let per_step = c.increments / c.transitions * increment + c.samples / c.transitions * sample;
    let mut out = format!(
        "recording cost: {:.2} counter increments and {:.2} histogram samples per transition \
         (from the scrape); {increment:.1} ns per increment, {sample:.1} ns per sample with its \
         upkeep (CPU time, one thread) → {per_step:.0} ns per transition\n",
        c.increments / c.transitions,
        c.samples / c.transitions,
    );
    for (store, cpu) in cpu_us_per_step {
        // ns / (µs × 1000) as a percentage.
        let share = per_step / (cpu * 10.0);
        out.push_str(&format!(
            "recording cost [{store}]: {share:.2} % of linear's {cpu:.2} µs of CPU per step \
             without a recorder\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_is_counted() {
        let text = "# TYPE sayiir_transitions_total counter\n\
            sayiir_transitions_total{workflow=\"a\"} 10\n\
            sayiir_transitions_total{workflow=\"b\"} 5\n\
            sayiir_tasks_started_total{workflow=\"a\",task=\"t\"} 7\n\
            sayiir_step_latency_seconds_bucket{workflow=\"a\",le=\"0.001\"} 9\n\
            sayiir_step_latency_seconds_sum{workflow=\"a\"} 0.02\n\
            sayiir_step_latency_seconds_count{workflow=\"a\"} 15\n\
            sayiir_workers 1\n";
        assert_eq!(
            count(text),
            Counted {
                increments: 22.0,
                samples: 15.0,
                transitions: 15.0
            }
        );
    }
}
