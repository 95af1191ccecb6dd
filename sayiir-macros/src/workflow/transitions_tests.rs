use super::*;
use syn::parse_quote;

/// `(next states, ends)` of each state, start first.
fn flow(f: syn::ItemFn) -> Vec<(Vec<usize>, bool)> {
    let (_, body, _, r) =
        super::super::fixtures::lowered(f, &super::super::fixtures::options(None, 1));
    r.unwrap();
    transitions(&body)
        .into_iter()
        .map(|n| (n.states.into_iter().collect(), n.ends))
        .collect()
}

#[test]
fn a_straight_line_goes_state_to_state() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            let a = one(n).await;
            let b = two(a).await;
            b + 1
        }
    });
    assert_eq!(f, [(vec![1], false), (vec![2], false), (vec![], true)]);
}

#[test]
fn branches_go_side_by_side_and_join() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            let v = if n > 1 { a(n).await } else { b(n).await };
            c(v).await
        }
    });
    // start -> a | b; a -> c; b -> c; c ends.
    assert_eq!(
        f,
        [
            (vec![1, 2], false),
            (vec![3], false),
            (vec![3], false),
            (vec![], true)
        ]
    );
}

#[test]
fn an_if_without_else_can_skip_its_branch() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            if n > 1 {
                a(n).await;
            }
            n
        }
    });
    assert_eq!(f, [(vec![1], true), (vec![], true)]);
}

#[test]
fn loops_go_back_and_leave_by_break() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            let mut i: u64 = 0;
            while i < n {
                i = step(i).await;
            }
            done(i).await
        }
    });
    // start -> step | done; step -> step | done; done ends.
    assert_eq!(
        f,
        [(vec![1, 2], false), (vec![1, 2], false), (vec![], true)]
    );
}

#[test]
fn early_returns_and_question_marks_end_the_workflow() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> Result<u64, E> {
            let a = one(n).await?;
            if a > 3 {
                return Ok(a);
            }
            two(a).await
        }
    });
    assert_eq!(f, [(vec![1], false), (vec![2], true), (vec![], true)]);
}

#[test]
fn labeled_breaks_and_continues_reach_their_loop() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            let mut k: u64 = 0;
            'outer: loop {
                k = a(k).await;
                loop {
                    k = b(k).await;
                    if k > n { break 'outer; }
                    if k == 3 { continue 'outer; }
                    if k == 4 { break; }
                }
                c(k).await;
            }
            k
        }
    });
    // a -> b; b -> b (inner loop) | a (continue 'outer) | c (break) | end (break 'outer);
    // c -> a.
    assert_eq!(
        f,
        [
            (vec![1], false),
            (vec![2], false),
            (vec![1, 2, 3], true),
            (vec![1], false)
        ]
    );
}

#[test]
fn matches_and_joins_and_continue_as_new() {
    let f = flow(parse_quote! {
        async fn w(n: u64) -> u64 {
            let (x, y) = sayiir::join!(a(n), b(n)).await;
            match x {
                0 => continue_as_new(y).await,
                _ => c(y).await,
            }
        }
    });
    // start -> join; join -> continue | c; continue -> start (a new run); c ends.
    assert_eq!(
        f,
        [
            (vec![1], false),
            (vec![2, 3], false),
            (vec![0], false),
            (vec![], true)
        ]
    );
}
