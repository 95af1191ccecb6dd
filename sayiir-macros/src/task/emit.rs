//! The items `#[task]` generates besides the `Task` impl's skeleton: description, output
//! encoding, timeouts, resources, and the stubs of a rejected task.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use super::sig::{Param, TaskSig};

/// `Task::describe`: the shapes of the stored arguments (named as in the signature) and of the
/// return type, each type named in a `de_field` call spanned at the user's type.
pub(super) fn describe_fn(p: &TokenStream, sig: &TaskSig, name: &str) -> TokenStream {
    let args = sig.args.iter().zip(&sig.arg_names).map(|(ty, arg)| {
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
pub(super) fn encode_output(p: &TokenStream, sig: &TaskSig) -> TokenStream {
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
pub(super) fn timed_out_body(
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
pub(super) fn return_item(ret: &Type) -> TokenStream {
    quote_spanned!(ret.span()=> type Return = #ret;)
}

/// Impls with the right shape and no behaviour, emitted next to the errors of a rejected task so
/// workflows that call it report nothing further.
pub(super) fn stubs(
    p: &TokenStream,
    ident: &syn::Ident,
    vis: &syn::Visibility,
    sig: &TaskSig,
) -> TokenStream {
    let ret = &sig.ret;
    let return_item = return_item(ret);
    let params = sig.args.iter().map(|ty| quote!(_: #ty));
    quote! {
        const _: () = {
            impl #p::TaskSeal for #ident {}
            impl #p::Task for #ident {
                #return_item
                const NAME: &'static str = "";
                const SIGNATURE_HASH: [u8; 32] = [0; 32];
                const OPTIONS: #p::TaskOptions = #p::TaskOptions::DEFAULT;
                fn call_encoded(
                    _: &[u8],
                ) -> #p::Result<#p::BoxFuture<#p::Result<#p::TaskOutput, #p::MachineError>>, #p::CodecError> {
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

/// `Task::resources`: the `Res<T>` parameters' types (none: the trait's default).
pub(super) fn resources_fn(p: &TokenStream, sig: &TaskSig) -> TokenStream {
    if sig.resources.is_empty() {
        return TokenStream::new();
    }
    let needs = sig.resources.iter().map(|r| {
        let inner = &r.inner;
        let written = &r.written;
        quote_spanned!(inner.span()=> #p::ResourceNeed::of::<#inner>(#written))
    });
    quote! {
        fn resources() -> #p::Vec<#p::ResourceNeed> {
            #p::Vec::from([#(#needs),*])
        }
    }
}

/// The body of the task future: takes each resource from the running task's context (through
/// `ResourceParam`, spanned at the written type: a `Res` that is not sayiir's is reported
/// there), then calls the function with every parameter in order.
pub(super) fn call_fn(
    p: &TokenStream,
    ident: &syn::Ident,
    name: &str,
    sig: &TaskSig,
) -> TokenStream {
    let fetch = sig.resources.iter().enumerate().map(|(k, r)| {
        let var = format_ident!("__sayiir_r{}", k);
        let ty = &r.ty;
        let written = &r.written;
        let get = quote_spanned!(ty.span()=> #p::resource::<#ty>(#name, #written));
        quote!(let #var = #get?;)
    });
    let args = sig.params.iter().map(|param| match param {
        Param::Stored(j) => format_ident!("__sayiir_a{}", j),
        Param::Resource(k) => format_ident!("__sayiir_r{}", k),
    });
    let ret = &sig.ret;
    quote! {
        #(#fetch)*
        let __sayiir_ret: #ret = #ident(#(#args),*).await;
    }
}
