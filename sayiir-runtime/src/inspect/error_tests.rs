//! Bad input, each kind a typed error saying where; never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::codec::{self, CodecError};
use crate::shape::shape_of;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Outer {
    order: Order,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Order {
    id: u32,
    lines: Vec<Line>,
    kind: Kind,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Line {
    sku: String,
    qty: u8,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Kind {
    Plain,
    Gift { to: String },
    Split(u8, u8),
}

/// The same, with `sku` a `bool`: the shape of another type.
mod other {
    #[derive(serde::Deserialize)]
    pub(super) struct Outer {
        pub(super) order: Order,
    }
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u32,
        pub(super) lines: Vec<Line>,
    }
    #[derive(serde::Deserialize)]
    pub(super) struct Line {
        pub(super) sku: bool,
    }
}

fn outer() -> Outer {
    Outer {
        order: Order {
            id: 1,
            lines: vec![
                Line {
                    sku: "a".into(),
                    qty: 1,
                },
                Line {
                    sku: "b".into(),
                    qty: 2,
                },
                Line {
                    sku: "c".into(),
                    qty: 3,
                },
            ],
            kind: Kind::Gift { to: "Bo".into() },
        },
    }
}

fn shape() -> Shape {
    shape_of::<Outer>().unwrap()
}

fn json_err(value: Value) -> InspectError {
    from_json(&shape(), &value).unwrap_err()
}

fn path_of(e: &InspectError) -> &str {
    match e {
        InspectError::Blob { path, .. }
        | InspectError::Malformed { path, .. }
        | InspectError::UnknownVariantIndex { path, .. }
        | InspectError::UnknownState { path, .. }
        | InspectError::TrailingBytes { path, .. }
        | InspectError::DuplicateKey { path, .. }
        | InspectError::WrongType { path, .. }
        | InspectError::MissingField { path, .. }
        | InspectError::UnknownField { path, .. }
        | InspectError::WrongLength { path, .. }
        | InspectError::OutOfRange { path, .. }
        | InspectError::UnknownVariant { path, .. }
        | InspectError::UnresolvedRecursion { path, .. }
        | InspectError::TooDeep { path, .. }
        | InspectError::NotStored { path, .. } => path,
        InspectError::Encode { .. } => "",
    }
}

/// A JSON value edited at `pointer` (a JSON pointer) from the good one.
fn edited(pointer: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = serde_json::to_value(outer()).unwrap();
    f(v.pointer_mut(pointer).unwrap());
    v
}

#[test]
fn json_that_does_not_fit_the_shape_is_a_typed_error_at_its_place() {
    let missing = json_err(edited("/order/lines/2", |l| {
        l.as_object_mut().unwrap().remove("sku");
    }));
    assert_eq!(
        missing,
        InspectError::MissingField {
            path: ".order.lines[2]".into(),
            field: "sku".into()
        }
    );
    assert_eq!(
        missing.to_string(),
        "at `.order.lines[2]`: missing field `sku`"
    );

    let unknown = json_err(edited("/order", |o| {
        o["extra"] = json!(1);
    }));
    assert!(
        matches!(&unknown, InspectError::UnknownField { path, field, expected }
            if path == ".order" && field == "extra" && expected.len() == 3),
        "{unknown}"
    );

    let wrong = json_err(edited("/order/lines/1/sku", |s| *s = json!(5)));
    assert!(
        matches!(&wrong, InspectError::WrongType { path, found, .. }
            if path == ".order.lines[1].sku" && found == "the number 5"),
        "{wrong}"
    );

    let range = json_err(edited("/order/lines/0/qty", |q| *q = json!(256)));
    assert!(
        matches!(&range, InspectError::OutOfRange { path, value, .. }
            if path == ".order.lines[0].qty" && value == "256"),
        "{range}"
    );
    let negative = json_err(edited("/order/id", |q| *q = json!(-1)));
    assert!(
        matches!(negative, InspectError::OutOfRange { .. }),
        "{negative}"
    );
    let fraction = json_err(edited("/order/id", |q| *q = json!(1.5)));
    assert!(
        matches!(fraction, InspectError::WrongType { .. }),
        "{fraction}"
    );

    let variant = json_err(edited("/order/kind", |k| *k = json!({"Present": {}})));
    assert!(
        matches!(&variant, InspectError::UnknownVariant { path, variant, expected, .. }
            if path == ".order.kind" && variant == "Present" && expected.len() == 3),
        "{variant}"
    );
    let content = json_err(edited("/order/kind", |k| *k = json!({"Gift": {"to": 1}})));
    assert_eq!(path_of(&content), ".order.kind.Gift.to");
    let unit_with_data = json_err(edited("/order/kind", |k| *k = json!("Gift")));
    assert!(matches!(unit_with_data, InspectError::WrongType { .. }));

    let length = json_err(edited("/order/kind", |k| *k = json!({"Split": [1]})));
    assert_eq!(
        length,
        InspectError::WrongLength {
            path: ".order.kind.Split".into(),
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn leaves_are_checked() {
    let cases: [(Shape, Value); 9] = [
        (Shape::Char, json!("ab")),
        (Shape::Char, json!("")),
        (Shape::I8, json!(-129)),
        (Shape::U128, json!(-1)),
        (Shape::U128, json!("-1")),
        (Shape::I128, json!("1e3")),
        (Shape::F32, json!(1e300)),
        (Shape::Unit, json!(0)),
        (Shape::Bool, json!("true")),
    ];
    for (shape, value) in cases {
        let err = from_json(&shape, &value).unwrap_err();
        assert!(
            matches!(
                err,
                InspectError::WrongType { .. } | InspectError::OutOfRange { .. }
            ),
            "{shape} from {value}: {err}"
        );
        assert_eq!(path_of(&err), ".");
    }
    // Map keys and values of maps written as pairs: `[i][0]`, `[i][1]`.
    let shape = shape_of::<std::collections::BTreeMap<u8, bool>>().unwrap();
    let err = from_json(&shape, &json!([[1, true], [2, 3]])).unwrap_err();
    assert_eq!(path_of(&err), ".[1][1]");
    let err = from_json(&shape, &json!([[1, true], [300, false]])).unwrap_err();
    assert_eq!(path_of(&err), ".[1][0]");
    let err = from_json(&shape, &json!([[1, true, 2]])).unwrap_err();
    assert_eq!(path_of(&err), ".[0]");
    // A key that is not an identifier is quoted.
    let shape = shape_of::<std::collections::HashMap<String, u8>>().unwrap();
    let err = from_json(&shape, &json!({"a key": -1})).unwrap_err();
    assert_eq!(path_of(&err), r#".["a key"]"#);
}

#[test]
fn bytes_of_another_shape_are_a_typed_error_at_their_place() {
    let blob = codec::encode(&outer()).unwrap();
    let other = shape_of::<other::Outer>().unwrap();
    // `"a"` is `01 61`: `true`, then `0x61` is no boolean.
    let err = to_json(&other, &blob).unwrap_err();
    assert!(
        matches!(&err, InspectError::Malformed { path, expected, .. }
            if path == ".order.lines[1].sku" && expected == "`bool`"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("at `.order.lines[1].sku`: the bytes do not decode as `bool`"),
        "{err}"
    );

    // A variant index the enum does not have.
    let err = to_json(&shape_of::<Kind>().unwrap(), &codec::encode(&7u32).unwrap()).unwrap_err();
    assert_eq!(
        err,
        InspectError::UnknownVariantIndex {
            path: ".".into(),
            name: "Kind".into(),
            index: 7,
            count: 3
        }
    );

    // Bytes left over.
    let err = to_json(&Shape::U8, &codec::encode(&(1u8, 2u8)).unwrap()).unwrap_err();
    assert_eq!(
        err,
        InspectError::TrailingBytes {
            path: ".".into(),
            extra: 1
        }
    );
    let err = to_json(&Shape::Str, &codec::encode(&vec![0xffu8]).unwrap()).unwrap_err();
    assert!(matches!(err, InspectError::Malformed { .. }), "{err}");

    // A map with string keys holding one twice (written by hand: the codec never does).
    let pairs: Vec<(String, u8)> = vec![("k".into(), 1), ("k".into(), 2)];
    let shape = shape_of::<std::collections::HashMap<String, u8>>().unwrap();
    let err = to_json(&shape, &codec::encode(&pairs).unwrap()).unwrap_err();
    assert!(
        matches!(&err, InspectError::DuplicateKey { key, .. } if key == "k"),
        "{err}"
    );
}

/// Every cut and every flipped bit of a blob is an error (the checksum, or the decoder), never
/// a panic and never another value.
#[test]
fn every_truncation_and_every_flipped_bit_is_an_error() {
    let shape = shape();
    let blob = codec::encode(&outer()).unwrap();
    for len in 0..blob.len() {
        assert!(to_json(&shape, &blob[..len]).is_err(), "prefix of {len}");
    }
    let err = to_json(&shape, &blob[..3]).unwrap_err();
    assert!(
        matches!(
            err,
            InspectError::Blob {
                source: CodecError::Truncated { .. },
                ..
            }
        ),
        "{err}"
    );
    for bit in 0..blob.len() * 8 {
        let mut b = blob.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(to_json(&shape, &b).is_err(), "flip of bit {bit}");
    }
    let mut b = blob.clone();
    b[7] ^= 4;
    let err = to_json(&shape, &b).unwrap_err();
    assert!(
        matches!(
            err,
            InspectError::Blob {
                source: CodecError::Checksum { .. },
                ..
            }
        ),
        "{err}"
    );
    // Cut payloads with a valid checksum: the decoder says where the bytes ended.
    let payload = codec::payload(&blob).unwrap();
    for len in 0..payload.len() {
        let mut cut = vec![codec::FORMAT_POSTCARD];
        cut.extend(crc32fast::hash(&payload[..len]).to_le_bytes());
        cut.extend(&payload[..len]);
        let err = to_json(&shape, &cut).unwrap_err();
        assert!(
            matches!(err, InspectError::Malformed { .. }),
            "{len}: {err}"
        );
    }
}

#[derive(Serialize, Deserialize, Debug)]
enum Chain {
    End,
    Link(Box<Chain>),
}

fn chain(n: usize) -> Chain {
    (0..n).fold(Chain::End, |c, _| Chain::Link(Box::new(c)))
}

/// Nesting beyond the limit is an error, on both sides; within it a value reads and writes.
#[test]
fn values_nesting_too_deep_are_refused_without_overflowing_the_stack() {
    let shape = shape_of::<Chain>().unwrap();
    let ok = codec::encode(&chain(MAX_DEPTH - 1)).unwrap();
    let json = to_json(&shape, &ok).unwrap();
    assert_eq!(from_json(&shape, &json).unwrap(), ok);

    let over = codec::encode(&chain(MAX_DEPTH)).unwrap();
    assert!(matches!(
        to_json(&shape, &over),
        Err(InspectError::TooDeep { .. })
    ));
    let deep = codec::encode(&chain(MAX_DEPTH * 4)).unwrap();
    let err = to_json(&shape, &deep).unwrap_err();
    assert!(
        matches!(
            err,
            InspectError::TooDeep {
                limit: MAX_DEPTH,
                ..
            }
        ),
        "{err}"
    );
    let mut value = json!("End");
    for _ in 0..MAX_DEPTH * 4 {
        value = json!({ "Link": value });
    }
    let err = from_json(&shape, &value).unwrap_err();
    assert!(matches!(err, InspectError::TooDeep { .. }), "{err}");
}
