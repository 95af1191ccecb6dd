//! Tracing a type's [`Shape`] by driving its `Deserialize` implementation with a deserializer
//! that records what it is asked for and answers with placeholder values.
//!
//! Why not serde-reflection (the crate of the field): it identifies containers by their serde
//! name (two `Page<T>` of different `T` in one type collide), and once it knows the format of an
//! `Option`, a sequence or a map it stops exploring inside them, so an enum nested behind one of
//! them keeps its first variant only — a fingerprint that misses changes. Here containers are
//! identified by their Rust type (the visitor's value type) and every pass explores everything,
//! cutting only at recursion.
//!
//! - **Enums**: each pass takes an unexplored variant of every enum it meets (or the next one in
//!   turn once all were seen, to reach enums nested inside them); passes repeat until every enum
//!   met has every variant explored.
//! - **Recursion**: a container met inside itself is recorded as a reference back to it, and a
//!   value for it is built without recording: options `None`, sequences and maps empty, enums
//!   take a variant known to end without recursion.
//! - **Validating deserializers** (a date parsed from a string, a `NonZeroU64`, a 16-byte id)
//!   reject some placeholders: the trace starts over with the next placeholder for the leaf read
//!   last before the error (keyed by what kind of leaf it is and which type's visitor read it),
//!   trying a list of values common formats accept and any given to the engine builder.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

use super::{Named, Shape, Variant, VariantFields};

/// Passes over one type before giving up.
const MAX_PASSES: usize = 20_000;
/// Restarts with other placeholders before giving up.
const MAX_RESTARTS: usize = 256;
/// Nesting of containers inside a recursion before a value is declared impossible to build.
const MAX_CUT_DEPTH: usize = 64;

/// Extra string placeholders for types whose deserializer rejects the built-in ones.
#[derive(Clone, Default, Debug)]
pub(crate) struct Placeholders {
    strings: Vec<String>,
}

impl Placeholders {
    /// Adds a string placeholder, tried before the built-in ones.
    pub(crate) fn add(&mut self, s: &str) {
        self.strings.push(s.to_string());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

const STRINGS: [&str; 8] = [
    "",
    "1970-01-01T00:00:00Z",
    "1970-01-01",
    "1970-01-01T00:00:00",
    "00:00:00",
    "http://localhost/",
    "0",
    "00000000-0000-0000-0000-000000000000",
];

/// The shape of `T`, cached per type when no extra placeholders are involved.
pub(crate) fn trace<T: DeserializeOwned>(extra: &Placeholders) -> Result<Shape, String> {
    type Cache = Mutex<HashMap<TypeId, Result<Shape, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = typeid::of::<T>();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    let plain = match cached {
        Some(r) => r,
        None => {
            let r = trace_shape::<T>(&Placeholders::default());
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, r.clone());
            r
        }
    };
    match plain {
        Err(_) if !extra.is_empty() => trace_shape::<T>(extra),
        r => r,
    }
}

/// Traces `T` without the cache.
pub(crate) fn trace_shape<T: DeserializeOwned>(extra: &Placeholders) -> Result<Shape, String> {
    trace_by(extra, &mut |de| T::deserialize(de).map(drop))
}

/// One value to trace, handed to generated code as a sequence of one element, so the value's
/// type is named (and its serde bound checked) only by `__private::de_field`.
pub struct TraceSeq<'t, 'a> {
    de: Option<De<'t, 'a>>,
    ty: &'t mut &'static str,
}

impl std::fmt::Debug for TraceSeq<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSeq").finish_non_exhaustive()
    }
}

impl<'de> SeqAccess<'de> for TraceSeq<'_, '_> {
    type Error = TraceError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, TraceError> {
        let Some(de) = self.de.take() else {
            return Ok(None);
        };
        *self.ty = std::any::type_name::<S::Value>();
        seed.deserialize(de).map(Some).map_err(TraceError)
    }
}

/// Why tracing a value failed (the error type of [`TraceSeq`]).
#[derive(Debug)]
pub struct TraceError(Error);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TraceError(Error::Custom(msg.to_string()))
    }
}

/// Traces the value `read` reads from its [`TraceSeq`]; also returns its type's name (with
/// the error too, when it was read).
pub(crate) fn trace_seq(
    extra: &Placeholders,
    read: &mut dyn FnMut(&mut TraceSeq<'_, '_>) -> Result<(), TraceError>,
) -> Result<(Shape, &'static str), (String, &'static str)> {
    let mut name = "";
    let shape = trace_by(extra, &mut |de| {
        let mut seq = TraceSeq {
            de: Some(de),
            ty: &mut name,
        };
        read(&mut seq).map_err(|e| e.0)
    });
    match shape {
        Ok(shape) => Ok((shape, name)),
        Err(why) => Err((why, name)),
    }
}

/// Runs passes of `read` (each deserializing the value once from the recording deserializer)
/// until every enum met has every variant explored, starting over with other placeholders when
/// the value's deserializer rejects one.
fn trace_by(
    extra: &Placeholders,
    read: &mut dyn FnMut(De<'_, '_>) -> Result<(), Error>,
) -> Result<Shape, String> {
    let mut choices: HashMap<(Leaf, TypeId), usize> = HashMap::new();
    let mut last_error = String::new();
    for _ in 0..MAX_RESTARTS {
        let mut t = Tracer::new(extra, &choices);
        let mut root = Node::Unknown;
        match t.run(&mut root, read) {
            Ok(()) => return t.convert(&root, &mut Vec::new()),
            Err(Error::Custom(m)) => {
                // The leaf read last most likely decided; failing that, an earlier one (a
                // value checked once a whole tuple was read).
                let next = t.trail.iter().rev().find_map(|leaf| {
                    let n = choices.get(leaf).copied().unwrap_or(0) + 1;
                    (n < leaf.0.candidates(extra)).then_some((*leaf, n))
                });
                let Some((leaf, n)) = next else {
                    let what = t
                        .trail
                        .last()
                        .map_or_else(|| "value".to_string(), |l| l.0.to_string());
                    return Err(format!(
                        "its `Deserialize` rejects every placeholder value for a {what} ({m}); give one it accepts with `EngineBuilder::trace_placeholder(\"..\")`"
                    ));
                };
                choices.insert(leaf, n);
                last_error = m;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no placeholder values pass its `Deserialize` ({last_error})"
    ))
}

/// Kinds of leaves, for placeholder choices.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Leaf {
    Int,
    Float,
    Str,
    Bytes,
}

impl Leaf {
    fn candidates(self, extra: &Placeholders) -> usize {
        match self {
            Leaf::Int | Leaf::Float => 2,
            Leaf::Str => extra.strings.len() + STRINGS.len(),
            Leaf::Bytes => 3,
        }
    }
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Leaf::Int => "number",
            Leaf::Float => "floating-point number",
            Leaf::Str => "string",
            Leaf::Bytes => "byte string",
        })
    }
}

/// Why a trace failed.
#[derive(Debug)]
pub(in crate::shape) enum Error {
    /// The type's deserializer rejected a value.
    Custom(String),
    /// The deserializer asked for something a positional format cannot serve.
    Unsupported(&'static str),
    /// Two passes saw different shapes at one place.
    Inconsistent(String),
    /// A recursive type without a variant that ends the recursion.
    TooDeep(&'static str),
    /// Passes did not converge.
    TooManyPasses,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Custom(m) => write!(f, "its `Deserialize` failed: {m}"),
            Error::Unsupported(what) => write!(
                f,
                "its `Deserialize` calls `{what}`, which the stored format cannot serve (`#[serde(flatten)]`, `tag`, `untagged` and self-describing types such as `serde_json::Value` cannot be stored)"
            ),
            Error::Inconsistent(m) => write!(
                f,
                "its `Deserialize` asks for different things on different runs ({m})"
            ),
            Error::TooDeep(name) => write!(
                f,
                "the recursive type `{name}` has no variant that ends the recursion first"
            ),
            Error::TooManyPasses => f.write_str("its enums have too many variant combinations"),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

/// What is known of the value at one place.
#[derive(Clone, Debug, Default)]
enum Node {
    #[default]
    Unknown,
    Leaf(Shape),
    Option(Box<Node>),
    Seq(Box<Node>),
    Map(Box<Node>, Box<Node>),
    Tuple(Vec<Node>),
    Container(TypeId),
}

#[derive(Clone, Debug)]
enum VariantNode {
    Unit,
    Newtype(Node),
    Tuple(Vec<Node>),
    Struct(&'static [&'static str], Vec<Node>),
}

#[derive(Clone, Debug)]
enum Kind {
    Unit,
    Newtype(Node),
    TupleStruct(Vec<Node>),
    Struct(&'static [&'static str], Vec<Node>),
    Enum {
        names: &'static [&'static str],
        variants: Vec<Option<VariantNode>>,
        /// Next variant to visit once all were explored.
        cursor: usize,
    },
    /// Being filled (it is on the stack).
    Open,
}

#[derive(Debug)]
struct Container {
    name: &'static str,
    kind: Kind,
}

struct Tracer<'a> {
    containers: HashMap<TypeId, Container>,
    stack: Vec<TypeId>,
    /// Above zero: inside a recursion, building values without recording.
    cut: usize,
    /// Times a recursion was cut (to tell variants that end from those that do not).
    cuts: usize,
    /// Per enum, a variant whose exploration met no recursion: the one that ends a recursion.
    ends: HashMap<TypeId, u32>,
    /// The leaves read, in order (their placeholder choices are what a restart changes).
    trail: Vec<(Leaf, TypeId)>,
    extra: &'a Placeholders,
    choices: &'a HashMap<(Leaf, TypeId), usize>,
}

impl<'a> Tracer<'a> {
    fn new(extra: &'a Placeholders, choices: &'a HashMap<(Leaf, TypeId), usize>) -> Self {
        Self {
            containers: HashMap::new(),
            stack: Vec::new(),
            cut: 0,
            cuts: 0,
            ends: HashMap::new(),
            trail: Vec::new(),
            extra,
            choices,
        }
    }

    fn run(
        &mut self,
        root: &mut Node,
        read: &mut dyn FnMut(De<'_, 'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for _ in 0..MAX_PASSES {
            read(De {
                t: &mut *self,
                node: &mut *root,
            })?;
            let incomplete = self.containers.values().any(|c| {
                matches!(&c.kind, Kind::Enum { variants, .. } if variants.iter().any(Option::is_none))
            });
            if !incomplete {
                return Ok(());
            }
        }
        Err(Error::TooManyPasses)
    }

    fn choice(&mut self, leaf: Leaf, tid: TypeId) -> usize {
        if self.trail.last() != Some(&(leaf, tid)) {
            self.trail.retain(|l| *l != (leaf, tid));
            self.trail.push((leaf, tid));
        }
        self.choices.get(&(leaf, tid)).copied().unwrap_or(0)
    }

    fn string(&mut self, tid: TypeId) -> String {
        let i = self.choice(Leaf::Str, tid);
        match self.extra.strings.get(i) {
            Some(s) => s.clone(),
            None => STRINGS
                .get(i - self.extra.strings.len())
                .copied()
                .unwrap_or("")
                .to_string(),
        }
    }

    fn convert(&self, node: &Node, open: &mut Vec<TypeId>) -> Result<Shape, String> {
        Ok(match node {
            Node::Unknown => return Err("part of it was never reached by a trace".into()),
            Node::Leaf(s) => s.clone(),
            Node::Option(n) => Shape::Option(Box::new(self.convert(n, open)?)),
            Node::Seq(n) => Shape::Seq(Box::new(self.convert(n, open)?)),
            Node::Map(k, v) => Shape::Map {
                key: Box::new(self.convert(k, open)?),
                value: Box::new(self.convert(v, open)?),
            },
            Node::Tuple(items) => Shape::Tuple(self.list(items, open)?),
            Node::Container(tid) => {
                let Some(c) = self.containers.get(tid) else {
                    return Err("a container was never reached by a trace".into());
                };
                let name = c.name.to_string();
                if open.contains(tid) {
                    return Ok(Shape::Recursive { name });
                }
                open.push(*tid);
                let shape = match &c.kind {
                    Kind::Unit | Kind::Open => Shape::UnitStruct { name },
                    Kind::Newtype(n) => Shape::Newtype {
                        name,
                        inner: Box::new(self.convert(n, open)?),
                    },
                    Kind::TupleStruct(items) => Shape::TupleStruct {
                        name,
                        fields: self.list(items, open)?,
                    },
                    Kind::Struct(names, items) => Shape::Struct {
                        name,
                        fields: self.named(names, items, open)?,
                    },
                    Kind::Enum {
                        names, variants, ..
                    } => {
                        let mut out = Vec::with_capacity(variants.len());
                        for (i, v) in variants.iter().enumerate() {
                            let Some(v) = v else {
                                return Err(format!("variant {i} of `{name}` was never reached"));
                            };
                            out.push(Variant {
                                index: u32::try_from(i).unwrap_or(u32::MAX),
                                name: names.get(i).copied().unwrap_or("?").to_string(),
                                fields: match v {
                                    VariantNode::Unit => VariantFields::Unit,
                                    VariantNode::Newtype(n) => {
                                        VariantFields::Newtype(Box::new(self.convert(n, open)?))
                                    }
                                    VariantNode::Tuple(items) => {
                                        VariantFields::Tuple(self.list(items, open)?)
                                    }
                                    VariantNode::Struct(names, items) => {
                                        VariantFields::Struct(self.named(names, items, open)?)
                                    }
                                },
                            });
                        }
                        Shape::Enum {
                            name,
                            variants: out,
                        }
                    }
                };
                open.pop();
                shape
            }
        })
    }

    fn list(&self, items: &[Node], open: &mut Vec<TypeId>) -> Result<Vec<Shape>, String> {
        items.iter().map(|n| self.convert(n, open)).collect()
    }

    fn named(
        &self,
        names: &[&str],
        items: &[Node],
        open: &mut Vec<TypeId>,
    ) -> Result<Vec<Named>, String> {
        names
            .iter()
            .zip(items)
            .map(|(n, node)| {
                Ok(Named {
                    name: (*n).to_string(),
                    shape: self.convert(node, open)?,
                })
            })
            .collect()
    }
}

/// Sets `node` to `want` if unknown; checks it agrees otherwise.
fn settle(node: &mut Node, want: Node) -> Result<(), Error> {
    let same = match (&*node, &want) {
        (Node::Unknown, _) => {
            *node = want;
            return Ok(());
        }
        (Node::Leaf(a), Node::Leaf(b)) => a == b,
        (Node::Option(_), Node::Option(_))
        | (Node::Seq(_), Node::Seq(_))
        | (Node::Map(..), Node::Map(..)) => true,
        (Node::Tuple(a), Node::Tuple(b)) => a.len() == b.len(),
        (Node::Container(a), Node::Container(b)) => a == b,
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(Error::Inconsistent(format!("{node:?} and {want:?}")))
    }
}

mod de_impl;

use de_impl::De;
