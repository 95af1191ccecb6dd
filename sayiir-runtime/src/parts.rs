//! A state taken apart into its stable identity, its carried fields and its wait, each encoded
//! on its own: how an instance's state moves from one version's state enum to another's.
//!
//! The encoding is positional, so a field's bytes mean the same under another type only when
//! both types have the same shape; migrations check shapes before they move bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError, FieldReader, RawReader};
use crate::machine::MachineError;

/// A state's identity and parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateParts {
    id: String,
    fields: Vec<(String, Vec<u8>)>,
    wait: Option<Vec<u8>>,
}

impl StateParts {
    /// No parts yet, for state `id`.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            fields: Vec::new(),
            wait: None,
        }
    }

    /// Parts of state `id` with these encoded fields.
    pub(crate) fn from_fields(id: &str, fields: Vec<(String, Vec<u8>)>) -> Self {
        Self {
            id: id.to_string(),
            fields,
            wait: None,
        }
    }

    /// The encoded fields, by name.
    pub(crate) fn fields(&self) -> &[(String, Vec<u8>)] {
        &self.fields
    }

    /// The state's stable identity.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Names the state these parts build.
    pub(crate) fn set_id(&mut self, id: &str) {
        id.clone_into(&mut self.id);
    }

    /// Adds (or replaces) field `name`.
    pub(crate) fn put<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), CodecError> {
        let mut bytes = Vec::new();
        codec::append_raw(&mut bytes, value)?;
        self.put_bytes(name, bytes);
        Ok(())
    }

    /// Sets the wait's bare encoding.
    pub(crate) fn set_wait_raw(&mut self, bytes: Option<Vec<u8>>) {
        self.wait = bytes;
    }

    /// A reader of field `name` (for `de_field`), or the error for its absence.
    pub fn reader(&self, name: &str) -> Result<FieldReader<'_>, MachineError> {
        self.field_bytes(name)
            .map(FieldReader::new)
            .ok_or_else(|| MachineError::MissingPart {
                state: self.id.clone(),
                part: format!("field `{name}`"),
            })
    }

    /// Adds (or replaces) field `name` with its bare encoding.
    pub(crate) fn put_bytes(&mut self, name: &str, bytes: Vec<u8>) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, b)) => *b = bytes,
            None => self.fields.push((name.to_string(), bytes)),
        }
    }

    /// The encoded field `name`.
    pub(crate) fn field_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// The encoded wait.
    pub(crate) fn wait_bytes(&self) -> Option<&[u8]> {
        self.wait.as_deref()
    }

    /// Decodes the wait as `T`.
    pub fn take_wait<T: DeserializeOwned>(&self) -> Result<T, MachineError> {
        let Some(bytes) = self.wait.as_deref() else {
            return Err(MachineError::MissingPart {
                state: self.id.clone(),
                part: "wait".into(),
            });
        };
        Ok(read_one(bytes)?)
    }
}

/// Decodes one raw value that must use every byte.
pub(crate) fn read_one<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut r = RawReader::new(bytes);
    let value = r.read()?;
    r.finish()?;
    Ok(value)
}
