//! Golden bytes of the stored format (`docs/format.md`). Each value is pinned as the exact blob
//! `encode` writes and checked both ways. A failure means bytes users have stored would no
//! longer read the same: a postcard upgrade or configuration that changes the wire format, a
//! different checksum, or a changed record layout. Such a change needs a new format tag (with
//! these values kept for tag 2), never an edit of these literals.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::*;
use crate::feed::{Feed, history_event};
use crate::join::{Branch, Join2, JoinAll};
use crate::machine::{
    BoxFuture, Input, MachineError, Resumed, StepCx, Task, TaskOptions, TaskOutput, TaskTimeout,
    TaskWait, Wait,
};
use crate::shared::WorkflowContext;
use crate::waits::{SignalTimeoutWait, SignalWait, TimerWait, signal, sleep};
use sayiir_store::{SignalRecord, Timestamp};

/// `encode(value)` is exactly `blob`, and `blob` decodes to `value`.
fn pin<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T, blob: &[u8]) {
    assert_eq!(encode(value).unwrap(), blob, "encoding of {value:?}");
    assert_eq!(
        decode::<T>(blob).unwrap(),
        *value,
        "decoding of {blob:02x?}"
    );
}

/// For records without `PartialEq`: `encode(value)` is exactly `blob`, and `blob` decodes into
/// a value that encodes to `blob` again.
fn pin_record<T: Serialize + DeserializeOwned>(value: &T, blob: &[u8]) {
    let ty = std::any::type_name::<T>();
    assert_eq!(encode(value).unwrap(), blob, "encoding of `{ty}`");
    let back: T = decode(blob).unwrap();
    assert_eq!(encode(&back).unwrap(), blob, "decoding of `{ty}`");
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Record {
    a: u32,
    b: String,
    c: Vec<Option<i64>>,
}

#[rustfmt::skip]
const RECORD: &[u8] = &[
    0x02,                                           // format tag: postcard 1.x
    0xbd, 0xdc, 0x2a, 0xa1,                         // crc32 (IEEE) of the payload, LE
    0x07,                                           // a: 7
    0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f,       // b: 6 bytes of UTF-8, "héllo"
    0x03,                                           // c: 3 elements
    0x01, 0x01,                                     //   Some(-1): zigzag 1
    0x00,                                           //   None
    0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,       //   Some(1 << 40): zigzag 1 << 41
];

#[test]
fn a_struct_is_its_fields_in_order() {
    let value = Record {
        a: 7,
        b: "héllo".into(),
        c: vec![Some(-1), None, Some(1 << 40)],
    };
    pin(&value, RECORD);
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Shape {
    Unit,
    New(u16),
    Rec { x: i8, y: String },
}

#[test]
fn an_enum_is_its_variant_index_then_its_content() {
    #[rustfmt::skip]
    let cases: [(Shape, &[u8]); 3] = [
        (Shape::Unit, &[0x02, 0x8d, 0xef, 0x02, 0xd2, /* Unit */ 0x00]),
        (Shape::New(300), &[0x02, 0xec, 0x21, 0x3f, 0x12, /* New */ 0x01, /* 300 */ 0xac, 0x02]),
        (
            Shape::Rec { x: -2, y: "z".into() },
            // Rec, x: -2 (an i8 is one byte, two's complement), y: "z"
            &[0x02, 0x2e, 0xe0, 0xdc, 0x9d, 0x02, 0xfe, 0x01, 0x7a],
        ),
    ];
    for (value, blob) in cases {
        pin(&value, blob);
    }
}

/// The fingerprint of the shape of `u64` (`crate::shape::Shape::U64`), the type tag of a
/// context value of that type.
#[rustfmt::skip]
const U64_TAG: [u8; 32] = [
    0xb7, 0x99, 0x0d, 0xd6, 0x44, 0x79, 0x97, 0xe4, 0xbf, 0xda, 0xc2, 0x81, 0x07, 0xc4, 0xe2, 0x5a,
    0x0d, 0x76, 0xf4, 0xb6, 0x07, 0xf3, 0xe4, 0x8a, 0x77, 0x2b, 0x56, 0xfd, 0x87, 0x4b, 0xe9, 0x03,
];

#[rustfmt::skip]
const STORED: &[u8] = &[
    0x02, 0x26, 0x77, 0x2b, 0x89,
    0x01,                                           // context: 1 entry
    0x05, 0x6c, 0x69, 0x6d, 0x69, 0x74,             //   key "limit"
                                                    //   value: { shape, ty, bytes }
    0xb7, 0x99, 0x0d, 0xd6, 0x44, 0x79, 0x97, 0xe4, //     shape: 32 bytes, no length
    0xbf, 0xda, 0xc2, 0x81, 0x07, 0xc4, 0xe2, 0x5a,
    0x0d, 0x76, 0xf4, 0xb6, 0x07, 0xf3, 0xe4, 0x8a,
    0x77, 0x2b, 0x56, 0xfd, 0x87, 0x4b, 0xe9, 0x03,
    0x03, 0x75, 0x36, 0x34,                         //     ty: "u64"
    0x06,                                           //     bytes: 6, itself a blob:
    0x02, 0x5b, 0x26, 0xb9, 0x09, 0x2a,             //       tag 2, crc32, 42u64
    0x01,                                           // state: variant index 1
    0xac, 0x02,                                     //   a carried u64: 300
    0x01, 0x78,                                     //   a carried String: "x"
];

#[test]
fn a_stored_instance_is_its_context_map_then_its_state_tuple() {
    let limit = encode(&42u64).unwrap();
    assert_eq!(crate::shape::Shape::U64.fingerprint(), U64_TAG);
    let map = BTreeMap::from([("limit".to_string(), (U64_TAG, "u64".to_string(), limit))]);
    let state = (1u32, 300u64, "x".to_string());
    pin(&(map, state.clone()), STORED);
    // `WorkflowContext` is a struct of one field, the map of tagged values: it encodes as the bare map.
    let mut ctx = WorkflowContext::new();
    ctx.set("limit", &42u64).unwrap();
    assert_eq!(encode(&(&ctx, &state)).unwrap(), STORED);
    let (back, _): (WorkflowContext, (u32, u64, String)) = decode(STORED).unwrap();
    assert_eq!(back, ctx);
}

#[test]
fn an_option_is_a_flag_byte_then_the_value() {
    #[rustfmt::skip]
    let max: &[u8] = &[
        0x02, 0xf4, 0x9c, 0x37, 0x25,
        0x01,                                       // Some
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x03,                                       // u128::MAX: 19-byte varint
    ];
    pin(&Some(u128::MAX), max);
    pin(&None::<u128>, &[0x02, 0x8d, 0xef, 0x02, 0xd2, 0x00]);
}

type Ints = (i16, i16, i32, i64, u64, u16, usize, i128, i8, u8, i32);

#[test]
fn integers_are_varints_and_signed_ones_zigzag() {
    let value: Ints = (
        -64,
        64,
        -1,
        i64::MIN,
        u64::MAX,
        300,
        128,
        i128::MIN,
        -128,
        255,
        i32::MAX,
    );
    #[rustfmt::skip]
    let blob: &[u8] = &[
        0x02, 0xc2, 0x5e, 0x4d, 0xa7,
        0x7f,                                       // -64i16: zigzag 127, one byte
        0x80, 0x01,                                 // 64i16: zigzag 128, two bytes
        0x01,                                       // -1i32: zigzag 1
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // i64::MIN
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // u64::MAX
        0xac, 0x02,                                 // 300u16
        0x80, 0x01,                                 // 128usize
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, // i128::MIN
        0x80,                                       // -128i8: one raw byte
        0xff,                                       // 255u8: one raw byte
        0xfe, 0xff, 0xff, 0xff, 0x0f,               // i32::MAX: zigzag 0xffff_fffe
    ];
    pin(&value, blob);
}

#[test]
fn floats_chars_bools_and_unit() {
    #[rustfmt::skip]
    let floats: &[u8] = &[
        0x02, 0x51, 0xdc, 0xbb, 0xfa,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, // 1.5f64, little-endian IEEE 754
        0x00, 0x00, 0x00, 0xbf,                     // -0.5f32
    ];
    pin(&(1.5f64, -0.5f32), floats);
    #[rustfmt::skip]
    let chars: &[u8] = &[
        0x02, 0x36, 0x9e, 0xe1, 0xfe,
        0x01, 0x61,                                 // 'a': a 1-byte string
        0x02, 0xc3, 0xa9,                           // 'é'
        0x03, 0xe2, 0x82, 0xac,                     // '€'
    ];
    pin(&('a', 'é', '€'), chars);
    pin(&(true, false), &[0x02, 0xbe, 0x23, 0xc2, 0x58, 0x01, 0x00]);
    // Unit has no bytes; the crc32 of nothing is 0.
    pin(&(), &[0x02, 0x00, 0x00, 0x00, 0x00]);
    pin(
        &Duration::from_millis(1500),
        // A struct { secs: u64, nanos: u32 } in serde: 1, 500_000_000.
        &[
            0x02, 0xf9, 0x1e, 0xe7, 0xa6, 0x01, 0x80, 0xca, 0xb5, 0xee, 0x01,
        ],
    );
}

#[test]
fn an_argument_list_is_raw_values_one_after_another() {
    let mut args = Vec::new();
    append_raw(&mut args, "ab").unwrap();
    append_raw(&mut args, &7u32).unwrap();
    append_raw(&mut args, &Some(-3i64)).unwrap();
    append_raw(&mut args, &vec![1u8, 2]).unwrap();
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x02, 0x61, 0x62,                           // "ab" (no header: no tag, no crc)
        0x07,                                       // 7u32
        0x01, 0x05,                                 // Some(-3i64): zigzag 5
        0x02, 0x01, 0x02,                           // vec![1u8, 2]
    ];
    assert_eq!(args, expected);
    let mut reader = RawReader::new(expected);
    assert_eq!(reader.read::<String>().unwrap(), "ab");
    assert_eq!(reader.read::<u32>().unwrap(), 7);
    assert_eq!(reader.read::<Option<i64>>().unwrap(), Some(-3));
    assert_eq!(reader.read::<Vec<u8>>().unwrap(), [1, 2]);
    reader.finish().unwrap();
}

/// A task for building `TaskWait`s; never run.
struct Noop;

impl crate::machine::seal::TaskSeal for Noop {}

impl Task for Noop {
    type Return = ();
    const NAME: &'static str = "noop";
    const SIGNATURE_HASH: [u8; 32] = [0; 32];
    const OPTIONS: TaskOptions = TaskOptions::DEFAULT;
    fn call_encoded(_: &[u8]) -> Result<BoxFuture<Result<TaskOutput, MachineError>>, CodecError> {
        unreachable!("golden tests never run a task")
    }
    fn decode_return(bytes: &[u8]) -> Result<(), CodecError> {
        decode(bytes)
    }
    fn encode_return(value: &()) -> Result<Vec<u8>, CodecError> {
        encode(value)
    }
    fn timed_out(_: TaskTimeout) -> Result<TaskOutput, CodecError> {
        unreachable!("golden tests never run a task")
    }
    fn describe(_: &mut crate::describe::Describe<'_>) -> crate::describe::TaskShape {
        crate::describe::TaskShape::new("noop")
    }
}

/// The step context of a transition committed as seq 5 at time 1000 ms.
fn cx() -> StepCx {
    StepCx::new(5, Timestamp(1000), WorkflowContext::new())
}

/// `TaskWait { args: [7], origin: 5, attempt: 1, not_before: None, deadline: Some(1_000_000) }`.
fn task_wait() -> TaskWait<Noop> {
    let wait = TaskWait::<Noop>::new(&cx(), vec![0x07]);
    let started = Input::Started {
        deadline: Timestamp(1_000_000),
    };
    match wait.resume(&[], started, &cx()).unwrap() {
        Resumed::Pending(w) => w,
        Resumed::Ready(()) => unreachable!("a start does not finish a task"),
    }
}

fn timer() -> TimerWait {
    sleep::__sayiir_begin(&cx(), Duration::from_secs(1))
}

#[test]
fn waits_are_their_fields_in_order() {
    #[rustfmt::skip]
    let task: &[u8] = &[
        0x02, 0x33, 0x32, 0xcb, 0x61,
        0x01, 0x07,                                 // args: 1 byte
        0x05,                                       // origin: seq 5
        0x01,                                       // attempt 1
        0x00,                                       // not_before: None
        0x01, 0x80, 0x89, 0x7a,                     // deadline: Some(1_000_000 ms)
    ];
    pin_record(&task_wait(), task);
    // due: 1000 ms + 1 s, zigzag 4000
    pin_record(&timer(), &[0x02, 0xe3, 0xa3, 0xd6, 0x62, 0xa0, 0x1f]);
    let signal = signal::<u32>::__sayiir_begin_timeout(&cx(), "ok", Duration::from_millis(1500));
    #[rustfmt::skip]
    let with_timeout: &[u8] = &[
        0x02, 0x8e, 0x6e, 0xd0, 0x50,
        0x02, 0x6f, 0x6b,                           // name "ok"
        0x88, 0x27,                                 // deadline: 2500 ms, zigzag 5000
        0x01, 0x80, 0xca, 0xb5, 0xee, 0x01,         // after: 1 s 500_000_000 ns
    ];
    pin_record::<SignalTimeoutWait<u32>>(&signal, with_timeout);
    let plain: SignalWait<u32> = signal::<u32>::__sayiir_begin(&cx(), "ok");
    pin_record(&plain, &[0x02, 0xc4, 0xc2, 0xc0, 0xc4, 0x02, 0x6f, 0x6b]);
}

#[test]
fn a_join_is_its_branch_slots() {
    let done = encode(&()).unwrap();
    #[rustfmt::skip]
    let join2: &[u8] = &[
        0x02, 0x66, 0xf0, 0xf5, 0x27,
        0x01,                                       // slot 0: Done
        0x05, 0x02, 0x00, 0x00, 0x00, 0x00,         //   its output, a 5-byte blob of ()
        0x00,                                       // slot 1: Pending
        0xa0, 0x1f,                                 //   a TimerWait
    ];
    let value =
        Join2::<TaskWait<Noop>, TimerWait>(Branch::Done(done.clone()), Branch::new(timer()));
    pin_record(&value, join2);
    #[rustfmt::skip]
    let join_all: &[u8] = &[
        0x02, 0x3d, 0x90, 0x94, 0xf7,
        0x02,                                       // 2 branches
        0x01, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00,   // Done, a blob of ()
        0x00, 0xa0, 0x1f,                           // Pending, a TimerWait
    ];
    let value = JoinAll::<TimerWait>(vec![Branch::Done(done), Branch::new(timer())]);
    pin_record(&value, join_all);
}

#[test]
fn a_state_blob_is_the_context_then_variant_index_fields_and_wait() {
    // What `#[workflow]`'s serde impls write for a variant with one carried u64 and a task
    // wait: a tuple (index, fields..., wait), after the context.
    #[rustfmt::skip]
    let state: &[u8] = &[
        0x02, 0x32, 0x06, 0x1f, 0x9b,
        0x00,                                       // empty context
        0x02,                                       // variant index 2
        0xac, 0x02,                                 // carried u64: 300
        0x01, 0x07, 0x05, 0x01, 0x00, 0x01, 0x80, 0x89, 0x7a, // TaskWait
    ];
    let value = (WorkflowContext::new(), (2u32, 300u64, task_wait()));
    pin_record(&value, state);
}

#[test]
fn history_payloads() {
    let out = TaskOutput {
        bytes: encode(&7u32).unwrap(),
        is_error: false,
        permanent: false,
    };
    let signal = SignalRecord {
        signal_id: 9,
        name: "ok".into(),
        payload: encode(&true).unwrap(),
        sent_at: Timestamp(0),
    };
    #[rustfmt::skip]
    let released = TaskOutput {
        bytes: encode("boom").unwrap(),
        is_error: true,
        permanent: false,
    };
    let cases: [(&[u32], Feed, &str, &[u8]); 8] = [
        (
            &[],
            Feed::Start,
            "start",
            &[0x02, 0x8d, 0xef, 0x02, 0xd2, 0x00],
        ),
        // slot [1, 0]
        (
            &[1, 0],
            Feed::Timer,
            "timer",
            &[0x02, 0x3d, 0x3c, 0xde, 0xe5, 0x02, 0x01, 0x00],
        ),
        (
            &[1],
            Feed::Task("charge", 2, out),
            "task",
            &[
                0x02, 0x02, 0xac, 0x5d, 0xce, 0x01, 0x01, // slot [1]
                0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, // task "charge"
                0x02, // attempt 2
                0x06, 0x02, 0x2e, 0x7a, 0x66, 0x4c, 0x07, // output: a 6-byte blob of 7u32
            ],
        ),
        (
            &[1],
            Feed::Retry {
                task: "charge",
                failed: 1,
                not_before: Timestamp(3000),
                error: encode("boom").unwrap(),
            },
            "retry",
            &[
                0x02, 0x25, 0xef, 0x9d, 0x7c, 0x01, 0x01, // slot [1]
                0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, // task "charge"
                0x01, // failed attempt 1
                0xf0, 0x2e, // not before 3000 ms
                0x0a, 0x02, 0xc5, 0x88, 0x60, 0x30, // error: a 10-byte blob
                0x04, 0x62, 0x6f, 0x6f, 0x6d, //   of "boom"
            ],
        ),
        (
            &[],
            Feed::Started {
                deadline: Timestamp(2000),
            },
            "task-started",
            // (slot [], deadline 2000 ms)
            &[0x02, 0x0e, 0x68, 0x4e, 0xdc, 0x00, 0xa0, 0x1f],
        ),
        (
            &[],
            Feed::Signal(signal),
            "signal",
            &[
                0x02, 0xbd, 0x05, 0x8f, 0x27, 0x00, // slot []
                0x02, 0x6f, 0x6b, // name "ok"
                0x09, // signal id 9
                0x06, 0x02, 0x1b, 0xdf, 0x05, 0xa5, 0x01, // payload: a 6-byte blob of true
            ],
        ),
        (
            &[1],
            Feed::Rearm {
                task: "charge".into(),
                exhausted: 3,
            },
            "operator-retry",
            &[
                0x02, 0xd4, 0xe0, 0xda, 0x2a, 0x01, 0x01, // slot [1]
                0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, // task "charge"
                0x03, // the exhausted attempt: 3
            ],
        ),
        // The same layout as `task`: the error is the parked attempt's output.
        (
            &[1],
            Feed::Released("charge".into(), 3, released),
            "operator-fail",
            &[
                0x02, 0xdc, 0xf6, 0x26, 0xe7, 0x01, 0x01, // slot [1]
                0x06, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, // task "charge"
                0x03, // attempt 3
                0x0a, 0x02, 0xc5, 0x88, 0x60, 0x30, // output: a 10-byte blob
                0x04, 0x62, 0x6f, 0x6f, 0x6d, //   of "boom"
            ],
        ),
    ];
    for (slot, feed, kind, payload) in cases {
        let event = history_event(slot, &feed).unwrap();
        assert_eq!(event.kind, kind);
        assert_eq!(event.payload, payload, "payload of `{kind}`");
    }
    // `rescheduled` (driver.rs): the new due time, `Option<i64>` ms.
    pin(
        &Some(2000i64),
        &[0x02, 0x39, 0x02, 0x8c, 0xdd, 0x01, 0xa0, 0x1f],
    );
    // `cancelled` (control.rs): the reason, a string (also the instance's output).
    pin(
        &"stop".to_string(),
        &[0x02, 0x77, 0x98, 0xb0, 0xab, 0x04, 0x73, 0x74, 0x6f, 0x70],
    );
}
