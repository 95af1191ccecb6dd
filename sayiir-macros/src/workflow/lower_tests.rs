use super::*;
use syn::parse_quote;

fn lowered(f: syn::ItemFn) -> (Lowered, Result<(), String>) {
    let (_, _, l, r) =
        super::super::fixtures::lowered(f, &super::super::fixtures::options(None, 1));
    (l, r)
}

fn field_names(s: &StateDef) -> Vec<String> {
    s.fields.iter().map(|f| f.ident.to_string()).collect()
}

#[test]
fn carries_exactly_the_live_variables() {
    let (l, r) = lowered(parse_quote! {
        async fn checkout(order: Order, note: String) -> Result<Receipt, E> {
            let order = validate(order).await?;
            let receipt = charge(order.clone()).await?;
            let label: String = format!("{}", order.id);
            ship(receipt.clone(), label).await?;
            println!("{note}");
            Ok(receipt)
        }
    });
    r.unwrap();
    assert_eq!(l.states.len(), 3);
    assert_eq!(field_names(&l.states[0]), ["note"]);
    assert_eq!(field_names(&l.states[1]), ["note", "order"]);
    assert_eq!(field_names(&l.states[2]), ["note", "receipt"]);
    assert!(matches!(l.states[1].fields[1].ty.base, Base::Point(0)));
    assert_eq!(l.states[1].fields[1].ty.proj, [Proj::Ok]);
    assert_eq!(l.callees.len(), 3);
}

#[test]
fn branches_carry_what_their_continuation_reads() {
    let (l, r) = lowered(parse_quote! {
        async fn w(n: u64, tag: String) -> u64 {
            let k: u64 = 3;
            let v = if n > 1 { a(n).await } else { b(k).await };
            let out = c(v).await;
            out + k
        }
    });
    r.unwrap();
    // In either branch, `k` is read after the join point; `tag` is never read.
    assert_eq!(field_names(&l.states[0]), ["k"]);
    assert_eq!(field_names(&l.states[1]), ["k"]);
    assert_eq!(field_names(&l.states[2]), ["k"]);
}

#[test]
fn match_arm_bindings_are_typed_from_the_scrutinee() {
    let (l, r) = lowered(parse_quote! {
        async fn saga(n: u64) -> Result<u64, E> {
            match charge(n).await {
                Ok(receipt) => { ship(n).await; Ok(receipt) }
                Err(e) => { refund(n).await; Err(e) }
            }
        }
    });
    r.unwrap();
    assert_eq!(field_names(&l.states[1]), ["receipt"]);
    assert_eq!(l.states[1].fields[0].ty.proj, [Proj::Ok]);
    assert_eq!(field_names(&l.states[2]), ["e"]);
    assert_eq!(l.states[2].fields[0].ty.proj, [Proj::Err]);
}

#[test]
fn loops_carry_their_position_and_counter() {
    let (l, r) = lowered(parse_quote! {
        async fn w(items: Vec<u64>) -> u64 {
            let mut total: u64 = 0;
            for x in items {
                total += step(x).await;
            }
            total
        }
    });
    r.unwrap();
    assert_eq!(
        field_names(&l.states[0]),
        ["total", "__sayiir_count_0", "__sayiir_iter_0"]
    );
    assert!(matches!(&l.loop_items[0], Some(t) if t.proj == [Proj::Item]));
}

#[test]
fn for_over_an_unknown_collection_is_an_error() {
    let (_, r) = lowered(parse_quote! {
        async fn w(n: u64) { for i in 0..n { step(i).await; } }
    });
    assert!(
        r.unwrap_err()
            .contains("the items of a `for` loop that awaits")
    );
}

#[test]
fn unknown_and_borrowed_carried_values_are_errors() {
    let (_, r) = lowered(parse_quote! {
        async fn w(n: u32) { let x = plus_one(n); step(n).await; use_it(x); }
    });
    assert!(r.unwrap_err().contains("cannot tell the type of `x`"));
    let (_, r) = lowered(parse_quote! {
        async fn w(n: String) { let x: &str = &n; step(1).await; use_it(x); }
    });
    assert!(r.unwrap_err().contains("a borrowed value"));
    let (_, r) = lowered(parse_quote! {
        async fn w(n: u64) { let x = n.clone(); step(1).await; use_it(x); }
    });
    r.unwrap();
}

#[test]
fn recursion_is_an_error() {
    let (_, r) = lowered(parse_quote! {
        async fn w(n: u64) -> u64 { w(n).await }
    });
    assert!(r.unwrap_err().contains("cannot await itself"));
}

#[test]
fn a_branch_that_returns_does_not_keep_what_follows_alive() {
    let (l, r) = lowered(parse_quote! {
        async fn saga(order: String) -> Result<u64, E> {
            let hold: String = reserve(order.clone()).await?;
            let amount = match charge(order.clone()).await {
                Ok(amount) => amount,
                Err(e) => {
                    release(hold).await?;
                    return Err(e);
                }
            };
            ship(order, hold.clone()).await?;
            Ok(amount)
        }
    });
    r.unwrap();
    // After `release`, only `e` is needed: `hold` and `order` were for the code the `return` skips.
    assert_eq!(field_names(&l.states[2]), ["e"]);
    // `amount` was typed from the `Ok(amount)` arm and is kept across `ship`.
    assert_eq!(field_names(&l.states[3]), ["amount"]);
}

#[test]
fn continue_skips_the_rest_of_the_iteration_but_not_the_loop() {
    let (l, r) = lowered(parse_quote! {
        async fn w(items: Vec<u64>) -> u64 {
            let mut total: u64 = 0;
            let tail_only: u64 = 5;
            for x in items {
                if x == 0 {
                    skip(x).await;
                    continue;
                }
                total += add(x).await;
            }
            total + tail_only
        }
    });
    r.unwrap();
    // After `skip`, the loop goes on: `total`, the position and `tail_only` are still needed.
    assert_eq!(
        field_names(&l.states[0]),
        ["total", "tail_only", "__sayiir_count_0", "__sayiir_iter_0"]
    );
}

#[test]
fn a_branch_binding_that_shadows_what_follows_is_stored_under_its_own_name() {
    let (l, r) = lowered(parse_quote! {
        async fn w(v: Option<u64>) -> u64 {
            let x: u64 = 1;
            match v { Some(x) => { step(x).await; step(x).await; } None => {} }
            x
        }
    });
    r.unwrap();
    // The arm's `x` is renamed (hygiene.rs): both are kept, the outer one for after the match.
    assert_eq!(field_names(&l.states[0]), ["x", "x_1"]);
    assert_eq!(field_names(&l.states[1]), ["x"]);
    // Rebinding after the construct reads the new binding: nothing to rename.
    let (l, r) = lowered(parse_quote! {
        async fn w(c: bool) -> u64 {
            if c { let y: u64 = 2; step(y).await; step(y).await; }
            let y: u64 = 3;
            y
        }
    });
    r.unwrap();
    assert_eq!(field_names(&l.states[0]), ["y"]);
}

#[test]
fn the_shared_context_is_never_carried() {
    let (l, r) = lowered(parse_quote! {
        async fn w(ctx: &mut sayiir::WorkflowContext, n: u64) -> u64 {
            ctx.set("a", &n).unwrap();
            let x = step(n).await;
            ctx.set("b", &x).unwrap();
            let y = sayiir::signal::<u64>("more").timeout(Duration::from_secs(1)).await;
            ctx.set("c", &y).unwrap();
            x
        }
    });
    r.unwrap();
    let names: Vec<String> = l.start.iter().map(|f| f.ident.to_string()).collect();
    assert_eq!(names, ["n"]);
    assert_eq!(field_names(&l.states[0]), Vec::<String>::new());
    assert_eq!(field_names(&l.states[1]), ["x"]);
    // `signal` is a callee like any other; `continue_as_new` is not.
    assert_eq!(l.callees.len(), 2);
    let (l, r) = lowered(parse_quote! {
        async fn w(n: u64) -> u64 {
            let k: u64 = 2;
            if n > 10 { return n; }
            return sayiir::continue_as_new(n + k).await;
        }
    });
    r.unwrap();
    assert!(l.callees.is_empty() && l.states[0].callees.is_empty());
}

#[test]
fn the_shared_context_is_not_passed_to_calls() {
    let (_, r) = lowered(parse_quote! {
        async fn w(ctx: &mut WorkflowContext, n: u64) -> u64 { child(ctx, n).await }
    });
    assert!(
        r.unwrap_err()
            .contains("the shared context is not passed to calls")
    );
}

#[test]
fn a_plain_match_is_typed_from_its_arms() {
    let (l, r) = lowered(parse_quote! {
        async fn w(n: u64) -> Result<u64, E> {
            let decision = sayiir::signal::<Decision>("d").timeout(Duration::from_secs(1)).await;
            let decision = match decision {
                Err(_) => return Err(E::NoDecision),
                Ok(d) => { d }
            };
            sayiir::sleep(Duration::from_secs(1)).await;
            Ok(decision.n + n)
        }
    });
    r.unwrap();
    assert_eq!(field_names(&l.states[1]), ["n", "decision"]);
    let ty = &l.states[1].fields[1].ty;
    assert!(matches!(ty.base, Base::Point(0)));
    assert_eq!(ty.proj, [Proj::Ok]);
}
