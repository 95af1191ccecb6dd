//! Regression cases of issue 12: bodies that the macro once compiled wrongly or refused, each
//! run directly, on the test engine (virtual time) and on SQLite, against the same logic in
//! plain Rust.

// The bodies are written the way users write them: a `Vec::new()` filled by `push` and a
// slice collected are what the type inference of carried values is tested on.
#![allow(clippy::vec_init_then_push, clippy::iter_cloned_collect)]

use std::collections::VecDeque;
use std::sync::Mutex;

use sayiir::testing::TestEngine;
use sayiir::{Engine, SqliteStore};

/// Task calls, in order, per instance key (the first argument's value tags them).
static CALLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn called(what: String) {
    CALLS.lock().unwrap().push(what);
}

#[sayiir::task]
async fn double(n: u64) -> u64 {
    n * 2
}

#[sayiir::task]
async fn inc(n: u64) -> u64 {
    n + 1
}

#[sayiir::task]
async fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[sayiir::task]
async fn note(line: String) -> u64 {
    called(line.clone());
    line.len() as u64
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Order {
    id: u64,
    owner: String,
}

#[sayiir::task]
async fn validate(order: Order) -> Result<Order, String> {
    if order.id == 0 {
        Err("order 0 is not valid".into())
    } else {
        Ok(Order {
            id: order.id,
            owner: order.owner.to_uppercase(),
        })
    }
}

#[sayiir::task]
async fn charge(order: Order) -> Result<u64, String> {
    Ok(order.id * 100)
}

#[sayiir::task]
async fn tag_of(id: u64) -> Option<String> {
    (!id.is_multiple_of(3)).then(|| format!("tag-{id}"))
}

// 1. A shadowing `let` inside a construct ends with the construct: in a branch, a plain block,
//    a `match` arm and a `for` body (the next iteration reads the outer binding).

#[sayiir::workflow]
async fn shadow_in_branch(x: u64) -> u64 {
    if x > 10 {
        let x = double(x).await;
        note(format!("branch {x}")).await;
    }
    inc(x).await
}

fn shadow_in_branch_ref(x: u64) -> u64 {
    x + 1
}

#[sayiir::workflow]
async fn shadow_in_block_and_arm(x: u64) -> u64 {
    {
        let x = double(x).await;
        note(format!("block {x}")).await;
    }
    let r = match x % 2 {
        0 => {
            let x = add(x, 1000).await;
            note(format!("arm {x}")).await;
            x
        }
        _ => 0,
    };
    add(x, r).await
}

fn shadow_in_block_and_arm_ref(x: u64) -> u64 {
    x + if x.is_multiple_of(2) { x + 1000 } else { 0 }
}

#[sayiir::workflow]
async fn shadow_in_for(x: u64, items: Vec<u64>) -> u64 {
    for i in items {
        let x = add(x, i).await;
        note(format!("for {x}")).await;
        let x: u64 = i * 100;
        note(format!("for again {x}")).await;
    }
    x + 1
}

fn shadow_in_for_ref(x: u64, _items: Vec<u64>) -> u64 {
    x + 1
}

// 2. Items declared in a body are visible after an await, and a type declared there can be
//    stored.

#[sayiir::workflow]
async fn items_in_body(x: u64) -> String {
    use std::fmt::Write as _;
    const MAX: u64 = 1_000;
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Local {
        n: u64,
    }
    fn cap(n: u64) -> u64 {
        n.min(MAX)
    }
    let local = Local { n: x };
    let limit = MAX;
    let d = double(x).await;
    let mut out = String::new();
    write!(out, "{}-{}-{}", cap(d), local.n, limit).unwrap();
    out
}

fn items_in_body_ref(x: u64) -> String {
    format!("{}-{x}-1000", (x * 2).min(1000))
}

// 3. The saga idiom: a `match` on an awaited result that rebinds the moved input.

#[sayiir::workflow]
async fn rebind_by_match(order: Order) -> Result<String, String> {
    let order = match validate(order).await {
        Ok(o) => o,
        Err(e) => return Err(e),
    };
    let cents = charge(order.clone()).await?;
    Ok(format!("{} paid {cents}", order.owner))
}

fn rebind_by_match_ref(order: Order) -> Result<String, String> {
    if order.id == 0 {
        return Err("order 0 is not valid".into());
    }
    Ok(format!(
        "{} paid {}",
        order.owner.to_uppercase(),
        order.id * 100
    ))
}

// 4. Deferred initialization, assigned by an await in one branch and plainly in the other.

#[sayiir::workflow]
async fn deferred_init(c: bool) -> u64 {
    let x: u64;
    if c {
        x = double(3).await;
    } else {
        x = 0;
    }
    let mut y;
    y = inc(x).await;
    y += 1;
    y
}

fn deferred_init_ref(c: bool) -> u64 {
    (if c { 6 } else { 0 }) + 2
}

// 5. The value of an `if` whose other branch is `None`.

#[sayiir::workflow]
async fn if_else_none(id: u64) -> String {
    let even = id.is_multiple_of(2);
    let tag = if even { tag_of(id).await } else { None };
    note(format!("tagged {id}")).await;
    tag.unwrap_or_default()
}

fn if_else_none_ref(id: u64) -> String {
    if id.is_multiple_of(2) && !id.is_multiple_of(3) {
        format!("tag-{id}")
    } else {
        String::new()
    }
}

// 1b. Shadowing at every depth: labeled loops, `while`, `if let`, `while let`, arms that rebind.

#[sayiir::workflow]
async fn shadow_everywhere(x: u64, items: Vec<u64>) -> u64 {
    let mut total = 0u64;
    'outer: for i in items.clone() {
        let x = add(x, i).await;
        let mut k = 0u64;
        while k < 3 {
            let x = add(x, k).await;
            k += 1;
            if x > 50 {
                continue 'outer;
            }
            total += x;
        }
        if let Some(x) = Some(x * 2) {
            let x = inc(x).await;
            total += x;
        }
    }
    let mut stack = vec![x, x + 1];
    while let Some(x) = stack.pop() {
        let x = double(x).await;
        total += x;
    }
    total + x
}

fn shadow_everywhere_ref(x: u64, items: Vec<u64>) -> u64 {
    let mut total = 0u64;
    'outer: for i in items {
        let x = x + i;
        for k in 0..3 {
            let x = x + k;
            if x > 50 {
                continue 'outer;
            }
            total += x;
        }
        total += x * 2 + 1;
    }
    total + x * 2 + (x + 1) * 2 + x
}

#[sayiir::workflow]
async fn rebinding_arms(x: u64) -> u64 {
    let y = match x % 3 {
        0 => {
            let x = double(x).await;
            let x = inc(x).await;
            x
        }
        1 => {
            let y = x;
            let x = inc(y).await;
            x + y
        }
        _ => x,
    };
    let r = loop {
        let x = inc(y).await;
        if x > 0 {
            break x + x;
        }
    };
    r + x + y
}

fn rebinding_arms_ref(x: u64) -> u64 {
    let y = match x % 3 {
        0 => x * 2 + 1,
        1 => x + 1 + x,
        _ => x,
    };
    (y + 1) * 2 + x + y
}

// 5b. A construct's value keeps the type the whole body gives it in every transition: in the
//     transition of the `else` branch alone, `200` would be an `i32` (400, not 144).

#[sayiir::task]
async fn small() -> u8 {
    7
}

#[sayiir::workflow]
async fn value_type_across_transitions(c: bool) -> String {
    let v = if c { small().await } else { 200 };
    format!("{}", v << 1)
}

// Found by the differential generator (difftest/): an await followed by `break` in a loop (the
// resumed iteration never runs the loop again, whose counters were not kept), and a `for` loop
// over a task's result whose body does not await.

#[sayiir::task]
async fn items_of(n: u64) -> Vec<u64> {
    vec![n, n + 1]
}

#[sayiir::workflow]
async fn await_then_break(x: u64) -> u64 {
    let mut v = x;
    let mut g = 0u64;
    loop {
        g += 1;
        if g > 3 {
            break;
        }
        if v > 5 {
            v = add(v, 1).await;
            break;
        }
        v += 2;
    }
    v
}

fn await_then_break_ref(x: u64) -> u64 {
    let mut v = x;
    for _ in 0..3 {
        if v > 5 {
            return v + 1;
        }
        v += 2;
    }
    v
}

#[sayiir::workflow]
async fn for_over_task_result(x: u64) -> u64 {
    let mut t = 0u64;
    for i in items_of(x).await {
        t += i;
    }
    t
}

// 7. Carried values typed without annotations.

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Point {
    x: u64,
    y: u64,
}

#[sayiir::workflow]
async fn inferred(id: u64, items: Vec<u64>) -> Vec<String> {
    let label = format!("id-{id}");
    let text = id.to_string();
    let from = String::from("from");
    let mut pushed = Vec::new();
    pushed.push(id);
    let mut queue = VecDeque::new();
    queue.push_back(label.clone());
    let sorted = items.iter().copied().collect::<Vec<u64>>();
    let narrow = id as u32;
    let small = 7u8;
    let converted = u128::from(id);
    let point = Point { x: id, y: 1 };
    let pair = (id, small);
    let flag = id > 3 && !sorted.is_empty();
    let bigger = id.wrapping_mul(3).max(10);
    let checked = id.checked_add(1);
    let count = sorted.len();
    let first = sorted[0];
    let parsed = "41".parse::<u64>().unwrap() + 1;
    double(id).await;
    let mut out = Vec::new();
    out.push(format!(
        "{label} {text} {from} {pushed:?} {queue:?} {sorted:?} {narrow} {small} {converted}"
    ));
    out.push(format!(
        "{point:?} {pair:?} {flag} {bigger} {checked:?} {count} {first} {parsed}"
    ));
    out
}

fn inferred_ref(id: u64, items: Vec<u64>) -> Vec<String> {
    let label = format!("id-{id}");
    vec![
        format!("{label} {id} from [{id}] [{label:?}] {items:?} {id} 7 {id}"),
        format!(
            "{:?} ({id}, 7) {} {} {:?} {} {} 42",
            Point { x: id, y: 1 },
            id > 3 && !items.is_empty(),
            (id * 3).max(10),
            Some(id + 1),
            items.len(),
            items[0]
        ),
    ]
}

#[sayiir::workflow]
async fn collected(ids: Vec<u64>) -> Vec<u64> {
    let mut acc = Vec::new();
    for id in ids {
        let d = double(id).await;
        acc.push(d);
    }
    acc
}

/// More of the documented inference list: turbofish constructors, `T::default()`, `sum`,
/// `Some`, `vec![..]`, tuple fields, string methods, and an empty `Vec` typed by the return type.
#[sayiir::workflow]
async fn inferred_more(id: u64) -> Vec<u64> {
    let mut typed = Vec::<u64>::new();
    typed.push(id);
    let zero = u64::default();
    let total = typed.iter().copied().sum::<u64>();
    let some = Some(id);
    let listed = vec![id, 1];
    let pair = (id, 2u8);
    let loud = "abc".to_owned().to_uppercase();
    let mut out = Vec::new();
    double(id).await;
    out.extend(typed);
    out.push(zero + total + some.unwrap_or(0) + listed[1] + pair.0 + loud.len() as u64);
    out
}

macro_rules! engine_with_all {
    ($b:expr) => {
        $b.register::<shadow_in_branch>()
            .register::<shadow_in_block_and_arm>()
            .register::<shadow_in_for>()
            .register::<items_in_body>()
            .register::<rebind_by_match>()
            .register::<deferred_init>()
            .register::<if_else_none>()
            .register::<inferred>()
            .register::<collected>()
            .register::<inferred_more>()
            .register::<shadow_everywhere>()
            .register::<rebinding_arms>()
            .register::<value_type_across_transitions>()
            .register::<await_then_break>()
            .register::<for_over_task_result>()
    };
}

/// Runs every case through `run` (one way of running a workflow) and compares with plain Rust.
macro_rules! check_all {
    ($run:ident, $tag:expr) => {{
        for x in [3u64, 20, 21] {
            assert_eq!($run!(shadow_in_branch, x), shadow_in_branch_ref(x), "{x}");
            assert_eq!(
                $run!(shadow_in_block_and_arm, x),
                shadow_in_block_and_arm_ref(x),
                "{x}"
            );
            assert_eq!(
                $run!(shadow_in_for, (x, vec![1, 2, 3])),
                shadow_in_for_ref(x, vec![1, 2, 3])
            );
            assert_eq!($run!(items_in_body, x), items_in_body_ref(x));
            assert_eq!($run!(if_else_none, x), if_else_none_ref(x));
            assert_eq!(
                $run!(inferred, (x, vec![5, 4])),
                inferred_ref(x, vec![5, 4])
            );
        }
        for x in [0u64, 1, 2, 20, 49] {
            assert_eq!(
                $run!(shadow_everywhere, (x, vec![1, 5, 30])),
                shadow_everywhere_ref(x, vec![1, 5, 30]),
                "{x}"
            );
            assert_eq!($run!(rebinding_arms, x), rebinding_arms_ref(x), "{x}");
        }
        for x in [0u64, 1, 6, 7] {
            assert_eq!($run!(await_then_break, x), await_then_break_ref(x), "{x}");
            assert_eq!($run!(for_over_task_result, x), 2 * x + 1);
        }
        assert_eq!($run!(value_type_across_transitions, false), "144");
        assert_eq!($run!(value_type_across_transitions, true), "14");
        assert_eq!($run!(if_else_none, 4), "tag-4");
        for (id, owner) in [(0, "ann"), (7, "bo")] {
            let o = Order {
                id,
                owner: owner.into(),
            };
            assert_eq!($run!(rebind_by_match, o.clone()), rebind_by_match_ref(o));
        }
        assert_eq!($run!(deferred_init, true), deferred_init_ref(true));
        assert_eq!($run!(deferred_init, false), deferred_init_ref(false));
        assert_eq!($run!(collected, vec![1, 2, 3]), vec![2, 4, 6]);
        assert_eq!($run!(inferred_more, 5), vec![5, 5 + 5 + 1 + 5 + 3]);
        let _ = $tag;
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_cases_run_directly() {
    macro_rules! direct {
        ($w:ident, $input:expr) => {{
            let input = $input;
            direct_call!($w, input)
        }};
    }
    macro_rules! direct_call {
        (shadow_in_for, $i:expr) => {{
            let (a, b) = $i;
            shadow_in_for(a, b).await
        }};
        (shadow_everywhere, $i:expr) => {{
            let (a, b) = $i;
            shadow_everywhere(a, b).await
        }};
        (inferred, $i:expr) => {{
            let (a, b) = $i;
            inferred(a, b).await
        }};
        ($w:ident, $i:expr) => {
            $w($i).await
        };
    }
    check_all!(direct, "direct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_cases_on_the_test_engine() {
    let t = engine_with_all!(TestEngine::builder()).build().unwrap();
    let n = std::sync::atomic::AtomicU64::new(0);
    macro_rules! on_test_engine {
        ($w:ident, $input:expr) => {{
            let id = format!("t-{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            t.start::<$w>(&id, $input).await.unwrap();
            t.run_until_done::<$w>(&id).await.unwrap()
        }};
    }
    check_all!(on_test_engine, "test-engine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_cases_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("rules.db")).unwrap();
    let engine = engine_with_all!(Engine::builder(store)).build().unwrap();
    let worker = engine.spawn_worker();
    let n = std::sync::atomic::AtomicU64::new(0);
    macro_rules! on_sqlite {
        ($w:ident, $input:expr) => {{
            let id = format!("s-{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            crate::common::run_to_end::<$w>(&engine, &id, $input).await
        }};
    }
    check_all!(on_sqlite, "sqlite");
    worker.shutdown().await.unwrap();
    // The branch's own `x` was noted with its own value, never the outer one.
    let calls = CALLS.lock().unwrap().clone();
    assert!(calls.contains(&"branch 40".to_string()), "{calls:?}");
    assert!(calls.contains(&"for 24".to_string()) || calls.contains(&"for 21".to_string()));
}
