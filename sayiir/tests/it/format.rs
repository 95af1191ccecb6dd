//! Golden bytes of what a real `#[workflow]` stores (docs/format.md): the state blobs written
//! through the macro's serde impls, a task's history entry and the output. The codec's own
//! golden tests (`sayiir-runtime/src/codec_golden.rs`) pin the wire rules; these pin that
//! generated code lays its records out as documented.

#![allow(clippy::unwrap_used)]

use sayiir::store::{InstanceId, InstanceRecord};
use sayiir::{Engine, MemoryStore};

#[sayiir::task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[sayiir::workflow]
async fn gated(n: u64) -> u64 {
    let extra = sayiir::signal::<u32>("go").await;
    double(n + u64::from(extra)).await
}

async fn head(engine: &Engine, id: &InstanceId) -> InstanceRecord {
    engine.store().load(id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_stores_the_documented_bytes() {
    let engine = Engine::builder(MemoryStore::new())
        .register::<gated>()
        .build()
        .unwrap();
    let id = InstanceId::new("g-1").unwrap();
    engine.start::<gated>(id.as_str(), 5).await.unwrap();
    #[rustfmt::skip]
    let start: &[u8] = &[
        0x02, 0x9d, 0x2d, 0x2b, 0x8f,               // tag 2, crc32
        0x00,                                       // context: no entries
        0x00,                                       // state 0, `Start`
        0x05,                                       //   input n: 5
    ];
    assert_eq!(head(&engine, &id).await.state.as_deref(), Some(start));

    let worker = engine.spawn_worker();
    let parked = crate::common::eventually("the first transition", || async {
        let h = head(&engine, &id).await;
        (h.seq >= 1).then_some(h)
    })
    .await;
    assert_eq!(parked.seq, 1, "the first transition parks on the signal");
    #[rustfmt::skip]
    let waiting: &[u8] = &[
        0x02, 0xe6, 0x2d, 0x49, 0x4f,
        0x00,                                       // context: no entries
        0x01,                                       // state 1: the signal wait
        0x05,                                       //   carried n: 5
        0x02, 0x67, 0x6f,                           //   SignalWait { name: "go" }
    ];
    assert_eq!(parked.state.as_deref(), Some(waiting));

    engine.signal(id.as_str(), "go", &3u32).await.unwrap();
    assert_eq!(engine.result::<gated>(id.as_str()).await.unwrap(), 16);
    worker.shutdown().await.unwrap();
    let done = head(&engine, &id).await;
    assert_eq!(
        done.output.as_deref(),
        Some(&[0x02, 0xe9, 0xff, 0xb5, 0xcf, 0x10][..]),
        "the output is a blob of 16u64"
    );
    let history = engine.history(id.as_str()).await.unwrap();
    let task = history.iter().find(|e| e.kind == "task").unwrap();
    #[rustfmt::skip]
    let task_event: &[u8] = &[
        0x02, 0x18, 0xb9, 0xfe, 0x90,
        0x00,                                       // slot []
        0x06, 0x64, 0x6f, 0x75, 0x62, 0x6c, 0x65,   // task "double"
        0x01,                                       // attempt 1
        0x06, 0x02, 0xe9, 0xff, 0xb5, 0xcf, 0x10,   // output: a blob of 16u64
    ];
    assert_eq!(task.payload, task_event);

    // The input, kept for restarts: the start state's fields by name, each encoded alone. The
    // `started` entry (entry 0) holds the same bytes.
    #[rustfmt::skip]
    let input: &[u8] = &[
        0x02, 0x2c, 0x9a, 0xc6, 0x68,
        0x01,                                       // one input
        0x01, 0x6e,                                 //   named "n"
        0x01, 0x05,                                 //   its bytes: 5u64
    ];
    assert_eq!(
        engine.store().load_input(&id).await.unwrap().as_deref(),
        Some(input)
    );
    assert_eq!(
        (history[0].kind.as_str(), history[0].payload.as_slice()),
        ("started", input)
    );
    assert_eq!(done.state_id, None, "a finished instance is in no state");
}
