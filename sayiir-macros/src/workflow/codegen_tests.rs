use super::super::hash;
use super::*;
use quote::ToTokens;
use syn::parse_quote;

fn generate(f: syn::ItemFn) -> syn::File {
    let (wf, body, l, r) =
        super::super::fixtures::lowered(f, &super::super::fixtures::options(None, 1));
    assert!(r.is_ok(), "{r:?}");
    let definition = hash::definition_bytes(&wf, &body, &l);
    let p = quote!(::sayiir::__private);
    let waits: Vec<TokenStream> = body
        .points
        .iter()
        .map(|pt| wait_type(&p, &wf, &pt.what))
        .collect();
    let outputs = outputs(&p, &body, &waits);
    let g = Gen {
        p,
        wf: &wf,
        body: &body,
        l: &l,
        definition,
        waits,
        outputs,
        max_iterations: DEFAULT_MAX_ITERATIONS,
    };
    syn::parse2(g.generate()).expect("generated code parses")
}

fn fixture() -> syn::ItemFn {
    parse_quote! {
        pub async fn checkout(order: Order) -> Result<String, E> {
            let order = validate(order).await?;
            let cents = charge(order.clone()).await?;
            if cents == 0 { return Err(E::Free); }
            ship(order.id, cents).await?;
            Ok(order.name)
        }
    }
}

fn find(items: &[syn::Item], pred: impl Fn(&syn::Item) -> bool) -> &syn::Item {
    items.iter().find(|i| pred(i)).expect("item present")
}

#[test]
fn emits_the_fn_the_type_and_the_impls() {
    let file = generate(fixture());
    let f = find(&file.items, |i| matches!(i, syn::Item::Fn(_)));
    let syn::Item::Fn(f) = f else { unreachable!() };
    assert_eq!(f.sig.ident, "checkout");
    assert!(f.sig.asyncness.is_some());
    assert!(
        f.block
            .to_token_stream()
            .to_string()
            .contains("run_inline :: < checkout >")
    );
    assert!(
        matches!(find(&file.items, |i| matches!(i, syn::Item::Struct(_))), syn::Item::Struct(s) if s.ident == "checkout")
    );
    let code = file.to_token_stream().to_string();
    for needle in [
        "impl :: sayiir :: __private :: Workflow for checkout",
        "impl :: sayiir :: __private :: Callee for checkout",
        "const DEFINITION_HASH",
    ] {
        assert!(code.contains(needle), "missing `{needle}`");
    }
}

#[test]
fn one_variant_per_suspension_point_with_its_fields() {
    let file = generate(fixture());
    let syn::Item::Const(c) = find(&file.items, |i| matches!(i, syn::Item::Const(_))) else {
        unreachable!()
    };
    let syn::Expr::Block(b) = &*c.expr else {
        panic!("const block")
    };
    let e = b.block.stmts.iter().find_map(|s| match s {
        syn::Stmt::Item(syn::Item::Enum(e)) => Some(e),
        _ => None,
    });
    let e = e.expect("state enum");
    let shape: Vec<(String, Vec<String>)> = e
        .variants
        .iter()
        .map(|v| {
            let fields = v
                .fields
                .iter()
                .map(|f| {
                    f.ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                })
                .collect();
            (v.ident.to_string(), fields)
        })
        .collect();
    let expect = |v: &str, f: &[&str]| {
        (
            v.to_string(),
            f.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        shape,
        [
            expect("Start", &["order"]),
            expect("S1", &["__sayiir_wait"]),
            expect("S2", &["order", "__sayiir_wait"]),
            expect("S3", &["order", "__sayiir_wait"]),
            expect("__SayiirAborted", &[]),
        ]
    );
}

#[test]
fn returns_and_tails_become_done() {
    let code = generate(fixture()).to_token_stream().to_string();
    assert!(code.contains("return :: sayiir :: __private :: Result :: Ok (:: sayiir :: __private :: Advance :: Done (Err (E :: Free)))"), "{code}");
    assert!(code.contains("Advance :: Done (Ok (order . name))"));
    assert!(code.contains("< charge > :: __sayiir_begin (__sayiir_cx , order . clone ())"));
}

fn waits_fixture() -> syn::ItemFn {
    parse_quote! {
        pub async fn approve(ctx: &mut sayiir::WorkflowContext, req: Request) -> Result<u64, E> {
            ctx.set("req", &req.id).ok();
            let first = sayiir::signal::<Approval>("approve").await;
            let second = sayiir::signal::<Approval>("approve")
                .timeout(Duration::from_secs(3600))
                .await;
            let (a, b) = sayiir::join!(child(req.id), sayiir::signal::<u8>("poke").timeout(d)).await;
            sayiir::sleep(Duration::from_secs(1)).await;
            if a > 3 {
                return sayiir::continue_as_new(req).await;
            }
            Ok(a + first.n + second.map_or(0, |s| s.n) + u64::from(b.unwrap_or(0)))
        }
    }
}

#[test]
fn signals_declares_every_call() {
    let code = generate(waits_fixture()).to_token_stream().to_string();
    let p = ":: sayiir :: __private";
    for needle in [
        format!("fn signals (__sayiir_out : & mut {p} :: SignalSet)"),
        format!(
            "< sayiir :: signal :: < Approval > as {p} :: Callee > :: declare (__sayiir_out , {p} :: Option :: Some (\"approve\")) ;"
        ),
        format!("< child as {p} :: Callee > :: declare (__sayiir_out , {p} :: Option :: None) ;"),
        format!(
            "< sayiir :: signal :: < u8 > as {p} :: Callee > :: declare (__sayiir_out , {p} :: Option :: Some (\"poke\")) ;"
        ),
        format!(
            "< sayiir :: sleep as {p} :: Callee > :: declare (__sayiir_out , {p} :: Option :: None) ;"
        ),
        // A workflow called as a child declares its own signals in its parent.
        format!(
            "fn declare (__sayiir_out : & mut {p} :: SignalSet , _ : {p} :: Option < & 'static str >) {{ < Self as {p} :: Workflow > :: signals (__sayiir_out) }}"
        ),
    ] {
        assert!(code.contains(&needle), "missing `{needle}` in {code}");
    }
    assert!(!code.contains("continue_as_new as"), "{code}");
}

#[test]
fn timeouts_and_continue_as_new_have_their_own_waits() {
    let code = generate(waits_fixture()).to_token_stream().to_string();
    let p = ":: sayiir :: __private";
    for needle in [
        format!("__sayiir_wait : < sayiir :: signal :: < Approval > as {p} :: Callee > :: Wait"),
        format!(
            "__sayiir_wait : < sayiir :: signal :: < Approval > as {p} :: TimeoutCallee > :: Wait"
        ),
        "< sayiir :: signal :: < Approval > > :: __sayiir_begin_timeout (__sayiir_cx , \"approve\" , Duration :: from_secs (3600))".to_string(),
        format!(
            "{p} :: Join2 < < child as {p} :: Callee > :: Wait , < sayiir :: signal :: < u8 > as {p} :: TimeoutCallee > :: Wait >"
        ),
        format!("__sayiir_wait : {p} :: ContinueWait < __SayiirMachine , Result < u64 , E > >"),
        format!(
            "{p} :: ContinueWait :: < __SayiirMachine , Result < u64 , E > > :: new (__sayiir_cx , < approve as {p} :: Workflow > :: start (sayiir :: continue_as_new (req) . __sayiir_input ()) ,)"
        ),
    ] {
        assert!(code.contains(&needle), "missing `{needle}` in {code}");
    }
}

#[test]
fn the_shared_context_is_lent_to_every_transition() {
    let file = generate(waits_fixture());
    let syn::Item::Fn(f) = find(&file.items, |i| matches!(i, syn::Item::Fn(_))) else {
        unreachable!()
    };
    // The plain fn keeps the user's signature and runs with the caller's context.
    assert_eq!(
        f.sig.inputs.to_token_stream().to_string(),
        "ctx : & mut sayiir :: WorkflowContext , req : Request"
    );
    assert_eq!(
        f.block.to_token_stream().to_string(),
        "{ :: sayiir :: __private :: run_inline_with :: < approve > (< sayiir :: WorkflowContext as :: sayiir :: __private :: SharedContext > :: back (ctx) , req) . await }"
    );
    let code = file.to_token_stream().to_string();
    // Lent as the type written, through the trait only sayiir's context implements.
    let bind = "let mut __sayiir_ctx_guard = __sayiir_cx . context () ; let ctx : & mut sayiir :: WorkflowContext = < sayiir :: WorkflowContext as :: sayiir :: __private :: SharedContext > :: lend (& mut * __sayiir_ctx_guard) ;";
    // The start and each of the five points.
    assert_eq!(code.matches(bind).count(), 6, "{code}");
    // Neither an input nor a child's argument.
    assert!(code.contains("type Input = Request ;"), "{code}");
    // Each input is checked not to be sayiir's context.
    assert!(
        code.contains(
            ":: sayiir :: __private :: InputProbe :: < Request > :: NEW . sayiir_input ()"
        ),
        "{code}"
    );
    assert!(
        !code.contains("InputProbe :: < sayiir :: WorkflowContext >"),
        "{code}"
    );
    assert!(
        code.contains("fn __sayiir_begin (_ : & :: sayiir :: __private :: StepCx , req : Request)"),
        "{code}"
    );
    // Without a context: `run_inline`, and nothing is lent.
    let code = generate(fixture()).to_token_stream().to_string();
    assert!(!code.contains("__sayiir_ctx_guard"));
    assert!(!code.contains("run_inline_with"));
}
