//! The audit log: who did what to which instances or schedules, when, and with what result.
//! The HTTP API appends one entry per action it is asked for; the store only keeps them.

use std::num::NonZeroUsize;

use serde::Serialize;

use super::Timestamp;

/// An entry to append to the audit log ([`Store::append_audit`](crate::Store::append_audit)).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewAuditEntry {
    /// When the action was asked for.
    pub at: Timestamp,
    /// Who asked (the name of the token).
    pub who: String,
    /// What: `cancel`, `signal`, `pause_schedule`, ...
    pub action: String,
    /// The instance ids, or the schedule id, the action was about (as given).
    pub targets: Vec<String>,
    /// What else the action took: a cancel's reason, a signal's name, ...
    pub detail: Option<String>,
    /// How it ended.
    pub result: AuditResult,
}

/// How an audited action ended.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AuditResult {
    /// It was done.
    Ok,
    /// It was refused or failed: the kind of error (`forbidden`, `not_found`, `finished`,
    /// ...) and its message.
    Failed {
        /// The stable kind of the error.
        kind: String,
        /// Its message.
        message: String,
    },
}

/// An entry of the audit log as stored: the appended entry and its id.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct AuditEntry {
    /// Increasing in the order of appends (with gaps): the cursor of [`AuditQuery::before`].
    pub id: u64,
    /// When the action was asked for.
    pub at: Timestamp,
    /// Who asked.
    pub who: String,
    /// What.
    pub action: String,
    /// On which instances or schedule.
    pub targets: Vec<String>,
    /// What else the action took.
    pub detail: Option<String>,
    /// How it ended.
    #[serde(flatten)]
    pub result: AuditResult,
}

/// A page of the audit log, newest first ([`Store::audit`](crate::Store::audit)).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AuditQuery {
    /// Only entries with an id below this one (the id of the last entry of the page before).
    pub before: Option<u64>,
    /// At most this many entries.
    pub limit: NonZeroUsize,
}

/// The targets as stored: a JSON array of strings.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn encode_targets(targets: &[String]) -> String {
    // Serializing strings to JSON cannot fail (no maps with non-string keys, no I/O).
    serde_json::to_string(targets).unwrap_or_else(|_| String::from("[]"))
}

/// The targets of a stored JSON array of strings (what [`encode_targets`] writes); `None` if
/// the text is not one.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn decode_targets(text: &str) -> Option<Vec<String>> {
    serde_json::from_str(text).ok()
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        let cases: Vec<Vec<String>> = vec![
            vec![],
            vec!["order-1".into()],
            vec!["a\"b".into(), "c\\d".into(), "e\nf\u{1}".into(), "é".into()],
        ];
        for targets in cases {
            let text = encode_targets(&targets);
            assert_eq!(decode_targets(&text), Some(targets), "{text}");
        }
        assert_eq!(decode_targets("nope"), None);
        assert_eq!(decode_targets("[\"a\" \"b\"]"), None);
    }
}
