//! Stage 4, the workflow's self-description: what it stores state by state (`describe`, whose
//! traced shapes become the definition's fingerprint), each state's stable identity
//! (`state_id`), and taking a state apart and building one from parts (`dissect`, `assemble`),
//! which is how a newer version takes over an instance of an older one.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::codegen::{Gen, state_ident};
use super::ids::START;

impl Gen<'_> {
    /// `(variant, stable id, fields, wait type)` of every state, the start state first.
    fn states(
        &self,
    ) -> Vec<(
        syn::Ident,
        String,
        &[super::lower::Field],
        Option<TokenStream>,
    )> {
        let mut out = vec![(
            quote::format_ident!("Start"),
            START.to_string(),
            self.l.start.as_slice(),
            None,
        )];
        for (s, wait) in self.l.states.iter().zip(&self.waits) {
            out.push((
                s.variant.clone(),
                s.id.clone(),
                s.fields.as_slice(),
                Some(wait.clone()),
            ));
        }
        out
    }

    /// The items of `impl Workflow` that describe and take apart states.
    pub(crate) fn reflect_items(&self) -> TokenStream {
        let describe = self.describe_fn();
        let state_id = self.state_id_fn();
        let dissect = self.dissect_fn();
        let assemble = self.assemble_fn();
        quote!(#describe #state_id #dissect #assemble)
    }

    fn describe_fn(&self) -> TokenStream {
        let p = &self.p;
        let wf = self.wf;
        let (name, version, output) = (&wf.name, wf.version, &wf.output);
        let inputs = wf.params.iter().map(|param| {
            let (id, ty) = (param.ident.to_string(), &param.ty);
            let place = format!("input `{id}`");
            quote_spanned!(ty.span()=> __sayiir_w.input(#id, #p::shape_of::<#ty>(__sayiir_d, #place));)
        });
        let states = self.states().into_iter().map(|(variant, id, fields, wait)| {
            let variant = variant.to_string();
            let fields = fields.iter().map(|f| {
                let fname = f.ident.to_string();
                let ty = self.field_tokens(&f.ty);
                let place = format!("state `{id}` field `{fname}`");
                quote_spanned!(ty.span()=> __sayiir_w.field(#fname, #p::shape_of::<#ty>(__sayiir_d, #place));)
            });
            let wait = wait.map(|w| {
                let place = format!("state `{id}`");
                quote!(__sayiir_w.wait(__sayiir_d.wait::<#w>(#place));)
            });
            quote! {
                __sayiir_w.state(#variant, #id);
                #(#fields)*
                #wait
            }
        });
        let out = quote_spanned!(output.span()=> #p::shape_of::<#output>(__sayiir_d, "output"));
        quote! {
            fn describe(__sayiir_d: &mut #p::Describe<'_>) -> #p::WorkflowShape {
                let mut __sayiir_w = #p::WorkflowShape::new(
                    #name,
                    #version,
                    &<Self as #p::Workflow>::DEFINITION_HASH,
                );
                #(#inputs)*
                __sayiir_w.output(#out);
                #(#states)*
                __sayiir_w
            }
        }
    }

    fn state_id_fn(&self) -> TokenStream {
        let st = state_ident();
        let arms = self
            .states()
            .into_iter()
            .map(|(variant, id, ..)| quote!(#st::#variant { .. } => #id,));
        quote! {
            fn state_id(__sayiir_state: &#st) -> &'static str {
                match __sayiir_state {
                    #(#arms)*
                    #st::__SayiirAborted => "aborted",
                }
            }
        }
    }

    fn dissect_fn(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let arms = self
            .states()
            .into_iter()
            .map(|(variant, id, fields, wait)| {
                let names: Vec<_> = fields.iter().map(|f| &f.ident).collect();
                let puts = fields.iter().map(|f| {
                    let (ident, fname) = (&f.ident, f.ident.to_string());
                    let ty = self.field_tokens(&f.ty);
                    quote!(__sayiir_parts.put::<#ty>(#fname, #ident)?;)
                });
                let (wait_pat, put_wait) = match wait {
                    Some(_) => (
                        quote!(__sayiir_wait,),
                        quote!(__sayiir_parts.put_wait(__sayiir_wait)?;),
                    ),
                    None => (quote!(), quote!()),
                };
                quote! {
                    #st::#variant { #(#names,)* #wait_pat } => {
                        let mut __sayiir_parts = #p::StateParts::new(#id);
                        #(#puts)*
                        #put_wait
                        #p::Result::Ok(__sayiir_parts)
                    }
                }
            });
        quote! {
            fn dissect(__sayiir_state: &#st) -> #p::Result<#p::StateParts, #p::CodecError> {
                match __sayiir_state {
                    #(#arms)*
                    #st::__SayiirAborted => #p::Result::Err(#p::CodecError::Encode {
                        ty: "state",
                        detail: "an aborted transition is never stored".into(),
                    }),
                }
            }
        }
    }

    fn assemble_fn(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let name = &self.wf.name;
        let arms = self
            .states()
            .into_iter()
            .map(|(variant, id, fields, wait)| {
                let takes = fields.iter().map(|f| {
                    let (ident, fname) = (&f.ident, f.ident.to_string());
                    let ty = self.field_tokens(&f.ty);
                    quote!(#ident: __sayiir_parts.take::<#ty>(#fname)?,)
                });
                let wait = wait.map(|_| quote!(__sayiir_wait: __sayiir_parts.take_wait()?,));
                quote!(#id => #p::Result::Ok(#st::#variant { #(#takes)* #wait }),)
            });
        quote! {
            fn assemble(
                mut __sayiir_parts: #p::StateParts,
            ) -> #p::Result<#st, #p::MachineError> {
                let __sayiir_id = #p::String::from(__sayiir_parts.id());
                match __sayiir_id.as_str() {
                    #(#arms)*
                    __sayiir_other => #p::Result::Err(#p::MachineError::NoSuchState {
                        workflow: #name,
                        state: __sayiir_other.into(),
                    }),
                }
            }
        }
    }
}
