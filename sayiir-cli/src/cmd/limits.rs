//! `sayiir limits`: every concurrency limit with its usage (`Engine::limits`): tasks' limits
//! (`task:<name>`), workflow types' (`workflow:<name>`) and concurrency keys' (`key:<key>`);
//! then every rate limit (`Engine::rate_limits`).

use sayiir::Engine;
use sayiir::admin::{LimitInfo, RateInfo};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, Style, Table};

/// The JSON of `limits --json`.
#[derive(Serialize)]
struct Limits<'a> {
    concurrency: &'a [LimitInfo],
    rates: Vec<Rate<'a>>,
}

/// A rate limit as JSON: its interval in microseconds.
#[derive(Serialize)]
struct Rate<'a> {
    key: &'a str,
    interval_us: u128,
    burst: u32,
    in_use: u64,
    waiting: u64,
}

impl<'a> From<&'a RateInfo> for Rate<'a> {
    fn from(r: &'a RateInfo) -> Self {
        Self {
            key: &r.key,
            interval_us: r.interval.as_micros(),
            burst: r.burst,
            in_use: r.in_use,
            waiting: r.waiting,
        }
    }
}

pub(crate) async fn run(engine: &Engine, out: &Output) -> Result<(), CliError> {
    let limits = engine.limits().await?;
    let rates = engine.rate_limits().await?;
    if out.is_json() {
        return out.json(&Limits {
            concurrency: &limits,
            rates: rates.iter().map(Rate::from).collect(),
        });
    }
    if limits.is_empty() && rates.is_empty() {
        return out.text("no concurrency or rate limits used\n");
    }
    let mut text = String::new();
    if !limits.is_empty() {
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
        text.push_str(&table.render(out));
    }
    if !rates.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        let mut table = Table::new(&["RATE LIMIT", "RATE", "BURST", "IN USE", "WAITING"]);
        for r in &rates {
            let style = if r.waiting > 0 {
                Style::Yellow
            } else {
                Style::Plain
            };
            table.styled([
                (r.key.clone(), Style::Plain),
                (per_second(r), Style::Plain),
                (r.burst.to_string(), Style::Plain),
                (r.in_use.to_string(), Style::Plain),
                (r.waiting.to_string(), style),
            ]);
        }
        text.push_str(&table.render(out));
    }
    out.text(&text)
}

/// A rate's interval as starts per second (`10/s`), or per minute or hour when slower.
fn per_second(r: &RateInfo) -> String {
    let us = r.interval.as_micros().max(1);
    for (unit, span) in [
        ("s", 1_000_000u128),
        ("m", 60_000_000),
        ("h", 3_600_000_000),
    ] {
        if us <= span {
            let n = span as f64 / us as f64;
            return if (n - n.round()).abs() < 1e-9 {
                format!("{}/{unit}", n.round())
            } else {
                format!("{n:.2}/{unit}")
            };
        }
    }
    format!("1 per {:?}", r.interval)
}
