use quote::ToTokens;
use syn::parse_quote;

use super::rename_leaking;

fn renamed(mut body: syn::Block) -> String {
    rename_leaking(&mut body, &[]);
    body.to_token_stream().to_string()
}

fn same(a: syn::Block) -> String {
    a.to_token_stream().to_string()
}

#[test]
fn a_branch_binding_read_after_the_branch_is_renamed_with_its_uses() {
    let got = renamed(parse_quote!({
        if c {
            let x = double(x).await;
            log(format!("{x} {y}", y = x)).await;
        }
        inc(x).await
    }));
    let want = same(parse_quote!({
        if c {
            let x_1 = double(x).await;
            log(format!("{x_1} {y}", y = x_1)).await;
        }
        inc(x).await
    }));
    assert_eq!(got, want);
}

#[test]
fn bindings_that_nothing_after_reads_keep_their_names() {
    let body: syn::Block = parse_quote!({
        if c {
            let y = double(x).await;
            log(y).await;
        }
        let y = 3;
        inc(y).await
    });
    assert_eq!(renamed(body.clone()), same(body));
}

#[test]
fn loop_bodies_rename_what_the_next_iteration_reads() {
    let got = renamed(parse_quote!({
        for i in items {
            let x = add(x, i).await;
            log(x).await;
        }
        x
    }));
    let want = same(parse_quote!({
        for i in items {
            let x_1 = add(x, i).await;
            log(x_1).await;
        }
        x
    }));
    assert_eq!(got, want);
}

#[test]
fn patterns_inner_scopes_and_shorthands() {
    let got = renamed(parse_quote!({
        match t(v).await {
            Some(P { v }) => {
                let w = S { v };
                let f = |v: u64| v + 1;
                log(f(v), {
                    let v = 0;
                    v
                })
                .await;
            }
            None => {}
        }
        v
    }));
    let want = same(parse_quote!({
        match t(v).await {
            Some(P { v: v_1 }) => {
                let w = S { v: v_1 };
                let f = |v: u64| v + 1;
                log(f(v_1), {
                    let v = 0;
                    v
                })
                .await;
            }
            None => {}
        }
        v
    }));
    assert_eq!(got, want);
}

#[test]
fn fresh_names_avoid_names_in_use() {
    let got = renamed(parse_quote!({
        let x_1 = 5;
        {
            let x = t().await;
            u(x).await;
        }
        x + x_1
    }));
    assert!(got.contains("let x_2 = t () . await"), "{got}");
    assert!(got.contains("u (x_2)"), "{got}");
}

#[test]
fn a_rebinding_ends_the_rename() {
    let got = renamed(parse_quote!({
        if c {
            let x = t(x).await;
            let x = x + 1;
            u(x).await;
        }
        x
    }));
    // The second `x` is itself a branch binding of a name read after the branch: renamed too.
    let want = same(parse_quote!({
        if c {
            let x_1 = t(x).await;
            let x_2 = x_1 + 1;
            u(x_2).await;
        }
        x
    }));
    assert_eq!(got, want);
}

#[test]
fn a_binding_the_statement_itself_makes_again_is_not_renamed() {
    // `Ok(amount) => amount` feeds `let amount`: the code after reads that binding.
    let body: syn::Block = parse_quote!({
        let amount = match charge(o).await {
            Ok(amount) => amount,
            Err(e) => {
                release(h).await?;
                return Err(e);
            }
        };
        refund(amount).await
    });
    assert_eq!(renamed(body.clone()), same(body));
}

#[test]
fn macro_arguments_are_renamed_as_expressions() {
    let got = renamed(parse_quote!({
        if c {
            let x = t().await;
            log(
                format!("{x} {}", P { x }),
                vec![P { x: x }; 2],
                other!(x, x::y, a.x),
            )
            .await;
        }
        x
    }));
    let want = same(parse_quote!({
        if c {
            let x_1 = t().await;
            log(
                format!("{x_1} {}", P { x: x_1 }),
                vec![P { x: x_1 }; 2],
                other!(x_1, x::y, a.x),
            )
            .await;
        }
        x
    }));
    assert_eq!(got, want);
}
