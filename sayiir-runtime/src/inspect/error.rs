//! Why stored bytes could not be read as JSON, or JSON could not be written as stored bytes.

use serde_json::Value;

use crate::codec::CodecError;
use crate::shape::Shape;

/// Why stored bytes could not be rendered as JSON (or JSON written as stored bytes).
///
/// Every variant but [`InspectError::Encode`] says where: `path` locates the value in the JSON
/// being read or written, as a jq-like path (`.order.lines[2].sku`, `.["a key"]`, `.` for the
/// whole value). For [`state_to_json`](super::state_to_json) the path is within the
/// [`StateView`](super::StateView)'s JSON (`.fields.order`, `.wait.task.args.order`,
/// `.wait.join.branches[1].done`); the key of a map whose keys are not strings is written
/// `[i][0]` and its value `[i][1]` (the map is an array of pairs), and a string key being read
/// `[key #i]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// A blob's header, size or checksum is wrong: a blob cut short, a flipped bit, a format
    /// this build does not read.
    #[error("at `{path}`: {source}")]
    Blob {
        /// Where the blob is.
        path: String,
        /// What the codec found.
        #[source]
        source: CodecError,
    },
    /// The bytes do not decode as the shape says: they end too early, a boolean, an option
    /// tag, a string or a character is invalid, a number does not fit.
    #[error("at `{path}`: the bytes do not decode as {expected}: {detail}")]
    Malformed {
        /// Where.
        path: String,
        /// What the shape expected there.
        expected: String,
        /// What the decoder said.
        detail: String,
    },
    /// The bytes name an enum variant the shape does not have.
    #[error("at `{path}`: variant number {index} of enum `{name}`, which has {count} variants")]
    UnknownVariantIndex {
        /// Where.
        path: String,
        /// The enum.
        name: String,
        /// The index found.
        index: u32,
        /// How many variants the shape has.
        count: usize,
    },
    /// A state blob names a state the workflow's description does not have.
    #[error("at `{path}`: state number {index} of workflow `{workflow}`, which has {count} states")]
    UnknownState {
        /// Where.
        path: String,
        /// The workflow.
        workflow: String,
        /// The index found.
        index: u32,
        /// How many states the description has.
        count: usize,
    },
    /// The value decoded, but bytes are left after it.
    #[error("at `{path}`: {extra} bytes are left after the value")]
    TrailingBytes {
        /// Where the value is.
        path: String,
        /// Bytes left.
        extra: usize,
    },
    /// A map with string keys holds one key twice (never written by the codec: the JSON object
    /// could not hold both).
    #[error("at `{path}`: the key {key:?} appears twice")]
    DuplicateKey {
        /// The map.
        path: String,
        /// The key.
        key: String,
    },
    /// The JSON value is not of the kind the shape needs.
    #[error("at `{path}`: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        path: String,
        /// What the shape needs.
        expected: String,
        /// What the JSON holds.
        found: String,
    },
    /// A JSON object lacks a field of the struct (or struct variant).
    #[error("at `{path}`: missing field `{field}`")]
    MissingField {
        /// The object.
        path: String,
        /// The field.
        field: String,
    },
    /// A JSON object has a field the struct (or struct variant) does not have.
    #[error("at `{path}`: unknown field `{field}`, expected {}", one_of(expected))]
    UnknownField {
        /// The object.
        path: String,
        /// The field.
        field: String,
        /// The fields of the struct.
        expected: Vec<String>,
    },
    /// A JSON array has another number of elements than the tuple.
    #[error("at `{path}`: expected an array of {expected} elements, found {found}")]
    WrongLength {
        /// The array.
        path: String,
        /// The tuple's length.
        expected: usize,
        /// The array's length.
        found: usize,
    },
    /// A JSON number does not fit the numeric type.
    #[error("at `{path}`: {value} is out of range for {expected}")]
    OutOfRange {
        /// Where.
        path: String,
        /// The numeric type.
        expected: String,
        /// The number, as written.
        value: String,
    },
    /// A JSON enum value names a variant the enum does not have.
    #[error(
        "at `{path}`: unknown variant `{variant}` of enum `{name}`, expected {}",
        one_of(expected)
    )]
    UnknownVariant {
        /// Where.
        path: String,
        /// The enum.
        name: String,
        /// The variant named.
        variant: String,
        /// The variants of the enum.
        expected: Vec<String>,
    },
    /// A `Shape::Recursive` names no container enclosing it (a damaged description).
    #[error("at `{path}`: the shape refers to `{name}`, which encloses none of it")]
    UnresolvedRecursion {
        /// Where.
        path: String,
        /// The name.
        name: String,
    },
    /// The value nests deeper than [`MAX_DEPTH`](super::MAX_DEPTH) levels.
    #[error("at `{path}`: the value nests deeper than {limit} levels")]
    TooDeep {
        /// Where.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// The description says the value is never stored, so there is nothing to read (the output
    /// of a `continue_as_new` wait).
    #[error("at `{path}`: {what}")]
    NotStored {
        /// Where.
        path: String,
        /// What.
        what: String,
    },
    /// The encoded value is over the format's size limit.
    #[error("the value cannot be encoded: {source}")]
    Encode {
        /// What the codec said.
        #[source]
        source: CodecError,
    },
}

fn one_of(names: &[String]) -> String {
    match names {
        [] => "none".into(),
        [one] => format!("`{one}`"),
        _ => {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", list.join(", "))
        }
    }
}

/// What a shape expects, in words, for messages.
pub(super) fn expected(shape: &Shape) -> String {
    match shape {
        Shape::Struct { name, .. } => format!("struct `{name}`"),
        Shape::Enum { name, .. } => format!("enum `{name}`"),
        Shape::TupleStruct { name, fields } => {
            format!("tuple struct `{name}` of {} fields", fields.len())
        }
        Shape::Newtype { name, inner } => format!("`{name}` ({})", expected(inner)),
        Shape::UnitStruct { name } => format!("unit struct `{name}`"),
        Shape::Tuple(items) => format!("a tuple of {} elements", items.len()),
        Shape::Seq(_) => "a sequence".into(),
        Shape::Map { .. } => "a map".into(),
        Shape::Option(_) => "an option".into(),
        Shape::Recursive { name } => format!("`{name}`"),
        leaf => format!("`{leaf}`"),
    }
}

/// What a JSON value is, in words, for messages.
pub(super) fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            let head: String = s.chars().take(40).collect();
            format!("the string {head:?}…")
        }
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::Object(_) => "an object".into(),
    }
}
