//! Namespaces: the name every instance, schedule and worker registration belongs to.

use std::fmt;
use std::sync::Arc;

/// Longest namespace name accepted, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 63;

/// The namespace of a store handle, an engine or a worker that names none: `default`.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A validated namespace name: 1 to [`MAX_NAMESPACE_LEN`] characters of `a-z`, `0-9`, `_` and
/// `-`, starting with a letter or a digit. Cheap to clone.
///
/// ```
/// use sayiir_store::Namespace;
///
/// let ns = Namespace::new("billing-eu")?;
/// assert_eq!(ns.as_str(), "billing-eu");
/// assert_eq!(Namespace::default().as_str(), "default");
/// assert!(Namespace::new("Billing").is_err());
/// assert!(Namespace::new("-x").is_err());
/// # Ok::<(), sayiir_store::InvalidNamespace>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(Arc<str>);

/// Why a namespace name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidNamespace {
    /// The name is empty.
    #[error("a namespace name cannot be empty")]
    Empty,
    /// The name is longer than [`MAX_NAMESPACE_LEN`].
    #[error("namespace name is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The longest accepted.
        max: usize,
    },
    /// The name holds a character other than `a-z`, `0-9`, `_` and `-`.
    #[error(
        "namespace name `{name}` holds {ch:?}; only lowercase letters a-z, digits, `_` and `-` are allowed"
    )]
    Character {
        /// The name (escaped).
        name: String,
        /// The first character refused.
        ch: char,
    },
    /// The name starts with `_` or `-`.
    #[error("namespace name `{name}` must start with a lowercase letter or a digit")]
    Start {
        /// The name.
        name: String,
    },
}

impl Namespace {
    /// Validates `name`.
    pub fn new(name: impl AsRef<str>) -> Result<Self, InvalidNamespace> {
        let name = name.as_ref();
        if name.is_empty() {
            return Err(InvalidNamespace::Empty);
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
        {
            return Err(InvalidNamespace::Character {
                name: name.escape_debug().to_string(),
                ch,
            });
        }
        if name.len() > MAX_NAMESPACE_LEN {
            return Err(InvalidNamespace::TooLong {
                len: name.len(),
                max: MAX_NAMESPACE_LEN,
            });
        }
        if name.starts_with(['_', '-']) {
            return Err(InvalidNamespace::Start {
                name: name.to_owned(),
            });
        }
        Ok(Self(Arc::from(name)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the default namespace ([`DEFAULT_NAMESPACE`]).
    pub fn is_default(&self) -> bool {
        &*self.0 == DEFAULT_NAMESPACE
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self(Arc::from(DEFAULT_NAMESPACE))
    }
}

impl std::str::FromStr for Namespace {
    type Err = InvalidNamespace;
    fn from_str(s: &str) -> Result<Self, InvalidNamespace> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Namespace {
    type Error = InvalidNamespace;
    fn try_from(s: &str) -> Result<Self, InvalidNamespace> {
        Self::new(s)
    }
}

impl TryFrom<String> for Namespace {
    type Error = InvalidNamespace;
    fn try_from(s: String) -> Result<Self, InvalidNamespace> {
        Self::new(s)
    }
}

impl AsRef<str> for Namespace {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "0", "default", "a-b_c9", &"x".repeat(63)] {
            assert_eq!(Namespace::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Namespace::new(""), Err(InvalidNamespace::Empty));
        assert!(matches!(
            Namespace::new("x".repeat(64)),
            Err(InvalidNamespace::TooLong { len: 64, max: 63 })
        ));
        for bad in ["A", "a b", "a.b", "é", "a/b"] {
            assert!(
                matches!(Namespace::new(bad), Err(InvalidNamespace::Character { .. })),
                "{bad}"
            );
        }
        for bad in ["_a", "-a"] {
            assert!(matches!(
                Namespace::new(bad),
                Err(InvalidNamespace::Start { .. })
            ));
        }
        assert!(Namespace::default().is_default());
    }
}
