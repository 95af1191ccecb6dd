//! Stored values as JSON, and JSON as stored values, from the saved descriptions alone: for
//! tools that read a store without linking the workflows' code (an admin API, a command line).
//!
//! The store keeps, next to each definition, its description ([`WorkflowShape`], the
//! `sayiir_definitions.shape` column, read with
//! [`Store::definitions`](sayiir_store::Store::definitions) and decoded with
//! [`WorkflowShape::decode`]): every stored type's [`Shape`], the serde data model of the type's `Deserialize`.
//! The stored format is positional (no names in the bytes, docs/format.md), and a shape says
//! what each position is, so:
//!
//! - [`to_json`] reads a blob of one value (a task's return value, a signal's payload, a
//!   workflow's output) as JSON, and [`from_json`] writes the blob a value of that type would
//!   have been encoded to, from JSON checked against the shape;
//! - [`state_to_json`] reads a running instance's stored state: which state it is in, the
//!   values it carries by name, what it waits for (a task call with its arguments, a child
//!   workflow's own state, join branches, a timer, a signal) and its shared context's keys;
//! - [`task_output_to_json`] reads a task's stored return value (history entries, finished
//!   join branches), [`input_to_json`] an instance's stored input, and
//!   [`WorkflowShape::find_task`] and [`WorkflowShape::signal_payloads`] find the shapes to
//!   read them with.
//!
//! Both directions drive postcard's own deserializer and serializer (the codec's) through
//! serde, guided by the shape: bytes are read and written as the type's own serde impls
//! would, never by a reader of this module's own.
//!
//! # The JSON
//!
//! - A struct is an object of its fields (`serde_json` orders an object's keys by name); a
//!   tuple, a tuple struct and a fixed-size array are arrays; a newtype is its content; a
//!   unit and a unit struct are `null`.
//! - An enum is `{"Variant": content}` (the content as above: a value, an array, an object),
//!   a unit variant the string `"Variant"`. `Result` is an enum: `{"Ok": ..}` / `{"Err": ..}`.
//! - `Option` is `null` or the value, except when the value itself can be `null` (an
//!   `Option<Option<T>>`, an `Option<()>`): then `Some(v)` is `{"Some": v}`, so that
//!   `Some(None)` and `None` stay apart.
//! - A map whose keys are strings (or newtypes of strings) is an object, keys in their order
//!   as strings (see [`from_json`] for what that means for a `HashMap`'s bytes); any other map
//!   is an array of `[key, value]` pairs in stored order.
//! - Bytes are an array of numbers. Integers up to 64 bits are numbers; a `u128` / `i128` is
//!   a number when it fits in 64 bits and a string of digits otherwise. Floats are numbers;
//!   NaN and the infinities are the strings `"NaN"`, `"inf"` and `"-inf"`. A `char` is a
//!   string of one character.
//!
//! # What cannot be recovered without the code
//!
//! Types as the description traced them, so what a type's `Deserialize` does beyond the data
//! model is not seen: a value read as a string is shown as that string (a date, a URL), a
//! value the type's `Deserialize` would refuse (a `NonZeroU32` of 0, an invalid date string)
//! is shown and written anyway. The shared context's values are tagged with their type's
//! fingerprint only ([`ContextEntry`]). The description holds a signal wait's payload type but
//! not the signal's name (the state stores it: [`WaitView::Signal`]).

mod cx;
mod decode;
mod encode;
mod error;
mod state;
mod view;

use serde_json::Value;

pub use error::InspectError;
pub use view::{BranchView, ContextEntry, StateView, WaitView};

use crate::codec;
use crate::describe::{TaskShape, WorkflowShape};
use crate::shape::Shape;

/// How deep a value may nest (each option, element, field, variant and record of a state is a
/// level), read or written: deeper is [`InspectError::TooDeep`] rather than a stack overflow.
/// The same as `serde_json`'s own limit when it parses text.
pub const MAX_DEPTH: usize = 128;

/// Reads a blob of one value of `shape` (as the codec writes a task's return value, a signal's
/// payload, a workflow's output) as JSON (the rules are in the [module doc](self)).
///
/// A blob whose header or checksum is wrong (cut short, a flipped bit) is
/// [`InspectError::Blob`]; bytes that do not decode as `shape` are
/// [`InspectError::Malformed`] or [`InspectError::UnknownVariantIndex`], and bytes left over
/// [`InspectError::TrailingBytes`], each saying where.
pub fn to_json(shape: &Shape, bytes: &[u8]) -> Result<Value, InspectError> {
    decode::blob(shape, bytes, &cx::Cx::new())
}

/// Writes `value` as the blob of a value of `shape`: the bytes the codec writes for the value
/// of the type this JSON stands for (`from_json(s, &to_json(s, b)?)? == b`).
///
/// The JSON is checked against the shape: a missing or unknown field, a value of the wrong
/// kind, a number out of its type's range, an unknown variant, an array of the wrong length
/// are typed errors saying where. One thing is not kept: the order of a map written as an
/// object. `serde_json` keeps an object's keys sorted, so a map with string keys is written in
/// key order: the bytes a `BTreeMap` has, and a `HashMap` of the same entries (which its own
/// encoding writes in an order of its own, different from one process to the next).
pub fn from_json(shape: &Shape, value: &Value) -> Result<Vec<u8>, InspectError> {
    let cx = cx::Cx::new();
    codec::encode(&encode::Json {
        shape,
        value,
        cx: &cx,
    })
    .map_err(|source| cx.take_error().unwrap_or(InspectError::Encode { source }))
}

/// Reads a running instance's stored state (the `state` column: its shared context and its
/// state, `registry.rs`) with its workflow's description (the one of the instance's
/// definition: same name, hash and fingerprint).
///
/// Errors say where in the [`StateView`]'s JSON they are (`.fields.order.lines[2]`,
/// `.wait.task.args.order`, `.wait.join.branches[1].done`).
pub fn state_to_json(workflow: &WorkflowShape, blob: &[u8]) -> Result<StateView, InspectError> {
    state::stored(workflow, blob)
}

/// Reads a task's stored return value (a `task` or `retry` history entry's output, a finished
/// join branch) as JSON: a task returning `Result` gives `{"Ok": ..}` or `{"Err": ..}`.
pub fn task_output_to_json(task: &TaskShape, bytes: &[u8]) -> Result<Value, InspectError> {
    to_json(&task.output.shape, bytes)
}

/// Reads an instance's stored input (`sayiir_inputs.input`, and the `started` history entry:
/// its inputs by name, each encoded on its own) with its workflow's description: each input by
/// name, in stored order. A stored name the description does not have is
/// [`InspectError::UnknownField`].
pub fn input_to_json(
    workflow: &WorkflowShape,
    blob: &[u8],
) -> Result<Vec<(String, Value)>, InspectError> {
    let cx = cx::Cx::new();
    let stored: Vec<(String, Vec<u8>)> =
        codec::decode(blob).map_err(|source| InspectError::Blob {
            path: ".".into(),
            source,
        })?;
    let mut out = Vec::with_capacity(stored.len());
    for (name, bytes) in stored {
        let Some(input) = workflow.inputs.iter().find(|i| i.name == name) else {
            return Err(InspectError::UnknownField {
                path: ".".into(),
                field: name,
                expected: workflow.inputs.iter().map(|i| i.name.clone()).collect(),
            });
        };
        let value = cx.at(cx::Seg::field(&input.name), || {
            let (value, rest) = decode::raw(&input.ty.shape, &bytes, &cx)?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(InspectError::TrailingBytes {
                    path: cx.path(),
                    extra: rest.len(),
                })
            }
        })?;
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;

/// The error of task `task`'s stored return value `bytes` in words, read by the task's shape
/// in `workflow`: the content of an `Err` as it is when it is a string, as compact JSON
/// otherwise; `None` for a value that is not an `Err` or that cannot be read.
pub fn error_text(workflow: &WorkflowShape, task: &str, bytes: &[u8]) -> Option<String> {
    let output = task_output_to_json(workflow.find_task(task)?, bytes).ok()?;
    error_of(&output)
}

/// The content of `{"Err": e}` in words: a string as it is, anything else as compact JSON.
pub fn error_of(output: &Value) -> Option<String> {
    let object = output.as_object()?;
    let err = object.get("Err").filter(|_| object.len() == 1)?;
    Some(match err {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}
