//! The structure of a stored type as the stored format sees it: the serde data model of its
//! `Deserialize` implementation (field names and order, field types, enum variants, recursively),
//! traced at registration by driving it with a recording deserializer (`trace.rs`).
//!
//! Two types with the same [`Shape`] (up to container names) encode to the same bytes for the
//! same values; a type whose shape changed does not, since the format is positional. A shape's
//! [`fingerprint`](Shape::fingerprint) covers everything but the names of the containers (a
//! renamed struct keeps its bytes); field and variant names do count (swapping two `u64` fields
//! keeps the bytes but not their meaning).

pub(crate) mod diff;
mod trace;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use diff::diff;
#[cfg(test)]
pub(crate) use trace::trace_shape;
pub(crate) use trace::{Placeholders, trace, trace_seq};
pub use trace::{TraceError, TraceSeq};

/// The shape of `T` as sayiir stores it (traced once per type and cached). An error says why
/// `T` cannot be traced: its `Deserialize` needs a self-describing format, or rejects every
/// placeholder value the tracer offers.
pub fn shape_of<T: serde::de::DeserializeOwned>() -> Result<Shape, String> {
    trace::<T>(&Placeholders::default())
}

/// The fingerprint of `T`'s shape (cached per type), for tagging values stored under keys whose
/// type is not fixed by a definition (the shared context).
pub(crate) fn fingerprint_of<T: serde::de::DeserializeOwned>() -> Result<[u8; 32], String> {
    type Cache = std::sync::Mutex<std::collections::HashMap<std::any::TypeId, [u8; 32]>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = typeid::of::<T>();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(f) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(*f);
    }
    let f = shape_of::<T>()?.fingerprint();
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, f);
    Ok(f)
}

/// The structure of a stored type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Shape {
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `i128`.
    I128,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `u128`.
    U128,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// A string.
    Str,
    /// A byte string (`serde_bytes` and the like).
    Bytes,
    /// `Option<T>`.
    Option(Box<Shape>),
    /// A sequence (`Vec<T>`, sets, ...).
    Seq(Box<Shape>),
    /// A map.
    Map {
        /// Key shape.
        key: Box<Shape>,
        /// Value shape.
        value: Box<Shape>,
    },
    /// A tuple.
    Tuple(Vec<Shape>),
    /// `struct Name;`
    UnitStruct {
        /// The serde name.
        name: String,
    },
    /// `struct Name(T);`
    Newtype {
        /// The serde name.
        name: String,
        /// The wrapped shape.
        inner: Box<Shape>,
    },
    /// `struct Name(A, B, ..);`
    TupleStruct {
        /// The serde name.
        name: String,
        /// Field shapes, in order.
        fields: Vec<Shape>,
    },
    /// `struct Name { a: A, .. }`
    Struct {
        /// The serde name.
        name: String,
        /// Fields, in order.
        fields: Vec<Named>,
    },
    /// `enum Name { .. }`
    Enum {
        /// The serde name.
        name: String,
        /// Variants, by index.
        variants: Vec<Variant>,
    },
    /// The enclosing container of this name (a recursive type).
    Recursive {
        /// The serde name.
        name: String,
    },
}

/// A named field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Named {
    /// Field name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
}

/// An enum variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Variant {
    /// Index in the encoding.
    pub index: u32,
    /// Variant name.
    pub name: String,
    /// Its content.
    pub fields: VariantFields,
}

/// The content of an enum variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VariantFields {
    /// `A`
    Unit,
    /// `A(T)`
    Newtype(Box<Shape>),
    /// `A(T, U)`
    Tuple(Vec<Shape>),
    /// `A { x: T }`
    Struct(Vec<Named>),
}

/// Canonical bytes of shapes: what fingerprints are computed over.
#[derive(Default)]
pub(crate) struct Canon {
    buf: Vec<u8>,
}

impl Canon {
    pub(crate) fn new(domain: &str, version: u32) -> Self {
        let mut c = Self::default();
        c.str(domain);
        c.u32(version);
        c
    }

    pub(crate) fn tag(&mut self, t: u8) {
        self.buf.push(t);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        crate::hash::blake3(&self.buf)
    }
}

/// Format version of the canonical encoding of shapes; bump it whenever the encoding changes
/// (every fingerprint changes with it, which the golden tests show).
const SHAPE_FORMAT: u32 = 1;

impl Shape {
    /// blake3 of the shape's canonical encoding: field and variant names, order and shapes;
    /// not container names.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut c = Canon::new("sayiir/shape", SHAPE_FORMAT);
        self.canon(&mut c, &mut Vec::new());
        c.finish()
    }

    /// Writes the canonical encoding. `open` holds the names of the containers being encoded,
    /// innermost last, so a recursive reference is written as its depth, not its name.
    pub(crate) fn canon<'a>(&'a self, c: &mut Canon, open: &mut Vec<&'a str>) {
        let simple = |c: &mut Canon, t: u8| c.tag(t);
        match self {
            Shape::Unit => simple(c, 1),
            Shape::Bool => simple(c, 2),
            Shape::I8 => simple(c, 3),
            Shape::I16 => simple(c, 4),
            Shape::I32 => simple(c, 5),
            Shape::I64 => simple(c, 6),
            Shape::I128 => simple(c, 7),
            Shape::U8 => simple(c, 8),
            Shape::U16 => simple(c, 9),
            Shape::U32 => simple(c, 10),
            Shape::U64 => simple(c, 11),
            Shape::U128 => simple(c, 12),
            Shape::F32 => simple(c, 13),
            Shape::F64 => simple(c, 14),
            Shape::Char => simple(c, 15),
            Shape::Str => simple(c, 16),
            Shape::Bytes => simple(c, 17),
            Shape::Option(s) => {
                c.tag(18);
                s.canon(c, open);
            }
            Shape::Seq(s) => {
                c.tag(19);
                s.canon(c, open);
            }
            Shape::Map { key, value } => {
                c.tag(20);
                key.canon(c, open);
                value.canon(c, open);
            }
            Shape::Tuple(items) => {
                c.tag(21);
                c.len(items.len());
                for s in items {
                    s.canon(c, open);
                }
            }
            Shape::UnitStruct { .. } => c.tag(23),
            Shape::Newtype { name, inner } => {
                c.tag(24);
                open.push(name);
                inner.canon(c, open);
                open.pop();
            }
            Shape::TupleStruct { name, fields } => {
                c.tag(25);
                c.len(fields.len());
                open.push(name);
                for s in fields {
                    s.canon(c, open);
                }
                open.pop();
            }
            Shape::Struct { name, fields } => {
                c.tag(26);
                open.push(name);
                named(c, fields, open);
                open.pop();
            }
            Shape::Enum { name, variants } => {
                c.tag(27);
                c.len(variants.len());
                open.push(name);
                for v in variants {
                    c.u32(v.index);
                    c.str(&v.name);
                    match &v.fields {
                        VariantFields::Unit => c.tag(1),
                        VariantFields::Newtype(s) => {
                            c.tag(2);
                            s.canon(c, open);
                        }
                        VariantFields::Tuple(items) => {
                            c.tag(3);
                            c.len(items.len());
                            for s in items {
                                s.canon(c, open);
                            }
                        }
                        VariantFields::Struct(fields) => {
                            c.tag(4);
                            named(c, fields, open);
                        }
                    }
                }
                open.pop();
            }
            Shape::Recursive { name } => {
                c.tag(28);
                let depth = open
                    .iter()
                    .rev()
                    .position(|n| n == name)
                    .unwrap_or(usize::MAX);
                c.len(depth);
            }
        }
    }

    /// The name of the container this shape is, if it is one.
    pub fn container_name(&self) -> Option<&str> {
        match self {
            Shape::UnitStruct { name }
            | Shape::Newtype { name, .. }
            | Shape::TupleStruct { name, .. }
            | Shape::Struct { name, .. }
            | Shape::Enum { name, .. }
            | Shape::Recursive { name } => Some(name),
            _ => None,
        }
    }

    /// Whether two shapes encode the same way and mean the same (same fingerprint).
    pub fn same_as(&self, other: &Shape) -> bool {
        self == other || self.fingerprint() == other.fingerprint()
    }
}

fn named<'a>(c: &mut Canon, fields: &'a [Named], open: &mut Vec<&'a str>) {
    c.len(fields.len());
    for f in fields {
        c.str(&f.name);
        f.shape.canon(c, open);
    }
}

/// Renders a shape in Rust-like syntax: `Order { id: u64, lines: Vec<Line { sku: String } > }`.
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Unit => f.write_str("()"),
            Shape::Bool => f.write_str("bool"),
            Shape::I8 => f.write_str("i8"),
            Shape::I16 => f.write_str("i16"),
            Shape::I32 => f.write_str("i32"),
            Shape::I64 => f.write_str("i64"),
            Shape::I128 => f.write_str("i128"),
            Shape::U8 => f.write_str("u8"),
            Shape::U16 => f.write_str("u16"),
            Shape::U32 => f.write_str("u32"),
            Shape::U64 => f.write_str("u64"),
            Shape::U128 => f.write_str("u128"),
            Shape::F32 => f.write_str("f32"),
            Shape::F64 => f.write_str("f64"),
            Shape::Char => f.write_str("char"),
            Shape::Str => f.write_str("String"),
            Shape::Bytes => f.write_str("bytes"),
            Shape::Option(s) => write!(f, "Option<{s}>"),
            Shape::Seq(s) => write!(f, "Vec<{s}>"),
            Shape::Map { key, value } => write!(f, "Map<{key}, {value}>"),
            // Arrays are tuples to the format; long uniform ones read better as arrays.
            Shape::Tuple(items) if items.len() > 4 && items.iter().all(|s| s == &items[0]) => {
                write!(f, "[{}; {}]", items[0], items.len())
            }
            Shape::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Shape::UnitStruct { name } | Shape::Recursive { name } => f.write_str(name),
            Shape::Newtype { name, inner } => write!(f, "{name}({inner})"),
            Shape::TupleStruct { name, fields } => {
                write!(f, "{name}(")?;
                list(f, fields)?;
                f.write_str(")")
            }
            Shape::Struct { name, fields } => {
                write!(f, "{name} ")?;
                braces(f, fields)
            }
            Shape::Enum { name, variants } => {
                write!(f, "enum {name} {{ ")?;
                for (i, v) in variants.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.fields {
            VariantFields::Unit => Ok(()),
            VariantFields::Newtype(s) => write!(f, "({s})"),
            VariantFields::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                f.write_str(")")
            }
            VariantFields::Struct(fields) => {
                f.write_str(" ")?;
                braces(f, fields)
            }
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.shape)
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Shape]) -> fmt::Result {
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{s}")?;
    }
    Ok(())
}

fn braces(f: &mut fmt::Formatter<'_>, fields: &[Named]) -> fmt::Result {
    if fields.is_empty() {
        return f.write_str("{}");
    }
    f.write_str("{ ")?;
    for (i, n) in fields.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{n}")?;
    }
    f.write_str(" }")
}

#[cfg(test)]
#[path = "shape/tests.rs"]
mod tests;
