//! How a description is stored (`sayiir_definitions.shape`): the codec's blob of the
//! [`WorkflowShape`] (its serde encoding, without transitions), followed, when every state has
//! its [`Transitions`], by the transitions of the states in state order. A blob of a build from before
//! transitions were recorded ends after the description and reads back without them.

use super::{Transitions, WorkflowShape};
use crate::codec::{self, CodecError};

impl WorkflowShape {
    /// The stored blob of this description (see `docs/format.md`, "Definition descriptions").
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        match self.transitions() {
            Some(next) => codec::encode(&(self, next)),
            None => codec::encode(self),
        }
    }

    /// Reads a blob written by [`WorkflowShape::encode`] of this build or of an earlier one
    /// (then without transitions: every state's `next` is `None`).
    pub fn decode(blob: &[u8]) -> Result<Self, CodecError> {
        let (mut shape, rest) = codec::take::<WorkflowShape>(codec::payload(blob)?)?;
        if rest.is_empty() {
            return Ok(shape);
        }
        let (next, left) = codec::take::<Vec<Transitions>>(rest)?;
        if !left.is_empty() {
            return Err(CodecError::TrailingBytes {
                ty: "WorkflowShape",
                extra: left.len(),
            });
        }
        if next.len() != shape.states.len() {
            return Err(CodecError::Malformed {
                ty: "WorkflowShape",
                detail: format!(
                    "{} transitions stored for {} states",
                    next.len(),
                    shape.states.len()
                ),
            });
        }
        for (s, n) in shape.states.iter_mut().zip(next) {
            s.next = Some(n);
        }
        Ok(shape)
    }
}
