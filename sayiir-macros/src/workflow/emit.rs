//! The code of each transition: from a resume point (or the start) to the next suspension point
//! or the end, through whatever constructs lie on the way.
//!
//! Code after a construct is emitted inside every branch that reaches it (continuation passing),
//! so each transition is straight Rust with no jumps. A transition that resumes inside a loop
//! first finishes the current iteration in a labeled block, then runs the real loop:
//!
//! ```text
//! 'outer: { 'once: { <rest of the iteration> } 'label: loop { <whole body> } }
//! ```
//!
//! where `continue` in the rest of the iteration leaves `'once` and `break` leaves `'outer`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Lifetime, Stmt};

use super::analyze::{count_var, iter_var};
use super::codegen::{Gen, state_ident};
use super::flow::{FlowRewriter, LoopCx, LoopMode};
use super::ir::{Block, Consumer, Exit, LoopKind, Node, NodeKind, Step, Suspension, exit_of};
use super::lower::{continuation_exit, ty_tokens};

/// What happens when the code being emitted reaches the end of its block with a value.
#[derive(Clone, Copy)]
pub(crate) enum Frame<'a> {
    /// The block belongs to a construct: consume its value, then run the rest of the block
    /// that contains the construct.
    Rest {
        consumer: &'a Consumer,
        rest: &'a [Node],
        end: Span,
    },
    /// The block is a loop body inside a real loop: the next iteration follows.
    LoopFull,
    /// The block is the rest of a resumed iteration: the real loop follows.
    LoopRest,
}

/// `frames` with a construct's own frame in front: its consumer and the rest of its block.
fn after<'a>(
    consumer: &'a Consumer,
    rest: &'a [Node],
    end: Span,
    frames: &[Frame<'a>],
) -> Vec<Frame<'a>> {
    let mut v = Vec::with_capacity(frames.len() + 1);
    v.push(Frame::Rest {
        consumer,
        rest,
        end,
    });
    v.extend_from_slice(frames);
    v
}

impl Gen<'_> {
    /// A user statement or expression with `return`, `break` and `continue` rewritten.
    fn rewrite_stmt(&self, stmt: &Stmt, loops: &[LoopCx]) -> Stmt {
        let mut stmt = stmt.clone();
        let done = |v: TokenStream| self.wrap_done(v);
        FlowRewriter::new(&done, loops).visit_stmt_mut(&mut stmt);
        stmt
    }

    fn rewrite_expr(&self, e: &Expr, loops: &[LoopCx]) -> Expr {
        let mut e = e.clone();
        let done = |v: TokenStream| self.wrap_done(v);
        FlowRewriter::new(&done, loops).visit_expr_mut(&mut e);
        e
    }

    /// A plain statement at position `i` of `nodes`; the last statement of a block yields the
    /// block's value (a tail expression, or the statement in a block so that `return x;`
    /// still diverges).
    fn plain(
        &self,
        stmt: &Stmt,
        tail: bool,
        last: bool,
        end: Span,
        frames: &[Frame<'_>],
        loops: &[LoopCx],
    ) -> (TokenStream, bool) {
        if let Stmt::Item(_) = stmt {
            // Declared once for every transition (see `Gen::items`).
            return match last {
                true => (self.value(quote_spanned!(end=> ()), frames, loops), true),
                false => (TokenStream::new(), false),
            };
        }
        let typed;
        let stmt = match stmt {
            Stmt::Local(l)
                if l.init.is_none()
                    && let syn::Pat::Ident(p) = &l.pat
                    && let Some((_, ty)) = self.l.deferred.iter().find(|(n, _)| *n == p.ident) =>
            {
                // `let x;` with the type of its first assignment: this transition may end
                // before that assignment, leaving rustc nothing to infer it from.
                let ty = self.field_tokens(ty);
                typed = syn::parse2(quote!(let #p: #ty;)).unwrap_or_else(|_| stmt.clone());
                &typed
            }
            _ => stmt,
        };
        let diverges = exit_of(std::slice::from_ref(stmt)) != Exit::Normal;
        let stmt = self.rewrite_stmt(stmt, loops);
        if diverges && (tail || last) {
            // Nothing follows a `return`, `break`, `continue` or panic: do not hand a value of
            // type `!` to the code after the construct (it would be typed `!` there).
            return (quote!(#stmt;), true);
        }
        match (&stmt, tail) {
            (Stmt::Expr(e, None), true) => (self.value(quote!(#e), frames, loops), true),
            _ if last => (
                self.value(quote_spanned!(end=> { #stmt }), frames, loops),
                true,
            ),
            _ => (quote!(#stmt), false),
        }
    }

    /// Emits `nodes` in order until a suspension point, a construct or the end.
    pub(crate) fn nodes(
        &self,
        nodes: &[Node],
        end: Span,
        frames: &[Frame<'_>],
        loops: &[LoopCx],
    ) -> TokenStream {
        let mut out = TokenStream::new();
        let n = nodes.len();
        for (i, node) in nodes.iter().enumerate() {
            let last = i + 1 == n;
            match &node.kind {
                NodeKind::Plain { stmt, tail } => {
                    let (code, stop) = self.plain(stmt, *tail, last, end, frames, loops);
                    out.extend(code);
                    if stop {
                        return out;
                    }
                }
                NodeKind::Await { point, .. } => {
                    out.extend(self.suspend(*point));
                    return out;
                }
                NodeKind::ForItem { id, pat } => {
                    out.extend(self.for_item(*id, pat));
                    if last {
                        out.extend(self.value(quote!(()), frames, loops));
                        return out;
                    }
                }
                NodeKind::LoopCount { id } => {
                    out.extend(self.loop_count(*id));
                    if last {
                        out.extend(self.value(quote!(()), frames, loops));
                        return out;
                    }
                }
                NodeKind::If { consumer, .. }
                | NodeKind::Match { consumer, .. }
                | NodeKind::Scope { consumer, .. }
                | NodeKind::Loop { consumer, .. } => {
                    let frames = after(consumer, &nodes[i + 1..], end, frames);
                    out.extend(self.construct(node, &frames, loops));
                    return out;
                }
            }
        }
        out.extend(self.value(quote_spanned!(end=> ()), frames, loops));
        out
    }

    /// The end of a block with `value`: hand it to the innermost frame.
    fn value(&self, value: TokenStream, frames: &[Frame<'_>], loops: &[LoopCx]) -> TokenStream {
        match frames.split_first() {
            None => {
                let done = self.wrap_done(value);
                quote!(return #done;)
            }
            Some((Frame::LoopFull | Frame::LoopRest, _)) => quote!(#value;),
            Some((
                Frame::Rest {
                    consumer,
                    rest,
                    end,
                },
                outer,
            )) => {
                let bind = match consumer {
                    Consumer::Tail => return self.value(value, outer, loops),
                    Consumer::Return => {
                        let done = self.wrap_done(value);
                        return quote!(return #done;);
                    }
                    Consumer::Discard => quote!(#value;),
                    Consumer::Let {
                        pat, ty: Some(ty), ..
                    } => quote!(let #pat: #ty = #value;),
                    // The type the lowering found: this transition may hold only some of the
                    // branches (or none of a loop's `break`s) that let rustc infer it.
                    Consumer::Let { pat, ty: None, id } => {
                        match self.l.let_types.get(*id).and_then(Option::as_ref) {
                            Some(t) => {
                                let t = self.field_tokens(t);
                                quote!(let #pat: #t = #value;)
                            }
                            None => quote!(let #pat = #value;),
                        }
                    }
                    Consumer::Assign { place } => {
                        let place = self.rewrite_expr(place, loops);
                        quote!(#place = #value;)
                    }
                };
                let rest = if rest.is_empty() {
                    self.value(quote_spanned!(*end=> ()), outer, loops)
                } else {
                    self.nodes(rest, *end, outer, loops)
                };
                quote!(#bind #rest)
            }
        }
    }

    /// A construct entered from its start; `frames` begins with its own `Rest` frame.
    fn construct(&self, node: &Node, frames: &[Frame<'_>], loops: &[LoopCx]) -> TokenStream {
        match &node.kind {
            NodeKind::If {
                cond, then, else_, ..
            } => {
                let cond = self.rewrite_expr(cond, loops);
                let then = self.nodes(&then.nodes, then.end, frames, loops);
                let else_ = match else_ {
                    Some(b) => self.nodes(&b.nodes, b.end, frames, loops),
                    None => self.value(quote!(()), frames, loops),
                };
                quote!(if #cond { #then } else { #else_ })
            }
            NodeKind::Match {
                scrutinee, arms, ..
            } => {
                let scrutinee = self.rewrite_expr(scrutinee, loops);
                let arms = arms.iter().map(|a| {
                    let pat = &a.pat;
                    let guard = a.guard.as_ref().map(|g| {
                        let g = self.rewrite_expr(g, loops);
                        quote!(if #g)
                    });
                    let body = self.nodes(&a.body.nodes, a.body.end, frames, loops);
                    quote!(#pat #guard => { #body })
                });
                quote!(match #scrutinee { #(#arms)* })
            }
            NodeKind::Scope { block, .. } => {
                let body = self.nodes(&block.nodes, block.end, frames, loops);
                quote!({ #body })
            }
            NodeKind::Loop { id, body, .. } => {
                let init = self.loop_init(*id, loops);
                let count = count_var(*id);
                let full = self.full_loop(*id, body, loops);
                let value = quote!({
                    #[allow(unused_mut)]
                    let mut #count: u64 = 0;
                    #init
                    #full
                });
                // `frames` starts with this loop's own `Rest` frame: its consumer and the rest.
                self.value(value, frames, loops)
            }
            _ => TokenStream::new(),
        }
    }

    fn loop_label(&self, id: usize) -> Option<Lifetime> {
        self.body.loops.get(id).and_then(|l| l.label.clone())
    }

    fn loop_init(&self, id: usize, loops: &[LoopCx]) -> TokenStream {
        let p = &self.p;
        let Some(LoopKind::For { iter, .. }) = self.body.loops.get(id).map(|l| &l.kind) else {
            return TokenStream::new();
        };
        let iter = self.rewrite_expr(iter, loops);
        let var = iter_var(id);
        match self.l.loop_items.get(id).cloned().flatten() {
            Some(item) => {
                let item = ty_tokens(&item, p, &self.outputs);
                quote!(let mut #var: #p::ForIter<#item> = #p::ForIter::new(#iter);)
            }
            None => quote!(let mut #var = #p::ForIter::new(#iter);),
        }
    }

    /// `label: loop { body }` (the body counts its own runs).
    fn full_loop(&self, id: usize, body: &Block, loops: &[LoopCx]) -> TokenStream {
        let label = self.loop_label(id);
        let mut inner = loops.to_vec();
        inner.push(LoopCx {
            label: label.clone(),
            mode: LoopMode::Native,
        });
        let span = self
            .body
            .loops
            .get(id)
            .map_or_else(Span::call_site, |l| l.span);
        let body = self.nodes(&body.nodes, body.end, &[Frame::LoopFull], &inner);
        let label = label.map(|l| quote!(#l:));
        quote_spanned!(span=> #label loop { #body })
    }

    /// Counts a run of loop `id`'s body; past the limit the transition aborts.
    fn loop_count(&self, id: usize) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let count = count_var(id);
        let limit = self
            .body
            .loops
            .get(id)
            .and_then(|l| l.limit)
            .unwrap_or(self.max_iterations);
        let name = &self.wf.name;
        let aborted = self.wrap(quote!(#p::Advance::Suspend(#st::__SayiirAborted)));
        quote! {
            #count += 1;
            if #count > #limit {
                __sayiir_cx.iteration_limit(#name, #limit);
                return #aborted;
            }
        }
    }

    fn for_item(&self, id: usize, pat: &syn::Pat) -> TokenStream {
        let p = &self.p;
        let var = iter_var(id);
        let ty = self.l.loop_items.get(id).cloned().flatten().map(|t| {
            let t = ty_tokens(&t, p, &self.outputs);
            quote!(: #t)
        });
        quote! {
            let #pat #ty = match #var.next() {
                #p::Option::Some(__sayiir_item) => __sayiir_item,
                #p::Option::None => break,
            };
        }
    }

    /// Evaluates the point's calls, then stores the live variables and the pending wait.
    pub(crate) fn suspend(&self, point: usize) -> TokenStream {
        let p = &self.p;
        let st = state_ident();
        let state = &self.l.states[point];
        let v = &state.variant;
        let fields = state.fields.iter().map(|f| {
            let value = syn::Ident::new(&f.ident.to_string(), f.use_span);
            let id = &f.ident;
            quote!(#id: #value)
        });
        let begin = |c: &super::ir::Call| {
            let callee = &c.callee;
            let args = &c.args;
            match &c.timeout {
                Some(d) => quote_spanned!(callee.span()=>
                    <#callee>::__sayiir_begin_timeout(__sayiir_cx, #(#args,)* #d)
                ),
                None => {
                    quote_spanned!(callee.span()=> <#callee>::__sayiir_begin(__sayiir_cx, #(#args),*))
                }
            }
        };
        let wait = match &self.body.points[point].what {
            Suspension::Call(c) => begin(c),
            Suspension::Continue(c) => {
                // The user's `continue_as_new` is called (so its import counts as used) and its
                // input goes through `Workflow::start`, which checks its type.
                let ident = &self.wf.ident;
                let m = super::codegen::machine_ident();
                let output = &self.wf.output;
                let callee = &c.callee;
                let args = &c.args;
                quote_spanned!(callee.span()=>
                    #p::ContinueWait::<#m, #output>::new(
                        __sayiir_cx,
                        <#ident as #p::Workflow>::start(#callee(#(#args),*).__sayiir_input()),
                    )
                )
            }
            Suspension::Join { calls, try_, .. } => {
                let ty = format_ident!("{}{}", if *try_ { "TryJoin" } else { "Join" }, calls.len());
                let begins = calls.iter().map(begin);
                quote!(#p::#ty::new(#(#begins),*))
            }
            Suspension::JoinAll {
                iter,
                pat,
                call,
                try_,
                ..
            } => {
                let ty = if *try_ {
                    quote!(TryJoinAll)
                } else {
                    quote!(JoinAll)
                };
                let b = begin(call);
                quote!(#p::#ty::new((#iter).map(|#pat| #b)))
            }
        };
        let suspended =
            self.wrap(quote!(#p::Advance::Suspend(#st::#v { #(#fields,)* __sayiir_wait })));
        quote! {
            let __sayiir_wait = #wait;
            return #suspended;
        }
    }

    /// The code of the transition that resumes at the point at the end of `levels`.
    pub(crate) fn resume(
        &self,
        levels: &[(&Block, Step)],
        frames: &[Frame<'_>],
        loops: &[LoopCx],
    ) -> TokenStream {
        let Some(((block, step), inner)) = levels.split_first() else {
            return TokenStream::new();
        };
        let node = &block.nodes[step.index];
        let rest = &block.nodes[step.index + 1..];
        let last = rest.is_empty();
        match &node.kind {
            NodeKind::Await { stmt, tail, .. } => {
                let (code, stop) = self.plain(stmt, *tail, last, block.end, frames, loops);
                if stop {
                    return code;
                }
                let after = self.nodes(rest, block.end, frames, loops);
                quote!(#code #after)
            }
            NodeKind::If { consumer, .. }
            | NodeKind::Match { consumer, .. }
            | NodeKind::Scope { consumer, .. } => {
                let frames = after(consumer, rest, block.end, frames);
                self.resume(inner, &frames, loops)
            }
            NodeKind::Loop { id, body, consumer } => {
                let once = Lifetime::new(&format!("'__sayiir_once_{id}"), Span::call_site());
                let outer = Lifetime::new(&format!("'__sayiir_outer_{id}"), Span::call_site());
                let mut rest_loops = loops.to_vec();
                rest_loops.push(LoopCx {
                    label: self.loop_label(*id),
                    mode: LoopMode::Rest {
                        once: once.clone(),
                        outer: outer.clone(),
                    },
                });
                let iteration = self.resume(inner, &[Frame::LoopRest], &rest_loops);
                // When the rest of the iteration always leaves the loop (`break`, `return`), the
                // loop does not run again in this transition, and its variables were not kept;
                // after a `return`, neither does the code after the loop.
                let exit = continuation_exit(inner);
                if exit == Exit::Return {
                    return quote!(#outer: { #once: { #iteration } });
                }
                let full = match exit {
                    Exit::Break => TokenStream::new(),
                    _ => self.full_loop(*id, body, loops),
                };
                let value = quote!(#outer: { #once: { #iteration } #full });
                let frames = after(consumer, rest, block.end, frames);
                self.value(value, &frames, loops)
            }
            _ => TokenStream::new(),
        }
    }
}
