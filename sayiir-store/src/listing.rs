//! What listings return: the instances, and the rows of the store that do not decode.

use std::fmt;

use crate::types::InstanceSummary;
#[cfg(doc)]
use crate::types::{InstanceId, ListQuery};

/// A row of the store that does not decode into an instance, as [`Store::list`] reports it
/// beside the instances (it is left as it is).
///
/// [`Store::list`]: crate::Store::list
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DamagedRow {
    /// The id as stored. It need not be a valid [`InstanceId`] (that can be the damage); an
    /// id stored as bytes rather than text is shown as SQL quotes it (`x'…'`). Its
    /// [`Display`](fmt::Display) escapes control characters.
    pub id: String,
    /// The workflow name, if it reads.
    pub workflow: Option<String>,
    /// What does not decode: the column and the problem.
    pub problem: String,
}

impl fmt::Display for DamagedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", escape_control(&self.id))?;
        if let Some(w) = &self.workflow {
            write!(f, " (workflow `{}`)", escape_control(w))?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// `s` with its control characters escaped as Rust writes them (`\n`, `\u{1b}`), so that a
/// value read from the store cannot break a log line or a message apart.
pub(crate) fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What [`Store::list`](crate::Store::list) (and `Engine::list`) return: the instances whose
/// rows decode, and the rows matching the query that do not. One damaged row never makes a
/// listing fail.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Listing<T = InstanceSummary> {
    /// The instances, ordered by id; at most [`ListQuery::limit`] of them.
    pub instances: Vec<T>,
    /// The damaged rows met on the way, ordered by id: those between the cursor
    /// ([`ListQuery::after`]) and the last instance returned, and, on the last page (fewer
    /// instances than [`ListQuery::limit`]), those after it. They do not count towards the
    /// limit. A page with fewer instances than the limit is the last one: asking again after
    /// its last instance reports its trailing damaged rows again.
    pub damaged: Vec<DamagedRow>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            instances: Vec::new(),
            damaged: Vec::new(),
        }
    }
}

impl<T> Listing<T> {
    /// The same listing with each instance mapped by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            instances: self.instances.into_iter().map(f).collect(),
            damaged: self.damaged,
        }
    }
}
