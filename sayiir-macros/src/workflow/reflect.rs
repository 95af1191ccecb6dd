//! Stage 4, the workflow's self-description: what it stores state by state (`describe`, whose
//! traced shapes become the definition's fingerprint), each state's stable identity
//! (`state_id`), and taking a state apart and building one from parts (`dissect`, `assemble`),
//! which is how a newer version takes over an instance of an older one.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::codegen::{Gen, machine_ident, state_ident};

/// A state's wait type and the span of its suspension point.
type Waited = (TokenStream, proc_macro2::Span);
use super::ids::START;

impl Gen<'_> {
    /// `(variant, stable id, fields, wait type)` of every state, the start state first.
    fn states(&self) -> Vec<(syn::Ident, String, &[super::lower::Field], Option<Waited>)> {
        let mut out = vec![(
            quote::format_ident!("Start"),
            START.to_string(),
            self.l.start.as_slice(),
            None,
        )];
        for ((s, wait), point) in self.l.states.iter().zip(&self.waits).zip(&self.body.points) {
            out.push((
                s.variant.clone(),
                s.id.clone(),
                s.fields.as_slice(),
                Some((wait.clone(), point.what.span())),
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
        let start_raw = self.start_raw_fn();
        quote!(#describe #state_id #dissect #assemble #start_raw)
    }

    /// `Workflow::start_raw`: the start state from the inputs encoded one after another.
    fn start_raw_fn(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let m = machine_ident();
        let names: Vec<_> = self.l.start.iter().map(|f| &f.ident).collect();
        let reads = self.l.start.iter().map(|f| {
            let ident = &f.ident;
            let ty = self.field_tokens(&f.ty);
            let read = quote_spanned!(ty.span()=> #p::de_field::<#ty, _>(&mut __sayiir_r)?);
            quote!(let #ident = #read;)
        });
        quote! {
            fn start_raw(__sayiir_bytes: &[u8]) -> #p::Result<#m, #p::MachineError> {
                let mut __sayiir_r = #p::FieldReader::new(__sayiir_bytes);
                #(#reads)*
                __sayiir_r.finish("input")?;
                #p::Result::Ok(#m(#st::Start { #(#names),* }))
            }
        }
    }

    fn describe_fn(&self) -> TokenStream {
        let p = &self.p;
        let wf = self.wf;
        let (name, version, output) = (&wf.name, wf.version, &wf.output);
        // Every stored type is named only in a `de_field` call spanned like the state's own
        // serde impl (see `__private`), so a type that cannot be stored is reported once.
        let inputs = self.l.start.iter().map(|f| {
            let fname = f.ident.to_string();
            let ty = self.field_tokens(&f.ty);
            let place = format!("input `{fname}`");
            let read = quote_spanned!(ty.span()=> #p::de_field::<#ty, _>(__sayiir_s).map(drop));
            quote!(__sayiir_w.input(#fname, __sayiir_d.traced(#place, &mut |__sayiir_s| #read));)
        });
        let all = self.states();
        let ids: Vec<&str> = all.iter().map(|(_, id, ..)| id.as_str()).collect();
        let flow = super::transitions::transitions(self.body);
        let nexts: Vec<TokenStream> = flow
            .iter()
            .map(|n| {
                let to = n.states.iter().filter_map(|&k| ids.get(k));
                let ends = n.ends;
                quote!(__sayiir_w.next(&[#(#to),*], #ends);)
            })
            .collect();
        let states = all.iter().zip(&nexts).map(|((variant, id, fields, wait), next)| {
            let variant = variant.to_string();
            let fields = fields.iter().map(|f| {
                let fname = f.ident.to_string();
                let ty = self.field_tokens(&f.ty);
                let place = format!("state `{id}` field `{fname}`");
                let read =
                    quote_spanned!(ty.span()=> #p::de_field::<#ty, _>(__sayiir_s).map(drop));
                quote!(__sayiir_w.field(#fname, __sayiir_d.traced(#place, &mut |__sayiir_s| #read));)
            });
            let wait = wait.as_ref().map(|(w, span)| {
                let place = format!("state `{id}`");
                // Spanned at the point, like the other uses of the wait's `Wait` impl.
                let describe = quote_spanned!(*span=> <#w as #p::DescribeWait>::describe(__sayiir_d));
                quote!(__sayiir_w.wait(__sayiir_d.at(#place, &mut |__sayiir_d| #describe));)
            });
            quote! {
                __sayiir_w.state(#variant, #id);
                #(#fields)*
                #wait
                #next
            }
        });
        let out = quote_spanned!(output.span()=> #p::de_field::<#output, _>(__sayiir_s).map(drop));
        quote! {
            fn describe(__sayiir_d: &mut #p::Describe<'_>) -> #p::WorkflowShape {
                let mut __sayiir_w = #p::WorkflowShape::new(
                    #name,
                    #version,
                    &<Self as #p::Workflow>::DEFINITION_HASH,
                );
                #(#inputs)*
                __sayiir_w.output(__sayiir_d.traced("output", &mut |__sayiir_s| #out));
                #(#states)*
                __sayiir_w
            }
        }
    }

    fn state_id_fn(&self) -> TokenStream {
        let st = state_ident();
        let m = machine_ident();
        let arms = self
            .states()
            .into_iter()
            .map(|(variant, id, ..)| quote!(#st::#variant { .. } => #id,));
        quote! {
            fn state_id(__sayiir_state: &#m) -> &'static str {
                match &__sayiir_state.0 {
                    #(#arms)*
                    #st::__SayiirAborted => "aborted",
                }
            }
        }
    }

    fn dissect_fn(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let m = machine_ident();
        let arms = self.states().into_iter().map(|(variant, id, fields, wait)| {
            let names: Vec<_> = fields.iter().map(|f| &f.ident).collect();
            let strs: Vec<String> = names.iter().map(ToString::to_string).collect();
            let writes = fields.iter().map(|f| {
                let ident = &f.ident;
                let ty = self.field_tokens(&f.ty);
                quote_spanned!(ty.span()=> #p::ser_field::<#ty, _>(__sayiir_w, #ident)?;)
            });
            let has_wait = wait.is_some();
            let (wait_pat, write_wait) = match wait {
                Some(_) => (
                    quote!(__sayiir_wait,),
                    quote!(#p::serde::ser::SerializeTuple::serialize_element(__sayiir_w, __sayiir_wait)?;),
                ),
                None => (quote!(), quote!()),
            };
            quote! {
                #st::#variant { #(#names,)* #wait_pat } => #p::dissect(
                    #id,
                    &[#(#strs),*],
                    #has_wait,
                    |__sayiir_w| {
                        #(#writes)*
                        #write_wait
                        #p::Result::Ok(())
                    },
                ),
            }
        });
        quote! {
            fn dissect(__sayiir_state: &#m) -> #p::Result<#p::StateParts, #p::CodecError> {
                match &__sayiir_state.0 {
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
        let m = machine_ident();
        let name = &self.wf.name;
        let arms = self
            .states()
            .into_iter()
            .map(|(variant, id, fields, wait)| {
                let takes = fields.iter().map(|f| {
                    let (ident, fname) = (&f.ident, f.ident.to_string());
                    let ty = self.field_tokens(&f.ty);
                    let read = quote_spanned!(ty.span()=>
                        #p::de_field::<#ty, _>(&mut __sayiir_parts.reader(#fname)?)?
                    );
                    quote!(#ident: #read,)
                });
                let wait = wait.map(|_| quote!(__sayiir_wait: __sayiir_parts.take_wait()?,));
                quote!(#id => #p::Result::Ok(#m(#st::#variant { #(#takes)* #wait })),)
            });
        quote! {
            fn assemble(
                __sayiir_parts: #p::StateParts,
            ) -> #p::Result<#m, #p::MachineError> {
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
