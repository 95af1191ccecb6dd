//! The trace context an instance is started under ([`InstanceRecord::trace_context`]): written
//! by create, create_batch and restart, read back by load and claim, kept by every other write.

use std::sync::Arc;

use super::{
    claim_req, commit, create_with, event, finished, id, key, load, new_instance, running,
};
use crate::{
    BlockKind, Blocked, Created, DefinitionRef, InstanceRecord, Restart, Status, Store, Timestamp,
};

/// A W3C `traceparent`, with (`'\n'` then) a `tracestate` whose values hold what the format
/// allows there: spaces, `;`, `:`.
const WITH_STATE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n\
                          vendor=a b;c:d,other=x";
/// A `traceparent` alone.
const PARENT_ONLY: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

fn trace_of(r: &InstanceRecord) -> Option<&str> {
    r.trace_context.as_deref()
}

/// create and create_batch store the context given (or none), load and claim return it, and
/// steps, blocks and finishing commits keep it. A create that finds the instance keeps the
/// stored context.
pub(super) async fn trace_context_created_and_read<S: Store>(s: Arc<S>) {
    let with = create_with(
        &*s,
        new_instance("t-with", "wf", 1, Some(100), 100).trace_context(WITH_STATE.to_owned()),
    )
    .await;
    assert_eq!(
        trace_of(&with),
        Some(WITH_STATE),
        "create returns the context"
    );
    let without = create_with(&*s, new_instance("t-without", "wf", 1, Some(100), 100)).await;
    assert_eq!(trace_of(&without), None, "create without a context");

    let batch = s
        .create_batch(vec![
            new_instance("t-batch-1", "wf", 1, Some(100), 100)
                .trace_context(PARENT_ONLY.to_owned()),
            new_instance("t-batch-2", "wf", 1, Some(100), 100),
            // Found, not created: the stored context stays.
            new_instance("t-with", "wf", 1, Some(100), 100).trace_context(PARENT_ONLY.to_owned()),
        ])
        .await
        .unwrap_or_else(|e| panic!("create_batch failed: {e:?}"));
    let got: Vec<Option<String>> = batch
        .into_iter()
        .map(|r| match r {
            Ok(Created::New(r) | Created::Existing(r)) => r.trace_context,
            Err(e) => panic!("create_batch item failed: {e:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            Some(PARENT_ONLY.to_owned()),
            None,
            Some(WITH_STATE.to_owned())
        ],
        "create_batch returns each instance's context"
    );
    match s
        .create(
            new_instance("t-without", "wf", 1, Some(100), 100).trace_context(WITH_STATE.to_owned()),
        )
        .await
    {
        Ok(Created::Existing(r)) => assert_eq!(trace_of(&r), None, "an existing instance's"),
        other => panic!("create of an existing instance returned {other:?}"),
    }

    for (i, expected) in [
        ("t-with", Some(WITH_STATE)),
        ("t-without", None),
        ("t-batch-1", Some(PARENT_ONLY)),
        ("t-batch-2", None),
    ] {
        assert_eq!(trace_of(&load(&*s, i).await), expected, "load of `{i}`");
    }

    let claimed = s
        .claim(claim_req("w1", 100, 1000, 10, &[key("wf", 1)]))
        .await
        .unwrap_or_else(|e| panic!("claim failed: {e:?}"));
    let mut got: Vec<(String, Option<String>)> = claimed
        .into_iter()
        .map(|c| (c.record.id.as_str().to_owned(), c.record.trace_context))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("t-batch-1".to_owned(), Some(PARENT_ONLY.to_owned())),
            ("t-batch-2".to_owned(), None),
            ("t-with".to_owned(), Some(WITH_STATE.to_owned())),
            ("t-without".to_owned(), None),
        ],
        "claims return each instance's context"
    );

    // Steps, a block and the finishing commit write heads; none of them touches the context.
    commit(&*s, running("t-with", 0, b"s1", Some(200), 150)).await;
    s.commit_batch(vec![running("t-batch-1", 0, b"s1", None, 150)])
        .await
        .unwrap_or_else(|e| panic!("commit_batch failed: {e:?}"));
    let blocked = Blocked {
        kind: BlockKind::Paused,
        reason: "paused".into(),
        at: Timestamp(160),
    };
    s.set_blocked(&id("t-batch-1"), Some(blocked))
        .await
        .unwrap_or_else(|e| panic!("set_blocked failed: {e:?}"));
    commit(&*s, finished("t-with", 1, Status::Completed, b"out", 170)).await;
    assert_eq!(trace_of(&load(&*s, "t-with").await), Some(WITH_STATE));
    assert_eq!(trace_of(&load(&*s, "t-batch-1").await), Some(PARENT_ONLY));
}

/// A restart with a context replaces the stored one (also where there was none); a restart
/// without one keeps it.
pub(super) async fn trace_context_restart<S: Store>(s: Arc<S>) {
    create_with(
        &*s,
        new_instance("r-1", "wf", 1, Some(100), 100).trace_context(WITH_STATE.to_owned()),
    )
    .await;
    create_with(&*s, new_instance("r-2", "wf", 1, Some(100), 100)).await;
    let restart = |i: &str, seq: u64, trace: Option<&str>| Restart {
        id: id(i),
        expected_seq: seq,
        definition: DefinitionRef {
            version: 3,
            hash: super::hash(1),
            fingerprint: super::fingerprint(super::FP),
        },
        input: b"in".to_vec(),
        state: b"st".to_vec(),
        state_id: "start".into(),
        due_at: Some(Timestamp(400)),
        event: event("restarted", b""),
        now: Timestamp(400),
        trace_context: trace.map(str::to_owned),
    };
    let ok = |r: Result<(), crate::StoreError>, what: &str| {
        if let Err(e) = r {
            panic!("{what} failed: {e:?}");
        }
    };
    ok(s.restart(restart("r-1", 0, None)).await, "restart of r-1");
    assert_eq!(
        trace_of(&load(&*s, "r-1").await),
        Some(WITH_STATE),
        "a restart without a context keeps the stored one"
    );
    ok(
        s.restart(restart("r-1", 1, Some(PARENT_ONLY))).await,
        "second restart of r-1",
    );
    assert_eq!(
        trace_of(&load(&*s, "r-1").await),
        Some(PARENT_ONLY),
        "a restart with a context replaces it"
    );
    ok(
        s.restart(restart("r-2", 0, Some(WITH_STATE))).await,
        "restart of r-2",
    );
    assert_eq!(
        trace_of(&load(&*s, "r-2").await),
        Some(WITH_STATE),
        "a restart gives a context to an instance that had none"
    );
}
