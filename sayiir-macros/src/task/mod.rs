//! `#[task]`: keeps the function as written and adds, under the same name in the type namespace,
//! a type implementing `Task` and `Callee` so workflows can call it and the runtime can run it.
//! A parameter written `Res<T>` is a resource (`sig.rs`): the engine provides it when the task
//! runs; it is not passed by the workflow, not stored, not hashed.

mod emit;
mod options;
mod sig;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

use crate::diag::Diagnostics;
use emit::{call_fn, describe_fn, encode_output, resources_fn, return_item, stubs, timed_out_body};
use options::TaskOptions;
use sig::{check_signature, signature_bytes};
pub(crate) use sig::{is_result_type, unstorable};

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
    let krate = crate::options::sayiir_path(opts.krate.as_ref());
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
    let call = call_fn(&p, ident, &name, &sig);
    // At the task's name: a call with the wrong arguments (a resource passed, say) shows the
    // task's signature in rustc's "defined here" note.
    let begin = format_ident!("__sayiir_begin", span = ident.span());
    let resources = resources_fn(&p, &sig);
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
    let describe = describe_fn(&p, &sig, &name);
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
            impl #p::TaskSeal for #ident {}
            impl #p::Task for #ident {
                #return_item
                const NAME: &'static str = #name;
                const SIGNATURE_HASH: [u8; 32] = #p::blake3(#sig_bytes);
                #[allow(clippy::needless_update)]
                const OPTIONS: #p::TaskOptions = #options;
                fn call_encoded(
                    __sayiir_bytes: &[u8],
                ) -> #p::Result<#p::BoxFuture<#p::Result<#p::TaskOutput, #p::MachineError>>, #p::CodecError> {
                    let mut __sayiir_reader = #p::args_reader(__sayiir_bytes);
                    #(#reads)*
                    __sayiir_reader.finish("argument list")?;
                    #p::Result::Ok(#boxed(async move {
                        #call
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
                #resources
            }
            impl #p::Callee for #ident {
                #return_item
                type Wait = #p::TaskWait<#ident>;
                const HASH: [u8; 32] = <#ident as #p::Task>::SIGNATURE_HASH;
            }
            impl #ident {
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments)]
                #vis fn #begin(__sayiir_cx: &#p::StepCx, #(#params),*) -> #p::TaskWait<#ident> {
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

#[cfg(test)]
mod tests;
