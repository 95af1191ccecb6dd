use super::*;
use syn::parse_quote;

fn run(b: syn::Block) -> (Body, Result<(), String>) {
    let mut d = Diagnostics::new();
    let body = analyze(&b, &mut d);
    let r = d.finish().map_err(|e| {
        e.into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    });
    (body, r)
}

fn kinds(b: &Block) -> Vec<&'static str> {
    b.nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::Plain { .. } => "plain",
            NodeKind::Await { .. } => "await",
            NodeKind::If { .. } => "if",
            NodeKind::Match { .. } => "match",
            NodeKind::Loop { .. } => "loop",
            NodeKind::Scope { .. } => "scope",
            NodeKind::ForItem { .. } => "for-item",
            NodeKind::LoopCount { .. } => "count",
        })
        .collect()
}

#[test]
fn finds_points_in_order_and_binds_postfix() {
    let (body, r) = run(parse_quote!({
        let a = first(x).await?;
        let b: u32 = second(a.clone()).await.unwrap_or(0);
        log(&a);
        third(b).await;
        return fourth().await;
    }));
    r.unwrap();
    assert_eq!(body.points.len(), 4);
    assert_eq!(
        kinds(&body.block),
        ["await", "await", "plain", "await", "await"]
    );
    assert_eq!(
        body.points[0].binding.as_ref().unwrap().postfix,
        Postfix::Try
    );
    assert_eq!(
        body.points[1].binding.as_ref().unwrap().postfix,
        Postfix::Other
    );
    let NodeKind::Await { stmt, .. } = &body.block.nodes[0].kind else {
        panic!()
    };
    assert_eq!(
        stmt.to_token_stream().to_string(),
        "let a = __sayiir_resumed ? ;"
    );
}

#[test]
fn constructs_with_awaits_become_nodes_and_others_stay_plain() {
    let (body, r) = run(parse_quote!({
        if c {
            a().await;
        } else {
            b();
        }
        if d {
            plain();
        }
        let v = match x {
            Some(y) => c(y).await,
            None => 0,
        };
        for i in items {
            c(i).await;
        }
        while go {
            c(1).await;
        }
        loop {
            c(1).await;
            break;
        }
        {
            c(2).await;
        }
        let w = match p().await {
            Ok(v) => v,
            Err(e) => {
                undo(e).await;
                0
            }
        };
    }));
    r.unwrap();
    assert_eq!(
        kinds(&body.block),
        [
            "if", "plain", "match", "loop", "loop", "loop", "scope", "await", "match"
        ]
    );
    assert_eq!(body.loops.len(), 3);
    let NodeKind::Loop { body: for_body, .. } = &body.block.nodes[3].kind else {
        panic!()
    };
    assert_eq!(kinds(for_body), ["for-item", "count", "await"]);
    let NodeKind::Loop {
        body: while_body, ..
    } = &body.block.nodes[4].kind
    else {
        panic!()
    };
    assert_eq!(kinds(while_body), ["plain", "count", "await"]);
    let NodeKind::Match {
        scrutinee,
        consumer: Consumer::Let { .. },
        ..
    } = &body.block.nodes[8].kind
    else {
        panic!()
    };
    assert!(
        scrutinee
            .to_token_stream()
            .to_string()
            .starts_with("__sayiir_scrutinee_")
    );
}

#[test]
fn joins_and_join_all() {
    let (body, r) = run(parse_quote!({
        let (a, b) = sayiir::join!(one(1), two(2)).await;
        let r = try_join!(one(1), two(2), three(3)).await?;
        let all = sayiir::join_all(items.into_iter().map(|i| one(i))).await;
    }));
    r.unwrap();
    assert!(
        matches!(&body.points[0].what, Suspension::Join { calls, try_: false, .. } if calls.len() == 2)
    );
    assert!(
        matches!(&body.points[1].what, Suspension::Join { calls, try_: true, .. } if calls.len() == 3)
    );
    assert!(matches!(
        &body.points[2].what,
        Suspension::JoinAll { try_: false, .. }
    ));
}

#[test]
fn rejects_what_cannot_be_checkpointed() {
    let cases: Vec<(syn::Block, &str)> = vec![
        (
            parse_quote!({
                let x = f(a().await);
            }),
            "must start its statement",
        ),
        (
            parse_quote!({
                items.iter().for_each(|i| {
                    t(i).await;
                });
            }),
            "inside a closure",
        ),
        (
            parse_quote!({
                let f = async { t().await };
            }),
            "`async` block",
        ),
        (
            parse_quote!({
                client.get(url).await;
            }),
            "a method call cannot be awaited",
        ),
        (
            parse_quote!({
                fut.await;
            }),
            "a future held in a variable",
        ),
        (
            parse_quote!({
                println!("{}", t().await);
            }),
            "macro invocation",
        ),
        (
            parse_quote!({
                t::<u8>().await;
            }),
            "not generic",
        ),
        (
            parse_quote!({
                a().await.await;
            }),
            "must start its statement",
        ),
        (
            parse_quote!({
                while c {
                    t().await;
                    break 5;
                }
            }),
            "`break` with a value only works in `loop`",
        ),
        (
            parse_quote!({
                join!(a(), return 1).await;
            }),
            "`return` cannot be a branch",
        ),
        (
            parse_quote!({
                join!(a()).await;
            }),
            "at least 2 calls",
        ),
        (
            parse_quote!({
                join_all(items).await;
            }),
            "sayiir::join_all(items.into_iter().map",
        ),
        (
            parse_quote!({
                'b: {
                    t().await;
                }
            }),
            "a labeled block cannot contain",
        ),
        (
            parse_quote!({ if x > t().await {} }),
            "must start its statement",
        ),
    ];
    for (block, expected) in cases {
        let text = block.to_token_stream().to_string();
        let (_, r) = run(block);
        let err = r.expect_err(&text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn loop_limits_are_read_from_attributes() {
    let (body, r) = run(parse_quote!({
        #[sayiir::max_iterations(5)]
        loop {
            t().await;
        }
    }));
    r.unwrap();
    assert_eq!(body.loops[0].limit, Some(5));
    let (_, r) = run(parse_quote!({
        #[sayiir::max_iterations(0)]
        loop {
            t().await;
        }
    }));
    assert!(r.unwrap_err().contains("positive integer"));
}

#[test]
fn timeouts_and_continue_as_new() {
    let (body, r) = run(parse_quote!({
        let a = sayiir::signal::<Approval>("approve").await;
        let b = sayiir::signal::<Approval>("approve")
            .timeout(Duration::from_secs(60))
            .await?;
        let (c, d) = join!(signal::<u8>("x").timeout(t), one(1)).await;
        let e = join_all(names.into_iter().map(|n| signal::<u8>(n).timeout(t))).await;
        return sayiir::continue_as_new(next).await;
    }));
    r.unwrap();
    let Suspension::Call(a) = &body.points[0].what else {
        panic!()
    };
    assert!(a.timeout.is_none());
    assert_eq!(
        a.first_literal().map(|s| s.value()).as_deref(),
        Some("approve")
    );
    let Suspension::Call(b) = &body.points[1].what else {
        panic!()
    };
    assert_eq!(
        b.timeout.to_token_stream().to_string(),
        "Duration :: from_secs (60)"
    );
    assert_eq!(
        body.points[1].binding.as_ref().unwrap().postfix,
        Postfix::Try
    );
    let Suspension::Join { calls, .. } = &body.points[2].what else {
        panic!()
    };
    assert!(calls[0].timeout.is_some() && calls[1].timeout.is_none());
    let Suspension::JoinAll { call, .. } = &body.points[3].what else {
        panic!()
    };
    assert!(call.timeout.is_some() && call.first_literal().is_none());
    let Suspension::Continue(c) = &body.points[4].what else {
        panic!()
    };
    assert_eq!(c.args.len(), 1);
    assert!(body.points[4].what.calls().is_empty());
    // Imported under its own name.
    let (body, r) = run(parse_quote!({ continue_as_new((a, b)).await }));
    r.unwrap();
    assert!(matches!(body.points[0].what, Suspension::Continue(_)));
}

#[test]
fn rejects_misplaced_timeouts_and_continue_as_new() {
    let cases: Vec<(syn::Block, &str)> = vec![
        (
            parse_quote!({
                join!(a(), b()).timeout(d).await;
            }),
            "joins have no `.timeout`",
        ),
        (
            parse_quote!({
                join_all(xs.into_iter().map(|x| a(x))).timeout(d).await;
            }),
            "joins have no `.timeout`",
        ),
        (
            parse_quote!({
                signal::<u8>("x").timeout(a, b).await;
            }),
            "takes one `Duration`",
        ),
        (
            parse_quote!({
                continue_as_new(n).timeout(d).await;
            }),
            "`continue_as_new` has no `.timeout(..)`",
        ),
        (
            parse_quote!({
                sayiir::continue_as_new().await;
            }),
            "one argument (0 given)",
        ),
        (
            parse_quote!({
                continue_as_new(a, b).await;
            }),
            "one argument (2 given)",
        ),
        (
            parse_quote!({
                join!(a(), continue_as_new(n)).await;
            }),
            "cannot be a branch of `join!`",
        ),
        (
            parse_quote!({
                join_all(xs.into_iter().map(|x| continue_as_new(x))).await;
            }),
            "cannot be a branch of `join_all(..)`",
        ),
        (
            parse_quote!({
                client.get(url).timeout(d).await;
            }),
            "`.timeout(..)` applies to one call",
        ),
        (
            parse_quote!({
                charge(order).timeout(d).await;
            }),
            "applies to `sayiir::signal` waits only",
        ),
    ];
    for (block, expected) in cases {
        let text = block.to_token_stream().to_string();
        let (_, r) = run(block);
        let err = r.expect_err(&text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}
