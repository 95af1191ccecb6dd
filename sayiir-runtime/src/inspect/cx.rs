//! What reading and writing share while they walk a value: where they are (for errors), the
//! shapes they are inside (for `Shape::Recursive` and the depth limit), and the first error
//! met. postcard's error type keeps no message (`Error::custom` drops it), so an error found
//! inside a serde callback is kept here and the callback returns a bare custom error.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write;

use super::MAX_DEPTH;
use super::error::{InspectError, expected};
use crate::codec;
use crate::shape::Shape;

/// One step of a path.
#[derive(Clone, Debug)]
pub(super) enum Seg<'s> {
    /// `.name` (a struct field, an enum variant's content, a part of a view).
    Field(Cow<'s, str>),
    /// `[i]`.
    Index(usize),
    /// `["key"]`: the value of a map entry with a string key.
    Key(String),
    /// `[key #i]`: the key of entry `i` of a map with string keys, while it is read.
    KeyOf(usize),
    /// `[i][j]`: the key (0) or the value (1) of entry `i` of a map written as pairs.
    Pair(usize, u8),
}

impl<'s> Seg<'s> {
    pub(super) fn field(name: &'s str) -> Self {
        Seg::Field(Cow::Borrowed(name))
    }
}

/// What is open at one level of the walk.
#[derive(Clone, Copy, Debug)]
enum Open<'s> {
    /// A value of this shape (a container among them can be referred to by `Recursive`).
    Value(&'s Shape),
    /// A record of the runtime (a state, a wait, a join branch), named for messages.
    Record(&'static str),
}

/// The walk's state (see the module doc).
#[derive(Debug, Default)]
pub(super) struct Cx<'s> {
    /// The path of the blob this walk reads, when it is nested in another value.
    prefix: String,
    path: RefCell<Vec<Seg<'s>>>,
    open: RefCell<Vec<Open<'s>>>,
    /// Levels open in the walks this one is nested in.
    base_depth: usize,
    error: RefCell<Option<InspectError>>,
}

impl<'s> Cx<'s> {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// A walk of a blob nested at the current place (a task's arguments, a branch's output):
    /// its paths start with this one's, and its depth adds to this one's.
    pub(super) fn nested<'x>(&self) -> Cx<'x> {
        Cx {
            prefix: self.path_raw(),
            base_depth: self.base_depth + self.open.borrow().len(),
            ..Cx::default()
        }
    }

    fn path_raw(&self) -> String {
        let mut out = self.prefix.clone();
        for seg in self.path.borrow().iter() {
            // Writing to a String cannot fail.
            let _ = match seg {
                Seg::Field(name) if is_ident(name) => write!(out, ".{name}"),
                Seg::Field(name) => write!(out, ".[{}]", quoted(name)),
                Seg::Index(i) => write!(out, "[{i}]"),
                Seg::Key(k) => write!(out, "[{}]", quoted(k)),
                Seg::KeyOf(i) => write!(out, "[key #{i}]"),
                Seg::Pair(i, j) => write!(out, "[{i}][{j}]"),
            };
        }
        out
    }

    /// The current place, jq-like (`.order.lines[2]`, `.` at the top).
    pub(super) fn path(&self) -> String {
        let raw = self.path_raw();
        if raw.is_empty() {
            ".".into()
        } else if raw.starts_with('[') {
            format!(".{raw}")
        } else {
            raw
        }
    }

    /// Runs `f` one step further along the path. The step is taken back only when `f`
    /// succeeds: after an error the path still says where it happened.
    pub(super) fn at<T, E>(&self, seg: Seg<'s>, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.path.borrow_mut().push(seg);
        let r = f();
        if r.is_ok() {
            self.path.borrow_mut().pop();
        }
        r
    }

    /// Like [`Cx::at`], several steps at once.
    pub(super) fn at_all<T, E, const N: usize>(
        &self,
        segs: [Seg<'s>; N],
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.path.borrow_mut().extend(segs);
        let r = f();
        if r.is_ok() {
            let mut path = self.path.borrow_mut();
            let keep = path.len().saturating_sub(N);
            path.truncate(keep);
        }
        r
    }

    /// Enters a value of `shape`: resolves a `Recursive` reference against the containers
    /// open around it and checks the depth. Returns the shape to read or write; [`Cx::leave`]
    /// closes it.
    pub(super) fn enter(&self, shape: &'s Shape) -> Result<&'s Shape, InspectError> {
        let resolved = match shape {
            Shape::Recursive { name } => {
                self.resolve(name)
                    .ok_or_else(|| InspectError::UnresolvedRecursion {
                        path: self.path(),
                        name: name.clone(),
                    })?
            }
            other => other,
        };
        self.push(Open::Value(resolved))?;
        Ok(resolved)
    }

    /// Enters a runtime record.
    pub(super) fn enter_record(&self, what: &'static str) -> Result<(), InspectError> {
        self.push(Open::Record(what))
    }

    fn push(&self, open: Open<'s>) -> Result<(), InspectError> {
        let mut stack = self.open.borrow_mut();
        if self.base_depth + stack.len() >= MAX_DEPTH {
            return Err(InspectError::TooDeep {
                path: self.path(),
                limit: MAX_DEPTH,
            });
        }
        stack.push(open);
        Ok(())
    }

    /// Closes what [`Cx::enter`] or [`Cx::enter_record`] opened.
    pub(super) fn leave(&self) {
        self.open.borrow_mut().pop();
    }

    /// The innermost open container named `name` (what `Shape::Recursive { name }` means).
    fn resolve(&self, name: &str) -> Option<&'s Shape> {
        self.open.borrow().iter().rev().find_map(|o| match o {
            Open::Value(s) if !matches!(s, Shape::Recursive { .. }) => {
                (s.container_name() == Some(name)).then_some(*s)
            }
            _ => None,
        })
    }

    /// `shape` seen through newtypes and recursive references: what its JSON looks like.
    pub(super) fn underlying(&self, shape: &'s Shape) -> &'s Shape {
        let mut s = shape;
        let mut newtypes: Vec<&str> = Vec::new();
        // A chain of newtypes is finite in any traced shape; a damaged one stops here.
        for _ in 0..MAX_DEPTH {
            match s {
                Shape::Newtype { name, inner } => {
                    newtypes.push(name);
                    s = inner;
                }
                Shape::Recursive { name } if !newtypes.contains(&name.as_str()) => {
                    match self.resolve(name) {
                        Some(r) => s = r,
                        None => return s,
                    }
                }
                other => return other,
            }
        }
        s
    }

    /// Whether a value of `shape` can be JSON `null` (so an `Option` of it cannot say `Some`
    /// with the value alone).
    pub(super) fn nullable(&self, shape: &'s Shape) -> bool {
        matches!(
            self.underlying(shape),
            Shape::Unit | Shape::UnitStruct { .. } | Shape::Option(_)
        )
    }

    /// Whether map keys of `shape` are JSON strings (so the map is an object).
    pub(super) fn string_keys(&self, shape: &'s Shape) -> bool {
        matches!(self.underlying(shape), Shape::Str)
    }

    /// Keeps `e` as the walk's error (the first one wins: it is where the walk stopped).
    pub(super) fn fail(&self, e: InspectError) {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// Keeps `e` and returns the bare serde error that unwinds the walk.
    pub(super) fn raise<E: serde::de::Error>(&self, e: InspectError) -> E {
        self.fail(e);
        E::custom("see the inspect error")
    }

    /// Like [`Cx::raise`], for writing.
    pub(super) fn raise_ser<E: serde::ser::Error>(&self, e: InspectError) -> E {
        self.fail(e);
        E::custom("see the inspect error")
    }

    /// The error kept, or else what a postcard error means here.
    pub(super) fn error_or(&self, e: &postcard::Error) -> InspectError {
        if let Some(kept) = self.error.borrow_mut().take() {
            return kept;
        }
        let what = match self.open.borrow().last() {
            Some(Open::Value(s)) => expected(s),
            Some(Open::Record(r)) => (*r).to_string(),
            None => "the value".into(),
        };
        InspectError::Malformed {
            path: self.path(),
            expected: what,
            detail: codec::detail(e),
        }
    }

    /// The error kept, if any.
    pub(super) fn take_error(&self) -> Option<InspectError> {
        self.error.borrow_mut().take()
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}
