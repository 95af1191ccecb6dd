#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use serde::{Deserialize, Serialize};

use super::*;

fn shape_of<T: serde::de::DeserializeOwned>() -> Shape {
    trace::<T>(&Placeholders::default()).unwrap()
}

mod v1 {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) total: u64,
    }
}

mod v2 {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) total: u64,
        pub(super) note: String,
    }
}

mod swapped {
    #[derive(serde::Deserialize)]
    pub(super) struct Order {
        pub(super) total: u64,
        pub(super) id: u64,
    }
}

mod renamed {
    #[derive(serde::Deserialize)]
    pub(super) struct Purchase {
        pub(super) id: u64,
        pub(super) total: u64,
    }
}

#[derive(Deserialize)]
enum Status {
    Open,
    Paid(u64),
    Shipped { carrier: String, eta: Option<u32> },
}

#[derive(Deserialize)]
enum Tree {
    Leaf(u32),
    Node(Box<Tree>, Box<Tree>),
}

#[derive(Deserialize)]
struct Deep {
    inner: Option<Box<Status>>,
    list: Vec<Kind>,
}

#[derive(Deserialize)]
enum Kind {
    A,
    B(Sub),
}

#[derive(Deserialize)]
enum Sub {
    X,
    Y(u8),
    Z { z: bool },
}

#[test]
fn a_struct_is_traced_with_its_fields_in_order() {
    let s = shape_of::<v1::Order>();
    assert_eq!(s.to_string(), "Order { id: u64, total: u64 }");
}

#[test]
fn an_added_field_a_swap_and_a_changed_type_all_change_the_fingerprint() {
    let base = shape_of::<v1::Order>().fingerprint();
    assert_ne!(base, shape_of::<v2::Order>().fingerprint());
    assert_ne!(base, shape_of::<swapped::Order>().fingerprint());
    assert_ne!(
        shape_of::<u32>().fingerprint(),
        shape_of::<u64>().fingerprint()
    );
    // A same-shaped tuple is not the struct.
    assert_ne!(base, shape_of::<(u64, u64)>().fingerprint());
    // A renamed container keeps its bytes, and its fingerprint.
    assert_eq!(base, shape_of::<renamed::Purchase>().fingerprint());
}

#[test]
fn every_variant_of_nested_enums_is_traced() {
    let s = shape_of::<Status>();
    assert_eq!(
        s.to_string(),
        "enum Status { Open, Paid(u64), Shipped { carrier: String, eta: Option<u32> } }"
    );
    let d = shape_of::<Deep>().to_string();
    assert!(
        d.contains("Shipped { carrier: String, eta: Option<u32> }"),
        "{d}"
    );
    assert!(d.contains("Z { z: bool }") && d.contains("Y(u8)"), "{d}");
}

#[test]
fn recursive_types_refer_back() {
    let s = shape_of::<Tree>();
    assert_eq!(s.to_string(), "enum Tree { Leaf(u32), Node(Tree, Tree) }");
    assert_eq!(s.fingerprint(), shape_of::<Tree>().fingerprint());
}

#[test]
fn validating_std_types_are_traced() {
    assert_eq!(shape_of::<std::num::NonZeroU64>(), Shape::U64);
    assert!(matches!(
        shape_of::<std::time::Duration>(),
        Shape::Struct { .. }
    ));
    assert!(matches!(shape_of::<std::net::IpAddr>(), Shape::Enum { .. }));
}

#[derive(Deserialize, Serialize)]
struct Validated(String);

impl Validated {
    fn check(s: &str) -> Result<(), String> {
        if s.starts_with("ok:") {
            Ok(())
        } else {
            Err(format!("`{s}` does not start with `ok:`"))
        }
    }
}

#[derive(Deserialize, Serialize)]
struct Holder {
    v: Strict,
}

#[derive(Serialize)]
struct Strict(String);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Validated::check(&s).map_err(serde::de::Error::custom)?;
        Ok(Strict(s))
    }
}

#[test]
fn a_type_that_rejects_every_placeholder_needs_one_it_accepts() {
    let e = trace_shape::<Holder>(&Placeholders::default()).unwrap_err();
    assert!(e.contains("trace_placeholder"), "{e}");
    let mut extra = Placeholders::default();
    extra.add("ok:1");
    let s = trace_shape::<Holder>(&extra).unwrap();
    assert_eq!(s.to_string(), "Holder { v: String }");
}

#[derive(Deserialize)]
struct W<T> {
    a: T,
}

#[derive(Deserialize)]
struct TwoWs {
    a: W<u32>,
    b: W<String>,
}

#[test]
fn generic_containers_are_told_apart() {
    assert_eq!(
        shape_of::<TwoWs>().to_string(),
        "TwoWs { a: W { a: u32 }, b: W { a: String } }"
    );
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Untagged {
    A(u32),
    B(String),
}

#[test]
fn unsupported_types_are_errors_in_words() {
    let e = trace_shape::<Untagged>(&Placeholders::default()).unwrap_err();
    assert!(
        e.contains("deserialize_any") && e.contains("untagged"),
        "{e}"
    );
}

#[derive(Deserialize)]
struct Mixed {
    at: Stamp,
    day: Day,
    ok: std::num::NonZeroU32,
}

/// Parses a string with its own visitor, like date-time libraries do.
macro_rules! parsed {
    ($name:ident, $check:expr) => {
        struct $name;
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(stringify!($name))
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        let check: fn(&str) -> bool = $check;
                        if check(s) {
                            Ok($name)
                        } else {
                            Err(E::custom(concat!("not a ", stringify!($name))))
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

parsed!(Stamp, |s| s.len() == 20 && s.ends_with('Z'));
parsed!(Day, |s| s.len() == 10);

#[test]
fn each_validating_leaf_gets_a_placeholder_it_accepts() {
    assert_eq!(
        shape_of::<Mixed>().to_string(),
        "Mixed { at: String, day: String, ok: u32 }"
    );
}

#[test]
fn diff_names_each_change() {
    let a = shape_of::<v1::Order>();
    assert_eq!(
        diff(&a, &shape_of::<v2::Order>()),
        ["`Order`: field `note: String` added"]
    );
    let d = diff(&a, &shape_of::<swapped::Order>());
    assert_eq!(d.len(), 1);
    assert!(
        d[0].starts_with("`Order`: fields reordered (`id, total` is now `total, id`)"),
        "{d:?}"
    );
    assert_eq!(
        diff(&shape_of::<u32>(), &shape_of::<u64>()),
        ["`u32` is now `u64`"]
    );
    assert!(diff(&a, &shape_of::<renamed::Purchase>()).is_empty());
}

#[test]
fn golden_fingerprints() {
    // Pinned: a change to the canonical encoding of shapes changes every instance's identity.
    assert_eq!(
        crate::describe::hex(&shape_of::<v1::Order>().fingerprint()),
        "d0f7a10ca74acabf7fe783fc75dca7d7079b00043b370910472f6e2c167e745f"
    );
}

/// Traces `T` and stores `value` through the codec: the tracer accepts the type as it is, and
/// the value comes back equal.
fn traced_and_stored<T>(value: T) -> String
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let shape = super::shape_of::<T>()
        .unwrap_or_else(|e| panic!("`{}` does not trace: {e}", std::any::type_name::<T>()));
    let blob = crate::codec::encode(&value).unwrap();
    assert_eq!(crate::codec::decode::<T>(&blob).unwrap(), value);
    shape.to_string()
}

#[test]
fn common_date_id_and_url_types_trace_as_they_are() {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap();
    let shapes = [
        traced_and_stored(at),
        traced_and_stored(at.date_naive()),
        traced_and_stored(at.naive_utc()),
        traced_and_stored(jiff::Timestamp::from_second(1_700_000_000).unwrap()),
        traced_and_stored(jiff::civil::date(2026, 12, 7)),
        traced_and_stored(time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()),
        traced_and_stored(time::Date::from_ordinal_date(2026, 341).unwrap()),
        traced_and_stored(uuid::Uuid::from_u128(
            0x1234_5678_9abc_def0_0fed_cba9_8765_4321,
        )),
        traced_and_stored(url::Url::parse("https://example.com/a?b=c").unwrap()),
    ];
    // In a struct, behind an Option: the fingerprint tells a changed one apart.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Stamped {
        id: uuid::Uuid,
        at: Option<chrono::DateTime<chrono::Utc>>,
    }
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct StampedDay {
        id: uuid::Uuid,
        at: Option<chrono::NaiveDate>,
    }
    traced_and_stored(Stamped {
        id: uuid::Uuid::nil(),
        at: Some(at),
    });
    // Both store a string: the fingerprint sees the data model, not what a string must parse
    // as (docs/versioning.md says so).
    assert_eq!(
        shape_of::<Stamped>().fingerprint(),
        shape_of::<StampedDay>().fingerprint()
    );
    assert_eq!(
        shapes,
        [
            "String",
            "String",
            "String",
            "String",
            "String",
            "(i32, u16, u8, u8, u8, u32, i8, i8, i8)",
            "(i32, u16)",
            "bytes",
            "String"
        ],
    );
}
