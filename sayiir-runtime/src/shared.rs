//! Workflow-level shared state: a typed key-value map persisted with the instance's state,
//! written by workflow code (`ctx: &mut sayiir::Context`) and read by tasks through
//! [`TaskContext::shared`](crate::TaskContext::shared) as a snapshot taken when the task starts.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};

/// A value of the shared state could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shared state key `{key}`: {source}")]
pub struct ContextError {
    /// The key.
    pub key: String,
    /// What went wrong (a value stored under another type decodes as `Malformed` or
    /// `Checksum`-checked bytes of the wrong shape).
    #[source]
    pub source: CodecError,
}

/// The shared state of one workflow instance. Values are stored encoded (with the codec's
/// format tag and checksum), so each key may hold a different type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    values: BTreeMap<String, Vec<u8>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`, if any. A value stored under a different type is an error,
    /// never a silently wrong value.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ContextError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(bytes) => codec::decode(bytes)
                .map(Some)
                .map_err(|source| ContextError {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), ContextError> {
        let bytes = codec::encode(value).map_err(|source| ContextError {
            key: key.to_owned(),
            source,
        })?;
        self.values.insert(key.to_owned(), bytes);
        Ok(())
    }

    /// Removes `key`; whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        self.values.remove(key).is_some()
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_get_and_set() {
        let mut c = Context::new();
        c.set("region", "eu-west").unwrap();
        c.set("limit", &42u64).unwrap();
        assert_eq!(
            c.get::<String>("region").unwrap().as_deref(),
            Some("eu-west")
        );
        assert_eq!(c.get::<u64>("limit").unwrap(), Some(42));
        assert_eq!(c.get::<u64>("missing").unwrap(), None);
        assert!(c.get::<Vec<String>>("limit").is_err());
        assert!(c.remove("limit"));
        assert_eq!(c.keys().collect::<Vec<_>>(), ["region"]);
        let round: Context = codec::decode(&codec::encode(&c).unwrap()).unwrap();
        assert_eq!(round, c);
    }
}
