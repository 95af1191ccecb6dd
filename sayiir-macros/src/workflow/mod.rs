//! `#[workflow]`: parse → analyze → lower → codegen.

mod analyze;
mod check;
mod codegen;
mod collections;
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
mod types;
mod vars;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemFn;

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
                let stubs = stubs(&quote!(#krate::__private), &wf, &original_sig);
                return quote!(#errors #stubs);
            }
            let errors = diag.into_compile_errors();
            return quote!(#errors #code);
        }
    }
    if let Err(e) = checks.finish() {
        diag.push(e);
    }
    let errors = diag.into_compile_errors();
    let stubs = stubs(&p, &wf, &original_sig);
    quote!(#errors #stubs)
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
/// or calls it reports nothing further.
fn stubs(p: &TokenStream, wf: &parse::WorkflowFn, sig: &syn::Signature) -> TokenStream {
    let ident = &wf.ident;
    let vis = &wf.vis;
    let attrs = &wf.attrs;
    let output = &wf.output;
    let input_ty = codegen::input_type(wf);
    // A child workflow is called with its inputs only: it shares the instance's context.
    let param_tys: Vec<syn::Type> = wf.params.iter().map(|p| p.ty.clone()).collect();
    quote! {
        #(#attrs)*
        #[allow(dead_code, unused_variables, unused_mut)]
        #vis #sig {
            ::core::unreachable!()
        }

        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}

        const _: () = {
            impl #p::Workflow for #ident {
                type Input = #input_ty;
                type Output = #output;
                type State = ();
                const NAME: &'static str = "";
                const VERSION: u32 = 0;
                const DEFINITION_HASH: [u8; 32] = [0; 32];
                fn start(_: #input_ty) {}
                fn work(_: &(), _: &mut #p::WorkSink) {}
                fn run(_: (), _: &[u32]) -> #p::Result<#p::TaskRun, #p::MachineError> {
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
                type Return = #output;
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
