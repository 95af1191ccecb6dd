//! `#[task]`: keeps the function as written and adds, under the same name in the type namespace,
//! a type implementing `Task` and `Callee` so workflows can call it and the runtime can run it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::canon::Canon;
use crate::diag::Diagnostics;
use crate::options::{self, RawOption};

/// Validated `#[task(...)]` options.
pub(crate) struct TaskOptions {
    name: Option<String>,
    retries: u32,
    timeout_ms: Option<u64>,
    /// Where `timeout` is written (a task with a timeout must return `Result`).
    timeout_key: Option<Span>,
    backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    krate: Option<syn::Path>,
}

const TASK_OPTIONS: [&str; 6] = [
    "name",
    "retries",
    "timeout",
    "backoff",
    "max_backoff",
    "crate",
];

impl TaskOptions {
    fn parse(args: TokenStream, diag: &mut Diagnostics) -> Self {
        let mut out = Self {
            name: None,
            retries: 0,
            timeout_ms: None,
            timeout_key: None,
            backoff_ms: None,
            max_backoff_ms: None,
            krate: None,
        };
        let raw: Vec<RawOption> = match options::parse_raw(args) {
            Ok(r) => r,
            Err(e) => {
                diag.push(e);
                return out;
            }
        };
        let mut backoff_opts: Vec<&RawOption> = Vec::new();
        for opt in options::check_keys(&raw, "task", &TASK_OPTIONS, diag) {
            match opt.key.to_string().as_str() {
                "name" => out.name = options::stable_name(opt, diag),
                "retries" => out.retries = options::lit_u32(opt, 0, 10_000, diag).unwrap_or(0),
                "timeout" => {
                    out.timeout_key = Some(opt.key.span());
                    out.timeout_ms = options::duration_ms(opt, diag);
                }
                "backoff" => {
                    out.backoff_ms = options::duration_ms(opt, diag);
                    backoff_opts.push(opt);
                }
                "max_backoff" => {
                    out.max_backoff_ms = options::duration_ms(opt, diag);
                    backoff_opts.push(opt);
                }
                _ => out.krate = options::crate_path(opt, diag),
            }
        }
        if out.retries == 0 {
            for opt in &backoff_opts {
                diag.error(
                    opt.key.span(),
                    format_args!(
                        "`{}` sets the delay between attempts, but this task is not retried: add `retries = N` (N >= 1) or remove `{}`",
                        opt.key, opt.key
                    ),
                );
            }
        }
        if let (Some(b), Some(m)) = (out.backoff_ms, out.max_backoff_ms)
            && m < b
        {
            let written = |key: &str| {
                backoff_opts
                    .iter()
                    .find(|o| o.key == key)
                    .map(|o| (o.value.to_token_stream().to_string(), o.value.span()))
            };
            if let (Some((b, _)), Some((m, span))) = (written("backoff"), written("max_backoff")) {
                diag.error(
                    span,
                    format_args!(
                        "`max_backoff = {m}` is shorter than `backoff = {b}`: the delay between attempts starts at `backoff` and doubles up to `max_backoff`"
                    ),
                );
            }
        }
        out
    }

    /// The `TaskOptions` constant of the task.
    fn tokens(&self, p: &TokenStream) -> TokenStream {
        let retries = self.retries;
        let timeout = match self.timeout_ms {
            Some(ms) => quote!(#p::Option::Some(#p::Duration::from_millis(#ms))),
            None => quote!(#p::Option::None),
        };
        let backoff = self
            .backoff_ms
            .map(|ms| quote!(backoff: #p::Duration::from_millis(#ms),));
        let max_backoff = self
            .max_backoff_ms
            .map(|ms| quote!(max_backoff: #p::Duration::from_millis(#ms),));
        quote! {
            #p::TaskOptions {
                retries: #retries,
                timeout: #timeout,
                #backoff
                #max_backoff
                ..#p::TaskOptions::DEFAULT
            }
        }
    }
}

/// The checked signature of a task.
#[derive(Debug)]
pub(crate) struct TaskSig {
    pub(crate) args: Vec<Type>,
    pub(crate) ret: Type,
    pub(crate) fallible: bool,
}

/// Whether a return type is a `Result` (by its last path segment, so aliases such as
/// `anyhow::Result<T>` count).
pub(crate) fn is_result_type(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

/// Why a type cannot be stored, if it visibly cannot (borrowed, `impl Trait`, trait object),
/// with the offending tokens.
pub(crate) fn unstorable(ty: &Type) -> Option<(TokenStream, String)> {
    struct Finder(Option<(TokenStream, String)>);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if self.0.is_none() {
                let inner = &r.elem;
                let owned = match &**inner {
                    Type::Path(p) if p.path.is_ident("str") => "String".to_string(),
                    Type::Slice(s) => format!("Vec<{}>", s.elem.to_token_stream()),
                    other => other.to_token_stream().to_string(),
                };
                self.0 = Some((
                    r.to_token_stream(),
                    format!(
                        "a borrowed value cannot be stored and restored; use an owned type such as `{owned}`"
                    ),
                ));
            }
        }
        fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
            if self.0.is_none() && l.ident != "static" {
                self.0 = Some((
                    l.to_token_stream(),
                    format!(
                        "a type that borrows for `{l}` cannot be stored and restored; use an owned type"
                    ),
                ));
            }
        }
        fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
            if self.0.is_none() {
                self.0 = Some((
                    t.to_token_stream(),
                    "`impl Trait` cannot be stored; name a concrete type".into(),
                ));
            }
        }
        fn visit_type_trait_object(&mut self, t: &'ast syn::TypeTraitObject) {
            if self.0.is_none() {
                self.0 = Some((
                    t.to_token_stream(),
                    "a trait object cannot be stored; name a concrete type".into(),
                ));
            }
        }
    }
    let mut f = Finder(None);
    syn::visit::visit_type(&mut f, ty);
    f.0
}

/// Checks the signature; returns it with `ok == false` (and a storable stand-in return type)
/// when it has errors, so stubs can still be emitted.
fn check_signature(func: &ItemFn, diag: &mut Diagnostics) -> (TaskSig, bool) {
    let sig = &func.sig;
    let name = &sig.ident;
    let mut local = Diagnostics::new();
    let diag_outer = diag;
    let diag = &mut local;
    if sig.asyncness.is_none() {
        diag.error(
            sig.fn_token.span,
            format_args!("`#[task]` needs an `async fn`: tasks run on the async runtime; write `async fn {name}`"),
        );
    }
    if let Some(c) = &sig.constness {
        diag.error(c.span, "a `#[task]` cannot be `const`");
    }
    if let Some(u) = &sig.unsafety {
        diag.error(
            u.span,
            "a `#[task]` cannot be `unsafe`: the runtime calls it with stored arguments",
        );
    }
    if let Some(abi) = &sig.abi {
        diag.error_spanned(abi, "a `#[task]` cannot have an `extern` ABI");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        diag.error_spanned(
            &sig.generics,
            "a `#[task]` cannot be generic: its arguments and return value are stored, so their types must be concrete",
        );
    }
    if let Some(v) = &sig.variadic {
        diag.error_spanned(v, "a `#[task]` cannot be variadic");
    }
    let mut args = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => diag.error_spanned(
                r,
                "a `#[task]` cannot take `self`: tasks are free functions whose arguments are stored; pass the data as an owned argument",
            ),
            FnArg::Typed(t) => {
                if let Some((tokens, why)) = unstorable(&t.ty) {
                    diag.error_spanned(tokens, format_args!("task arguments must be owned: {why}"));
                }
                args.push((*t.ty).clone());
            }
        }
    }
    let ret: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            if let Some((tokens, why)) = unstorable(ty) {
                diag.error_spanned(
                    tokens,
                    format_args!("the return value of a `#[task]` is stored: {why}"),
                );
                syn::parse_quote!(())
            } else {
                (**ty).clone()
            }
        }
    };
    let ok = !local.has_errors();
    if let Err(e) = local.finish() {
        diag_outer.push(e);
    }
    let fallible = is_result_type(&ret);
    (
        TaskSig {
            args,
            ret,
            fallible,
        },
        ok,
    )
}

/// Canonical signature bytes: name, argument types, return type.
pub(crate) fn signature_bytes(name: &str, sig: &TaskSig) -> Vec<u8> {
    let mut c = Canon::new("sayiir/task-signature", 1);
    c.str(name);
    c.u32(u32::try_from(sig.args.len()).unwrap_or(u32::MAX));
    for a in &sig.args {
        c.tokens(a);
    }
    c.tokens(&sig.ret);
    c.into_bytes()
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut diag = Diagnostics::new();
    let opts = TaskOptions::parse(args, &mut diag);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            diag.error(
                Span::call_site(),
                "`#[task]` applies to an `async fn`; move the work into `async fn name(args) -> Result<T, E>`",
            );
            let errors = diag.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let krate = options::sayiir_path(opts.krate.as_ref());
    let p = quote!(#krate::__private);
    let (sig, mut sig_ok) = check_signature(&func, &mut diag);
    if let Some(key) = opts.timeout_key
        && sig_ok
        && !sig.fallible
    {
        diag.error(
            key,
            "a task with a `timeout` must return `Result<T, E>` with `E: From<sayiir::TaskTimeout>`: an attempt that runs past its timeout returns `Err(E::from(timeout))`",
        );
        sig_ok = false;
    }
    let errors = diag.into_compile_errors();
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let twin = quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}
    };
    let has_receiver = func
        .sig
        .inputs
        .iter()
        .any(|a| matches!(a, FnArg::Receiver(_)));
    if has_receiver || crate::impl_block::in_impl_block(&func) {
        // A method or an associated fn: the items that make it a task cannot live in an `impl`
        // block (a method was reported as such, with its receiver).
        let mut errors = errors;
        if !has_receiver {
            let error = syn::Error::new(
                ident.span(),
                format_args!(
                    "a `#[task]` must be a free function, not an associated function of an `impl` or `trait` block: workflows call it and the engine runs it by its name alone; move `{ident}` out of the block, into the module"
                ),
            );
            errors.extend(error.to_compile_error());
        }
        return quote!(#errors #func);
    }
    if !sig_ok {
        let stubs = stubs(&p, ident, vis, &sig);
        return quote!(#errors #func #twin #stubs);
    }
    let name = opts.name.clone().unwrap_or_else(|| ident.to_string());
    let sig_bytes = proc_macro2::Literal::byte_string(&signature_bytes(&name, &sig));
    let options = opts.tokens(&p);
    let ret = &sig.ret;
    let arg_names: Vec<_> = (0..sig.args.len())
        .map(|i| format_ident!("__sayiir_a{}", i))
        .collect();
    // Argument and return types are named only in `ser_field` / `de_field` calls (see
    // `__private`), so a type that cannot be stored is reported once at its token.
    let reads = sig.args.iter().zip(&arg_names).map(
        |(ty, a)| quote_spanned!(ty.span()=> let #a = #p::de_field::<#ty, _>(&mut __sayiir_reader)?;),
    );
    let writes = sig
        .args
        .iter()
        .zip(&arg_names)
        .map(|(ty, a)| quote_spanned!(ty.span()=> #p::ser_field::<#ty, _>(__sayiir_w, &#a)?;));
    let params = sig
        .args
        .iter()
        .zip(&arg_names)
        .map(|(ty, a)| quote!(#a: #ty));
    let describe = describe_fn(&p, &func, &sig, &name);
    let encode_ret = encode_output(&p, &sig);
    let timed_out = timed_out_body(&p, &sig, &name, opts.timeout_ms.is_some(), &encode_ret);
    let decode_ret = quote_spanned!(ret.span()=>
        #p::decode_with(__sayiir_bytes, |__sayiir_r| #p::de_field::<#ret, _>(__sayiir_r))
    );
    let encode_value = quote_spanned!(ret.span()=>
        #p::encode_with(|__sayiir_w| #p::ser_field::<#ret, _>(__sayiir_w, __sayiir_value))
    );
    let boxed = quote_spanned!(ident.span()=> #p::box_task);
    let return_item = return_item(ret);
    quote! {
        #errors
        #func
        #twin
        const _: () = {
            impl #p::Task for #ident {
                #return_item
                const NAME: &'static str = #name;
                const SIGNATURE_HASH: [u8; 32] = #p::blake3(#sig_bytes);
                #[allow(clippy::needless_update)]
                const OPTIONS: #p::TaskOptions = #options;
                fn call_encoded(
                    __sayiir_bytes: &[u8],
                ) -> #p::Result<#p::BoxFuture<#p::Result<#p::TaskOutput, #p::CodecError>>, #p::CodecError> {
                    let mut __sayiir_reader = #p::args_reader(__sayiir_bytes);
                    #(#reads)*
                    __sayiir_reader.finish("argument list")?;
                    #p::Result::Ok(#boxed(async move {
                        let __sayiir_ret: #ret = #ident(#(#arg_names),*).await;
                        #encode_ret
                    }))
                }
                fn decode_return(__sayiir_bytes: &[u8]) -> #p::Result<#ret, #p::CodecError> {
                    #decode_ret
                }
                fn encode_return(__sayiir_value: &#ret) -> #p::Result<#p::Vec<u8>, #p::CodecError> {
                    #encode_value
                }
                fn timed_out(
                    __sayiir_timeout: #p::TaskTimeout,
                ) -> #p::Result<#p::TaskOutput, #p::CodecError> {
                    #timed_out
                }
                #describe
            }
            impl #p::Callee for #ident {
                #return_item
                type Wait = #p::TaskWait<#ident>;
                const HASH: [u8; 32] = <#ident as #p::Task>::SIGNATURE_HASH;
            }
            impl #ident {
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments)]
                #vis fn __sayiir_begin(__sayiir_cx: &#p::StepCx, #(#params),*) -> #p::TaskWait<#ident> {
                    let mut __sayiir_args = #p::Vec::new();
                    #p::write_args(__sayiir_cx, &mut __sayiir_args, |__sayiir_w| {
                        #(#writes)*
                        #p::Result::Ok(())
                    });
                    #p::TaskWait::new(__sayiir_cx, __sayiir_args)
                }
            }
        };
    }
}

/// `Task::describe`: the shapes of the arguments (named as in the signature) and of the return
/// type, each type named in a `de_field` call spanned at the user's type.
fn describe_fn(p: &TokenStream, func: &ItemFn, sig: &TaskSig, name: &str) -> TokenStream {
    let names = func.sig.inputs.iter().enumerate().map(|(i, a)| match a {
        FnArg::Typed(t) => match &*t.pat {
            syn::Pat::Ident(id) => id.ident.to_string(),
            _ => format!("arg{i}"),
        },
        FnArg::Receiver(_) => format!("arg{i}"),
    });
    let args = sig.args.iter().zip(names).map(|(ty, arg)| {
        let place = format!("argument `{arg}`");
        let read = quote_spanned!(ty.span()=> #p::de_field::<#ty, _>(__sayiir_s).map(drop));
        quote!(.arg(#arg, __sayiir_d.traced(#place, &mut |__sayiir_s| #read)))
    });
    let ret = &sig.ret;
    let read = quote_spanned!(ret.span()=> #p::de_field::<#ret, _>(__sayiir_s).map(drop));
    quote! {
        fn describe(__sayiir_d: &mut #p::Describe<'_>) -> #p::TaskShape {
            #p::TaskShape::new(#name)
                #(#args)*
                .returns(__sayiir_d.traced("output", &mut |__sayiir_s| #read))
        }
    }
}

/// Encodes `__sayiir_ret` (in scope) as a `TaskOutput`: whether it is an `Err`, and whether the
/// error's `RetryPolicy` (if its type has one) calls it permanent.
fn encode_output(p: &TokenStream, sig: &TaskSig) -> TokenStream {
    let ret = &sig.ret;
    let bytes = quote_spanned!(ret.span()=>
        #p::encode_with(|__sayiir_w| #p::ser_field::<#ret, _>(__sayiir_w, &__sayiir_ret))?
    );
    if !sig.fallible {
        return quote!(#p::Result::Ok(#p::task_output(#bytes, false, false)));
    }
    let is_err = quote_spanned!(ret.span()=> #p::is_err(&__sayiir_ret));
    quote! {
        let __sayiir_permanent: bool = match &__sayiir_ret {
            #p::Result::Err(__sayiir_e) => {
                #[allow(unused_imports)]
                use #p::{ViaDefault as _, ViaPolicy as _};
                (&#p::PermanentProbe(__sayiir_e)).sayiir_permanent()
            }
            _ => false,
        };
        #p::Result::Ok(#p::task_output(#bytes, #is_err, __sayiir_permanent))
    }
}

/// The body of `Task::timed_out`: `Err(E::from(timeout))` encoded like a return value, or an
/// error for a task without a timeout (the runtime never asks it).
fn timed_out_body(
    p: &TokenStream,
    sig: &TaskSig,
    name: &str,
    has_timeout: bool,
    encode_ret: &TokenStream,
) -> TokenStream {
    if !has_timeout {
        let detail = format!("task `{name}` has no timeout");
        return quote! {
            let _ = __sayiir_timeout;
            #p::Result::Err(#p::CodecError::Malformed { ty: "TaskTimeout", detail: #detail.into() })
        };
    }
    let ret = &sig.ret;
    let from = match error_type(ret) {
        Some(e) => quote_spanned!(e.span()=> #p::from_timeout::<#e>(__sayiir_timeout)),
        None => quote_spanned!(ret.span()=>
            #p::from_timeout::<<#ret as #p::ResultOutput>::Err>(__sayiir_timeout)
        ),
    };
    quote! {
        let __sayiir_ret: #ret = #p::Result::Err(#from);
        #encode_ret
    }
}

/// `E` of a return type written `Result<T, E>`.
fn error_type(ret: &Type) -> Option<&Type> {
    let Type::Path(tp) = ret else { return None };
    let syn::PathArguments::AngleBracketed(args) = &tp.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [syn::GenericArgument::Type(_), syn::GenericArgument::Type(e)] => Some(e),
        _ => None,
    }
}

/// `type Return = T;`, spanned at `T`: a public task whose return type is private is reported
/// there by rustc (E0446, private type in public interface), once.
fn return_item(ret: &Type) -> TokenStream {
    quote_spanned!(ret.span()=> type Return = #ret;)
}

/// Impls with the right shape and no behaviour, emitted next to the errors of a rejected task so
/// workflows that call it report nothing further.
fn stubs(p: &TokenStream, ident: &syn::Ident, vis: &syn::Visibility, sig: &TaskSig) -> TokenStream {
    let ret = &sig.ret;
    let return_item = return_item(ret);
    let params = sig.args.iter().map(|ty| quote!(_: #ty));
    quote! {
        const _: () = {
            impl #p::Task for #ident {
                #return_item
                const NAME: &'static str = "";
                const SIGNATURE_HASH: [u8; 32] = [0; 32];
                const OPTIONS: #p::TaskOptions = #p::TaskOptions::DEFAULT;
                fn call_encoded(
                    _: &[u8],
                ) -> #p::Result<#p::BoxFuture<#p::Result<#p::TaskOutput, #p::CodecError>>, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn decode_return(_: &[u8]) -> #p::Result<#ret, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn encode_return(_: &#ret) -> #p::Result<#p::Vec<u8>, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn timed_out(_: #p::TaskTimeout) -> #p::Result<#p::TaskOutput, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn describe(_: &mut #p::Describe<'_>) -> #p::TaskShape {
                    #p::TaskShape::new("")
                }
            }
            impl #p::Callee for #ident {
                #return_item
                type Wait = #p::TaskWait<#ident>;
                const HASH: [u8; 32] = [0; 32];
            }
            impl #ident {
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments)]
                #vis fn __sayiir_begin(_: &#p::StepCx, #(#params),*) -> #p::TaskWait<#ident> {
                    ::core::unreachable!()
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let b =
            check(syn::parse_str("async fn f(x: Vec < u8 >) -> u32 { /* */ 2 }").unwrap()).unwrap();
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
}
