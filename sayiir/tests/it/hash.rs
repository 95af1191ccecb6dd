//! The definition hash: stable across formatting, comments and the plain code between
//! suspension points; different when what a stored state means changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::let_and_return)]

#[sayiir::task]
async fn fetch(id: u64) -> u64 {
    id
}

#[sayiir::task]
async fn store_it(value: u64) -> bool {
    value > 0
}

#[sayiir::task(name = "fetch_renamed")]
async fn fetch_other_name(id: u64) -> u64 {
    id
}

#[sayiir::task(retries = 9, backoff = "1s", max_backoff = "1h")]
async fn fetch_with_options(id: u64) -> u64 {
    id
}

#[sayiir::workflow(name = "h")]
async fn base(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let ok = store_it(value).await;
    ok
}

#[sayiir::workflow(name = "h")]
#[rustfmt::skip]
async fn reformatted(
    id : u64 ,
) -> bool
{
    // a comment, other plain code, different spacing
    let   value : u64 =
        fetch( id )
            .await ;
    let doubled = value * 2; /* not carried, not hashed */
    let _ = doubled;
    let ok = store_it( value ).await;
    ok
}

#[sayiir::workflow(name = "h")]
async fn reordered(id: u64) -> bool {
    let ok = store_it(id).await;
    let value: u64 = fetch(id).await;
    ok && value > 0
}

#[sayiir::workflow(name = "h")]
async fn carried_type_changed(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let extra: u32 = 1;
    let ok = store_it(value).await;
    ok && extra > 0
}

#[sayiir::workflow(name = "h")]
async fn carried_type_changed_again(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let extra: u64 = 1;
    let ok = store_it(value).await;
    ok && extra > 0
}

#[sayiir::workflow(name = "h")]
async fn task_renamed(id: u64) -> bool {
    let value: u64 = fetch_other_name(id).await;
    let ok = store_it(value).await;
    ok
}

#[sayiir::workflow(name = "h")]
async fn task_options_changed(id: u64) -> bool {
    let value: u64 = fetch_with_options(id).await;
    let ok = store_it(value).await;
    ok
}

#[sayiir::workflow(name = "h", version = 2)]
async fn version_bumped(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let ok = store_it(value).await;
    ok
}

#[sayiir::workflow(name = "h2")]
async fn renamed_workflow(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let ok = store_it(value).await;
    ok
}

#[test]
fn formatting_comments_and_plain_code_do_not_change_the_hash() {
    assert_eq!(base::DEFINITION_HASH, reformatted::DEFINITION_HASH);
}

#[test]
fn task_options_do_not_change_the_hash() {
    // Same signature under another fn name would differ by task name, so compare the task hashes.
    use sayiir::Task;
    assert_ne!(
        <fetch as Task>::SIGNATURE_HASH,
        <fetch_with_options as Task>::SIGNATURE_HASH
    );
    assert_ne!(
        <fetch_with_options as Task>::OPTIONS,
        <fetch as Task>::OPTIONS
    );
    #[sayiir::task(name = "fetch", retries = 3, backoff = "10s")]
    async fn fetch_again(id: u64) -> u64 {
        id
    }
    assert_eq!(
        <fetch as Task>::SIGNATURE_HASH,
        <fetch_again as Task>::SIGNATURE_HASH
    );
    let _ = task_options_changed::DEFINITION_HASH;
}

#[test]
fn what_a_state_means_changes_the_hash() {
    let all = [
        ("base", base::DEFINITION_HASH),
        ("reordered", reordered::DEFINITION_HASH),
        ("carried type u32", carried_type_changed::DEFINITION_HASH),
        (
            "carried type u64",
            carried_type_changed_again::DEFINITION_HASH,
        ),
        ("task renamed", task_renamed::DEFINITION_HASH),
        ("version bumped", version_bumped::DEFINITION_HASH),
        ("workflow renamed", renamed_workflow::DEFINITION_HASH),
    ];
    for (i, (a, ha)) in all.iter().enumerate() {
        for (b, hb) in &all[i + 1..] {
            assert_ne!(ha, hb, "`{a}` and `{b}` must hash differently");
        }
    }
}

#[tokio::test]
async fn variants_still_run() {
    assert!(base(3).await);
    assert!(reformatted(3).await);
    assert!(!reordered(0).await);
    assert!(version_bumped(1).await);
}

#[sayiir::task]
async fn pick(n: u64) -> Option<u64> {
    Some(n)
}

#[sayiir::workflow(name = "flow")]
async fn flow_base(n: u64) -> u64 {
    let total: u64 = match pick(n).await {
        Some(v) if v > 10 => fetch(v).await,
        Some(v) => v,
        None => 0,
    };
    let items: Vec<u64> = vec![total];
    for i in items {
        store_it(i).await;
    }
    total
}

#[sayiir::workflow(name = "flow")]
#[rustfmt::skip]
async fn flow_reformatted(n: u64) -> u64 {
    // Same structure; other guard expression, other plain code, other layout.
    let total : u64 = match pick( n ).await { Some(v) if v > 99 => fetch( v ).await, Some(v) => v.saturating_sub(1) + 1, None => 0 };
    let items : Vec<u64> = vec![ total , ];
    for i in items { store_it( i ).await ; }
    total
}

#[sayiir::workflow(name = "flow")]
async fn flow_arm_added(n: u64) -> u64 {
    let total: u64 = match pick(n).await {
        Some(v) if v > 10 => fetch(v).await,
        Some(0) => 0,
        Some(v) => v,
        None => 0,
    };
    let items: Vec<u64> = vec![total];
    for i in items {
        store_it(i).await;
    }
    total
}

#[sayiir::workflow(name = "flow")]
async fn flow_task_moved(n: u64) -> u64 {
    let total: u64 = match pick(n).await {
        Some(v) if v > 10 => v,
        Some(v) => fetch(v).await,
        None => 0,
    };
    let items: Vec<u64> = vec![total];
    for i in items {
        store_it(i).await;
    }
    total
}

#[sayiir::workflow(name = "flow")]
async fn flow_loop_body_changed(n: u64) -> u64 {
    let total: u64 = match pick(n).await {
        Some(v) if v > 10 => fetch(v).await,
        Some(v) => v,
        None => 0,
    };
    let items: Vec<u64> = vec![total];
    for i in items {
        store_it(i).await;
        store_it(i + 1).await;
    }
    total
}

#[test]
fn control_flow_structure_enters_the_hash_and_formatting_does_not() {
    assert_eq!(
        flow_base::DEFINITION_HASH,
        flow_reformatted::DEFINITION_HASH
    );
    let all = [
        ("base", flow_base::DEFINITION_HASH),
        ("arm added", flow_arm_added::DEFINITION_HASH),
        ("task moved between arms", flow_task_moved::DEFINITION_HASH),
        ("loop body changed", flow_loop_body_changed::DEFINITION_HASH),
    ];
    for (i, (a, ha)) in all.iter().enumerate() {
        for (b, hb) in &all[i + 1..] {
            assert_ne!(ha, hb, "`{a}` and `{b}` must hash differently");
        }
    }
}

#[sayiir::workflow(name = "h", concurrency = 7)]
async fn base_with_a_concurrency_limit(id: u64) -> bool {
    let value: u64 = fetch(id).await;
    let ok = store_it(value).await;
    ok
}

#[test]
fn a_workflow_concurrency_limit_does_not_change_the_hash() {
    use sayiir::Workflow;
    assert_eq!(
        base::DEFINITION_HASH,
        base_with_a_concurrency_limit::DEFINITION_HASH
    );
    assert_eq!(<base as Workflow>::CONCURRENCY, None);
    assert_eq!(
        <base_with_a_concurrency_limit as Workflow>::CONCURRENCY.map(|n| n.get()),
        Some(7)
    );
}
