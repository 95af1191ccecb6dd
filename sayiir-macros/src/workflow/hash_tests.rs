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

const WAITS: &str = "async fn a(ctx: &mut sayiir::Context, n: u64) -> u64 {
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
            &WAITS.replace("ctx: &mut sayiir::Context", "c: &mut Context"),
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
        bytes(&WAITS.replace("ctx: &mut sayiir::Context, ", ""), 1)
    );
    // `continue_as_new` is its own kind of point.
    assert_ne!(
        base,
        bytes(&WAITS.replace("sayiir::continue_as_new(", "three("), 1)
    );
}
