//! JSON to stored bytes: a `Serialize` of the JSON value guided by the [`Shape`], checked as it
//! goes, handed to the codec (postcard's own serializer, the blob header and checksum), so the
//! bytes are those the type's `Serialize` would have written for the same value.
//!
//! serde's names are `&'static str`; postcard writes none of them, so empty names are given.

use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::cx::{Cx, Seg};
use super::error::{InspectError, found};
use crate::shape::{Named, Shape, Variant, VariantFields};

/// Writes `value` as a value of `shape`.
pub(super) struct Json<'c, 's, 'v> {
    pub(super) shape: &'s Shape,
    pub(super) value: &'v Value,
    pub(super) cx: &'c Cx<'s>,
}

impl Serialize for Json<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cx = self.cx;
        let shape = cx.enter(self.shape).map_err(|e| cx.raise_ser(e))?;
        let ok = self.write(shape, s)?;
        cx.leave();
        Ok(ok)
    }
}

impl<'s, 'v> Json<'_, 's, 'v> {
    fn at<'w>(&self, shape: &'s Shape, value: &'w Value) -> Json<'_, 's, 'w> {
        Json {
            shape,
            value,
            cx: self.cx,
        }
    }

    fn wrong<E: serde::ser::Error>(&self, expected: &str) -> E {
        self.cx.raise_ser(InspectError::WrongType {
            path: self.cx.path(),
            expected: expected.to_owned(),
            found: found(self.value),
        })
    }

    fn out_of_range<E: serde::ser::Error>(&self, expected: &Shape) -> E {
        let value = match self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.cx.raise_ser(InspectError::OutOfRange {
            path: self.cx.path(),
            expected: format!("`{expected}`"),
            value,
        })
    }

    fn write<S: Serializer>(&self, shape: &'s Shape, s: S) -> Result<S::Ok, S::Error> {
        let v = self.value;
        match shape {
            Shape::Unit => match v {
                Value::Null => s.serialize_unit(),
                _ => Err(self.wrong("null (`()`)")),
            },
            Shape::UnitStruct { name } => match v {
                Value::Null => s.serialize_unit_struct(""),
                _ => Err(self.wrong(&format!("null (unit struct `{name}`)"))),
            },
            Shape::Bool => match v {
                Value::Bool(b) => s.serialize_bool(*b),
                _ => Err(self.wrong("a boolean")),
            },
            Shape::I8 => s.serialize_i8(self.int(shape)?),
            Shape::I16 => s.serialize_i16(self.int(shape)?),
            Shape::I32 => s.serialize_i32(self.int(shape)?),
            Shape::I64 => s.serialize_i64(self.int(shape)?),
            Shape::I128 => s.serialize_i128(self.int(shape)?),
            Shape::U8 => s.serialize_u8(self.int(shape)?),
            Shape::U16 => s.serialize_u16(self.int(shape)?),
            Shape::U32 => s.serialize_u32(self.int(shape)?),
            Shape::U64 => s.serialize_u64(self.int(shape)?),
            Shape::U128 => s.serialize_u128(self.u128()?),
            Shape::F32 => {
                let f = self.float()?;
                // Rounds to the nearest `f32`, as a cast does; only a finite number too large
                // for `f32` is refused.
                #[allow(clippy::cast_possible_truncation)]
                let narrow = f as f32;
                if f.is_finite() && !narrow.is_finite() {
                    return Err(self.out_of_range(shape));
                }
                s.serialize_f32(narrow)
            }
            Shape::F64 => s.serialize_f64(self.float()?),
            Shape::Char => match v.as_str().map(|t| (t.chars().next(), t.chars().count())) {
                Some((Some(c), 1)) => s.serialize_char(c),
                _ => Err(self.wrong("a string of one character (`char`)")),
            },
            Shape::Str => match v {
                Value::String(t) => s.serialize_str(t),
                _ => Err(self.wrong("a string")),
            },
            Shape::Bytes => {
                let Value::Array(items) = v else {
                    return Err(self.wrong("an array of bytes (numbers from 0 to 255)"));
                };
                let mut bytes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let b = self.cx.at(Seg::Index(i), || {
                        self.at(&Shape::U8, item).int::<u8, S::Error>(&Shape::U8)
                    })?;
                    bytes.push(b);
                }
                s.serialize_bytes(&bytes)
            }
            Shape::Option(inner) => self.option(inner, s),
            Shape::Seq(inner) => {
                let Value::Array(items) = v else {
                    return Err(self.wrong("an array"));
                };
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for (i, item) in items.iter().enumerate() {
                    self.cx.at(Seg::Index(i), || {
                        seq.serialize_element(&self.at(inner, item))
                    })?;
                }
                seq.end()
            }
            Shape::Map { key, value } => self.map(key, value, s),
            Shape::Tuple(items) => {
                let values = self.array(items.len())?;
                let mut t = s.serialize_tuple(items.len())?;
                for (i, (shape, item)) in items.iter().zip(values).enumerate() {
                    self.cx
                        .at(Seg::Index(i), || t.serialize_element(&self.at(shape, item)))?;
                }
                t.end()
            }
            Shape::TupleStruct { fields, .. } => {
                let values = self.array(fields.len())?;
                let mut t = s.serialize_tuple_struct("", fields.len())?;
                for (i, (shape, item)) in fields.iter().zip(values).enumerate() {
                    self.cx
                        .at(Seg::Index(i), || t.serialize_field(&self.at(shape, item)))?;
                }
                t.end()
            }
            Shape::Newtype { inner, .. } => s.serialize_newtype_struct("", &self.at(inner, v)),
            Shape::Struct { name, fields } => {
                let values = self.object(&format!("struct `{name}`"), fields)?;
                let mut st = s.serialize_struct("", fields.len())?;
                for (field, item) in fields.iter().zip(values) {
                    self.cx.at(Seg::field(&field.name), || {
                        st.serialize_field("", &self.at(&field.shape, item))
                    })?;
                }
                st.end()
            }
            Shape::Enum { name, variants } => self.variant(name, variants, s),
            // `Cx::enter` resolved it; a reference to a reference is a damaged shape.
            Shape::Recursive { name } => {
                Err(self.cx.raise_ser(InspectError::UnresolvedRecursion {
                    path: self.cx.path(),
                    name: name.clone(),
                }))
            }
        }
    }

    /// An integer of the type `T` (`shape`), from a JSON integer (or, for 128-bit types, a
    /// string of digits).
    fn int<T: TryFrom<i128>, E: serde::ser::Error>(&self, shape: &Shape) -> Result<T, E> {
        let wide = match self.value {
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i128::from(i),
                (_, Some(u)) => i128::from(u),
                _ => return Err(self.wrong(&format!("an integer (`{shape}`)"))),
            },
            Value::String(t) if matches!(shape, Shape::I128) => match t.trim().parse::<i128>() {
                Ok(i) => i,
                Err(_) => return Err(self.wrong("an integer (`i128`)")),
            },
            _ => return Err(self.wrong(&format!("an integer (`{shape}`)"))),
        };
        T::try_from(wide).map_err(|_| self.out_of_range(shape))
    }

    fn u128<E: serde::ser::Error>(&self) -> Result<u128, E> {
        match self.value {
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Ok(u128::from(u)),
                (_, Some(_)) => Err(self.out_of_range(&Shape::U128)),
                _ => Err(self.wrong("an integer (`u128`)")),
            },
            Value::String(t) => match t.trim().parse::<u128>() {
                Ok(u) => Ok(u),
                Err(_) if t.trim().parse::<i128>().is_ok() => Err(self.out_of_range(&Shape::U128)),
                Err(_) => Err(self.wrong("an integer (`u128`)")),
            },
            _ => Err(self.wrong("an integer (`u128`)")),
        }
    }

    /// A number, or `"NaN"`, `"inf"`, `"-inf"` (also `"infinity"`, any case).
    fn float<E: serde::ser::Error>(&self) -> Result<f64, E> {
        const EXPECTED: &str = "a number (or \"NaN\", \"inf\", \"-inf\")";
        match self.value {
            Value::Number(n) => n.as_f64().ok_or_else(|| self.wrong(EXPECTED)),
            Value::String(t) => match t.to_ascii_lowercase().as_str() {
                "nan" => Ok(f64::NAN),
                "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(self.wrong(EXPECTED)),
            },
            _ => Err(self.wrong(EXPECTED)),
        }
    }

    fn option<S: Serializer>(&self, inner: &'s Shape, s: S) -> Result<S::Ok, S::Error> {
        let v = self.value;
        if v.is_null() {
            return s.serialize_none();
        }
        if !self.cx.nullable(inner) {
            return s.serialize_some(&self.at(inner, v));
        }
        // `Some` of a value that can be null is written `{"Some": value}`.
        match v
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("Some"))
        {
            Some(content) => self.cx.at(Seg::field("Some"), || {
                s.serialize_some(&self.at(inner, content))
            }),
            None => Err(self.wrong("null or {\"Some\": value}")),
        }
    }

    /// The elements of a JSON array of exactly `len` elements.
    fn array<E: serde::ser::Error>(&self, len: usize) -> Result<&'v [Value], E> {
        match self.value {
            Value::Array(items) if items.len() == len => Ok(items),
            Value::Array(items) => Err(self.cx.raise_ser(InspectError::WrongLength {
                path: self.cx.path(),
                expected: len,
                found: items.len(),
            })),
            _ => Err(self.wrong(&format!("an array of {len} elements"))),
        }
    }

    /// The values of `fields` in a JSON object that has exactly those fields, in field order.
    fn object<E: serde::ser::Error>(
        &self,
        what: &str,
        fields: &[Named],
    ) -> Result<Vec<&'v Value>, E> {
        let Value::Object(obj) = self.value else {
            return Err(self.wrong(&format!("an object ({what})")));
        };
        fields_of(self.cx, obj, fields)
    }

    fn map<S: Serializer>(
        &self,
        key: &'s Shape,
        value: &'s Shape,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let cx = self.cx;
        if cx.string_keys(key) {
            let Value::Object(obj) = self.value else {
                return Err(self.wrong("an object (a map with string keys)"));
            };
            let mut m = s.serialize_map(Some(obj.len()))?;
            for (k, item) in obj {
                let k_value = Value::String(k.clone());
                cx.at(Seg::Key(k.clone()), || {
                    m.serialize_key(&self.at(key, &k_value))?;
                    m.serialize_value(&self.at(value, item))
                })?;
            }
            return m.end();
        }
        let Value::Array(pairs) = self.value else {
            return Err(self.wrong("an array of [key, value] pairs"));
        };
        let mut m = s.serialize_map(Some(pairs.len()))?;
        for (i, pair) in pairs.iter().enumerate() {
            let [k, item] = cx.at(Seg::Index(i), || match pair.as_array().map(Vec::as_slice) {
                Some([k, item]) => Ok([k, item]),
                _ => Err(cx.raise_ser::<S::Error>(InspectError::WrongType {
                    path: cx.path(),
                    expected: "a [key, value] pair".into(),
                    found: found(pair),
                })),
            })?;
            cx.at(Seg::Pair(i, 0), || m.serialize_key(&self.at(key, k)))?;
            cx.at(Seg::Pair(i, 1), || m.serialize_value(&self.at(value, item)))?;
        }
        m.end()
    }

    fn variant<S: Serializer>(
        &self,
        name: &str,
        variants: &'s [Variant],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let cx = self.cx;
        let (tag, content) = match self.value {
            Value::String(tag) => (tag, None),
            Value::Object(o) if o.len() == 1 => match o.iter().next() {
                Some((tag, content)) => (tag, Some(content)),
                None => return Err(self.wrong(&format!("a variant of enum `{name}`"))),
            },
            _ => {
                return Err(self.wrong(&format!(
                    "a variant of enum `{name}` (\"Variant\" or {{\"Variant\": content}})"
                )));
            }
        };
        let Some(variant) = variants.iter().find(|v| &v.name == tag) else {
            return Err(cx.raise_ser(InspectError::UnknownVariant {
                path: cx.path(),
                name: name.to_owned(),
                variant: tag.clone(),
                expected: variants.iter().map(|v| v.name.clone()).collect(),
            }));
        };
        let index = variant.index;
        let Some(content) = content else {
            return match &variant.fields {
                VariantFields::Unit => s.serialize_unit_variant("", index, ""),
                _ => Err(self.wrong(&format!(
                    "{{\"{tag}\": content}} (variant `{tag}` of enum `{name}` carries data)"
                ))),
            };
        };
        cx.at(Seg::field(&variant.name), || {
            let here = self.at(self.shape, content);
            match &variant.fields {
                VariantFields::Unit => match content {
                    Value::Null => s.serialize_unit_variant("", index, ""),
                    _ => Err(here.wrong(&format!("null (unit variant `{tag}`)"))),
                },
                VariantFields::Newtype(inner) => {
                    s.serialize_newtype_variant("", index, "", &self.at(inner, content))
                }
                VariantFields::Tuple(items) => {
                    let values = here.array(items.len())?;
                    let mut t = s.serialize_tuple_variant("", index, "", items.len())?;
                    for (i, (shape, item)) in items.iter().zip(values).enumerate() {
                        cx.at(Seg::Index(i), || t.serialize_field(&self.at(shape, item)))?;
                    }
                    t.end()
                }
                VariantFields::Struct(fields) => {
                    let values = here.object(&format!("variant `{tag}`"), fields)?;
                    let mut st = s.serialize_struct_variant("", index, "", fields.len())?;
                    for (field, item) in fields.iter().zip(values) {
                        cx.at(Seg::field(&field.name), || {
                            st.serialize_field("", &self.at(&field.shape, item))
                        })?;
                    }
                    st.end()
                }
            }
        })
    }
}

/// The values of `fields` in `obj`, in field order; an unknown or missing field is an error.
fn fields_of<'v, E: serde::ser::Error>(
    cx: &Cx<'_>,
    obj: &'v Map<String, Value>,
    fields: &[Named],
) -> Result<Vec<&'v Value>, E> {
    if let Some(unknown) = obj.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
        return Err(cx.raise_ser(InspectError::UnknownField {
            path: cx.path(),
            field: unknown.clone(),
            expected: fields.iter().map(|f| f.name.clone()).collect(),
        }));
    }
    fields
        .iter()
        .map(|f| {
            obj.get(&f.name).ok_or_else(|| {
                cx.raise_ser(InspectError::MissingField {
                    path: cx.path(),
                    field: f.name.clone(),
                })
            })
        })
        .collect()
}
