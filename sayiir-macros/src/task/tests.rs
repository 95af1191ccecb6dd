//! Unit tests of `#[task]`: signatures, options, expansion.

use super::sig::TaskSig;
use super::*;
use quote::ToTokens;
use syn::parse_quote;

fn check(f: ItemFn) -> Result<TaskSig, String> {
    let mut d = Diagnostics::new();
    let (s, ok) = check_signature(&f, &mut d);
    match d.finish() {
        Ok(()) if ok => Ok(s),
        Ok(()) => Err("not ok without errors".into()),
        Err(e) => Err(e
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

#[test]
fn accepts_owned_async_fn() {
    let s = check(parse_quote!(
        async fn charge(o: Order, n: u32) -> Result<Receipt, E> {
            todo!()
        }
    ))
    .unwrap();
    assert_eq!(s.args.len(), 2);
    assert!(s.fallible);
    let s = check(parse_quote!(
        async fn plain() {}
    ))
    .unwrap();
    assert!(!s.fallible);
}

#[test]
fn rejects_bad_signatures() {
    let e = check(parse_quote!(
        fn f(x: u32) -> u32 {
            x
        }
    ))
    .unwrap_err();
    assert!(e.contains("needs an `async fn`"), "{e}");
    let e = check(parse_quote!(
        async fn f(&self) {}
    ))
    .unwrap_err();
    assert!(e.contains("cannot take `self`"), "{e}");
    let e = check(parse_quote!(
        async fn f(s: &str) {}
    ))
    .unwrap_err();
    assert!(e.contains("`String`"), "{e}");
    let e = check(parse_quote!(
        async fn f<T>(t: T) {}
    ))
    .unwrap_err();
    assert!(e.contains("cannot be generic"), "{e}");
    let e = check(parse_quote!(
        async fn f(c: Cow<'a, str>) {}
    ))
    .unwrap_err();
    assert!(e.contains("borrows for `'a`"), "{e}");
    let e = check(parse_quote!(
        async fn f() -> impl Sized {}
    ))
    .unwrap_err();
    assert!(e.contains("`impl Trait`"), "{e}");
}

#[test]
fn signature_bytes_ignore_options_and_formatting() {
    let a = check(parse_quote!(
        async fn f(x: Vec<u8>) -> u32 {
            1
        }
    ))
    .unwrap();
    let b = check(syn::parse_str("async fn f(x: Vec < u8 >) -> u32 { /* */ 2 }").unwrap()).unwrap();
    assert_eq!(signature_bytes("f", &a), signature_bytes("f", &b));
    assert_ne!(signature_bytes("f", &a), signature_bytes("g", &a));
    let c = check(parse_quote!(
        async fn f(x: Vec<u16>) -> u32 {
            1
        }
    ))
    .unwrap();
    assert_ne!(signature_bytes("f", &a), signature_bytes("f", &c));
}

fn option_errors(args: TokenStream) -> String {
    let mut d = Diagnostics::new();
    TaskOptions::parse(args, &mut d);
    d.finish().err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn backoff_options() {
    let mut d = Diagnostics::new();
    let o = TaskOptions::parse(
        quote!(retries = 3, backoff = "250ms", max_backoff = "1m"),
        &mut d,
    );
    assert!(!d.has_errors());
    assert_eq!((o.backoff_ms, o.max_backoff_ms), (Some(250), Some(60_000)));
    let code = o.tokens(&quote!(p)).to_string();
    assert!(
        code.contains("backoff : p :: Duration :: from_millis (250u64)"),
        "{code}"
    );
    assert!(code.contains(".. p :: TaskOptions :: DEFAULT"), "{code}");
    let code = TaskOptions::parse(quote!(retries = 1), &mut d)
        .tokens(&quote!(p))
        .to_string();
    assert!(!code.contains("backoff"), "{code}");
    let e = option_errors(quote!(backoff = "1s"));
    assert!(e.contains("this task is not retried"), "{e}");
    let e = option_errors(quote!(retries = 0, max_backoff = "1s"));
    assert!(e.contains("`max_backoff` sets the delay"), "{e}");
    let e = option_errors(quote!(retries = 2, backoff = "2s", max_backoff = "1s"));
    assert!(
        e.contains("`max_backoff = \"1s\"` is shorter than `backoff = \"2s\"`"),
        "{e}"
    );
    assert_eq!(
        option_errors(quote!(retries = 2, backoff = "1s", max_backoff = "1s")),
        ""
    );
    let e = option_errors(quote!(retries = 2, backoff = "fast"));
    assert!(e.contains("invalid duration `fast`"), "{e}");
}

fn expanded(args: TokenStream, item: TokenStream) -> String {
    expand(args, item).to_string()
}

#[test]
fn timeout_needs_a_result() {
    let code = expanded(
        quote!(timeout = "5s"),
        quote!(
            async fn f() -> u64 {
                1
            }
        ),
    );
    assert!(
        code.contains("a task with a `timeout` must return `Result<T, E>`"),
        "{code}"
    );
    // Stubs only: the real impl is not emitted.
    assert!(!code.contains("from_timeout"), "{code}");
    assert!(code.contains("fn timed_out"), "{code}");
}

#[test]
fn timed_out_and_permanent() {
    let code = expanded(
        quote!(retries = 2, timeout = "5s"),
        quote!(
            async fn f(n: u64) -> Result<u64, MyError> {
                Ok(n)
            }
        ),
    );
    assert!(!code.contains("compile_error"), "{code}");
    assert!(
        code.contains("from_timeout :: < MyError > (__sayiir_timeout)"),
        "{code}"
    );
    assert!(
        code.contains("PermanentProbe (__sayiir_e)) . sayiir_permanent ()"),
        "{code}"
    );
    assert!(
        code.contains("timeout : :: sayiir :: __private :: Option :: Some"),
        "{code}"
    );
    // An alias names its error type through `ResultOutput`.
    let code = expanded(
        quote!(timeout = "5s"),
        quote!(
            async fn f() -> anyhow::Result<u64> {
                Ok(1)
            }
        ),
    );
    assert!(
        code.contains("from_timeout :: << anyhow :: Result < u64 > as :: sayiir :: __private :: ResultOutput > :: Err >"),
        "{code}"
    );
    // Without a timeout: an error the runtime never asks for; never permanent when not a
    // `Result`.
    let code = expanded(
        quote!(),
        quote!(
            async fn f() -> u64 {
                1
            }
        ),
    );
    assert!(code.contains("task `f` has no timeout"), "{code}");
    assert!(code.contains("task_output ("), "{code}");
    assert!(code.contains(", false , false)"), "{code}");
}

#[test]
fn expansion_never_panics_on_garbage() {
    for item in [
        quote!(
            struct S;
        ),
        quote!(fn),
        quote!(
            async fn f(self: Box<Self>) {}
        ),
    ] {
        let out = expand(quote!(retries = "x", nope = 1), item);
        assert!(out.to_string().contains("compile_error"));
    }
}

#[test]
fn resource_parameters_are_neither_stored_nor_hashed() {
    use super::sig::{Param, signature_bytes};
    let with = check(parse_quote!(
        async fn f(
            x: u64,
            db: Res<Db>,
            (a, b): (u8, u8),
            http: sayiir::Res<dyn Http + Send + Sync>,
        ) -> u32 {
            1
        }
    ))
    .unwrap();
    let without = check(parse_quote!(
        async fn f(x: u64, (a, b): (u8, u8)) -> u32 {
            1
        }
    ))
    .unwrap();
    assert_eq!(with.args, without.args);
    assert_eq!(with.arg_names, ["x", "arg1"]);
    assert_eq!(with.arg_names, without.arg_names);
    assert_eq!(
        with.params,
        [
            Param::Stored(0),
            Param::Resource(0),
            Param::Stored(1),
            Param::Resource(1)
        ]
    );
    let written: Vec<&str> = with.resources.iter().map(|r| r.written.as_str()).collect();
    assert_eq!(
        written,
        ["db: Res<Db>", "http: sayiir::Res<dyn Http + Send + Sync>"]
    );
    assert_eq!(signature_bytes("f", &with), signature_bytes("f", &without));
}

#[test]
fn a_resource_is_a_type_written_res_of_one_type() {
    use super::sig::resource_inner;
    for ty in [
        quote!(Res<Db>),
        quote!(sayiir::Res<Db>),
        quote!(::sayiir::Res<Vec<u8>>),
        quote!(my_crate::sayiir::Res<dyn Mailer>),
    ] {
        let ty: syn::Type = syn::parse2(ty).unwrap();
        assert!(resource_inner(&ty).is_some(), "{}", ty.to_token_stream());
    }
    for ty in [
        quote!(Res),
        quote!(Res<A, B>),
        quote!(Res<'static>),
        quote!(Option<Res<Db>>),
        quote!(MyRes<Db>),
        quote!(Res::<Db>::Inner),
        quote!(<T as Trait>::Res<Db>),
    ] {
        let ty: syn::Type = syn::parse2(ty).unwrap();
        assert!(resource_inner(&ty).is_none(), "{}", ty.to_token_stream());
    }
    // `Res` without a type argument is an ordinary stored argument.
    let s = check(parse_quote!(
        async fn f(r: Res) {}
    ))
    .unwrap();
    assert_eq!((s.args.len(), s.resources.len()), (1, 0));
}

#[test]
fn a_resource_must_be_static() {
    let e = check(parse_quote!(
        async fn f(greeting: Res<&str>) {}
    ))
    .unwrap_err();
    assert!(e.contains("a resource must be `'static`"), "{e}");
    assert!(e.contains("such as `Res<String>`"), "{e}");
    let e = check(parse_quote!(
        async fn f(c: Res<Cow<'a, str>>) {}
    ))
    .unwrap_err();
    assert!(e.contains("this type borrows for `'a`"), "{e}");
    let e = check(parse_quote!(
        async fn f(c: Res<&'_ [u8]>) {}
    ))
    .unwrap_err();
    assert!(e.contains("borrows for `'_`"), "{e}");
    let e = check(parse_quote!(
        async fn f(c: Res<impl Mailer>) {}
    ))
    .unwrap_err();
    assert!(e.contains("cannot have an `impl Trait` type"), "{e}");
    // Not stored: no "must be owned" error for a trait object or a `'static` reference.
    check(parse_quote!(
        async fn f(c: Res<&'static str>, m: Res<dyn Mailer>) {}
    ))
    .unwrap();
}

#[test]
fn resources_are_fetched_when_the_task_runs() {
    let code = expanded(
        quote!(),
        quote!(
            async fn f(x: u64, db: Res<Db>, y: String) -> u64 {
                x
            }
        ),
    );
    assert!(!code.contains("compile_error"), "{code}");
    assert!(
        code.contains(
            "let __sayiir_r0 = :: sayiir :: __private :: resource :: < Res < Db > > (\"f\" , \"db: Res<Db>\") ?"
        ),
        "{code}"
    );
    assert!(
        code.contains("f (__sayiir_a0 , __sayiir_r0 , __sayiir_a1) . await"),
        "{code}"
    );
    assert!(
        code.contains(":: sayiir :: __private :: ResourceNeed :: of :: < Db > (\"db: Res<Db>\")"),
        "{code}"
    );
    // The workflow passes the stored arguments only.
    assert!(
        code.contains("__sayiir_cx : & :: sayiir :: __private :: StepCx , __sayiir_a0 : u64 , __sayiir_a1 : String"),
        "{code}"
    );
    // A task without resources keeps the trait's default.
    let code = expanded(
        quote!(),
        quote!(
            async fn g(x: u64) -> u64 {
                x
            }
        ),
    );
    assert!(!code.contains("fn resources"), "{code}");
}

/// A duration's spelling changes nothing generated; options change nothing hashed.
#[test]
fn durations_are_normalised_and_options_are_not_hashed() {
    let item = quote!(
        async fn f(x: u64) -> Result<u64, String> {
            Ok(x)
        }
    );
    let a = expanded(quote!(retries = 2, timeout = "90s"), item.clone());
    for same in ["1m 30s", "1.5m", "1m30s", "90 seconds", "1.5 minutes"] {
        let b = expanded(quote!(retries = 2, timeout = #same), item.clone());
        assert_eq!(a, b, "`{same}`");
    }
    let hash_of = |code: &str| {
        let start = code.find("SIGNATURE_HASH").unwrap();
        code[start..start + code[start..].find(';').unwrap()].to_string()
    };
    let other = expanded(
        quote!(
            retries = 7,
            timeout = "2 days",
            backoff = "1s",
            max_backoff = "1h"
        ),
        item.clone(),
    );
    assert_ne!(a, other);
    assert_eq!(hash_of(&a), hash_of(&other));
    assert_eq!(hash_of(&a), hash_of(&expanded(quote!(), item)));
}

#[test]
fn concurrency_option() {
    let mut d = Diagnostics::new();
    let o = TaskOptions::parse(quote!(concurrency = 5), &mut d);
    assert!(!d.has_errors());
    assert_eq!(o.concurrency, Some(5));
    let code = o.tokens(&quote!(p)).to_string();
    assert!(
        code.contains("concurrency : p :: NonZeroU32 :: new (5u32)"),
        "{code}"
    );
    let code = TaskOptions::parse(quote!(retries = 1), &mut d)
        .tokens(&quote!(p))
        .to_string();
    assert!(!code.contains("concurrency"), "{code}");
    let e = option_errors(quote!(concurrency = 0));
    assert!(
        e.contains("`concurrency` must be an integer from 1 to 1000000"),
        "{e}"
    );
    let e = option_errors(quote!(concurrency = "5"));
    assert!(e.contains("`concurrency` takes an integer literal"), "{e}");
}

#[test]
fn rate_option() {
    let mut d = Diagnostics::new();
    let o = TaskOptions::parse(quote!(rate = "100/s", burst = 5), &mut d);
    assert!(!d.has_errors());
    assert_eq!((o.rate_us, o.burst), (Some(10_000), Some(5)));
    let code = o.tokens(&quote!(p)).to_string();
    assert!(
        code.contains("interval : p :: Duration :: from_micros (10000u64)"),
        "{code}"
    );
    assert!(code.contains("burst : 5u32"), "{code}");
    let o = TaskOptions::parse(quote!(rate = "30/m"), &mut d);
    assert_eq!(o.rate_us, Some(2_000_000));
    assert!(o.tokens(&quote!(p)).to_string().contains("burst : 1u32"));
    assert_eq!(
        TaskOptions::parse(quote!(rate = "1/h"), &mut d).rate_us,
        Some(3_600_000_000)
    );
    assert_eq!(
        TaskOptions::parse(quote!(rate = "1000000/s"), &mut d).rate_us,
        Some(1)
    );
    for bad in ["abc", "0/s", "10/d", "10", "/s", "1000001/s"] {
        let e = option_errors(quote!(rate = #bad));
        assert!(e.contains("is not a rate"), "{bad}: {e}");
    }
    let e = option_errors(quote!(burst = 3));
    assert!(e.contains("this task has no `rate`"), "{e}");
}

#[test]
fn per_key_option() {
    let mut d = Diagnostics::new();
    let o = TaskOptions::parse(quote!(rate = "10/s", per_key = true), &mut d);
    assert!(!d.has_errors());
    assert!(o.per_key);
    let code = o.tokens(&quote!(p)).to_string();
    assert!(code.contains("per_key : true"), "{code}");
    let o = TaskOptions::parse(quote!(concurrency = 1, per_key = false), &mut d);
    assert!(!d.has_errors());
    assert!(!o.tokens(&quote!(p)).to_string().contains("per_key"));
    let e = option_errors(quote!(per_key = true));
    assert!(e.contains("this task has neither"), "{e}");
    let e = option_errors(quote!(concurrency = 2, per_key = "yes"));
    assert!(e.contains("`per_key` takes `true` or `false`"), "{e}");
}
