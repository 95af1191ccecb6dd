#![allow(clippy::unwrap_used)]

use super::*;
use crate::shape::{Named, Variant, VariantFields};

fn ty(shape: Shape) -> TypeShape {
    TypeShape {
        rust: "t".into(),
        shape,
    }
}

fn order() -> Shape {
    Shape::Struct {
        name: "Order".into(),
        fields: vec![
            Named {
                name: "id".into(),
                shape: Shape::U64,
            },
            Named {
                name: "note".into(),
                shape: Shape::Option(Box::new(Shape::Str)),
            },
        ],
    }
}

/// A description with a state of each kind of wait.
fn sample() -> WorkflowShape {
    let mut w = WorkflowShape::new("checkout", 2, &[7; 32]);
    w.input("order", ty(order()));
    w.output(ty(Shape::Enum {
        name: "Result".into(),
        variants: vec![
            Variant {
                index: 0,
                name: "Ok".into(),
                fields: VariantFields::Newtype(Box::new(Shape::U64)),
            },
            Variant {
                index: 1,
                name: "Err".into(),
                fields: VariantFields::Newtype(Box::new(Shape::Str)),
            },
        ],
    }));
    w.state("Start", "start");
    w.field("order", ty(order()));
    w.state("S1", "charge#1");
    w.field("order", ty(order()));
    w.wait(WaitShape::Task(
        TaskShape::new("charge")
            .arg("order", ty(order()))
            .returns(ty(Shape::U64)),
    ));
    w.state("S2", "join(charge,signal:go)#1");
    w.wait(WaitShape::Join(vec![
        WaitShape::Timer,
        WaitShape::Signal {
            payload: ty(Shape::Bool),
            timeout: true,
        },
        WaitShape::JoinAll(Box::new(WaitShape::Continue)),
    ]));
    w
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn fingerprints_are_pinned() {
    // Pinned: the canonical encoding of descriptions (and of shapes) is what every instance's
    // identity is computed from.
    assert_eq!(
        hex(&sample().fingerprint()),
        "905468bcade3107474101e1b28b367740bacc94e6a6cfad137ccf3c9e1c4a737"
    );
}

#[test]
fn rust_and_container_names_do_not_count_field_names_do() {
    let base = sample().fingerprint();
    let mut renamed = sample();
    renamed.inputs[0].ty.rust = "other::Order".into();
    if let Shape::Struct { name, .. } = &mut renamed.inputs[0].ty.shape {
        *name = "Purchase".into();
    }
    assert_eq!(renamed.fingerprint(), base);
    let mut field = sample();
    field.states[1].fields[0].name = "the_order".into();
    assert_ne!(field.fingerprint(), base);
    let mut state = sample();
    state.states[1].id = "pay".into();
    assert_ne!(state.fingerprint(), base);
}

#[test]
fn stored_descriptions_are_pinned() {
    // Descriptions are saved in the store and read back by later binaries (what changed);
    // the lock file holds them as JSON. Both encodings are pinned.
    let blob = crate::codec::encode(&sample()).unwrap();
    assert_eq!(
        hex(&crate::hash::blake3(&blob)),
        "4914df3eba68a5828b715378c50f7c60de23afa9c6e19a311b88dbce499e049d"
    );
    let back: WorkflowShape = crate::codec::decode(&blob).unwrap();
    assert_eq!(back, sample());
    let mut small = WorkflowShape::new("w", 1, &[1; 32]);
    small.input("n", ty(Shape::U32));
    small.state("Start", "start");
    small.field("n", ty(Shape::U32));
    assert_eq!(
        serde_json::to_string(&small).unwrap(),
        concat!(
            r#"{"name":"w","version":1,"#,
            r#""hash":"0101010101010101010101010101010101010101010101010101010101010101","#,
            r#""inputs":[{"name":"n","ty":{"rust":"t","shape":"U32"}}],"#,
            r#""output":{"rust":"()","shape":"Unit"},"#,
            r#""states":[{"id":"start","variant":"Start","fields":[{"name":"n","ty":{"rust":"t","shape":"U32"}}],"wait":null}]}"#
        )
    );
}

#[test]
fn changes_are_worded_by_place() {
    let old = sample();
    let mut new = sample();
    new.states[1].fields.push(FieldShape {
        name: "coupon".into(),
        ty: ty(Shape::Option(Box::new(Shape::Str))),
    });
    new.states.pop();
    assert_eq!(
        workflow_changes(&old, &new),
        [
            "state `join(charge,signal:go)#1` removed",
            "state `charge#1`: field `coupon: Option<String>` added"
        ]
    );
    assert!(workflow_changes(&old, &sample()).is_empty());
}

/// A small description: a start state and two waits, with transitions when `flow`.
fn small(flow: bool) -> WorkflowShape {
    let mut w = WorkflowShape::new("w", 1, &[1; 32]);
    w.input("n", ty(Shape::U32));
    w.state("Start", "start");
    w.field("n", ty(Shape::U32));
    if flow {
        w.next(&["a#1", "b#1"], false);
    }
    w.state("S1", "a#1");
    w.wait(WaitShape::Timer);
    if flow {
        w.next(&["a#1", "b#1"], true);
    }
    w.state("S2", "b#1");
    w.wait(WaitShape::Timer);
    if flow {
        w.next(&[], true);
    }
    w
}

#[test]
fn stored_transitions_follow_the_description() {
    // A description with transitions: the legacy encoding, then one `Transitions` per state.
    let flow = small(true);
    let blob = flow.encode().unwrap();
    assert_eq!(hex(&blob), PRINT_NEW);
    let back = WorkflowShape::decode(&blob).unwrap();
    assert_eq!(back, flow);
    assert_eq!(
        back.transitions().unwrap()[1],
        &Transitions {
            states: vec!["a#1".into(), "b#1".into()],
            ends: true
        }
    );
    // The transitions are no part of the fingerprint, the serde encoding or the JSON.
    let plain = small(false);
    assert_eq!(flow.fingerprint(), plain.fingerprint());
    assert_eq!(
        crate::codec::encode(&flow).unwrap(),
        crate::codec::encode(&plain).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&flow).unwrap(),
        serde_json::to_string(&plain).unwrap()
    );
}

#[test]
fn descriptions_stored_before_transitions_still_read() {
    // The blob an earlier build stored for `small(false)` (no transitions): it reads back with
    // every state's `next` unknown, and a description without them is stored the same way.
    let old = unhex(PRINT_OLD);
    let back = WorkflowShape::decode(&old).unwrap();
    assert_eq!(back, small(false));
    assert!(back.transitions().is_none());
    assert!(back.states.iter().all(|s| s.next.is_none()));
    assert_eq!(small(false).encode().unwrap(), old);
    // A trailer that does not match the states is an error, not a silent loss.
    let blob = crate::codec::encode(&(small(false), vec![Transitions::default()])).unwrap();
    assert!(matches!(
        WorkflowShape::decode(&blob),
        Err(crate::codec::CodecError::Malformed { .. })
    ));
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `small(false)` as builds from before transitions stored it: header (format tag, crc32), then
/// the serde encoding of the description, whose layout `stored_descriptions_are_pinned` pins.
const PRINT_OLD: &str = concat!(
    "02dc41a6b7",
    "01770140303130313031303130313031303130313031303130313031303130313031303130313031303130",
    "3130313031303130313031303130313031303130313031303101016e017409022829000305737461727405",
    "537461727401016e017409000361233102533100010403622331025332000104",
);

/// `small(true)`: the same description, then its transitions (3 states: `[a#1, b#1]` no end,
/// `[a#1, b#1]` ends, `[]` ends).
const PRINT_NEW: &str = concat!(
    "02dacb71c4",
    "01770140303130313031303130313031303130313031303130313031303130313031303130313031303130",
    "3130313031303130313031303130313031303130313031303101016e017409022829000305737461727405",
    "537461727401016e0174090003612331025331000104036223310253320001040302036123310362233100",
    "020361233103622331010001",
);
