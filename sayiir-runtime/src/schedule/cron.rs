//! The ticks of a cron expression in a time zone, as instants. croner does the cron
//! arithmetic (including the daylight saving time rules: a fixed-time tick in a skipped hour
//! runs at the first instant after the gap, one in a repeated hour runs once, at its first
//! occurrence); jiff supplies the zone from the tz database compiled into the binary.

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Zoned;
use jiff::tz::TimeZone;
use sayiir_store::Timestamp;

use super::ScheduleError;

/// A parsed cron expression and its time zone.
#[derive(Debug, Clone)]
pub(crate) struct Ticks {
    cron: Cron,
    zone: TimeZone,
}

impl Ticks {
    /// Parses `cron` (seconds optional) and looks `time_zone` up.
    pub(crate) fn new(cron: &str, time_zone: &str) -> Result<Self, ScheduleError> {
        let parsed = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(cron)
            .map_err(|e| ScheduleError::InvalidCron {
                cron: cron.to_owned(),
                reason: e.to_string(),
            })?;
        let zone = TimeZone::get(time_zone).map_err(|_| ScheduleError::UnknownTimeZone {
            name: time_zone.to_owned(),
        })?;
        Ok(Self { cron: parsed, zone })
    }

    fn zoned(&self, ms: i64) -> Option<Zoned> {
        let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
        Some(ts.to_zoned(self.zone.clone()))
    }

    fn instant(z: &Zoned) -> Timestamp {
        Timestamp(z.timestamp().as_millisecond())
    }

    /// The first tick strictly after `t`.
    pub(crate) fn after(&self, t: Timestamp) -> Option<Timestamp> {
        // Ticks fall on whole seconds: the first one after the second `t` is in.
        let from = self.zoned(t.0.div_euclid(1000) * 1000)?;
        let next = self.cron.find_next_occurrence(&from, false).ok()?;
        Some(Self::instant(&next))
    }

    /// The first tick at or after `t`.
    pub(crate) fn at_or_after(&self, t: Timestamp) -> Option<Timestamp> {
        let ceil = t.0.div_euclid(1000) * 1000 + if t.0.rem_euclid(1000) > 0 { 1000 } else { 0 };
        let from = self.zoned(ceil)?;
        let next = self.cron.find_next_occurrence(&from, true).ok()?;
        Some(Self::instant(&next))
    }

    /// The last tick at or before `t`.
    pub(crate) fn at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        let from = self.zoned(t.0.div_euclid(1000) * 1000)?;
        let prev = self.cron.find_previous_occurrence(&from, true).ok()?;
        Some(Self::instant(&prev))
    }

    /// `t` as RFC 3339 in the schedule's zone (e.g. `2026-03-29T03:00:00+02:00[Europe/Paris]`
    /// is written `2026-03-29T03:00:00+02:00`).
    pub(crate) fn local(&self, t: Timestamp) -> String {
        match self.zoned(t.0) {
            Some(z) => z.timestamp().display_with_offset(z.offset()).to_string(),
            None => t.0.to_string(),
        }
    }
}

/// `t` as RFC 3339 in UTC (`2026-03-29T01:00:00Z`; milliseconds only when not zero).
pub(crate) fn rfc3339_utc(t: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.0) {
        Ok(ts) => ts.to_string(),
        Err(_) => t.0.to_string(),
    }
}

/// Whether `id` has the form of a schedule run's instance id, `<schedule>@<tick>` with the
/// tick as [`rfc3339_utc`] writes it: the schedule's id, if so. Other ids (an e-mail address)
/// are not runs, and cost no look-up when they finish.
pub(crate) fn run_schedule(id: &str) -> Option<&str> {
    let (schedule, tick) = id.rsplit_once('@')?;
    let parsed = tick.parse::<jiff::Timestamp>().ok()?;
    (!schedule.is_empty() && parsed.to_string() == tick).then_some(schedule)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp(s.parse::<jiff::Timestamp>().unwrap().as_millisecond())
    }

    #[test]
    fn only_tick_ids_are_runs() {
        let tick = at("2026-03-29T01:00:00Z");
        let id = format!("nightly@{}", rfc3339_utc(tick));
        assert_eq!(run_schedule(&id), Some("nightly"));
        assert_eq!(run_schedule("a@b@2026-03-29T01:00:00.5Z"), Some("a@b"));
        assert_eq!(run_schedule("ada@example.com"), None);
        assert_eq!(run_schedule("@2026-03-29T01:00:00Z"), None);
        assert_eq!(run_schedule("x@2026-03-29"), None);
        assert_eq!(run_schedule("plain"), None);
    }

    #[test]
    fn five_and_six_fields_and_zones() {
        let t = Ticks::new("30 2 * * *", "Europe/Paris").unwrap();
        assert_eq!(
            t.after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-11T01:30:00Z"))
        );
        let s = Ticks::new("*/15 * * * * *", "UTC").unwrap();
        assert_eq!(
            s.after(at("2026-01-10T12:00:00.500Z")),
            Some(at("2026-01-10T12:00:15Z"))
        );
        assert_eq!(
            s.at_or_after(at("2026-01-10T12:00:15Z")),
            Some(at("2026-01-10T12:00:15Z"))
        );
        assert_eq!(
            s.at_or_after(at("2026-01-10T12:00:15.001Z")),
            Some(at("2026-01-10T12:00:30Z"))
        );
        assert_eq!(
            s.at_or_before(at("2026-01-10T12:00:29.999Z")),
            Some(at("2026-01-10T12:00:15Z"))
        );
        assert_eq!(
            t.local(at("2026-07-01T00:30:00Z")),
            "2026-07-01T02:30:00+02:00"
        );
        assert_eq!(
            rfc3339_utc(at("2026-07-01T00:30:00Z")),
            "2026-07-01T00:30:00Z"
        );
    }

    /// Through Paris's repeated hour (02:00–03:00 happens twice on 2026-10-25), an interval
    /// expression keeps its interval: both 02:00 and both 02:30.
    #[test]
    fn an_interval_keeps_its_interval_through_a_repeated_hour() {
        let t = Ticks::new("*/30 * * * *", "Europe/Paris").unwrap();
        let mut got = Vec::new();
        let mut x = at("2026-10-24T23:45:00Z");
        for _ in 0..5 {
            x = t.after(x).unwrap();
            got.push(t.local(x));
        }
        assert_eq!(
            got,
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:00:00+01:00",
            ]
        );
    }

    #[test]
    fn bad_cron_and_zone_are_typed() {
        assert!(matches!(
            Ticks::new("61 * * * *", "UTC"),
            Err(ScheduleError::InvalidCron { .. })
        ));
        assert!(matches!(
            Ticks::new("not cron", "UTC"),
            Err(ScheduleError::InvalidCron { .. })
        ));
        assert_eq!(
            Ticks::new("* * * * *", "Mars/Olympus").unwrap_err(),
            ScheduleError::UnknownTimeZone {
                name: "Mars/Olympus".into()
            }
        );
    }
}
