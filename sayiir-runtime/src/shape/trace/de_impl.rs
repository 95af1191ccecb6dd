//! The recording deserializer of [`super::Tracer`].

use std::any::TypeId;

use serde::de::value::U32Deserializer;

use super::{
    Container, DeserializeSeed, EnumAccess, Error, Kind, Leaf, MAX_CUT_DEPTH, MapAccess, Node,
    SeqAccess, Shape, Tracer, VariantAccess, VariantNode, Visitor, de, settle,
};

/// Deserializes one value at `node`.
pub(in crate::shape) struct De<'t, 'a> {
    pub(super) t: &'t mut Tracer<'a>,
    pub(super) node: &'t mut Node,
}

/// What entering a container gives.
enum Enter {
    /// Its content, taken out of the tracer while it is filled.
    Record(Kind),
    /// Inside a recursion: build a value, record nothing.
    Cut,
}

impl<'a> Tracer<'a> {
    fn enter(
        &mut self,
        node: &mut Node,
        tid: TypeId,
        name: &'static str,
        fresh: impl FnOnce() -> Kind,
    ) -> Result<Enter, Error> {
        if self.cut > 0 {
            return Ok(Enter::Cut);
        }
        settle(node, Node::Container(tid))?;
        if self.stack.contains(&tid) {
            self.cuts += 1;
            return Ok(Enter::Cut);
        }
        let c = self.containers.entry(tid).or_insert_with(|| Container {
            name,
            kind: fresh(),
        });
        let kind = std::mem::replace(&mut c.kind, Kind::Open);
        self.stack.push(tid);
        Ok(Enter::Record(kind))
    }

    fn leave(&mut self, tid: TypeId, kind: Kind) {
        self.stack.pop();
        if let Some(c) = self.containers.get_mut(&tid) {
            c.kind = kind;
        }
    }

    /// Runs `f` inside a recursion (building a value without recording).
    fn cut<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.cut += 1;
        if self.cut > MAX_CUT_DEPTH {
            return Err(Error::TooDeep(name));
        }
        let r = f(self);
        self.cut -= 1;
        r
    }
}

fn wrong_kind(name: &str) -> Error {
    Error::Inconsistent(format!("`{name}` is read as different kinds of container"))
}

impl De<'_, '_> {
    fn leaf(&mut self, shape: Shape) -> Result<(), Error> {
        if self.t.cut > 0 {
            return Ok(());
        }
        settle(self.node, Node::Leaf(shape))
    }

    /// Whether the number placeholder is 1 (else 0): 1 first, as more types reject 0 (months,
    /// ordinals, `NonZero*`) than 1.
    fn int(&mut self, shape: Shape, tid: TypeId) -> Result<bool, Error> {
        self.leaf(shape)?;
        Ok(self.t.choice(Leaf::Int, tid) == 0)
    }

    fn bytes(&mut self, tid: TypeId) -> Result<Vec<u8>, Error> {
        self.leaf(Shape::Bytes)?;
        Ok(match self.t.choice(Leaf::Bytes, tid) {
            0 => Vec::new(),
            1 => vec![0; 16],
            _ => vec![0; 32],
        })
    }

    fn float(&mut self, shape: Shape, tid: TypeId) -> Result<f64, Error> {
        self.leaf(shape)?;
        Ok(if self.t.choice(Leaf::Float, tid) > 0 {
            1.0
        } else {
            0.0
        })
    }

    fn string(&mut self, tid: TypeId) -> Result<String, Error> {
        self.leaf(Shape::Str)?;
        Ok(self.t.string(tid))
    }
}

macro_rules! ints {
    ($($method:ident $visit:ident $ty:ty => $shape:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
                let one = self.int(Shape::$shape, typeid::of::<V::Value>())?;
                let v: $ty = if one { 1 } else { 0 };
                visitor.$visit(v)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for De<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::Unsupported("deserialize_any"))
    }

    fn deserialize_bool<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        self.leaf(Shape::Bool)?;
        visitor.visit_bool(false)
    }

    ints! {
        deserialize_i8 visit_i8 i8 => I8,
        deserialize_i16 visit_i16 i16 => I16,
        deserialize_i32 visit_i32 i32 => I32,
        deserialize_i64 visit_i64 i64 => I64,
        deserialize_i128 visit_i128 i128 => I128,
        deserialize_u8 visit_u8 u8 => U8,
        deserialize_u16 visit_u16 u16 => U16,
        deserialize_u32 visit_u32 u32 => U32,
        deserialize_u64 visit_u64 u64 => U64,
        deserialize_u128 visit_u128 u128 => U128,
    }

    fn deserialize_f32<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let v = self.float(Shape::F32, typeid::of::<V::Value>())?;
        // 0.0 or 1.0: exact in f32.
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_f32(v as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let v = self.float(Shape::F64, typeid::of::<V::Value>())?;
        visitor.visit_f64(v)
    }

    fn deserialize_char<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        self.leaf(Shape::Char)?;
        visitor.visit_char('A')
    }

    fn deserialize_str<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let s = self.string(typeid::of::<V::Value>())?;
        visitor.visit_str(&s)
    }

    fn deserialize_string<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let s = self.string(typeid::of::<V::Value>())?;
        visitor.visit_string(s)
    }

    fn deserialize_bytes<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let b = self.bytes(typeid::of::<V::Value>())?;
        visitor.visit_bytes(&b)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        let b = self.bytes(typeid::of::<V::Value>())?;
        visitor.visit_byte_buf(b)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.t.cut > 0 {
            return visitor.visit_none();
        }
        settle(self.node, Node::Option(Box::default()))?;
        match self.node {
            Node::Option(inner) => visitor.visit_some(De {
                t: self.t,
                node: inner,
            }),
            _ => Err(Error::Inconsistent("an option".into())),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        self.leaf(Shape::Unit)?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let tid = typeid::of::<V::Value>();
        match self.t.enter(self.node, tid, name, || Kind::Unit)? {
            Enter::Cut => visitor.visit_unit(),
            Enter::Record(Kind::Unit) => {
                self.t.leave(tid, Kind::Unit);
                visitor.visit_unit()
            }
            Enter::Record(_) => Err(wrong_kind(name)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let tid = typeid::of::<V::Value>();
        match self
            .t
            .enter(self.node, tid, name, || Kind::Newtype(Node::Unknown))?
        {
            Enter::Cut => self.t.cut(name, |t| {
                visitor.visit_newtype_struct(De {
                    t,
                    node: &mut Node::Unknown,
                })
            }),
            Enter::Record(Kind::Newtype(mut inner)) => {
                let v = visitor.visit_newtype_struct(De {
                    t: &mut *self.t,
                    node: &mut inner,
                })?;
                self.t.leave(tid, Kind::Newtype(inner));
                Ok(v)
            }
            Enter::Record(_) => Err(wrong_kind(name)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.t.cut > 0 {
            return visitor.visit_seq(Elems {
                t: self.t,
                nodes: std::iter::empty(),
            });
        }
        settle(self.node, Node::Seq(Box::default()))?;
        match self.node {
            Node::Seq(item) => visitor.visit_seq(Elems {
                t: self.t,
                nodes: std::iter::once(&mut **item),
            }),
            _ => Err(Error::Inconsistent("a sequence".into())),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if self.t.cut > 0 {
            let mut scratch = vec![Node::Unknown; len];
            return visitor.visit_seq(Elems {
                t: self.t,
                nodes: scratch.iter_mut(),
            });
        }
        settle(self.node, Node::Tuple(vec![Node::Unknown; len]))?;
        match self.node {
            Node::Tuple(items) => visitor.visit_seq(Elems {
                t: self.t,
                nodes: items.iter_mut(),
            }),
            _ => Err(Error::Inconsistent("a tuple".into())),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let tid = typeid::of::<V::Value>();
        let fresh = || Kind::TupleStruct(vec![Node::Unknown; len]);
        match self.t.enter(self.node, tid, name, fresh)? {
            Enter::Cut => self.t.cut(name, |t| {
                let mut scratch = vec![Node::Unknown; len];
                visitor.visit_seq(Elems {
                    t,
                    nodes: scratch.iter_mut(),
                })
            }),
            Enter::Record(Kind::TupleStruct(mut items)) => {
                let v = visitor.visit_seq(Elems {
                    t: &mut *self.t,
                    nodes: items.iter_mut(),
                })?;
                self.t.leave(tid, Kind::TupleStruct(items));
                Ok(v)
            }
            Enter::Record(_) => Err(wrong_kind(name)),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.t.cut > 0 {
            return visitor.visit_map(Entry {
                t: self.t,
                key: None,
                value: None,
            });
        }
        settle(self.node, Node::Map(Box::default(), Box::default()))?;
        match self.node {
            Node::Map(k, v) => visitor.visit_map(Entry {
                t: self.t,
                key: Some(&mut **k),
                value: Some(&mut **v),
            }),
            _ => Err(Error::Inconsistent("a map".into())),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let tid = typeid::of::<V::Value>();
        let fresh = || Kind::Struct(fields, vec![Node::Unknown; fields.len()]);
        match self.t.enter(self.node, tid, name, fresh)? {
            Enter::Cut => self.t.cut(name, |t| {
                let mut scratch = vec![Node::Unknown; fields.len()];
                visitor.visit_seq(Elems {
                    t,
                    nodes: scratch.iter_mut(),
                })
            }),
            Enter::Record(Kind::Struct(names, mut items)) => {
                let v = visitor.visit_seq(Elems {
                    t: &mut *self.t,
                    nodes: items.iter_mut(),
                })?;
                self.t.leave(tid, Kind::Struct(names, items));
                Ok(v)
            }
            Enter::Record(_) => Err(wrong_kind(name)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if variants.is_empty() {
            return Err(Error::Unsupported("an enum without variants"));
        }
        let tid = typeid::of::<V::Value>();
        let fresh = || Kind::Enum {
            names: variants,
            variants: vec![None; variants.len()],
            cursor: 0,
        };
        match self.t.enter(self.node, tid, name, fresh)? {
            Enter::Cut => {
                let index = self.t.ends.get(&tid).copied().unwrap_or(0);
                self.t.cut(name, |t| {
                    visitor.visit_enum(Choice {
                        t,
                        index,
                        slot: &mut None,
                    })
                })
            }
            Enter::Record(Kind::Enum {
                names,
                mut variants,
                mut cursor,
            }) => {
                let pick = match variants.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        cursor = (cursor + 1) % variants.len();
                        cursor
                    }
                };
                let mut slot = variants.get_mut(pick).and_then(Option::take);
                let cuts = self.t.cuts;
                let index = u32::try_from(pick).unwrap_or(u32::MAX);
                let v = visitor.visit_enum(Choice {
                    t: &mut *self.t,
                    index,
                    slot: &mut slot,
                })?;
                if slot.is_none() {
                    return Err(Error::Inconsistent(format!(
                        "variant {pick} of `{name}` was chosen but not read"
                    )));
                }
                if let Some(s) = variants.get_mut(pick) {
                    *s = slot;
                }
                if self.t.cuts == cuts {
                    self.t.ends.entry(tid).or_insert(index);
                }
                self.t.leave(
                    tid,
                    Kind::Enum {
                        names,
                        variants,
                        cursor,
                    },
                );
                Ok(v)
            }
            Enter::Record(_) => Err(wrong_kind(name)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::Unsupported("deserialize_identifier"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::Unsupported("deserialize_ignored_any"))
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The elements of a sequence, tuple or struct, one node each.
struct Elems<'t, 'a, I> {
    t: &'t mut Tracer<'a>,
    nodes: I,
}

impl<'de, 'n, I: Iterator<Item = &'n mut Node>> SeqAccess<'de> for Elems<'_, '_, I> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.nodes.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(De {
                    t: &mut *self.t,
                    node,
                })
                .map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.nodes.size_hint().1
    }
}

/// A map with one entry (or none, inside a recursion).
struct Entry<'t, 'a> {
    t: &'t mut Tracer<'a>,
    key: Option<&'t mut Node>,
    value: Option<&'t mut Node>,
}

impl<'de> MapAccess<'de> for Entry<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.key.take() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(De {
                    t: &mut *self.t,
                    node,
                })
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            None => Err(Error::Inconsistent("a map value without its key".into())),
            Some(node) => seed.deserialize(De {
                t: &mut *self.t,
                node,
            }),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::from(self.key.is_some()))
    }
}

/// The variant chosen for one visit of an enum.
struct Choice<'t, 'a> {
    t: &'t mut Tracer<'a>,
    index: u32,
    slot: &'t mut Option<VariantNode>,
}

impl<'de, 't, 'a> EnumAccess<'de> for Choice<'t, 'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let v = seed.deserialize(U32Deserializer::<Error>::new(self.index))?;
        Ok((v, self))
    }
}

impl Choice<'_, '_> {
    fn settle(&mut self, want: VariantNode) -> Result<(), Error> {
        let same = match (&*self.slot, &want) {
            (None, _) => {
                *self.slot = Some(want);
                return Ok(());
            }
            (Some(VariantNode::Unit), VariantNode::Unit)
            | (Some(VariantNode::Newtype(_)), VariantNode::Newtype(_)) => true,
            (Some(VariantNode::Tuple(a)), VariantNode::Tuple(b)) => a.len() == b.len(),
            (Some(VariantNode::Struct(a, _)), VariantNode::Struct(b, _)) => a == b,
            _ => false,
        };
        if same {
            Ok(())
        } else {
            Err(Error::Inconsistent(format!(
                "variant {} is read as different kinds",
                self.index
            )))
        }
    }
}

impl<'de> VariantAccess<'de> for Choice<'_, '_> {
    type Error = Error;

    fn unit_variant(mut self) -> Result<(), Error> {
        self.settle(VariantNode::Unit)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(mut self, seed: T) -> Result<T::Value, Error> {
        self.settle(VariantNode::Newtype(Node::Unknown))?;
        match self.slot {
            Some(VariantNode::Newtype(node)) => seed.deserialize(De { t: self.t, node }),
            _ => Err(Error::Inconsistent("a newtype variant".into())),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(mut self, len: usize, visitor: V) -> Result<V::Value, Error> {
        self.settle(VariantNode::Tuple(vec![Node::Unknown; len]))?;
        match self.slot {
            Some(VariantNode::Tuple(items)) => visitor.visit_seq(Elems {
                t: self.t,
                nodes: items.iter_mut(),
            }),
            _ => Err(Error::Inconsistent("a tuple variant".into())),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        mut self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.settle(VariantNode::Struct(
            fields,
            vec![Node::Unknown; fields.len()],
        ))?;
        match self.slot {
            Some(VariantNode::Struct(_, items)) => visitor.visit_seq(Elems {
                t: self.t,
                nodes: items.iter_mut(),
            }),
            _ => Err(Error::Inconsistent("a struct variant".into())),
        }
    }
}
