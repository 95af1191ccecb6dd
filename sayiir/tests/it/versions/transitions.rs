//! The transitions a workflow's description records (`StateShape::next`): read from the
//! macro's control flow (branches side by side, loops back, early exits), stored with the
//! description, and no part of the workflow's identity.

use std::sync::Arc;

use sayiir::describe::{Transitions, WorkflowShape};
use sayiir::store::Store;
use sayiir::{Engine, MemoryStore};

#[sayiir::task]
async fn review(n: u64) -> bool {
    n.is_multiple_of(2)
}

#[sayiir::task]
async fn approve(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn reject(n: u64) -> u64 {
    n
}

#[sayiir::task]
async fn notify(n: u64) -> u64 {
    n
}

/// An `if`/`else` whose branches meet again, inside a loop, and an early return.
#[sayiir::workflow]
async fn approvals(n: u64) -> u64 {
    let mut k: u64 = n;
    while k < 10 {
        if review(k).await {
            k = approve(k).await;
        } else {
            k = reject(k).await;
            if k == 0 {
                return 0;
            }
        }
        k += 1;
    }
    notify(k).await
}

fn next(states: &[&str], ends: bool) -> Option<Transitions> {
    Some(Transitions {
        states: states.iter().map(|s| s.to_string()).collect(),
        ends,
    })
}

fn nexts(shape: &WorkflowShape) -> Vec<(&str, Option<Transitions>)> {
    shape
        .states
        .iter()
        .map(|s| (s.id.as_str(), s.next.clone()))
        .collect()
}

#[tokio::test]
async fn branches_and_loops_are_recorded_and_stored() {
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::builder_shared(store.clone())
        .register::<approvals>()
        .build()
        .unwrap();
    let shape = engine
        .definitions()
        .into_iter()
        .find(|d| d.name == "approvals")
        .unwrap();
    let want = vec![
        // The loop may run no iteration: straight to `notify`.
        ("start", next(&["review#1", "notify#1"], false)),
        // Both branches of the `if`, side by side.
        ("review#1", next(&["approve#1", "reject#1"], false)),
        // Back to the loop's head: another `review`, or out of the loop.
        ("approve#1", next(&["review#1", "notify#1"], false)),
        // The same, or the early `return 0`.
        ("reject#1", next(&["review#1", "notify#1"], true)),
        ("notify#1", next(&[], true)),
    ];
    assert_eq!(nexts(&shape), want);
    // Stored with the description (the store keeps what `WorkflowShape::encode` wrote).
    engine.start::<approvals>("a-1", 11).await.unwrap();
    let defs = store.definitions(Some("approvals")).await.unwrap();
    let stored = WorkflowShape::decode(&defs[0].shape).unwrap();
    assert_eq!(nexts(&stored), want);
    assert_eq!(stored, shape);
    // The transitions are no part of the fingerprint: the same description without them has
    // the one the engine registered.
    let mut bare = shape.clone();
    for s in &mut bare.states {
        s.next = None;
    }
    assert_eq!(bare.fingerprint(), shape.fingerprint());
    assert_eq!(hex(&bare.fingerprint()), hex(&defs[0].fingerprint.0));
    assert_eq!(shape.hash, hex(&approvals::DEFINITION_HASH));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
