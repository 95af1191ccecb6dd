//! What listings return: the instances, and the rows of the store that do not decode.

use std::fmt;

#[cfg(doc)]
use crate::types::InstanceId;
use crate::types::{BlockKind, InstanceRecord, InstanceSummary, ListQuery};

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

/// The smallest string greater than every string that starts with `prefix`, in byte order
/// (which is code point order for UTF-8): `prefix` without its trailing `char::MAX`s, its last
/// char then replaced by the next one. `None` when there is no such string (every string from
/// `prefix` on starts with it: `prefix` is empty or all `char::MAX`).
pub(crate) fn prefix_upper(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl ListQuery {
    /// The id range of [`ListQuery::id_prefix`]: ids `>=` the prefix and, if there is an
    /// upper bound, `<` it ([`prefix_upper`]). `None` without a prefix (or an empty one).
    pub(crate) fn id_bounds(&self) -> Option<(&str, Option<String>)> {
        let prefix = self.id_prefix.as_deref().filter(|p| !p.is_empty())?;
        Some((prefix, prefix_upper(prefix)))
    }

    /// Whether [`ListQuery::block_kinds`] is exactly the kinds that need attention, which the
    /// SQL backends select as "blocked by a kind other than those that do not" (their index).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn attention_only(&self) -> bool {
        let Some(kinds) = &self.block_kinds else {
            return false;
        };
        let wanted = BlockKind::ALL.iter().filter(|k| k.needs_attention());
        let mut given: Vec<i64> = kinds.iter().map(|k| k.code()).collect();
        given.sort_unstable();
        given.dedup();
        given.iter().copied().eq(wanted.map(|k| k.code()))
    }

    /// Whether `r` passes every filter of the query (the cursor and the limit aside).
    pub(crate) fn admits(&self, r: &InstanceRecord) -> bool {
        let kind = r.blocked.as_ref().map(|b| b.kind);
        self.workflow.as_ref().is_none_or(|w| r.workflow == *w)
            && self.version.is_none_or(|v| r.version == v)
            && self.status.is_none_or(|s| r.status == s)
            && self
                .state_id
                .as_ref()
                .is_none_or(|s| r.state_id.as_ref() == Some(s))
            && self.blocked.is_none_or(|b| kind.is_some() == b)
            && self
                .block_kinds
                .as_ref()
                .is_none_or(|ks| kind.is_some_and(|k| ks.contains(&k)))
            && self.created.contains(r.created_at)
            && self.updated.contains(r.updated_at)
            && self
                .id_prefix
                .as_ref()
                .is_none_or(|p| r.id.as_str().starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_upper;

    #[test]
    fn prefix_upper_bounds_exactly_the_strings_with_the_prefix() {
        assert_eq!(prefix_upper(""), None);
        assert_eq!(prefix_upper("a"), Some("b".into()));
        assert_eq!(prefix_upper("order-"), Some("order.".into()));
        assert_eq!(prefix_upper("az"), Some("a{".into()));
        assert_eq!(prefix_upper("é"), Some("ê".into()));
        assert_eq!(prefix_upper("a\u{D7FF}"), Some("a\u{E000}".into()));
        assert_eq!(prefix_upper("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_upper("\u{10FFFF}\u{10FFFF}"), None);
        // Byte order: every string with the prefix is below the bound, and the bound does not
        // start with the prefix.
        for (prefix, inside) in [
            ("a", "a\u{10FFFF}x"),
            ("é", "é\u{10FFFF}"),
            ("x\u{D7FF}", "x\u{D7FF}\u{10FFFF}"),
        ] {
            let upper = prefix_upper(prefix).unwrap();
            assert!(
                inside.as_bytes() < upper.as_bytes(),
                "{inside:?} < {upper:?}"
            );
            assert!(prefix.as_bytes() < upper.as_bytes());
            assert!(!upper.starts_with(prefix));
        }
    }
}
