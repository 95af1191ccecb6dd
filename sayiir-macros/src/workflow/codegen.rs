//! Stage 4: the state enum, its serde impls, the `Workflow` impl with one transition per state,
//! and the items that let the workflow be called and named.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::emit::Frame;
use super::ir::{Block, Body, NodeKind, Suspension};
use super::lower::{Field, FieldTy, Lowered, ty_tokens};
use super::parse::{OutputKind, WorkflowFn};

/// Loop iterations allowed per loop run when neither the workflow nor the loop sets a limit.
pub(crate) const DEFAULT_MAX_ITERATIONS: u64 = 100_000;

/// Everything codegen needs.
pub(crate) struct Gen<'a> {
    pub(crate) p: TokenStream,
    pub(crate) wf: &'a WorkflowFn,
    pub(crate) body: &'a Body,
    pub(crate) l: &'a Lowered,
    pub(crate) definition: Vec<u8>,
    /// The wait type of each suspension point.
    pub(crate) waits: Vec<TokenStream>,
    /// The type each suspension point yields, spanned at the point.
    pub(crate) outputs: Vec<TokenStream>,
    pub(crate) max_iterations: u64,
}

/// The enum of a workflow's states: private, so the types it holds (which may be private to the
/// user's module) are no part of any public interface.
pub(crate) fn state_ident() -> Ident {
    format_ident!("__SayiirState")
}

/// `Workflow::State`: a public newtype over the private state enum. It must be public (it is an
/// associated type of the workflow's `impl Workflow`); its field is private, so the values a
/// public workflow keeps across an `.await` may have private types without `private_interfaces`
/// warnings. It serializes exactly as the enum.
pub(crate) fn machine_ident() -> Ident {
    format_ident!("__SayiirMachine")
}

/// `<wait as Wait>::Output` for each point, spanned at the point so a failed bound is reported
/// there (once).
pub(crate) fn outputs(p: &TokenStream, body: &Body, waits: &[TokenStream]) -> Vec<TokenStream> {
    body.points
        .iter()
        .zip(waits)
        .map(|(pt, w)| quote_spanned!(pt.what.span()=> <#w as #p::Wait>::Output))
        .collect()
}

/// The wait type of a suspension point.
pub(crate) fn wait_type(p: &TokenStream, wf: &WorkflowFn, what: &Suspension) -> TokenStream {
    let wait_of = |c: &super::ir::Call| {
        let callee = &c.callee;
        if c.timeout.is_some() {
            quote_spanned!(callee.span()=> <#callee as #p::TimeoutCallee>::Wait)
        } else {
            quote_spanned!(callee.span()=> <#callee as #p::Callee>::Wait)
        }
    };
    match what {
        Suspension::Call(c) => wait_of(c),
        Suspension::Continue(c) => {
            // Holds the next run's start state, encoded.
            let m = machine_ident();
            let output = &wf.output;
            quote_spanned!(c.callee.span()=> #p::ContinueWait<#m, #output>)
        }
        Suspension::Join { calls, try_, span } => {
            let ty = format_ident!("{}{}", if *try_ { "TryJoin" } else { "Join" }, calls.len());
            let waits = calls.iter().map(wait_of);
            quote_spanned!(*span=> #p::#ty<#(#waits),*>)
        }
        Suspension::JoinAll { call, try_, .. } => {
            let ty = if *try_ {
                quote!(TryJoinAll)
            } else {
                quote!(JoinAll)
            };
            let w = wait_of(call);
            quote!(#p::#ty<#w>)
        }
    }
}

impl Gen<'_> {
    pub(crate) fn generate(&self) -> TokenStream {
        let p = &self.p;
        let wf = self.wf;
        let ident = &wf.ident;
        let vis = &wf.vis;
        let output = &wf.output;
        let name = &wf.name;
        let version = wf.version;
        let on_exhausted = wf.on_exhausted.map(|park| {
            let value = crate::options::on_exhausted_tokens(park, p);
            quote!(const ON_EXHAUSTED: #p::OnExhausted = #value;)
        });
        let concurrency = wf.concurrency.map(|n| {
            quote!(const CONCURRENCY: ::core::option::Option<#p::NonZeroU32> = #p::NonZeroU32::new(#n);)
        });
        let st = state_ident();
        let m = machine_ident();
        let input_ty = self.input_type();
        let param_idents: Vec<&Ident> = wf.params.iter().map(|p| &p.ident).collect();
        let param_tys: Vec<_> = wf.params.iter().map(|p| &p.ty).collect();
        let input_expr = input_expr(&param_idents);
        let (ctx_param, run_inline) = match &wf.ctx {
            Some(c) => {
                let (id, ty, inner) = (&c.ident, &c.ty, &c.inner);
                let back = quote_spanned!(inner.span()=> <#inner as #p::SharedContext>::back(#id));
                (
                    quote!(#id: #ty,),
                    quote!(#p::run_inline_with::<#ident>(#back, #input_expr)),
                )
            }
            None => (quote!(), quote!(#p::run_inline::<#ident>(#input_expr))),
        };
        let items = self.items();
        let (input_item, output_item, return_item) = interface_items(wf, &input_ty);
        let signals = self.signals();
        let reflect = self.reflect_items();
        let attrs = &wf.attrs;
        let doc = super::doc::doc(wf, self.body, self.l);
        let enum_def = self.state_enum();
        let serde_impls = self.serde_impls();
        let start_names = self.l.start.iter().map(|f| &f.ident);
        let work_arms = self.work_arms();
        let run_arms = self.run_arms();
        let advance_body = self.advance_body();
        let definition = proc_macro2::Literal::byte_string(&self.definition);
        let callees = self
            .l
            .callees
            .iter()
            .map(|c| quote!(&<#c as #p::Callee>::HASH));
        let is_failure = match wf.output_kind {
            OutputKind::Result => quote!(#p::is_err(__sayiir_output)),
            _ => quote!(#p::never_err(__sayiir_output)),
        };
        let encode_output = quote_spanned!(output.span()=>
            #p::encode_with(|__sayiir_w| #p::ser_field::<#output, _>(__sayiir_w, __sayiir_output))
        );
        // At each input type's tokens: sayiir's `WorkflowContext` is not an input.
        let plain_inputs = param_tys.iter().map(|ty| {
            quote_spanned!(ty.span()=> #p::plain_input({
                use #p::AnyInput as _;
                #p::InputProbe::<#ty>::NEW.sayiir_input()
            });)
        });
        let decode_output = quote_spanned!(output.span()=>
            #p::decode_with(__sayiir_bytes, |__sayiir_r| #p::de_field::<#output, _>(__sayiir_r))
        );
        quote! {
            #(#attrs)*
            #[allow(dead_code)]
            #vis async fn #ident(#ctx_param #(#param_idents: #param_tys),*) -> #output {
                #run_inline.await
            }

            #[doc = #doc]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #ident {}

            const _: () = {
                #(#items)*
                #enum_def
                #serde_impls

                #[allow(dead_code)]
                fn __sayiir_inputs() {
                    #(#plain_inputs)*
                }

                impl #p::WorkflowSeal for #ident {}
                impl #p::Workflow for #ident {
                    #input_item
                    #output_item
                    type State = #m;
                    const NAME: &'static str = #name;
                    const VERSION: u32 = #version;
                    const DEFINITION_HASH: [u8; 32] = #p::blake3_parts(&[#definition, #(#callees),*]);
                    #on_exhausted
                    #concurrency

                    fn start(__sayiir_input: #input_ty) -> #m {
                        let #input_expr = __sayiir_input;
                        #m(#st::Start { #(#start_names),* })
                    }

                    fn work(__sayiir_state: &#m, __sayiir_sink: &mut #p::WorkSink) {
                        match &__sayiir_state.0 { #(#work_arms)* }
                    }

                    fn run(
                        __sayiir_state: &#m,
                        __sayiir_slot: &[u32],
                    ) -> #p::Result<#p::TaskRun, #p::MachineError> {
                        match &__sayiir_state.0 { #(#run_arms)* }
                    }

                    #[allow(
                        unused_mut,
                        unused_variables,
                        unused_assignments,
                        unreachable_code,
                        path_statements,
                        clippy::redundant_closure_call,
                        clippy::needless_return,
                        clippy::let_unit_value,
                        clippy::unused_unit,
                        unused_labels,
                        unused_braces,
                        clippy::never_loop,
                        clippy::diverging_sub_expression,
                        clippy::unit_arg,
                        clippy::match_single_binding,
                        clippy::while_let_loop,
                        clippy::needless_continue,
                        clippy::explicit_auto_deref
                    )]
                    fn advance(
                        __sayiir_state: #m,
                        __sayiir_slot: &[u32],
                        __sayiir_input: #p::Input<'_>,
                        __sayiir_cx: &#p::StepCx,
                    ) -> #p::Result<#p::Advance<#m, #output>, #p::MachineError> {
                        #advance_body
                    }

                    fn is_failure(__sayiir_output: &#output) -> bool {
                        #is_failure
                    }

                    fn encode_output(__sayiir_output: &#output) -> #p::Result<#p::Vec<u8>, #p::CodecError> {
                        #encode_output
                    }

                    fn decode_output(__sayiir_bytes: &[u8]) -> #p::Result<#output, #p::CodecError> {
                        #decode_output
                    }

                    fn signals(__sayiir_out: &mut #p::SignalSet) {
                        #signals
                    }

                    #reflect
                }

                impl #p::Callee for #ident {
                    #return_item
                    type Wait = #p::ChildWait<#ident>;
                    const HASH: [u8; 32] = <#ident as #p::Workflow>::DEFINITION_HASH;
                    fn declare(__sayiir_out: &mut #p::SignalSet, _: #p::Option<&'static str>) {
                        <Self as #p::Workflow>::signals(__sayiir_out)
                    }
                }

                impl #ident {
                    /// blake3 hash of this workflow's definition, computed at compile time.
                    #[allow(dead_code)]
                    #vis const DEFINITION_HASH: [u8; 32] = <#ident as #p::Workflow>::DEFINITION_HASH;

                    #[doc(hidden)]
                    #[allow(clippy::too_many_arguments)]
                    #vis fn __sayiir_begin(
                        _: &#p::StepCx,
                        #(#param_idents: #param_tys),*
                    ) -> #p::ChildWait<#ident> {
                        #p::ChildWait::new(#input_expr)
                    }
                }
            };
        }
    }

    /// Items declared in the body (`const`, `fn`, `struct`, `use`, ..) at the level of its
    /// statements that awaits split: Rust makes them visible in their whole block, and the
    /// block is cut into transitions, so they are declared once beside the state enum, where
    /// every transition (and a stored field's type) sees them. Items in blocks that do not await
    /// stay where they are.
    fn items(&self) -> Vec<&syn::Item> {
        fn walk<'b>(block: &'b Block, out: &mut Vec<&'b syn::Item>) {
            for node in &block.nodes {
                match &node.kind {
                    NodeKind::Plain {
                        stmt: syn::Stmt::Item(item),
                        ..
                    } => out.push(item),
                    NodeKind::If { then, else_, .. } => {
                        walk(then, out);
                        if let Some(e) = else_ {
                            walk(e, out);
                        }
                    }
                    NodeKind::Match { arms, .. } => arms.iter().for_each(|a| walk(&a.body, out)),
                    NodeKind::Loop { body, .. } => walk(body, out),
                    NodeKind::Scope { block, .. } => walk(block, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.body.block, &mut out);
        out
    }

    fn input_type(&self) -> TokenStream {
        input_type(self.wf)
    }

    /// The body of `Workflow::signals`: every call declares what it receives (signals their
    /// name and payload type, child workflows their own signals).
    fn signals(&self) -> TokenStream {
        let p = &self.p;
        let calls = self.body.points.iter().flat_map(|pt| pt.what.calls());
        let declares = calls.map(|c| {
            let callee = &c.callee;
            let lit = match c.first_literal() {
                Some(s) => quote!(#p::Option::Some(#s)),
                None => quote!(#p::Option::None),
            };
            quote_spanned!(callee.span()=> <#callee as #p::Callee>::declare(__sayiir_out, #lit);)
        });
        // One name, one payload type: every later `signal::<T>("name")` of a name must carry
        // the type of the first one (checked by rustc, reported at the later call).
        let mut first: Vec<(String, &super::ir::Call)> = Vec::new();
        let mut same_types = Vec::new();
        let signals = self.body.points.iter().flat_map(|pt| pt.what.calls());
        for c in signals.filter(|c| {
            c.callee
                .segments
                .last()
                .is_some_and(|s| s.ident == "signal")
        }) {
            let Some(name) = c.first_literal().map(|l| l.value()) else {
                continue;
            };
            match first.iter().find(|(n, _)| *n == name) {
                None => first.push((name, c)),
                Some((_, earlier)) => {
                    let (a, b) = (&earlier.callee, &c.callee);
                    same_types.push(quote_spanned!(b.span()=>
                        #p::same_signal_type::<<#a as #p::Callee>::Return, <#b as #p::Callee>::Return>();
                    ));
                }
            }
        }
        quote!(#(#declares)* #(#same_types)*)
    }

    /// Lends the shared context to the user code of one transition, under the parameter's name.
    fn bind_ctx(&self) -> TokenStream {
        let p = &self.p;
        let Some(c) = &self.wf.ctx else {
            return TokenStream::new();
        };
        let (id, inner) = (&c.ident, &c.inner);
        let mutability = c.mutable.then(|| quote!(mut));
        // At the written type's tokens: a type of that name that is not sayiir's is reported
        // there, once (the same error in every transition is merged), and the body still
        // type-checks against the type it names.
        let lend = quote_spanned!(inner.span()=>
            <#inner as #p::SharedContext>::lend(&mut *__sayiir_ctx_guard)
        );
        quote! {
            let mut __sayiir_ctx_guard = __sayiir_cx.context();
            let #mutability #id: &mut #inner = #lend;
        }
    }

    fn field_ty(&self, ty: &FieldTy) -> TokenStream {
        ty_tokens(ty, &self.p, &self.outputs)
    }

    /// The tokens of a stored field's type.
    pub(crate) fn field_tokens(&self, ty: &FieldTy) -> TokenStream {
        self.field_ty(ty)
    }

    /// `(variant, fields, wait type)` of every state, the start state first.
    fn variants(&self) -> Vec<(Ident, &[Field], Option<TokenStream>)> {
        let mut out = vec![(format_ident!("Start"), self.l.start.as_slice(), None)];
        for (s, wait) in self.l.states.iter().zip(&self.waits) {
            out.push((s.variant.clone(), s.fields.as_slice(), Some(wait.clone())));
        }
        out
    }

    fn state_enum(&self) -> TokenStream {
        let st = state_ident();
        let variants = self.variants().into_iter().map(|(v, fields, wait)| {
            let fields = fields.iter().map(|f| {
                let id = &f.ident;
                let ty = self.field_ty(&f.ty);
                quote!(#id: #ty)
            });
            let wait = wait.map(|w| quote!(__sayiir_wait: #w));
            quote!(#v { #(#fields,)* #wait })
        });
        let m = machine_ident();
        quote! {
            #[allow(non_camel_case_types, non_snake_case, clippy::large_enum_variant, dead_code)]
            enum #st {
                #(#variants,)*
                /// Never stored: the value a transition returns when it aborts.
                __SayiirAborted,
            }

            #[doc(hidden)]
            pub struct #m(#st);
        }
    }

    fn serde_impls(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let m = machine_ident();
        let name = &self.wf.name;
        let variants = self.variants();
        let max_len = variants
            .iter()
            .map(|(_, f, w)| 1 + f.len() + usize::from(w.is_some()))
            .max()
            .unwrap_or(1);
        let mut ser_arms = Vec::new();
        let mut de_arms = Vec::new();
        for (index, (v, fields, wait)) in variants.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let len = 1 + fields.len() + usize::from(wait.is_some());
            let names: Vec<&Ident> = fields.iter().map(|f| &f.ident).collect();
            let ser_fields = fields.iter().map(|f| {
                let id = &f.ident;
                let ty = self.field_ty(&f.ty);
                quote_spanned!(ty.span()=> #p::ser_field::<#ty, _>(&mut __sayiir_t, #id)?;)
            });
            let de_fields = fields.iter().map(|f| {
                let id = &f.ident;
                let ty = self.field_ty(&f.ty);
                quote_spanned!(ty.span()=> let #id = #p::de_field::<#ty, _>(&mut __sayiir_seq)?;)
            });
            let (wait_pat, ser_wait, de_wait) = if wait.is_some() {
                (
                    quote!(__sayiir_wait),
                    quote!(#p::serde::ser::SerializeTuple::serialize_element(&mut __sayiir_t, __sayiir_wait)?;),
                    quote!(let __sayiir_wait = #p::de_next(&mut __sayiir_seq)?;),
                )
            } else {
                (quote!(), quote!(), quote!())
            };
            ser_arms.push(quote! {
                #st::#v { #(#names,)* #wait_pat } => {
                    let mut __sayiir_t = #p::serde::Serializer::serialize_tuple(__sayiir_s, #len)?;
                    #p::serde::ser::SerializeTuple::serialize_element(&mut __sayiir_t, &#index)?;
                    #(#ser_fields)*
                    #ser_wait
                    #p::serde::ser::SerializeTuple::end(__sayiir_t)
                }
            });
            de_arms.push(quote! {
                #index => {
                    #(#de_fields)*
                    #de_wait
                    #p::Result::Ok(#m(#st::#v { #(#names,)* #wait_pat }))
                }
            });
        }
        quote! {
            impl #p::serde::Serialize for #m {
                fn serialize<__S: #p::serde::Serializer>(
                    &self,
                    __sayiir_s: __S,
                ) -> #p::Result<__S::Ok, __S::Error> {
                    match &self.0 {
                        #(#ser_arms)*
                        #st::__SayiirAborted => #p::Result::Err(
                            <__S::Error as #p::serde::ser::Error>::custom("an aborted transition is never stored"),
                        ),
                    }
                }
            }

            impl<'de> #p::serde::Deserialize<'de> for #m {
                fn deserialize<__D: #p::serde::Deserializer<'de>>(
                    __sayiir_d: __D,
                ) -> #p::Result<Self, __D::Error> {
                    struct __SayiirVisitor;
                    impl<'de> #p::serde::de::Visitor<'de> for __SayiirVisitor {
                        type Value = #m;
                        fn expecting(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                            f.write_str(::core::concat!("a state of workflow `", #name, "`"))
                        }
                        fn visit_seq<__A: #p::serde::de::SeqAccess<'de>>(
                            self,
                            mut __sayiir_seq: __A,
                        ) -> #p::Result<#m, __A::Error> {
                            let __sayiir_index: u32 = #p::de_next(&mut __sayiir_seq)?;
                            match __sayiir_index {
                                #(#de_arms)*
                                __sayiir_other => #p::Result::Err(#p::unknown_variant(#name, __sayiir_other)),
                            }
                        }
                    }
                    #p::serde::Deserializer::deserialize_tuple(__sayiir_d, #max_len, __SayiirVisitor)
                }
            }
        }
    }

    fn work_arms(&self) -> Vec<TokenStream> {
        let p = &self.p;
        let st = state_ident();
        let mut arms =
            vec![quote!(#st::Start { .. } => __sayiir_sink.push(#p::WorkKind::Immediate),)];
        for (s, point) in self.l.states.iter().zip(&self.body.points) {
            let v = &s.variant;
            let work =
                quote_spanned!(point.what.span()=> #p::Wait::work(__sayiir_wait, __sayiir_sink));
            arms.push(quote!(#st::#v { __sayiir_wait, .. } => #work,));
        }
        arms.push(quote!(#st::__SayiirAborted => {}));
        arms
    }

    fn run_arms(&self) -> Vec<TokenStream> {
        let p = &self.p;
        let st = state_ident();
        let mut arms = vec![quote! {
            #st::Start { .. } => #p::Result::Err(#p::MachineError::no_slot("Start", __sayiir_slot)),
        }];
        for (s, point) in self.l.states.iter().zip(&self.body.points) {
            let v = &s.variant;
            let run =
                quote_spanned!(point.what.span()=> #p::Wait::run(__sayiir_wait, __sayiir_slot));
            arms.push(quote!(#st::#v { __sayiir_wait, .. } => #run,));
        }
        arms.push(quote! {
            #st::__SayiirAborted => #p::Result::Err(#p::MachineError::no_slot("aborted", __sayiir_slot)),
        });
        arms
    }

    /// The type a segment's closure returns, so `?` and `return` work as in the function.
    fn segment_type(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let output = &self.wf.output;
        match self.wf.output_kind {
            OutputKind::Result => quote! {
                #p::Result<#p::Advance<#st, #output>, <#output as #p::ResultOutput>::Err>
            },
            OutputKind::Option => quote!(#p::Option<#p::Advance<#st, #output>>),
            OutputKind::Plain => quote!(#p::Advance<#st, #output>),
        }
    }

    pub(crate) fn wrap(&self, advance: TokenStream) -> TokenStream {
        let p = &self.p;
        match self.wf.output_kind {
            OutputKind::Result => quote!(#p::Result::Ok(#advance)),
            OutputKind::Option => quote!(#p::Option::Some(#advance)),
            OutputKind::Plain => advance,
        }
    }

    pub(crate) fn wrap_done(&self, value: TokenStream) -> TokenStream {
        let p = &self.p;
        self.wrap(quote!(#p::Advance::Done(#value)))
    }

    fn finish(&self) -> TokenStream {
        let p = &self.p;
        match self.wf.output_kind {
            OutputKind::Result => quote! {
                match __sayiir_step {
                    #p::Result::Ok(__sayiir_a) => __sayiir_a,
                    #p::Result::Err(__sayiir_e) => #p::Advance::Done(#p::Result::Err(__sayiir_e)),
                }
            },
            OutputKind::Option => quote! {
                match __sayiir_step {
                    #p::Option::Some(__sayiir_a) => __sayiir_a,
                    #p::Option::None => #p::Advance::Done(#p::Option::None),
                }
            },
            OutputKind::Plain => quote!(__sayiir_step),
        }
    }

    fn rebind_mutable(fields: &[Field]) -> TokenStream {
        let lets = fields.iter().filter(|f| f.mutable).map(|f| {
            let id = &f.ident;
            quote!(#[allow(unused_mut)] let mut #id = #id;)
        });
        quote!(#(#lets)*)
    }

    fn advance_body(&self) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let m = machine_ident();
        let seg_ty = self.segment_type();
        let start_names: Vec<&Ident> = self.l.start.iter().map(|f| &f.ident).collect();
        let start_rebind = Self::rebind_mutable(&self.l.start);
        let block = &self.body.block;
        let seg0 = self.nodes(&block.nodes, block.end, &[], &[]);
        let bind_ctx = self.bind_ctx();
        let mut arms = vec![quote! {
            #st::Start { #(#start_names),* } => {
                if !__sayiir_slot.is_empty() || !::core::matches!(__sayiir_input, #p::Input::Start) {
                    return #p::Result::Err(#p::MachineError::unexpected("Start", &__sayiir_input, __sayiir_slot));
                }
                #start_rebind
                (move || -> #seg_ty { #bind_ctx #seg0 })()
            }
        }];
        for (k, s) in self.l.states.iter().enumerate() {
            let v = &s.variant;
            let names: Vec<&Ident> = s.fields.iter().map(|f| &f.ident).collect();
            let seg = self.resume_point(k);
            let rebind = Self::rebind_mutable(&s.fields);
            let point_span = self.body.points[k].what.span();
            let hole = Ident::new(super::ir::HOLE, point_span);
            // Spanned at the point: a bound on what the point yields is reported there.
            let uninit = s.uninit.iter().map(|u| {
                let id = &u.ident;
                let m = u.mutable.then(|| quote!(mut));
                let ty = u.ty.as_ref().map(|t| {
                    let t = self.field_tokens(t);
                    quote!(: #t)
                });
                quote!(#[allow(unused_mut)] let #m #id #ty;)
            });
            let segment =
                quote_spanned!(point_span=> (move || -> #seg_ty { #bind_ctx #(#uninit)* #seg })());
            let resume = quote_spanned!(self.body.points[k].what.span()=>
                #p::Wait::resume(__sayiir_wait, __sayiir_slot, __sayiir_input, __sayiir_cx)?
            );
            arms.push(quote! {
                #st::#v { #(#names,)* __sayiir_wait } => {
                    match #resume {
                        #p::Resumed::Pending(__sayiir_wait) => {
                            return #p::Result::Ok(#p::Advance::Suspend(#m(#st::#v { #(#names,)* __sayiir_wait })));
                        }
                        #p::Resumed::Ready(#hole) => {
                            #rebind
                            #segment
                        }
                    }
                }
            });
        }
        arms.push(quote! {
            #st::__SayiirAborted => {
                return #p::Result::Err(#p::MachineError::unexpected("aborted", &__sayiir_input, __sayiir_slot));
            }
        });
        let finish = self.finish();
        quote! {
            let __sayiir_step: #seg_ty = match __sayiir_state.0 { #(#arms)* };
            if let #p::Option::Some(__sayiir_e) = __sayiir_cx.take_error() {
                return #p::Result::Err(__sayiir_e);
            }
            #p::Result::Ok(match #finish {
                #p::Advance::Suspend(__sayiir_next) => #p::Advance::Suspend(#m(__sayiir_next)),
                #p::Advance::Done(__sayiir_output) => #p::Advance::Done(__sayiir_output),
            })
        }
    }

    /// The transition that resumes at point `k`.
    fn resume_point(&self, k: usize) -> TokenStream {
        let mut levels = Vec::new();
        let mut block = &self.body.block;
        for step in self.body.block.path_to(k).unwrap_or_default() {
            levels.push((block, step));
            match block.child(step) {
                Some(next) => block = next,
                None => break,
            }
        }
        let frames: [Frame<'_>; 0] = [];
        self.resume(&levels, &frames, &[])
    }
}

/// `type Input`, `type Output` (of `Workflow`) and `type Return` (of `Callee`), spanned at the
/// types they name (the single parameter's type, or the workflow's name for several): a public
/// workflow whose input or output type is private is reported there by rustc (E0446, private
/// type in public interface), once.
pub(crate) fn interface_items(
    wf: &WorkflowFn,
    input_ty: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    let output = &wf.output;
    let input_span = match wf.params.as_slice() {
        [one] => one.ty.span(),
        _ => wf.ident.span(),
    };
    (
        quote_spanned!(input_span=> type Input = #input_ty;),
        quote_spanned!(output.span()=> type Output = #output;),
        quote_spanned!(output.span()=> type Return = #output;),
    )
}

/// `Input` of the workflow: `()`, the single parameter's type, or a tuple.
pub(crate) fn input_type(wf: &WorkflowFn) -> TokenStream {
    let tys: Vec<_> = wf.params.iter().map(|p| &p.ty).collect();
    match tys.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    }
}

/// The expression (and pattern) that packs the parameters into the input.
pub(crate) fn input_expr(idents: &[&Ident]) -> TokenStream {
    match idents {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    }
}

#[cfg(test)]
#[path = "codegen_tests.rs"]
mod tests;
