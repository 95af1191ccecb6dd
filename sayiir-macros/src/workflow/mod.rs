//! `#[workflow]`: parse → analyze → lower → codegen.

mod analyze;
mod check;
mod codegen;
mod collections;
mod doc;
mod emit;
#[cfg(test)]
mod fixtures;
mod flow;
mod hash;
mod hygiene;
mod ids;
mod ir;
mod lower;
mod parse;
mod reflect;
mod transitions;
mod types;
mod vars;

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ItemFn;
use syn::visit::Visit;

use crate::diag::Diagnostics;
use crate::options;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut diag = Diagnostics::new();
    let opts = parse::WorkflowOptions::parse(args, &mut diag);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            diag.error(
                Span::call_site(),
                "`#[workflow]` applies to an `async fn`: write the workflow as `async fn name(input: Input) -> Output { ... }`",
            );
            let errors = diag.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let krate = options::sayiir_path(opts.krate.as_ref());
    let p = quote!(#krate::__private);
    let original_sig = func.sig.clone();
    let named = imported_names(&func.sig, &func.block);
    let rewritten = rewritten_body(&func.block);
    let mut checks = Diagnostics::new();
    let wf = parse::parse(func, &opts, &mut checks);
    if !checks.has_errors() {
        let body = analyze::analyze(&wf.body, &mut checks);
        let lowered = lower::lower(&wf, &body, &mut checks);
        if !checks.has_errors() {
            let definition = hash::definition_bytes(&wf, &body, &lowered);
            let waits: Vec<TokenStream> = body
                .points
                .iter()
                .map(|pt| codegen::wait_type(&p, &wf, &pt.what))
                .collect();
            let outputs = codegen::outputs(&p, &body, &waits);
            let generator = codegen::Gen {
                p,
                wf: &wf,
                body: &body,
                l: &lowered,
                definition,
                waits,
                outputs,
                max_iterations: wf.max_iterations.unwrap_or(codegen::DEFAULT_MAX_ITERATIONS),
            };
            let code = generator.generate();
            let size = token_count(&code);
            if size > MAX_EXPANSION {
                diag.error(
                    wf.ident.span(),
                    format_args!(
                        "this workflow expands to {size} tokens (the limit is {MAX_EXPANSION}): code after each branch that awaits is copied into every path that reaches it; move parts of the body into child workflows"
                    ),
                );
                let errors = diag.into_compile_errors();
                let stubs = stubs(&quote!(#krate::__private), &wf, &original_sig, &named);
                return quote!(#errors #stubs);
            }
            let errors = diag.into_compile_errors();
            return quote!(#errors #code);
        }
    }
    match rewritten {
        // Every error is about the body another macro made: one error says so.
        Some((span, message)) => diag.error(span, message),
        None => {
            if let Err(e) = checks.finish() {
                diag.push(e);
            }
        }
    }
    let errors = diag.into_compile_errors();
    let stubs = stubs(&p, &wf, &original_sig, &named);
    quote!(#errors #stubs)
}

/// Whether the body was written by another attribute macro rather than by the user (an
/// attribute above `#[workflow]` runs first and hands it its output): the span of the first
/// token that was not written where its span points (one of that macro's tokens, spanned at its
/// attribute), and the error that says so. Consulted only when the workflow is rejected.
fn rewritten_body(body: &syn::Block) -> Option<(Span, String)> {
    use proc_macro2::TokenTree;
    fn tracing_ident(tokens: TokenStream) -> Option<Span> {
        tokens.into_iter().find_map(|tt| match tt {
            TokenTree::Ident(i) if i.to_string().starts_with("__tracing_") => Some(i.span()),
            TokenTree::Group(g) => tracing_ident(g.stream()),
            _ => None,
        })
    }
    let foreign = body.stmts.iter().find_map(|stmt| {
        let first = stmt.to_token_stream().into_iter().next()?;
        let text = match &first {
            TokenTree::Group(g) => match g.delimiter() {
                proc_macro2::Delimiter::Parenthesis => "(".to_string(),
                proc_macro2::Delimiter::Bracket => "[".to_string(),
                proc_macro2::Delimiter::Brace => "{".to_string(),
                proc_macro2::Delimiter::None => return None,
            },
            TokenTree::Punct(p) => p.as_char().to_string(),
            other => other.to_string(),
        };
        let source = first.span().source_text()?;
        (!source.starts_with(&text)).then(|| first.span())
    });
    let span = foreign
        .or_else(|| tracing_ident(body.stmts.iter().map(|s| s.to_token_stream()).collect()))?;
    let attribute = span.source_text().and_then(|s| {
        let path = s.strip_prefix("#[")?.strip_suffix(']')?;
        Some(path.split('(').next()?.trim().to_string())
    });
    let message = match attribute {
        Some(path) => format!(
            "`#[{path}]` is written above `#[sayiir::workflow]`, so it runs first and `#[sayiir::workflow]` sees the body it rewrote, not the body written here; put `#[sayiir::workflow]` first, above `#[{path}]`"
        ),
        None => "the body of this workflow was not written here: another macro rewrote it before `#[sayiir::workflow]` saw it (an attribute macro written above `#[sayiir::workflow]` runs first); put `#[sayiir::workflow]` above other attribute macros".to_string(),
    };
    Some((span, message))
}

/// Largest expansion accepted: well past any reasonable workflow, well before rustc struggles.
const MAX_EXPANSION: usize = 2_000_000;

fn token_count(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Group(g) => 1 + token_count(&g.stream()),
            _ => 1,
        })
        .sum()
}

/// The items of a rejected workflow with the right shape and no behaviour, so code that starts
/// or calls it reports nothing further. The stub's body names what the body named (see
/// [`imported_names`]), so the imports of the tasks it calls are not reported unused.
fn stubs(
    p: &TokenStream,
    wf: &parse::WorkflowFn,
    sig: &syn::Signature,
    named: &[syn::Ident],
) -> TokenStream {
    let ident = &wf.ident;
    let vis = &wf.vis;
    let attrs = &wf.attrs;
    let output = &wf.output;
    // An input type that cannot be stored was reported: `()` stands in for it where a type that
    // cannot be stored would be a further error (`type Input = impl Trait`).
    let storable: Vec<TokenStream> = wf
        .params
        .iter()
        .map(|p| match crate::task::unstorable(&p.ty) {
            Some(_) => quote!(()),
            None => p.ty.to_token_stream(),
        })
        .collect();
    let input_ty = match storable.as_slice() {
        [one] => one.clone(),
        many => quote!((#(#many,)*)),
    };
    let (input_item, output_item, return_item) = codegen::interface_items(wf, &input_ty);
    // A child workflow is called with its inputs only: it shares the instance's context.
    let param_tys: Vec<syn::Type> = wf.params.iter().map(|p| p.ty.clone()).collect();
    quote! {
        #(#attrs)*
        #[allow(dead_code, unused_variables, unused_mut)]
        #vis #sig {
            #(
                #[allow(unused_imports)]
                use #named as _;
            )*
            ::core::unreachable!()
        }

        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}

        const _: () = {
            impl #p::WorkflowSeal for #ident {}
            impl #p::Workflow for #ident {
                #input_item
                #output_item
                type State = ();
                const NAME: &'static str = "";
                const VERSION: u32 = 0;
                const DEFINITION_HASH: [u8; 32] = [0; 32];
                fn start(_: #input_ty) {}
                fn work(_: &(), _: &mut #p::WorkSink) {}
                fn run(_: &(), _: &[u32]) -> #p::Result<#p::TaskRun, #p::MachineError> {
                    ::core::unreachable!()
                }
                fn advance(
                    _: (),
                    _: &[u32],
                    _: #p::Input<'_>,
                    _: &#p::StepCx,
                ) -> #p::Result<#p::Advance<(), #output>, #p::MachineError> {
                    ::core::unreachable!()
                }
                fn is_failure(_: &#output) -> bool {
                    false
                }
                fn encode_output(_: &#output) -> #p::Result<#p::Vec<u8>, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn decode_output(_: &[u8]) -> #p::Result<#output, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn signals(_: &mut #p::SignalSet) {}
                fn describe(_: &mut #p::Describe<'_>) -> #p::WorkflowShape {
                    #p::WorkflowShape::new("", 0, &[0; 32])
                }
                fn state_id(_: &()) -> &'static str {
                    ""
                }
                fn dissect(_: &()) -> #p::Result<#p::StateParts, #p::CodecError> {
                    ::core::unreachable!()
                }
                fn assemble(_: #p::StateParts) -> #p::Result<(), #p::MachineError> {
                    ::core::unreachable!()
                }
                fn start_raw(_: &[u8]) -> #p::Result<(), #p::MachineError> {
                    ::core::unreachable!()
                }
            }
            impl #p::Callee for #ident {
                #return_item
                type Wait = #p::ChildWait<#ident>;
                const HASH: [u8; 32] = [0; 32];
                fn declare(__sayiir_out: &mut #p::SignalSet, _: #p::Option<&'static str>) {
                    <Self as #p::Workflow>::signals(__sayiir_out)
                }
            }
            impl #ident {
                /// blake3 hash of this workflow's definition (unavailable: the workflow has errors).
                #vis const DEFINITION_HASH: [u8; 32] = [0; 32];
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments)]
                #vis fn __sayiir_begin(_: &#p::StepCx, #(_: #param_tys),*) -> #p::ChildWait<#ident> {
                    ::core::unreachable!()
                }
            }
        };
    }
}

/// The names a workflow body refers to that may be imports of the enclosing module: the first
/// segment of each path in an expression, type, pattern or macro (and in the arguments of a
/// macro that are expressions), once each, with the span of its first use. Left out: names the
/// body or the signature binds (locals, parameters, generics, the body's own items and `use`s),
/// keywords and `::paths`; and everything when the body has a `use` with a glob (what it brings
/// in is unknown). Each is named in the stub of a rejected workflow by `use name as _;`, which
/// resolves in the enclosing module as the body did.
fn imported_names(sig: &syn::Signature, body: &syn::Block) -> Vec<syn::Ident> {
    #[derive(Default)]
    struct Names {
        bound: HashSet<String>,
        seen: HashSet<String>,
        named: Vec<syn::Ident>,
        glob: bool,
    }
    impl Names {
        fn first_segment(&mut self, path: &syn::Path) {
            let Some(first) = path.segments.first() else {
                return;
            };
            let name = first.ident.to_string();
            if path.leading_colon.is_none()
                && !matches!(name.as_str(), "self" | "Self" | "super" | "crate")
                && self.seen.insert(name)
            {
                self.named.push(first.ident.clone());
            }
        }
        /// The generic arguments of a path's segments, without naming its first segment.
        fn arguments(&mut self, path: &syn::Path) {
            for seg in &path.segments {
                self.visit_path_arguments(&seg.arguments);
            }
        }
        fn qualified(&mut self, qself: Option<&syn::QSelf>, path: &syn::Path) {
            match qself {
                // `<T>::f`: `f` is not a name on its own.
                Some(q) if q.position == 0 => {
                    self.visit_type(&q.ty);
                    self.arguments(path);
                }
                Some(q) => {
                    self.visit_type(&q.ty);
                    self.visit_path(path);
                }
                None => self.visit_path(path),
            }
        }
        fn use_tree(&mut self, tree: &syn::UseTree) {
            match tree {
                syn::UseTree::Path(p) => self.use_tree(&p.tree),
                syn::UseTree::Name(n) => {
                    self.bound.insert(n.ident.to_string());
                }
                syn::UseTree::Rename(r) => {
                    self.bound.insert(r.rename.to_string());
                }
                syn::UseTree::Glob(_) => self.glob = true,
                syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(t)),
            }
        }
    }
    impl<'ast> Visit<'ast> for Names {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            self.first_segment(path);
            self.arguments(path);
        }
        fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
            self.qualified(e.qself.as_ref(), &e.path);
        }
        fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
            self.qualified(t.qself.as_ref(), &t.path);
        }
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.bound.insert(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
        fn visit_generic_param(&mut self, g: &'ast syn::GenericParam) {
            if let syn::GenericParam::Type(t) = g {
                self.bound.insert(t.ident.to_string());
            }
            if let syn::GenericParam::Const(c) = g {
                self.bound.insert(c.ident.to_string());
            }
            syn::visit::visit_generic_param(self, g);
        }
        fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.visit_path(&m.path);
            let args = m.parse_body_with(
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            );
            if let Ok(args) = args {
                args.iter().for_each(|e| self.visit_expr(e));
            }
        }
        // The body's own items: their names are bound; what they contain is not looked at.
        fn visit_item(&mut self, item: &'ast syn::Item) {
            let ident = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::ExternCrate(i) => Some(i.rename.as_ref().map_or(&i.ident, |r| &r.1)),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                syn::Item::Mod(i) => Some(&i.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::TraitAlias(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                syn::Item::Use(u) => {
                    self.use_tree(&u.tree);
                    None
                }
                _ => None,
            };
            if let Some(ident) = ident {
                self.bound.insert(ident.to_string());
            }
        }
    }
    let mut names = Names::default();
    names.visit_signature(sig);
    names.named.clear();
    names.seen.clear();
    names.visit_block(body);
    if names.glob {
        return Vec::new();
    }
    let Names { bound, named, .. } = names;
    named
        .into_iter()
        .filter(|n| !bound.contains(&n.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn names(f: ItemFn) -> Vec<String> {
        imported_names(&f.sig, &f.block)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_stub_names_what_the_body_may_import() {
        let f: ItemFn = parse_quote! {
            async fn flow<T>(n: u64, ctx: &mut WorkflowContext) -> u64 {
                let x: Order = reserve(n).await;
                let (a, b) = sayiir::join!(ship(x), notify(n)).await;
                let v = <Vec<Item>>::new();
                let later = |k: u64| tasks::step(k);
                fn helper() -> u64 { inner_only() }
                use more::{extra as renamed};
                match a { Some(y) => y + b + renamed(helper()), None => T::default() }
            }
        };
        let got = names(f);
        for name in [
            "Order", "reserve", "sayiir", "ship", "notify", "Vec", "Item", "tasks",
        ] {
            assert!(
                got.contains(&name.to_string()),
                "{name} missing from {got:?}"
            );
        }
        // Bound by the body or the signature, or not a name on its own.
        for name in [
            "n",
            "x",
            "a",
            "b",
            "v",
            "later",
            "k",
            "y",
            "ctx",
            "T",
            "helper",
            "renamed",
            "inner_only",
            "new",
            "WorkflowContext",
        ] {
            assert!(!got.contains(&name.to_string()), "{name} in {got:?}");
        }
        // A glob brings in unknown names: nothing is named.
        let f: ItemFn = parse_quote! {
            async fn flow() { use tasks::*; step(1).await; }
        };
        assert!(names(f).is_empty());
    }
}
