//! `describe`, `timeline` and `signal_json` with the workflow's code (its own types) and
//! without it (an engine that registers nothing, as the standalone command line builds: the
//! description saved in the store), on every store.

use sayiir::admin::DecodedBy;
use sayiir::{Engine, EngineError};
use serde_json::json;

use super::states::approval;
use super::{engine, order};
use crate::common::{eventually, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_decode_to_json_with_the_code_and_with_the_stored_description() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in crate::common::stores::all("decode", dir.path()).await {
        let engine = engine(store.clone());
        // An engine without the workflows: what `sayiir --store URL show` uses.
        let bare = Engine::builder_shared(store).build().unwrap();
        let worker = engine.spawn_worker();
        let id = format!("{backend}-approve");
        engine.start::<approval>(&id, order(&id)).await.unwrap();
        eventually("waiting for the signal", || async {
            let i = engine.status(&id).await.unwrap();
            (i.state.as_deref() == Some("signal:approve#1")).then_some(())
        })
        .await;
        worker.shutdown().await.unwrap();
        // A signal buffered (no worker runs): shown decoded beside the state.
        engine
            .signal_json(&id, "approve", &json!({"by": "bo", "level": 1}))
            .await
            .unwrap();

        for (who, e, by) in [
            ("registered", &engine, DecodedBy::Registered),
            ("bare", &bare, DecodedBy::StoredDescription),
        ] {
            let d = e.describe(&id).await.unwrap();
            assert_eq!(d.decoded_by, by, "{backend}/{who}");
            assert!(d.problems.is_empty(), "{backend}/{who}: {:?}", d.problems);
            let state = d.state.as_ref().unwrap();
            assert_eq!(state.state_id, "signal:approve#1");
            let fields: Vec<(&str, &serde_json::Value)> =
                state.fields.iter().map(|(n, v)| (n.as_str(), v)).collect();
            assert_eq!(
                fields,
                [
                    ("order", &json!({"key": id, "cents": 1250})),
                    ("seen", &json!([id])),
                ],
                "{backend}/{who}: carried values by name"
            );
            assert_eq!(d.signals.len(), 1);
            assert_eq!(d.signals[0].name, "approve");
            assert_eq!(
                d.signals[0].value,
                Some(json!({"by": "bo", "level": 1})),
                "{backend}/{who}"
            );
            assert!(d.state_size.is_some_and(|n| n > 0));
            let timeline = e.timeline(&id).await.unwrap();
            assert_eq!(
                timeline[0].value,
                Some(json!({"order": {"key": id, "cents": 1250}})),
                "{backend}/{who}: the input"
            );
        }
        // With the code, what it waits for names the signal.
        let d = engine.describe(&id).await.unwrap();
        assert!(matches!(
            d.waiting.as_slice(),
            [sayiir::admin::Waiting::Signal { name, deadline: None, .. }] if name == "approve"
        ));

        // JSON payloads are checked against the type: with the code and without it.
        for e in [&engine, &bare] {
            for bad in [
                json!({"by": "bo"}),
                json!({"by": 3, "level": 1}),
                json!("yes"),
            ] {
                match e.signal_json(&id, "approve", &bad).await {
                    Err(EngineError::BadPayload { name, .. }) => assert_eq!(name, "approve"),
                    other => panic!("{backend}: {bad} accepted: {other:?}"),
                }
            }
        }
        assert!(matches!(
            engine.signal_json(&id, "reject", &json!(1)).await,
            Err(EngineError::UnknownSignal { .. })
        ));
        // Sent without the code, delivered with it.
        let worker = engine.spawn_worker();
        let out = within("approval", engine.result::<approval>(&id)).await;
        assert_eq!(
            out.unwrap(),
            format!("{id} approved by bo (level 1), [\"{id}\"]")
        );
        worker.shutdown().await.unwrap();
        let d = bare.describe(&id).await.unwrap();
        assert_eq!(
            d.output,
            Some(json!(format!("{id} approved by bo (level 1), [\"{id}\"]")))
        );
        let timeline = bare.timeline(&id).await.unwrap();
        let signal = timeline.iter().find(|e| e.kind == "signal").unwrap();
        assert_eq!(signal.signal.as_deref(), Some("approve"));
        assert_eq!(signal.value, Some(json!({"by": "bo", "level": 1})));
    }
}
