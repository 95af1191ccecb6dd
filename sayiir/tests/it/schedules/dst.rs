//! Both daylight saving time transitions in Europe/Paris and America/New_York, in virtual time
//! with the real engine: a 02:30 job runs once on the spring-forward day (at the first instant
//! after the skipped hour, 03:00) and once on the fall-back day (at the first 02:30 where it is
//! repeated); a 01:30 job in New York, whose 01:30 is repeated in November, runs once too.
//! Prints every fire time (for the release note).

use std::time::SystemTime;

use sayiir::schedule::ScheduleSpec;
use sayiir::testing::TestEngine;

use super::{DAY, at, report, ticks};

/// `tick` (RFC 3339, UTC) in `zone`, with its offset.
fn local(tick: &str, zone: &str) -> String {
    let ts: jiff::Timestamp = tick.parse().unwrap();
    let z = ts.to_zoned(jiff::tz::TimeZone::get(zone).unwrap());
    format!("{} {}", z.strftime("%Y-%m-%d %H:%M %:z"), z.strftime("%Z"))
}

/// Runs a daily `cron` schedule in `zone` over the three days from `from` and returns its
/// fire times (UTC).
async fn fires(id: &str, cron: &str, zone: &str, from: SystemTime) -> Vec<String> {
    let t = TestEngine::builder()
        .start_at(from)
        .register::<report>()
        .build()
        .unwrap();
    let spec = ScheduleSpec::new(cron, id.to_owned())
        .time_zone(zone)
        .end_at(from + 3 * DAY);
    t.schedule::<report>(id, spec).await.unwrap();
    t.advance(4 * DAY).await;
    let got = ticks(&t, id).await;
    println!("{id}: `{cron}` in {zone}");
    for tick in &got {
        println!("  {tick}  =  {}", local(tick, zone));
    }
    let info = t.describe_schedule(id).await.unwrap();
    assert_eq!(info.state, sayiir::schedule::ScheduleState::Ended);
    t.shutdown().await.unwrap();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dst_transitions_run_each_daily_tick_once() {
    // Paris: clocks go from 02:00 CET to 03:00 CEST on 2026-03-29.
    assert_eq!(
        fires(
            "paris-spring",
            "30 2 * * *",
            "Europe/Paris",
            at("2026-03-28T00:00:00Z")
        )
        .await,
        [
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:00:00Z", // 02:30 does not exist: 03:00 CEST, once
            "2026-03-30T00:30:00Z", // 02:30 CEST
        ]
    );
    // Paris: clocks go from 03:00 CEST back to 02:00 CET on 2026-10-25; 02:30 happens twice.
    assert_eq!(
        fires(
            "paris-fall",
            "30 2 * * *",
            "Europe/Paris",
            at("2026-10-24T00:00:00Z")
        )
        .await,
        [
            "2026-10-24T00:30:00Z", // 02:30 CEST
            "2026-10-25T00:30:00Z", // the first 02:30 (CEST), once: not again at 02:30 CET
            "2026-10-26T01:30:00Z", // 02:30 CET
        ]
    );
    // New York: clocks go from 02:00 EST to 03:00 EDT on 2026-03-08.
    assert_eq!(
        fires(
            "ny-spring",
            "30 2 * * *",
            "America/New_York",
            at("2026-03-07T00:00:00Z")
        )
        .await,
        [
            "2026-03-07T07:30:00Z", // 02:30 EST
            "2026-03-08T07:00:00Z", // 02:30 does not exist: 03:00 EDT, once
            "2026-03-09T06:30:00Z", // 02:30 EDT
        ]
    );
    // New York: clocks go from 02:00 EDT back to 01:00 EST on 2026-11-01: 02:30 happens once
    // (EST), 01:30 twice.
    assert_eq!(
        fires(
            "ny-fall",
            "30 2 * * *",
            "America/New_York",
            at("2026-10-31T00:00:00Z")
        )
        .await,
        [
            "2026-10-31T06:30:00Z", // 02:30 EDT
            "2026-11-01T07:30:00Z", // 02:30 EST, once
            "2026-11-02T07:30:00Z", // 02:30 EST
        ]
    );
    assert_eq!(
        fires(
            "ny-fall-0130",
            "30 1 * * *",
            "America/New_York",
            at("2026-10-31T00:00:00Z")
        )
        .await,
        [
            "2026-10-31T05:30:00Z", // 01:30 EDT
            "2026-11-01T05:30:00Z", // the first 01:30 (EDT), once: not again at 01:30 EST
            "2026-11-02T06:30:00Z", // 01:30 EST
        ]
    );
}
