//! The description of a schedule as stored (`sayiir_schedules.spec`): JSON text, so that a
//! standalone admin tool reads it without the application's code. Layout in
//! `docs/format.md`; `format` is bumped on an incompatible change.

use std::time::Duration;

use sayiir_store::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CatchUp, Overlap, ScheduleError, Ticks};

/// The stored description's version.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredOverlap {
    Skip,
    BufferOne,
    AllowAll,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredCatchUp {
    None,
    Latest,
    All,
}

/// A schedule's description, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSpec {
    format: u32,
    pub(crate) cron: String,
    pub(crate) time_zone: String,
    overlap: StoredOverlap,
    catch_up: StoredCatchUp,
    /// For `catch_up: all`: how far back, in milliseconds.
    catch_up_window_ms: Option<u64>,
    /// Milliseconds since the Unix epoch.
    start: Option<i64>,
    end: Option<i64>,
    grace_ms: u64,
    /// The fingerprint (hex) of the input's structure: runs start on a registered version
    /// whose inputs have it.
    pub(crate) input_fingerprint: String,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl StoredSpec {
    /// Checks the expression, zone and range, and describes them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cron: &str,
        time_zone: &str,
        overlap: Overlap,
        catch_up: CatchUp,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        grace: Duration,
        input_fingerprint: String,
    ) -> Result<(Self, Ticks), ScheduleError> {
        let ticks = Ticks::new(cron, time_zone)?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(ScheduleError::StartAfterEnd);
        }
        let (catch_up, window) = match catch_up {
            CatchUp::None => (StoredCatchUp::None, None),
            CatchUp::Latest => (StoredCatchUp::Latest, None),
            CatchUp::All { within } => (StoredCatchUp::All, Some(millis(within))),
        };
        let spec = Self {
            format: FORMAT,
            cron: cron.to_owned(),
            time_zone: time_zone.to_owned(),
            overlap: match overlap {
                Overlap::Skip => StoredOverlap::Skip,
                Overlap::BufferOne => StoredOverlap::BufferOne,
                Overlap::AllowAll => StoredOverlap::AllowAll,
            },
            catch_up,
            catch_up_window_ms: window,
            start: start.map(|t| t.0),
            end: end.map(|t| t.0),
            grace_ms: millis(grace),
            input_fingerprint,
        };
        Ok((spec, ticks))
    }

    /// The text stored.
    pub(crate) fn to_text(&self) -> String {
        // A struct of strings, numbers and options: serializing it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored description of schedule `id` and parses its expression.
    pub(crate) fn parse(id: &str, text: &str) -> Result<(Self, Ticks), ScheduleError> {
        let stored = |reason: String| ScheduleError::Stored {
            id: id.to_owned(),
            reason,
        };
        let spec: Self = serde_json::from_str(text).map_err(|e| stored(e.to_string()))?;
        if spec.format != FORMAT {
            return Err(stored(format!(
                "format {} (this build reads format {FORMAT})",
                spec.format
            )));
        }
        let ticks = Ticks::new(&spec.cron, &spec.time_zone).map_err(|e| stored(e.to_string()))?;
        Ok((spec, ticks))
    }

    pub(crate) fn overlap(&self) -> Overlap {
        match self.overlap {
            StoredOverlap::Skip => Overlap::Skip,
            StoredOverlap::BufferOne => Overlap::BufferOne,
            StoredOverlap::AllowAll => Overlap::AllowAll,
        }
    }

    pub(crate) fn catch_up(&self) -> CatchUp {
        match self.catch_up {
            StoredCatchUp::None => CatchUp::None,
            StoredCatchUp::Latest => CatchUp::Latest,
            StoredCatchUp::All => CatchUp::All {
                within: Duration::from_millis(self.catch_up_window_ms.unwrap_or(0)),
            },
        }
    }

    /// No tick before.
    pub(crate) fn start(&self) -> Option<Timestamp> {
        self.start.map(Timestamp)
    }

    /// No tick after.
    pub(crate) fn end(&self) -> Option<Timestamp> {
        self.end.map(Timestamp)
    }

    pub(crate) fn grace(&self) -> Duration {
        Duration::from_millis(self.grace_ms)
    }

    /// The catch-up policy in words.
    pub(crate) fn catch_up_words(&self) -> String {
        match self.catch_up() {
            CatchUp::None => "none".into(),
            CatchUp::Latest => "latest".into(),
            CatchUp::All { within } => {
                format!(
                    "all within {}",
                    jiff::SignedDuration::try_from(within).map_or_else(
                        |_| format!("{} ms", within.as_millis()),
                        |d| format!("{d:#}"),
                    )
                )
            }
        }
    }

    /// The first tick at or after `from` within the start and end.
    pub(crate) fn first_tick(&self, ticks: &Ticks, from: Timestamp) -> Option<Timestamp> {
        let from = self.start().map_or(from, |s| s.max(from));
        self.bounded(ticks.at_or_after(from))
    }

    /// The tick after `t` within the end.
    pub(crate) fn tick_after(&self, ticks: &Ticks, t: Timestamp) -> Option<Timestamp> {
        let next = match self.start() {
            Some(s) if s > t => ticks.at_or_after(s),
            _ => ticks.after(t),
        };
        self.bounded(next)
    }

    fn bounded(&self, t: Option<Timestamp>) -> Option<Timestamp> {
        t.filter(|t| self.end().is_none_or(|e| *t <= e))
    }

    /// Up to `n` ticks from `from` on (inclusive).
    pub(crate) fn ticks_from(&self, ticks: &Ticks, from: Timestamp, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n);
        let mut t = self.first_tick(ticks, from);
        while let Some(x) = t {
            if out.len() == n {
                break;
            }
            out.push(x);
            t = self.tick_after(ticks, x);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_stored_text_round_trips_and_is_readable() {
        let (spec, _) = StoredSpec::new(
            "30 2 * * *",
            "Europe/Paris",
            Overlap::BufferOne,
            CatchUp::All {
                within: Duration::from_secs(3600),
            },
            Some(Timestamp(1_000)),
            None,
            Duration::from_secs(60),
            "ab".into(),
        )
        .unwrap();
        let text = spec.to_text();
        assert_eq!(
            text,
            r#"{"format":1,"cron":"30 2 * * *","time_zone":"Europe/Paris","overlap":"buffer_one","catch_up":"all","catch_up_window_ms":3600000,"start":1000,"end":null,"grace_ms":60000,"input_fingerprint":"ab"}"#
        );
        let (back, _) = StoredSpec::parse("s", &text).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.catch_up_words(), "all within 1h");
        assert!(matches!(
            StoredSpec::parse("s", "{}"),
            Err(ScheduleError::Stored { .. })
        ));
        let newer = text.replace("\"format\":1", "\"format\":2");
        assert!(
            StoredSpec::parse("s", &newer)
                .unwrap_err()
                .to_string()
                .contains("format 2")
        );
    }
}
