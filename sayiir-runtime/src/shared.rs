//! Workflow-level shared state: a typed key-value map persisted with the instance's state,
//! written by workflow code (`ctx: &mut sayiir::WorkflowContext`) and read by tasks through
//! [`TaskContext::shared`](crate::TaskContext::shared) as a snapshot taken when the task starts.
//!
//! Each value carries a type tag: the fingerprint of its type's [shape](crate::shape::Shape),
//! so reading it as another type (a `u32` as a `u64`, a struct as a same-shaped tuple, a struct
//! whose fields changed) is an error, never a silently wrong value.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::shape;

/// A value of the shared state could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The value does not encode or decode.
    #[error("shared state key `{key}`: {source}")]
    Codec {
        /// The key.
        key: String,
        /// What went wrong.
        #[source]
        source: CodecError,
    },
    /// The key holds a value of another type (or of a type whose structure changed since it
    /// was stored).
    #[error(
        "shared state key `{key}` holds a `{stored}`, not a `{requested}`: read it as the type it was stored as, or store it again"
    )]
    WrongType {
        /// The key.
        key: String,
        /// The type the value was stored as (its Rust name when stored).
        stored: String,
        /// The type asked for.
        requested: &'static str,
    },
    /// The type's structure cannot be traced, so its values cannot be tagged.
    #[error("shared state key `{key}`: `{ty}` cannot be stored: {why}")]
    Untraceable {
        /// The key.
        key: String,
        /// The type.
        ty: &'static str,
        /// Why.
        why: String,
    },
}

/// One stored value: its type tag, its type's name when stored (for messages) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Tagged {
    shape: [u8; 32],
    ty: String,
    bytes: Vec<u8>,
}

/// The shared state of one workflow instance. Values are stored encoded (with the codec's
/// format tag and checksum) and tagged with their type's fingerprint, so each key may hold a
/// different type and is read back only as that type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowContext {
    values: BTreeMap<String, Tagged>,
}

fn tag_of<T: DeserializeOwned>(key: &str) -> Result<[u8; 32], ContextError> {
    shape::fingerprint_of::<T>().map_err(|why| ContextError::Untraceable {
        key: key.to_owned(),
        ty: std::any::type_name::<T>(),
        why,
    })
}

impl WorkflowContext {
    /// Each entry as stored: its key, its type's Rust name when stored (for messages), the
    /// fingerprint of its type's shape and its blob. For `inspect`, which reads stored states
    /// without the types.
    pub(crate) fn stored(&self) -> impl Iterator<Item = (&str, &str, &[u8; 32], &[u8])> {
        self.values
            .iter()
            .map(|(k, t)| (k.as_str(), t.ty.as_str(), &t.shape, t.bytes.as_slice()))
    }

    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`, if any. A value stored as another type (by structure: field
    /// names, order and types, enum variants) is [`ContextError::WrongType`], never a silently
    /// wrong value.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ContextError> {
        let Some(v) = self.values.get(key) else {
            return Ok(None);
        };
        if v.shape != tag_of::<T>(key)? {
            return Err(ContextError::WrongType {
                key: key.to_owned(),
                stored: v.ty.clone(),
                requested: std::any::type_name::<T>(),
            });
        }
        codec::decode(&v.bytes)
            .map(Some)
            .map_err(|source| ContextError::Codec {
                key: key.to_owned(),
                source,
            })
    }

    /// Stores `value` under `key`, replacing what was there (whatever its type).
    pub fn set<T: Serialize + DeserializeOwned>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), ContextError> {
        let shape = tag_of::<T>(key)?;
        let bytes = codec::encode(value).map_err(|source| ContextError::Codec {
            key: key.to_owned(),
            source,
        })?;
        self.values.insert(
            key.to_owned(),
            Tagged {
                shape,
                ty: std::any::type_name::<T>().to_owned(),
                bytes,
            },
        );
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Pair {
        a: u64,
        b: u64,
    }

    #[test]
    fn typed_get_and_set() {
        let mut c = WorkflowContext::new();
        c.set("region", &"eu-west".to_string()).unwrap();
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
        let round: WorkflowContext = codec::decode(&codec::encode(&c).unwrap()).unwrap();
        assert_eq!(round, c);
    }

    #[test]
    fn a_value_read_as_another_type_is_an_error() {
        let mut c = WorkflowContext::new();
        c.set("n", &7u32).unwrap();
        match c.get::<u64>("n") {
            Err(ContextError::WrongType {
                stored, requested, ..
            }) => {
                assert_eq!((stored.as_str(), requested), ("u32", "u64"));
            }
            other => panic!("expected WrongType, got {other:?}"),
        }
        c.set("p", &Pair { a: 1, b: 2 }).unwrap();
        assert!(matches!(
            c.get::<(u64, u64)>("p"),
            Err(ContextError::WrongType { .. })
        ));
        assert_eq!(c.get::<Pair>("p").unwrap(), Some(Pair { a: 1, b: 2 }));
    }
}
