//! Values of real types, traced as the engine traces them and encoded by the codec: read as
//! JSON (the same JSON as `serde_json` where the rules agree), written back to the very same
//! bytes, and every kind of bad input a typed error saying where.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_cmp)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::codec;
use crate::shape::shape_of;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
    note: Option<String>,
    tags: HashMap<String, u32>,
    status: Status,
    pair: (i8, String, bool),
    coords: Pair,
    total: f64,
    big: u128,
    small: i128,
    initial: char,
    raw: [u8; 4],
    nothing: (),
    marker: Marker,
    order_id: OrderId,
    history: Vec<Status>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Customer {
    name: String,
    email: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Line {
    sku: String,
    qty: u32,
    price: f32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Marker;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct OrderId(u64);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Pair(i32, String);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Status {
    Open,
    Paid(u64),
    Split(u32, String),
    Shipped { carrier: String, eta: Option<u32> },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Expr {
    Lit(i64),
    Neg(Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Named {
        name: String,
        body: Option<Box<Expr>>,
    },
}

fn order() -> Order {
    Order {
        id: u64::MAX,
        customer: Customer {
            name: "Ada".into(),
            email: None,
        },
        lines: vec![
            Line {
                sku: "A-1".into(),
                qty: 2,
                price: 1.1,
            },
            Line {
                sku: "B-ü".into(),
                qty: 0,
                price: -0.0,
            },
        ],
        note: Some("fragile".into()),
        tags: HashMap::from([("vip".into(), 1)]),
        status: Status::Shipped {
            carrier: "post".into(),
            eta: Some(3),
        },
        pair: (-128, String::new(), true),
        coords: Pair(-7, "x".into()),
        total: 12.25,
        big: u128::from(u64::MAX),
        small: i128::from(i64::MIN),
        initial: 'é',
        raw: [0, 1, 254, 255],
        nothing: (),
        marker: Marker,
        order_id: OrderId(42),
        history: vec![
            Status::Open,
            Status::Paid(7),
            Status::Split(1, "two".into()),
        ],
    }
}

fn expr() -> Expr {
    Expr::Add(
        Box::new(Expr::Neg(Box::new(Expr::Lit(-3)))),
        Box::new(Expr::List(vec![
            Expr::Lit(1),
            Expr::Named {
                name: "x".into(),
                body: Some(Box::new(Expr::List(vec![]))),
            },
            Expr::Named {
                name: "y".into(),
                body: None,
            },
        ])),
    )
}

/// `value`'s blob read as JSON and written back: the same bytes. Returns the shape, the blob
/// and the JSON.
fn round_trip<T: Serialize + DeserializeOwned + Debug + PartialEq>(
    value: &T,
) -> (Shape, Vec<u8>, Value) {
    let shape = shape_of::<T>().unwrap();
    let blob = codec::encode(value).unwrap();
    let json = to_json(&shape, &blob).unwrap();
    let back = from_json(&shape, &json).unwrap();
    assert_eq!(
        back, blob,
        "{value:?} as {json} did not write the same bytes"
    );
    // Equal bytes are the same value (a NaN too, which `PartialEq` would not say).
    codec::decode::<T>(&back).unwrap();
    (shape, blob, json)
}

/// Where the rules agree with `serde_json`'s own representation, the JSON is `serde_json`'s.
fn as_serde_json<T: Serialize + DeserializeOwned + Debug + PartialEq>(value: &T) -> Value {
    let (_, _, json) = round_trip(value);
    assert_eq!(json, serde_json::to_value(value).unwrap());
    json
}

#[test]
fn structs_enums_options_sequences_and_leaves_read_as_serde_json_writes_them() {
    let json = as_serde_json(&order());
    assert_eq!(json["customer"], json!({"name": "Ada", "email": null}));
    assert_eq!(json["lines"][1]["sku"], "B-ü");
    assert_eq!(
        json["status"],
        json!({"Shipped": {"carrier": "post", "eta": 3}})
    );
    assert_eq!(
        json["history"],
        json!(["Open", {"Paid": 7}, {"Split": [1, "two"]}])
    );
    assert_eq!(json["order_id"], 42);
    assert_eq!(json["marker"], Value::Null);
    assert_eq!(json["raw"], json!([0, 1, 254, 255]));
    assert_eq!(json["id"], json!(u64::MAX));
    assert_eq!(json["small"], json!(i64::MIN));
    assert_eq!(json["initial"], "é");
    // An `f32` as the `f64` it widens to, as `serde_json` has it.
    assert_eq!(json["lines"][0]["price"], json!(f64::from(1.1f32)));

    as_serde_json(&expr());
    as_serde_json(&Status::Open);
    as_serde_json(&Some(Status::Paid(1)));
    as_serde_json(&(1u8, -1i16, 70_000u32, -5i32, 'x', String::from("s"), 0.5f32));
    as_serde_json(&Vec::<Expr>::new());
    as_serde_json(&Result::<u32, String>::Err("no".into()));
    as_serde_json(&Marker);
    as_serde_json(&());
    as_serde_json(&std::time::Duration::new(5, 7));
    let tags: HashMap<String, Vec<Option<u8>>> = HashMap::from([("k".into(), vec![Some(1), None])]);
    as_serde_json(&tags);
}

/// `Result` is an enum: `{"Ok": ..}` / `{"Err": ..}`, the task output's rule.
#[test]
fn a_task_output_reads_as_ok_or_err() {
    let task = crate::describe::TaskShape::new("charge").returns(crate::describe::TypeShape {
        rust: "Result<Status, String>".into(),
        shape: shape_of::<Result<Status, String>>().unwrap(),
    });
    let ok = codec::encode(&Ok::<Status, String>(Status::Paid(9))).unwrap();
    let err = codec::encode(&Err::<Status, String>("declined".into())).unwrap();
    assert_eq!(
        task_output_to_json(&task, &ok).unwrap(),
        json!({"Ok": {"Paid": 9}})
    );
    assert_eq!(
        task_output_to_json(&task, &err).unwrap(),
        json!({"Err": "declined"})
    );
}

#[test]
fn maps_with_other_keys_are_arrays_of_pairs_in_stored_order() {
    let map = BTreeMap::from([(3u32, "c".to_string()), (1, "a".into()), (2, "b".into())]);
    let (_, _, json) = round_trip(&map);
    assert_eq!(json, json!([[1, "a"], [2, "b"], [3, "c"]]));
    let nested: BTreeMap<(u8, bool), Vec<u16>> = BTreeMap::from([((1, true), vec![9])]);
    assert_eq!(round_trip(&nested).2, json!([[[1, true], [9]]]));
    // A newtype of a string is a string key.
    #[derive(Serialize, Deserialize, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    struct Sku(String);
    let by_sku = BTreeMap::from([(Sku("a".into()), 1u8), (Sku("b".into()), 2)]);
    assert_eq!(as_serde_json(&by_sku), json!({"a": 1, "b": 2}));
}

/// A `HashMap`'s own encoding puts its entries in an order of its own; JSON objects keep
/// theirs sorted, so the map is written back in key order: the same map, maybe not the same
/// bytes.
#[test]
fn a_hash_map_with_string_keys_is_written_back_in_key_order() {
    let map: HashMap<String, u64> = (0..50).map(|i| (format!("k{i}"), i)).collect();
    let shape = shape_of::<HashMap<String, u64>>().unwrap();
    let blob = codec::encode(&map).unwrap();
    let json = to_json(&shape, &blob).unwrap();
    assert_eq!(json, serde_json::to_value(&map).unwrap());
    let back = from_json(&shape, &json).unwrap();
    assert_eq!(codec::decode::<HashMap<String, u64>>(&back).unwrap(), map);
    let sorted: BTreeMap<String, u64> = map.into_iter().collect();
    assert_eq!(back, codec::encode(&sorted).unwrap());
}

#[test]
fn integers_beyond_64_bits_are_strings() {
    for v in [u128::MAX, u128::from(u64::MAX) + 1, 0, 5] {
        let (shape, blob, json) = round_trip(&v);
        if let Ok(small) = u64::try_from(v) {
            assert_eq!(json, json!(small));
        } else {
            assert_eq!(json, Value::String(v.to_string()));
        }
        // A number where one fits, a string of digits always.
        assert_eq!(
            from_json(&shape, &Value::String(v.to_string())).unwrap(),
            blob
        );
    }
    for v in [i128::MIN, i128::MAX, -1, i128::from(i64::MIN) - 1] {
        let (_, _, json) = round_trip(&v);
        match i64::try_from(v) {
            Ok(small) => assert_eq!(json, json!(small)),
            Err(_) => assert_eq!(json, Value::String(v.to_string())),
        }
    }
}

#[test]
fn non_finite_floats_are_strings() {
    let (_, _, json) = round_trip(&(f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0f64));
    assert_eq!(json, json!(["NaN", "inf", "-inf", -0.0]));
    let (_, _, json) = round_trip(&(f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX));
    assert_eq!(json, json!(["NaN", "inf", "-inf", f64::from(f32::MAX)]));
    let shape = shape_of::<f64>().unwrap();
    for (text, v) in [("Infinity", f64::INFINITY), ("-INF", f64::NEG_INFINITY)] {
        let blob = from_json(&shape, &json!(text)).unwrap();
        assert_eq!(codec::decode::<f64>(&blob).unwrap(), v);
    }
    // An integer is a number too.
    let blob = from_json(&shape, &json!(3)).unwrap();
    assert_eq!(codec::decode::<f64>(&blob).unwrap(), 3.0);
}

/// `Some` of a value that can be `null` is `{"Some": v}`, so `Some(None)` stays apart from
/// `None` (where `serde_json` writes `null` for both).
#[test]
fn an_option_of_a_nullable_value_says_some() {
    let cases: [(Option<Option<u8>>, Value); 3] = [
        (None, json!(null)),
        (Some(None), json!({"Some": null})),
        (Some(Some(3)), json!({"Some": 3})),
    ];
    for (value, expected) in cases {
        assert_eq!(round_trip(&value).2, expected);
    }
    assert_eq!(round_trip(&Some(())).2, json!({"Some": null}));
    assert_eq!(round_trip(&Some(Marker)).2, json!({"Some": null}));
    assert_eq!(round_trip(&None::<()>).2, json!(null));
    let shape = shape_of::<Option<Option<u8>>>().unwrap();
    let err = from_json(&shape, &json!(3)).unwrap_err();
    assert!(
        matches!(err, InspectError::WrongType { ref path, .. } if path == "."),
        "{err}"
    );
}

/// Byte strings (a `Deserialize` asking for bytes, as `serde_bytes` does) are arrays of
/// numbers.
#[test]
fn bytes_are_arrays_of_numbers() {
    #[derive(Debug, PartialEq)]
    struct Blob(Vec<u8>);
    impl Serialize for Blob {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
    impl<'de> Deserialize<'de> for Blob {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Blob;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Blob, E> {
                    Ok(Blob(v.to_vec()))
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Blob, E> {
                    Ok(Blob(v))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }
    assert_eq!(shape_of::<Blob>().unwrap(), Shape::Bytes);
    let (shape, _, json) = round_trip(&Blob(vec![0, 7, 255]));
    assert_eq!(json, json!([0, 7, 255]));
    let err = from_json(&shape, &json!([1, 256])).unwrap_err();
    assert!(
        matches!(err, InspectError::OutOfRange { ref path, .. } if path == ".[1]"),
        "{err}"
    );
}

#[test]
fn recursive_types_resolve_against_their_enclosing_container() {
    let json = as_serde_json(&expr());
    assert_eq!(json["Add"][0], json!({"Neg": {"Lit": -3}}));
    // A recursive struct behind an option.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Node {
        value: u8,
        next: Option<Box<Node>>,
    }
    let list = Node {
        value: 1,
        next: Some(Box::new(Node {
            value: 2,
            next: None,
        })),
    };
    assert_eq!(
        as_serde_json(&list),
        json!({"value": 1, "next": {"value": 2, "next": null}})
    );
    let dangling = Shape::Recursive {
        name: "Nowhere".into(),
    };
    let err = to_json(&dangling, &codec::encode(&1u8).unwrap()).unwrap_err();
    assert!(
        matches!(err, InspectError::UnresolvedRecursion { .. }),
        "{err}"
    );
    let err = from_json(&dangling, &json!(1)).unwrap_err();
    assert!(
        matches!(err, InspectError::UnresolvedRecursion { .. }),
        "{err}"
    );
}

/// What a signal wait with a timeout yields, built from the payload's shape, is what the
/// tracer makes of `Result<T, SignalTimeout>`.
#[test]
fn the_output_of_a_signal_with_a_timeout_has_the_traced_shape() {
    let built = state::timeout_result(&Shape::U32).unwrap();
    assert_eq!(
        built,
        shape_of::<Result<u32, crate::SignalTimeout>>().unwrap()
    );
}
