//! Schedules: a year of a daily schedule and both daylight saving time transitions in virtual
//! time, the catch-up and overlap policies, the operator's API (list with the next fire times,
//! pause, resume, update, delete, backfill, bad input), and workers SIGKILLed around ticks on
//! PostgreSQL (`schedules/pg_chaos.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod dst;
mod pg_chaos;
mod policies;
mod versions;
mod year;

use std::time::{Duration, SystemTime};

use sayiir::{Engine, ListQuery};

/// A task each run calls, so a run is a real instance that a worker drives.
#[sayiir::task]
async fn stamp(what: String) -> String {
    format!("report {what}")
}

/// What every schedule of these tests starts.
#[sayiir::workflow]
async fn report(what: String) -> String {
    stamp(what).await
}

/// A run that takes 90 minutes (of virtual time): for the overlap policies.
#[sayiir::workflow]
async fn slow_report(what: String) -> String {
    sayiir::sleep(Duration::from_secs(90 * 60)).await;
    stamp(what).await
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// An RFC 3339 instant.
fn at(s: &str) -> SystemTime {
    let ts: jiff::Timestamp = s.parse().unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ts.as_millisecond()).unwrap())
}

/// The ticks of the runs schedule `id` started, from their instance ids
/// (`<id>@<tick>`), in order, with each instance's completion.
async fn runs(engine: &Engine, id: &str) -> Vec<(String, bool)> {
    let listing = engine
        .list(&ListQuery::new().id_prefix(format!("{id}@")))
        .await
        .unwrap();
    assert_eq!(listing.damaged, []);
    listing
        .instances
        .iter()
        .map(|i| {
            let tick = i.id.as_str().strip_prefix(&format!("{id}@")).unwrap();
            (
                tick.to_owned(),
                i.status == sayiir::InstanceStatus::Completed,
            )
        })
        .collect()
}

/// The ticks alone.
async fn ticks(engine: &Engine, id: &str) -> Vec<String> {
    runs(engine, id).await.into_iter().map(|(t, _)| t).collect()
}

/// `t` in UTC as the ids write it.
fn utc(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap())
        .unwrap()
        .to_string()
}
