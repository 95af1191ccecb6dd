//! CI runs the benchmark program in its smoke mode (tiny sizes, one run: seconds, not a
//! measurement) on every store, and checks that every scenario reported its figures.
//!
//! PostgreSQL: the server of `SAYIIR_TEST_PG_URL`, or a throwaway cluster (the test harness
//! prints a loud banner and skips PostgreSQL when neither is available).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// The figures of `"median":{...}` in one JSON line of the program.
fn median(line: &str) -> Vec<(String, f64)> {
    let start = line.find("\"median\":{").unwrap() + "\"median\":{".len();
    let end = start + line[start..].find('}').unwrap();
    line[start..end]
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once(':').unwrap();
            let v = if v == "null" {
                f64::NAN
            } else {
                v.parse().unwrap()
            };
            (k.trim_matches('"').to_owned(), v)
        })
        .collect()
}

fn figure(figures: &[(String, f64)], name: &str) -> f64 {
    figures
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no figure `{name}` in {figures:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_reports_on_every_store() {
    let throwaway;
    let pg_url = match std::env::var("SAYIIR_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            throwaway = sayiir_store::pg_harness::fresh_database("bench_smoke").await;
            throwaway.as_ref().map(|db| db.url().to_owned())
        }
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sayiir-bench"));
    cmd.args(["--smoke", "--json"]);
    let mut stores = vec!["sqlite-full", "sqlite-normal"];
    if let Some(url) = &pg_url {
        stores.push("postgres");
        cmd.args(["--pg-url", url]);
    }
    cmd.args(["--store", &stores.join(",")]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sayiir-bench failed:\n{stderr}");

    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    for store in &stores {
        for scenario in [
            "baseline", "linear", "fanout", "latency", "sleepers", "inflight", "list",
        ] {
            let key = format!("\"scenario\":\"{scenario}\",\"store\":\"{store}\"");
            let line = lines
                .iter()
                .find(|l| l.contains(&key))
                .unwrap_or_else(|| panic!("no {scenario} on {store} in:\n{stdout}"));
            let f = median(line);
            match scenario {
                "baseline" => {
                    assert!(figure(&f, "single_per_s") > 0.0);
                    assert!(figure(&f, "steps_per_s") > 0.0);
                    assert!(figure(&f, "p50_ms") > 0.0);
                }
                "linear" | "fanout" => {
                    assert!(figure(&f, "steps_per_s") > 0.0);
                    assert!(figure(&f, "ratio") > 0.0);
                    // Every instance ran every step: 10 tasks (or 100) and the finish.
                    let per = if scenario == "linear" { 11.0 } else { 101.0 };
                    assert_eq!(figure(&f, "transitions"), figure(&f, "instances") * per);
                }
                "latency" => {
                    assert!(figure(&f, "p50_ms") > 0.0);
                    assert!(figure(&f, "p99_ms") >= figure(&f, "p50_ms"));
                    assert_eq!(figure(&f, "samples"), 5.0 * 9.0);
                    // Start to first step, one instance at a time.
                    assert!(figure(&f, "first_p50_ms") > 0.0);
                    assert!(figure(&f, "first_p99_ms") >= figure(&f, "first_p50_ms"));
                }
                "inflight" => {
                    // All 200 were in flight at once, then all 200 parked, each phase in a
                    // process of its own (the per-instance figures are not checked: at 200
                    // instances the allocator's granularity blurs them).
                    assert_eq!(figure(&f, "instances"), 200.0);
                    assert_eq!(figure(&f, "held"), 200.0);
                    assert_eq!(figure(&f, "completed"), 200.0);
                    assert_eq!(figure(&f, "parked"), 200.0);
                    assert!(figure(&f, "inflight_rss_mib") > 0.0);
                    assert!(figure(&f, "peak_rss_mib") >= figure(&f, "inflight_rss_mib"));
                    assert!(figure(&f, "parked_rss_mib") > 0.0);
                }
                "list" => {
                    // Every page was checked against the model by the program itself.
                    assert_eq!(figure(&f, "instances"), 2000.0);
                    for name in ["all_first_ms", "attention_deep_ms", "backlog_ms"] {
                        assert!(figure(&f, name) > 0.0, "{name}");
                    }
                }
                _ => {
                    assert!(figure(&f, "peak_rss_mib") > 0.0);
                    assert!(figure(&f, "rss_asleep_mib") > 0.0);
                    assert_eq!(figure(&f, "instances"), 200.0);
                    assert!(figure(&f, "lag_max_ms") >= figure(&f, "lag_p50_ms"));
                }
            }
        }
    }
}
