//! Stage 1: the attribute options and the function signature, checked.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type, Visibility};

use crate::diag::Diagnostics;
use crate::options::{self, RawOption};
use crate::task::{is_result_type, unstorable};

/// `#[workflow(...)]` options.
pub(crate) struct WorkflowOptions {
    pub(crate) name: Option<String>,
    pub(crate) version: u32,
    pub(crate) krate: Option<syn::Path>,
    /// Iterations allowed per run of each loop that awaits.
    pub(crate) max_iterations: Option<u64>,
    /// `on_exhausted`: `Some(true)` for "park", `Some(false)` for "fail".
    pub(crate) on_exhausted: Option<bool>,
    /// `concurrency`: at most this many running instances of the workflow, across all workers.
    pub(crate) concurrency: Option<u32>,
}

impl WorkflowOptions {
    pub(crate) fn parse(args: TokenStream, diag: &mut Diagnostics) -> Self {
        let mut out = Self {
            name: None,
            version: 1,
            krate: None,
            max_iterations: None,
            on_exhausted: None,
            concurrency: None,
        };
        let raw: Vec<RawOption> = match options::parse_raw(args) {
            Ok(r) => r,
            Err(e) => {
                diag.push(e);
                return out;
            }
        };
        let keys = [
            "name",
            "version",
            "max_iterations",
            "on_exhausted",
            "concurrency",
            "crate",
        ];
        for opt in options::check_keys(&raw, "workflow", &keys, diag) {
            match opt.key.to_string().as_str() {
                "name" => out.name = options::stable_name(opt, diag),
                "version" => out.version = options::lit_u32(opt, 1, u32::MAX, diag).unwrap_or(1),
                "max_iterations" => {
                    out.max_iterations = options::lit_u32(opt, 1, u32::MAX, diag).map(u64::from)
                }
                "on_exhausted" => out.on_exhausted = options::on_exhausted(opt, diag),
                "concurrency" => out.concurrency = options::lit_u32(opt, 1, 1_000_000, diag),
                _ => out.krate = options::crate_path(opt, diag),
            }
        }
        out
    }
}

/// How the return type handles `?` and failure.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OutputKind {
    /// `Result<T, E>`: `?` exits with `Err`, which counts as a failed instance.
    Result,
    /// `Option<T>`: `?` exits with `None`.
    Option,
    /// Anything else.
    Plain,
}

/// One workflow parameter.
pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) mutable: bool,
    pub(crate) ty: Type,
}

/// The shared context parameter: `name: &mut sayiir::WorkflowContext`, first. Not an input:
/// it is lent to the user code of every transition and never stored in a state.
pub(crate) struct CtxParam {
    pub(crate) ident: Ident,
    pub(crate) mutable: bool,
    /// As written (`&mut sayiir::WorkflowContext`).
    pub(crate) ty: Type,
    /// The type behind `&mut`, as written: generated code asks for it to be sayiir's
    /// `WorkflowContext` (`__private::SharedContext`), at its tokens.
    pub(crate) inner: Type,
}

/// How a parameter's type relates to the shared context. Recognised by the written type only
/// when it is a reference to a path ending in `WorkflowContext`: an owned `WorkflowContext` (or
/// `Context`) is an input like any other, which generated code checks is not sayiir's.
enum ContextUse {
    No,
    MutRef(Box<Type>),
    SharedRef,
}

fn context_use(ty: &Type) -> ContextUse {
    let is_context = |t: &Type| {
        matches!(t, Type::Path(p) if p.qself.is_none()
            && p.path.segments.last().is_some_and(|s| s.ident == "WorkflowContext" && s.arguments.is_none()))
    };
    match ty {
        Type::Reference(r) if is_context(&r.elem) => {
            if r.mutability.is_some() {
                ContextUse::MutRef(r.elem.clone())
            } else {
                ContextUse::SharedRef
            }
        }
        Type::Paren(p) => context_use(&p.elem),
        _ => ContextUse::No,
    }
}

/// A checked workflow function.
pub(crate) struct WorkflowFn {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) max_iterations: Option<u64>,
    /// `on_exhausted`: `Some(true)` for "park" (not part of the definition hash).
    pub(crate) on_exhausted: Option<bool>,
    /// `concurrency`: the workflow type's limit of running instances (not part of the
    /// definition hash: an operational setting, read from the current code at each start).
    pub(crate) concurrency: Option<u32>,
    pub(crate) params: Vec<Param>,
    /// The shared context parameter, if the workflow takes one.
    pub(crate) ctx: Option<CtxParam>,
    pub(crate) output: Type,
    pub(crate) output_kind: OutputKind,
    pub(crate) body: syn::Block,
    /// Bindings renamed so that their scope ends where Rust ends it (`hygiene.rs`): new name →
    /// name as written, for messages.
    pub(crate) renamed: super::hygiene::Renamed,
}

impl WorkflowFn {
    /// A variable's name as the user wrote it.
    pub(crate) fn written_name(&self, ident: &Ident) -> String {
        let name = ident.to_string();
        self.renamed.get(&name).cloned().unwrap_or(name)
    }
}

/// Checks the signature. Always returns the function (with stand-ins where it was wrong) so
/// stubs can be emitted; errors go to `diag`.
pub(crate) fn parse(func: ItemFn, opts: &WorkflowOptions, diag: &mut Diagnostics) -> WorkflowFn {
    let sig = &func.sig;
    let ident = sig.ident.clone();
    if sig.asyncness.is_none() {
        diag.error(
            sig.fn_token.span,
            format_args!("`#[workflow]` needs an `async fn`: write `async fn {ident}`"),
        );
    }
    if let Some(c) = &sig.constness {
        diag.error(c.span, "a `#[workflow]` cannot be `const`");
    }
    if let Some(u) = &sig.unsafety {
        diag.error(u.span, "a `#[workflow]` cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        diag.error_spanned(abi, "a `#[workflow]` cannot have an `extern` ABI");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        diag.error_spanned(
            &sig.generics,
            "a `#[workflow]` cannot be generic: its state is stored, so every type in it must be concrete",
        );
    }
    if let Some(v) = &sig.variadic {
        diag.error_spanned(v, "a `#[workflow]` cannot be variadic");
    }
    let mut params = Vec::new();
    let mut ctx = None;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => diag.error_spanned(
                r,
                "a `#[workflow]` cannot take `self`: its inputs are stored; pass the data as owned arguments",
            ),
            FnArg::Typed(t) => {
                let (ident, mutable) = match &*t.pat {
                    Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                        (p.ident.clone(), p.mutability.is_some())
                    }
                    other => {
                        diag.error_spanned(
                            other,
                            "workflow parameters must be plain names (`order: Order`); destructure inside the body",
                        );
                        (Ident::new(&format!("__sayiir_param{i}"), other.span()), false)
                    }
                };
                let ty = (*t.ty).clone();
                match context_use(&ty) {
                    ContextUse::No => {}
                    ContextUse::MutRef(inner) if i == 0 => {
                        ctx = Some(CtxParam {
                            ident,
                            mutable,
                            ty,
                            inner: *inner,
                        });
                        continue;
                    }
                    ContextUse::MutRef(_) => {
                        diag.error_spanned(
                            t,
                            "the shared context must be the first parameter: `async fn name(ctx: &mut sayiir::WorkflowContext, input: Input)`",
                        );
                        continue;
                    }
                    ContextUse::SharedRef => {
                        diag.error_spanned(
                            &ty,
                            "take the shared context as `&mut sayiir::WorkflowContext`: a workflow's shared context is lent to it mutably",
                        );
                        continue;
                    }
                }
                if let Some((tokens, why)) = unstorable(&ty) {
                    diag.error_spanned(tokens, format_args!("workflow inputs are stored: {why}"));
                }
                params.push(Param { ident, mutable, ty });
            }
        }
    }
    let output: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            if let Some((tokens, why)) = unstorable(ty) {
                diag.error_spanned(
                    tokens,
                    format_args!("the output of a `#[workflow]` is stored: {why}"),
                );
                syn::parse_quote!(())
            } else {
                (**ty).clone()
            }
        }
    };
    let output_kind = if is_result_type(&output) {
        OutputKind::Result
    } else if matches!(&output, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
    {
        OutputKind::Option
    } else {
        OutputKind::Plain
    };
    let mut body = *func.block;
    let param_idents: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();
    let renamed = super::hygiene::rename_leaking(&mut body, &param_idents);
    WorkflowFn {
        attrs: func.attrs,
        vis: func.vis,
        name: opts.name.clone().unwrap_or_else(|| ident.to_string()),
        ident,
        version: opts.version,
        max_iterations: opts.max_iterations,
        on_exhausted: opts.on_exhausted,
        concurrency: opts.concurrency,
        params,
        ctx,
        output,
        output_kind,
        body,
        renamed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};
    use syn::parse_quote;

    fn run(args: TokenStream, f: ItemFn) -> (WorkflowFn, Result<(), String>) {
        let mut d = Diagnostics::new();
        let opts = WorkflowOptions::parse(args, &mut d);
        let wf = parse(f, &opts, &mut d);
        let r = d.finish().map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        });
        (wf, r)
    }

    #[test]
    fn options_and_defaults() {
        let (wf, r) = run(
            quote!(name = "orders.checkout", version = 3),
            parse_quote!(
                async fn checkout() {}
            ),
        );
        r.unwrap();
        assert_eq!((wf.name.as_str(), wf.version), ("orders.checkout", 3));
        let (wf, r) = run(
            quote!(),
            parse_quote!(
                async fn checkout() {}
            ),
        );
        r.unwrap();
        assert_eq!((wf.name.as_str(), wf.version), ("checkout", 1));
        let (_, r) = run(
            quote!(version = 0),
            parse_quote!(
                async fn checkout() {}
            ),
        );
        assert!(r.unwrap_err().contains("from 1 to"));
        let (_, r) = run(
            quote!(name = "has space"),
            parse_quote!(
                async fn checkout() {}
            ),
        );
        assert!(r.unwrap_err().contains("a name must be"));
    }

    #[test]
    fn output_kinds() {
        let kind = |f: ItemFn| run(quote!(), f).0.output_kind;
        assert_eq!(
            kind(parse_quote!(
                async fn f() -> Result<u8, E> {
                    todo!()
                }
            )),
            OutputKind::Result
        );
        assert_eq!(
            kind(parse_quote!(
                async fn f() -> anyhow::Result<u8> {
                    todo!()
                }
            )),
            OutputKind::Result
        );
        assert_eq!(
            kind(parse_quote!(
                async fn f() -> Option<u8> {
                    todo!()
                }
            )),
            OutputKind::Option
        );
        assert_eq!(
            kind(parse_quote!(
                async fn f() -> u8 {
                    1
                }
            )),
            OutputKind::Plain
        );
        assert_eq!(
            kind(parse_quote!(
                async fn f() {}
            )),
            OutputKind::Plain
        );
    }

    #[test]
    fn parameters() {
        let (wf, r) = run(
            quote!(),
            parse_quote!(
                async fn f(a: u8, mut b: String) {}
            ),
        );
        r.unwrap();
        let names: Vec<_> = wf
            .params
            .iter()
            .map(|p| (p.ident.to_string(), p.mutable))
            .collect();
        assert_eq!(names, [("a".to_string(), false), ("b".to_string(), true)]);
    }

    #[test]
    fn context_parameter() {
        let (wf, r) = run(
            quote!(),
            parse_quote!(
                async fn f(ctx: &mut sayiir::WorkflowContext, a: u8) {}
            ),
        );
        r.unwrap();
        let ctx = wf.ctx.as_ref().unwrap();
        assert_eq!(ctx.ident, "ctx");
        assert_eq!(
            ctx.ty.to_token_stream().to_string(),
            "& mut sayiir :: WorkflowContext"
        );
        let names: Vec<_> = wf.params.iter().map(|p| p.ident.to_string()).collect();
        assert_eq!(names, ["a"]);
        let (wf, r) = run(
            quote!(),
            parse_quote!(
                async fn f(a: u8) {}
            ),
        );
        r.unwrap();
        assert!(wf.ctx.is_none());
        // Owned, a type of either name is an input (generated code checks that an owned
        // `WorkflowContext` is not sayiir's); behind `&mut`, only `WorkflowContext` is the
        // context (generated code checks that it is sayiir's).
        for f in [
            parse_quote!(
                async fn f(ctx: WorkflowContext) {}
            ),
            parse_quote!(
                async fn f(ctx: my::Context) {}
            ),
            parse_quote!(
                async fn f(ctx: (Context)) {}
            ),
        ] {
            let f: ItemFn = f;
            let (wf, r) = run(quote!(), f);
            r.unwrap();
            assert!(wf.ctx.is_none());
            let names: Vec<_> = wf.params.iter().map(|p| p.ident.to_string()).collect();
            assert_eq!(names, ["ctx"]);
        }
        let (wf, r) = run(
            quote!(),
            parse_quote!(
                async fn f(ctx: &mut my::WorkflowContext) {}
            ),
        );
        r.unwrap();
        let ctx = wf.ctx.as_ref().unwrap();
        assert_eq!(
            ctx.inner.to_token_stream().to_string(),
            "my :: WorkflowContext"
        );
        let (_, r) = run(
            quote!(),
            parse_quote!(
                async fn f(ctx: &mut my::Context) {}
            ),
        );
        assert!(r.unwrap_err().contains("stored"));
        for (f, expected) in [
            (
                parse_quote!(
                    async fn f(a: u8, ctx: &mut WorkflowContext) {}
                ),
                "must be the first parameter",
            ),
            (
                parse_quote!(
                    async fn f(ctx: &sayiir::WorkflowContext) {}
                ),
                "as `&mut sayiir::WorkflowContext`",
            ),
        ] {
            let f: ItemFn = f;
            let (wf, r) = run(quote!(), f);
            let e = r.unwrap_err();
            assert!(e.contains(expected), "{e}");
            assert!(!e.contains("stored"), "{e}");
            assert!(wf.ctx.is_none());
        }
    }

    #[test]
    fn rejects_bad_signatures() {
        for (f, expected) in [
            (
                parse_quote!(
                    fn f() {}
                ),
                "needs an `async fn`",
            ),
            (
                parse_quote!(
                    async fn f<T>(t: T) {}
                ),
                "cannot be generic",
            ),
            (
                parse_quote!(
                    async fn f(&self) {}
                ),
                "cannot take `self`",
            ),
            (
                parse_quote!(
                    async fn f((a, b): (u8, u8)) {}
                ),
                "plain names",
            ),
            (
                parse_quote!(
                    async fn f(s: &str) {}
                ),
                "workflow inputs are stored",
            ),
            (
                parse_quote!(
                    async fn f() -> impl Sized {
                        1
                    }
                ),
                "the output of a `#[workflow]` is stored",
            ),
        ] {
            let f: ItemFn = f;
            let (_, r) = run(quote!(), f);
            let e = r.unwrap_err();
            assert!(e.contains(expected), "{e}");
        }
    }
}
