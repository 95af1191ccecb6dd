//! Times as people read and write them: RFC 3339.

use std::time::Duration;

use sayiir::store::Timestamp;

/// `t` in RFC 3339, UTC, to the millisecond: `2025-03-01T08:30:00.250Z`. A time outside what
/// RFC 3339 can write (a damaged value) is shown as its milliseconds since the epoch.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.as_millis()) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{} ms since the epoch", t.as_millis()),
    }
}

/// Reads an RFC 3339 time with any offset (`2025-03-01T08:30:00Z`, `2025-03-01T10:30:00+02:00`,
/// fractions of a second allowed). For clap: the message is what follows `invalid value`.
pub(crate) fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
    let ts: jiff::Timestamp = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not an RFC 3339 time such as 2025-03-01T08:30:00Z ({e})"))?;
    Ok(Timestamp(ts.as_millisecond()))
}

/// A duration for people, to the millisecond under a minute and to the second above it:
/// `250ms`, `4.5s`, `3m 20s`, `2h 5m`, `3d 4h`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if s < 60 {
        let tenths = (ms % 1_000) / 100;
        if tenths == 0 {
            format!("{s}s")
        } else {
            format!("{s}.{tenths}s")
        }
    } else if s < 3_600 {
        format!("{}m {}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {}m", s / 3_600, (s % 3_600) / 60)
    } else {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3_600)
    }
}

/// `t` relative to `now`: `in 4.5s`, `3m 20s ago`, `now`.
pub(crate) fn relative(t: Timestamp, now: Timestamp) -> String {
    if t > now {
        format!("in {}", duration(now.until(t)))
    } else if t < now {
        format!("{} ago", duration(t.until(now)))
    } else {
        "now".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc3339() {
        let t = Timestamp(1_740_817_800_250);
        assert_eq!(rfc3339(t), "2025-03-01T08:30:00.250Z");
        assert_eq!(parse_rfc3339("2025-03-01T08:30:00.250Z"), Ok(t));
        assert_eq!(
            parse_rfc3339("2025-03-01T10:30:00.25+02:00"),
            Ok(t),
            "offsets are applied"
        );
        assert!(parse_rfc3339("yesterday").unwrap_err().contains("RFC 3339"));
        assert_eq!(
            rfc3339(Timestamp(i64::MAX)),
            format!("{} ms since the epoch", i64::MAX)
        );
    }

    #[test]
    fn durations_read_well() {
        let cases = [
            (250, "250ms"),
            (4_500, "4.5s"),
            (4_000, "4s"),
            (200_000, "3m 20s"),
            (7_500_000, "2h 5m"),
            (273_600_000, "3d 4h"),
        ];
        for (ms, text) in cases {
            assert_eq!(duration(Duration::from_millis(ms)), text);
        }
        assert_eq!(relative(Timestamp(5_000), Timestamp(1_000)), "in 4s");
        assert_eq!(relative(Timestamp(1_000), Timestamp(5_000)), "4s ago");
    }
}
