use super::*;

fn bytes(src: &str, version: u32) -> Vec<u8> {
    let f: syn::ItemFn = syn::parse_str(src).expect("fixture parses");
    let opts = super::super::fixtures::options(Some("w"), version);
    let (wf, body, l, r) = super::super::fixtures::lowered(f, &opts);
    assert!(r.is_ok(), "{src}: {r:?}");
    definition_bytes(&wf, &body, &l)
}

const BASE: &str = "async fn a(n: u64) -> u64 { let k: u32 = 7; let x: u64 = one(n).await; let y = n + 1; two(x, y + k as u64).await }";

#[test]
fn formatting_comments_and_plain_code_are_not_hashed() {
    let other = "async fn b( n : u64 )->u64{ // c\n let k : u32 = 9 ; let x : u64 = one( n ).await ; let y = n + 2 ; two( x , y * k as u64 ).await }";
    assert_eq!(bytes(BASE, 1), bytes(other, 1));
}

#[test]
fn structure_types_and_version_are_hashed() {
    let base = bytes(BASE, 1);
    assert_ne!(base, bytes(BASE, 2));
    // `k` is kept across `one(n).await`: its type is part of the stored state.
    assert_ne!(base, bytes(&BASE.replace("k: u32", "k: u64"), 1));
    // `x` is produced and consumed in one transition: never stored, not hashed.
    assert_eq!(base, bytes(&BASE.replace("x: u64", "x: u32"), 1));
    assert_ne!(base, bytes(&BASE.replace("one(n)", "two(n)"), 1));
    assert_ne!(base, bytes(&BASE.replace("n: u64)", "n: u32)"), 1));
}

const BRANCHY: &str = "async fn a(n: u64) -> u64 {
    let r: u64 = match one(n).await { Some(v) if v > 1 => two(v).await, Some(v) => v, None => 0 };
    for i in items(r).await { three(i).await; }
    r
}";

#[test]
fn control_flow_structure_is_hashed() {
    let base = bytes(BRANCHY, 1);
    // The guard's expression is plain code.
    assert_eq!(base, bytes(&BRANCHY.replace("v > 1", "v > 2"), 1));
    // Adding an arm, moving a call to another arm, changing a loop body: all differ.
    assert_ne!(
        base,
        bytes(&BRANCHY.replace("None => 0", "None => 0, _ => 1"), 1)
    );
    assert_ne!(
        base,
        bytes(
            &BRANCHY.replace(
                "=> two(v).await, Some(v) => v,",
                "=> v, Some(v) => two(v).await,"
            ),
            1
        )
    );
    assert_ne!(
        base,
        bytes(
            &BRANCHY.replace("three(i).await;", "three(i).await; three(i).await;"),
            1
        )
    );
    assert_ne!(
        base,
        bytes(
            &BRANCHY.replace(
                "for i in items(r).await { three(i).await; }",
                "let _x = items(r).await;"
            ),
            1
        )
    );
}

const WAITS: &str = "async fn a(ctx: &mut sayiir::WorkflowContext, n: u64) -> u64 {
    let v = sayiir::signal::<u64>(\"go\").timeout(Duration::from_secs(5)).await;
    let (x, y) = sayiir::join!(signal::<u64>(\"a\"), signal::<u64>(\"b\")).await;
    return sayiir::continue_as_new(n + x + y).await;
}";

#[test]
fn timeouts_context_and_continue_are_marked() {
    let base = bytes(WAITS, 1);
    // The duration and the context's name and path are not hashed.
    assert_eq!(
        base,
        bytes(&WAITS.replace("from_secs(5)", "from_secs(9)"), 1)
    );
    assert_eq!(
        base,
        bytes(
            &WAITS.replace(
                "ctx: &mut sayiir::WorkflowContext",
                "c: &mut WorkflowContext"
            ),
            1
        )
    );
    // Whether there is a timeout, where, and whether there is a context are.
    assert_ne!(
        base,
        bytes(&WAITS.replace(".timeout(Duration::from_secs(5))", ""), 1)
    );
    assert_ne!(
        base,
        bytes(&WAITS.replace("(\"b\")", "(\"b\").timeout(d)"), 1)
    );
    assert_ne!(
        bytes(&WAITS.replace("(\"b\")", "(\"b\").timeout(d)"), 1),
        bytes(&WAITS.replace("(\"a\")", "(\"a\").timeout(d)"), 1)
    );
    assert_ne!(
        base,
        bytes(&WAITS.replace("ctx: &mut sayiir::WorkflowContext, ", ""), 1)
    );
    // `continue_as_new` is its own kind of point.
    assert_ne!(
        base,
        bytes(&WAITS.replace("sayiir::continue_as_new(", "three("), 1)
    );
}

#[test]
fn signal_names_and_state_labels_are_hashed() {
    let base = bytes(WAITS, 1);
    // A renamed signal is another state, also inside a join.
    assert_ne!(base, bytes(&WAITS.replace("(\"go\")", "(\"went\")"), 1));
    assert_ne!(base, bytes(&WAITS.replace("(\"b\")", "(\"c\")"), 1));
    // A label renames the state.
    let labelled = BASE.replace(
        "let x: u64 = one(n)",
        "#[sayiir::state(\"first\")] let x: u64 = one(n)",
    );
    assert_ne!(bytes(BASE, 1), bytes(&labelled, 1));
    assert_eq!(bytes(&labelled, 1), bytes(&labelled.replace("  ", " "), 1));
}

fn ids(src: &str) -> Result<Vec<String>, String> {
    let f: syn::ItemFn = syn::parse_str(src).expect("fixture parses");
    let opts = super::super::fixtures::options(Some("w"), 1);
    let (_, body, _, r) = super::super::fixtures::lowered(f, &opts);
    r.map(|()| body.points.iter().map(|p| p.id.clone()).collect())
}

#[test]
fn states_are_named_after_what_they_await_and_its_occurrence() {
    let got = ids("async fn a(n: u64) -> u64 {
            let x = one(n).await;
            sayiir::sleep(d).await;
            let y = one(x).await;
            let (p, q) = sayiir::join!(one(x), two(y)).await;
            let v: Vec<u64> = sayiir::join_all(items.into_iter().map(|i| two(i))).await;
            let s: u64 = sayiir::signal::<u64>(\"go\").await;
            #[sayiir::state(\"final\")]
            let z = one(p + q + s).await;
            two(z).await
        }")
    .unwrap();
    assert_eq!(
        got,
        [
            "one#1",
            "sleep#1",
            "one#2",
            "join(one,two)#1",
            "join_all(two)#1",
            "signal:go#1",
            "final",
            "two#1"
        ]
    );
    // Inserting an await of another callee renames nothing else.
    let more = ids(
        "async fn a(n: u64) -> u64 { let w = three(n).await; let x = one(w).await; let y = one(x).await; two(y).await }",
    )
    .unwrap();
    assert_eq!(more, ["three#1", "one#1", "one#2", "two#1"]);
}

#[test]
fn bad_labels_are_reported() {
    let e = ids("async fn a(n: u64) -> u64 { #[sayiir::state(\"x\")] let a = one(n).await; #[sayiir::state(\"x\")] two(a).await }").unwrap_err();
    assert!(e.contains("state label `x` is used twice"), "{e}");
    let e =
        ids("async fn a(n: u64) -> u64 { #[sayiir::state(\"start\")] one(n).await }").unwrap_err();
    assert!(e.contains("`start` is the id"), "{e}");
    let e =
        ids("async fn a(n: u64) -> u64 { #[sayiir::state(\"a#1\")] one(n).await }").unwrap_err();
    assert!(e.contains("cannot contain `#`"), "{e}");
    let e =
        ids("async fn a(n: u64) -> u64 { #[sayiir::state(\"x\")] let k = 1; one(n + k).await }")
            .unwrap_err();
    assert!(e.contains("names the state of an await"), "{e}");
    let e = ids("async fn a(n: u64) -> u64 { #[sayiir::state(x)] one(n).await }").unwrap_err();
    assert!(
        e.contains("with the state's stable name as a string"),
        "{e}"
    );
}
