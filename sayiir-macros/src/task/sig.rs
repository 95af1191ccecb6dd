//! The signature of a `#[task]`: stored arguments, resource parameters (`Res<T>`), return type.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::canon::Canon;
use crate::diag::Diagnostics;

/// The checked signature of a task.
#[derive(Debug)]
pub(crate) struct TaskSig {
    /// The stored arguments' types, in order: what a workflow passes, what enters the
    /// signature hash.
    pub(crate) args: Vec<Type>,
    /// The stored arguments' names in the task's description (`argN` for a pattern).
    pub(crate) arg_names: Vec<String>,
    /// The resource parameters (`Res<T>`), in order: neither passed nor stored nor hashed.
    pub(crate) resources: Vec<Resource>,
    /// Every parameter in order.
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Type,
    pub(crate) fallible: bool,
}

/// A parameter of a task: the index of a stored argument or of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    Stored(usize),
    Resource(usize),
}

/// A parameter whose type is written `Res<T>`: a resource the engine provides.
#[derive(Debug)]
pub(crate) struct Resource {
    /// The type as written (`Res<PgPool>`, `sayiir::Res<PgPool>`).
    pub(crate) ty: Type,
    /// `T`.
    pub(crate) inner: Type,
    /// The parameter as written, for messages (`pool: Res<PgPool>`).
    pub(crate) written: String,
}

/// `T` of a parameter type written `Res<T>`: a path, with any prefix (`Res`, `sayiir::Res`,
/// `::sayiir::Res`), whose last segment is `Res` with one type argument. Generated code then
/// checks that it is `sayiir::Res` (`__private::ResourceParam`), so another type of that
/// name is a compile error at the parameter, never taken silently for something else.
pub(crate) fn resource_inner(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Group(g) => resource_inner(&g.elem),
        Type::Paren(p) => resource_inner(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if last.ident != "Res" {
                return None;
            }
            let PathArguments::AngleBracketed(a) = &last.arguments else {
                return None;
            };
            match a.args.iter().collect::<Vec<_>>()[..] {
                [GenericArgument::Type(t)] => Some(t),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Why a type cannot be a resource, if it visibly cannot (borrowed for less than `'static`,
/// `impl Trait`), with the offending tokens.
fn unshareable(ty: &Type) -> Option<(TokenStream, String)> {
    const WHY: &str = "a resource must be `'static`: one value serves every run of the task for as long as the engine lives";
    struct Finder(Option<(TokenStream, String)>);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            if self.0.is_some() {
                return;
            }
            if r.lifetime.is_none() {
                let owned = match &*r.elem {
                    Type::Path(p) if p.path.is_ident("str") => "String".to_string(),
                    Type::Slice(s) => format!("Vec<{}>", written(&s.elem)),
                    other => written(other),
                };
                self.0 = Some((
                    r.to_token_stream(),
                    format!(
                        "{WHY}; use an owned type such as `Res<{owned}>`, or a `&'static` reference"
                    ),
                ));
                return;
            }
            syn::visit::visit_type_reference(self, r);
        }
        fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
            if self.0.is_none() && l.ident != "static" {
                self.0 = Some((
                    l.to_token_stream(),
                    format!("{WHY}, and this type borrows for `{l}`; use an owned type"),
                ));
            }
        }
        fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
            if self.0.is_none() {
                self.0 = Some((
                    t.to_token_stream(),
                    "a resource cannot have an `impl Trait` type: name a concrete type, or `dyn Trait` given to the engine with `.resource_arc(..)`".into(),
                ));
            }
        }
    }
    let mut f = Finder(None);
    syn::visit::visit_type(&mut f, ty);
    f.0
}

/// Tokens as people write them: `Res<PgPool>`, not `Res < PgPool >`.
pub(crate) fn written(tokens: &impl ToTokens) -> String {
    let mut out = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        out = out.replace(from, to);
    }
    out
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
pub(super) fn check_signature(func: &ItemFn, diag: &mut Diagnostics) -> (TaskSig, bool) {
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
    let mut arg_names = Vec::new();
    let mut resources = Vec::new();
    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => diag.error_spanned(
                r,
                "a `#[task]` cannot take `self`: tasks are free functions whose arguments are stored; pass the data as an owned argument",
            ),
            FnArg::Typed(t) => {
                if let Some(inner) = resource_inner(&t.ty) {
                    if let Some((tokens, why)) = unshareable(inner) {
                        diag.error_spanned(tokens, why);
                    }
                    params.push(Param::Resource(resources.len()));
                    resources.push(Resource {
                        ty: (*t.ty).clone(),
                        inner: inner.clone(),
                        written: format!("{}: {}", written(&t.pat), written(&t.ty)),
                    });
                    continue;
                }
                if let Some((tokens, why)) = unstorable(&t.ty) {
                    diag.error_spanned(tokens, format_args!("task arguments must be owned: {why}"));
                }
                let name = match &*t.pat {
                    syn::Pat::Ident(id) => id.ident.to_string(),
                    _ => format!("arg{}", args.len()),
                };
                params.push(Param::Stored(args.len()));
                arg_names.push(name);
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
            arg_names,
            resources,
            params,
            ret,
            fallible,
        },
        ok,
    )
}

/// Canonical signature bytes: name, stored argument types, return type (resources do not
/// enter: adding one to a task changes nothing stored).
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
