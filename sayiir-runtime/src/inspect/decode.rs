//! Stored bytes to JSON: a `DeserializeSeed` guided by the [`Shape`], driven by postcard's own
//! deserializer (the one the codec reads with), so the bytes are read exactly as the type's
//! `Deserialize` would have them read.
//!
//! Names are known only at run time here, while serde's struct and enum calls take them as
//! `&'static str`: postcard ignores them (`deserialize_struct` is `deserialize_tuple` of as many
//! fields, a struct variant is a tuple variant), so structs are read as tuples of their fields
//! and enums with no names.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::cx::{Cx, Seg};
use super::error::InspectError;
use crate::codec;
use crate::shape::{Named, Shape, VariantFields};

/// A codec blob (header, checksum, one value) read as `shape`.
pub(super) fn blob<'s>(shape: &'s Shape, blob: &[u8], cx: &Cx<'s>) -> Result<Value, InspectError> {
    let payload = codec::payload(blob).map_err(|source| InspectError::Blob {
        path: cx.path(),
        source,
    })?;
    let (value, rest) = raw(shape, payload, cx)?;
    if !rest.is_empty() {
        return Err(InspectError::TrailingBytes {
            path: cx.path(),
            extra: rest.len(),
        });
    }
    Ok(value)
}

/// One value of `shape` read from the front of `bytes` (no header); returns the bytes after
/// it.
pub(super) fn raw<'s, 'b>(
    shape: &'s Shape,
    bytes: &'b [u8],
    cx: &Cx<'s>,
) -> Result<(Value, &'b [u8]), InspectError> {
    let mut de = postcard::Deserializer::from_bytes(bytes);
    let value = Val { shape, cx }
        .deserialize(&mut de)
        .map_err(|e| cx.error_or(&e))?;
    let rest = de.finalize().map_err(|e| cx.error_or(&e))?;
    Ok((value, rest))
}

/// Reads one value of `shape`.
pub(super) struct Val<'c, 's> {
    pub(super) shape: &'s Shape,
    pub(super) cx: &'c Cx<'s>,
}

impl<'de> DeserializeSeed<'de> for Val<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let cx = self.cx;
        let shape = cx.enter(self.shape).map_err(|e| cx.raise(e))?;
        let value = read(shape, cx, d)?;
        cx.leave();
        Ok(value)
    }
}

fn read<'de, 's, D: Deserializer<'de>>(
    shape: &'s Shape,
    cx: &Cx<'s>,
    d: D,
) -> Result<Value, D::Error> {
    match shape {
        Shape::Unit => d.deserialize_unit(Leaf),
        Shape::Bool => d.deserialize_bool(Leaf),
        Shape::I8 => d.deserialize_i8(Leaf),
        Shape::I16 => d.deserialize_i16(Leaf),
        Shape::I32 => d.deserialize_i32(Leaf),
        Shape::I64 => d.deserialize_i64(Leaf),
        Shape::I128 => d.deserialize_i128(Leaf),
        Shape::U8 => d.deserialize_u8(Leaf),
        Shape::U16 => d.deserialize_u16(Leaf),
        Shape::U32 => d.deserialize_u32(Leaf),
        Shape::U64 => d.deserialize_u64(Leaf),
        Shape::U128 => d.deserialize_u128(Leaf),
        Shape::F32 => d.deserialize_f32(Leaf),
        Shape::F64 => d.deserialize_f64(Leaf),
        Shape::Char => d.deserialize_char(Leaf),
        Shape::Str => d.deserialize_str(Leaf),
        Shape::Bytes => d.deserialize_bytes(Leaf),
        Shape::UnitStruct { .. } => d.deserialize_unit_struct("", Leaf),
        Shape::Option(inner) => d.deserialize_option(OptionV { inner, cx }),
        Shape::Seq(inner) => d.deserialize_seq(SeqV { inner, cx }),
        Shape::Map { key, value } => d.deserialize_map(MapV { key, value, cx }),
        Shape::Tuple(items) => d.deserialize_tuple(items.len(), ListV { items, cx }),
        Shape::TupleStruct { fields, .. } => {
            d.deserialize_tuple_struct("", fields.len(), ListV { items: fields, cx })
        }
        Shape::Newtype { inner, .. } => d.deserialize_newtype_struct("", NewtypeV { inner, cx }),
        Shape::Struct { fields, .. } => d.deserialize_tuple(fields.len(), StructV { fields, cx }),
        Shape::Enum { name, variants } => d.deserialize_enum("", &[], EnumV { name, variants, cx }),
        // `Cx::enter` resolved it; a reference to a reference is a damaged shape.
        Shape::Recursive { name } => Err(cx.raise(InspectError::UnresolvedRecursion {
            path: cx.path(),
            name: name.clone(),
        })),
    }
}

/// Leaves: postcard calls the visit method of the type asked for.
struct Leaf;

fn float(v: f64) -> Value {
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None => Value::String(v.to_string()),
    }
}

impl<'de> Visitor<'de> for Leaf {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => Value::from(u),
            (_, Ok(i)) => Value::from(i),
            _ => Value::String(v.to_string()),
        })
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Value::from(u),
            Err(_) => Value::String(v.to_string()),
        })
    }

    fn visit_f32<E>(self, v: f32) -> Result<Value, E> {
        Ok(float(f64::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(float(v))
    }

    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Array(v.iter().map(|b| Value::from(*b)).collect()))
    }
}

struct OptionV<'c, 's> {
    inner: &'s Shape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for OptionV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an option")
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (inner, cx) = (self.inner, self.cx);
        if cx.nullable(inner) {
            // `Some(None)`, `Some(())`: the value alone would read back as `None`.
            let v = cx.at(Seg::field("Some"), || {
                Val { shape: inner, cx }.deserialize(d)
            })?;
            Ok(Value::Object(Map::from_iter([("Some".to_owned(), v)])))
        } else {
            Val { shape: inner, cx }.deserialize(d)
        }
    }
}

struct NewtypeV<'c, 's> {
    inner: &'s Shape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for NewtypeV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a newtype")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Val {
            shape: self.inner,
            cx: self.cx,
        }
        .deserialize(d)
    }
}

struct SeqV<'c, 's> {
    inner: &'s Shape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for SeqV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let (shape, cx) = (self.inner, self.cx);
        let mut out = Vec::new();
        for i in 0.. {
            match cx.at(Seg::Index(i), || seq.next_element_seed(Val { shape, cx }))? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }
}

/// A tuple or a tuple struct: an array.
struct ListV<'c, 's> {
    items: &'s [Shape],
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for ListV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a tuple of {}", self.items.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let cx = self.cx;
        let mut out = Vec::with_capacity(self.items.len());
        for (i, shape) in self.items.iter().enumerate() {
            out.push(cx.at(Seg::Index(i), || element(&mut seq, Val { shape, cx }))?);
        }
        Ok(Value::Array(out))
    }
}

/// The next element of a tuple, which postcard always has (it reads as many as asked).
pub(super) fn element<'de, A: SeqAccess<'de>, S: DeserializeSeed<'de>>(
    seq: &mut A,
    seed: S,
) -> Result<S::Value, A::Error> {
    seq.next_element_seed(seed)?
        .ok_or_else(|| serde::de::Error::custom("the tuple ends early"))
}

/// A struct (or a struct variant's content): an object.
struct StructV<'c, 's> {
    fields: &'s [Named],
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for StructV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a struct")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let cx = self.cx;
        let mut out = Map::new();
        for field in self.fields {
            let shape = &field.shape;
            let v = cx.at(Seg::field(&field.name), || {
                element(&mut seq, Val { shape, cx })
            })?;
            out.insert(field.name.clone(), v);
        }
        Ok(Value::Object(out))
    }
}

struct MapV<'c, 's> {
    key: &'s Shape,
    value: &'s Shape,
    cx: &'c Cx<'s>,
}

impl<'de> Visitor<'de> for MapV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let cx = self.cx;
        let (key, value) = (self.key, self.value);
        if cx.string_keys(key) {
            let mut out = Map::new();
            for i in 0.. {
                let k = cx.at(Seg::KeyOf(i), || map.next_key_seed(Val { shape: key, cx }))?;
                let Some(k) = k else { break };
                let k = match k {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let v = cx.at(Seg::Key(k.clone()), || {
                    map.next_value_seed(Val { shape: value, cx })
                })?;
                if out.contains_key(&k) {
                    return Err(cx.raise(InspectError::DuplicateKey {
                        path: cx.path(),
                        key: k,
                    }));
                }
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        } else {
            let mut out = Vec::new();
            for i in 0.. {
                let k = cx.at(Seg::Pair(i, 0), || {
                    map.next_key_seed(Val { shape: key, cx })
                })?;
                let Some(k) = k else { break };
                let v = cx.at(Seg::Pair(i, 1), || {
                    map.next_value_seed(Val { shape: value, cx })
                })?;
                out.push(Value::Array(vec![k, v]));
            }
            Ok(Value::Array(out))
        }
    }
}

struct EnumV<'c, 's> {
    name: &'s str,
    variants: &'s [crate::shape::Variant],
    cx: &'c Cx<'s>,
}

/// Reads a variant index (postcard hands it over as a `u32`).
pub(super) struct Index;

impl<'de> DeserializeSeed<'de> for Index {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

impl<'de> Visitor<'de> for EnumV<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enum `{}`", self.name)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let cx = self.cx;
        let (index, access) = data.variant_seed(Index)?;
        let Some(variant) = self.variants.iter().find(|v| v.index == index) else {
            return Err(cx.raise(InspectError::UnknownVariantIndex {
                path: cx.path(),
                name: self.name.to_owned(),
                index,
                count: self.variants.len(),
            }));
        };
        let name = &variant.name;
        let content = cx.at(Seg::field(name), || match &variant.fields {
            VariantFields::Unit => access.unit_variant().map(|()| None),
            VariantFields::Newtype(shape) => {
                access.newtype_variant_seed(Val { shape, cx }).map(Some)
            }
            VariantFields::Tuple(items) => access
                .tuple_variant(items.len(), ListV { items, cx })
                .map(Some),
            VariantFields::Struct(fields) => access
                .tuple_variant(fields.len(), StructV { fields, cx })
                .map(Some),
        })?;
        Ok(match content {
            None => Value::String(name.clone()),
            Some(v) => Value::Object(Map::from_iter([(name.clone(), v)])),
        })
    }
}
