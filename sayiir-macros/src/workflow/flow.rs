//! Rewrites of user statements placed into transition code: `return` produces the workflow's
//! output, and `break` / `continue` aimed at a loop that the transition resumes in the middle of
//! jump to the labeled blocks that stand for that loop's current iteration.

use proc_macro2::{Span, TokenStream};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Lifetime};

/// How a loop around the code being emitted is represented.
#[derive(Clone)]
pub(crate) enum LoopMode {
    /// A real Rust `loop`: `break` and `continue` work as written.
    Native,
    /// The rest of an iteration that was resumed in the middle: `continue` leaves `once` (and
    /// enters the real loop), `break` leaves `outer` (the whole loop).
    Rest { once: Lifetime, outer: Lifetime },
}

/// One loop around the code being emitted.
#[derive(Clone)]
pub(crate) struct LoopCx {
    pub(crate) label: Option<Lifetime>,
    pub(crate) mode: LoopMode,
}

/// Rewrites a statement or expression in place.
pub(crate) struct FlowRewriter<'a> {
    /// Builds `<done>(value)` for a `return value`.
    pub(crate) done: &'a dyn Fn(TokenStream) -> TokenStream,
    /// Loops around the code, innermost last.
    pub(crate) loops: &'a [LoopCx],
    /// User loops entered inside the statement being rewritten, with their labels.
    inner: Vec<Option<Lifetime>>,
}

impl<'a> FlowRewriter<'a> {
    pub(crate) fn new(done: &'a dyn Fn(TokenStream) -> TokenStream, loops: &'a [LoopCx]) -> Self {
        Self {
            done,
            loops,
            inner: Vec::new(),
        }
    }

    /// The emitted loop a `break`/`continue` with `label` targets, if it is in `Rest` mode.
    fn target(&self, label: Option<&Lifetime>) -> Option<(&Lifetime, &Lifetime)> {
        let cx = match label {
            None if !self.inner.is_empty() => return None,
            None => self.loops.last()?,
            Some(l) => {
                if self.inner.iter().flatten().any(|i| i.ident == l.ident) {
                    return None;
                }
                self.loops
                    .iter()
                    .rev()
                    .find(|c| c.label.as_ref().is_some_and(|own| own.ident == l.ident))?
            }
        };
        match &cx.mode {
            LoopMode::Rest { once, outer } => Some((once, outer)),
            LoopMode::Native => None,
        }
    }

    fn in_loop(&mut self, label: Option<Lifetime>, f: impl FnOnce(&mut Self)) {
        self.inner.push(label);
        f(self);
        self.inner.pop();
    }
}

fn lifetime(l: &Lifetime, span: Span) -> Lifetime {
    let mut l = l.clone();
    l.apostrophe = span;
    l
}

impl VisitMut for FlowRewriter<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Closure(_) | Expr::Async(_) => {}
            Expr::Return(r) => {
                if let Some(inner) = &mut r.expr {
                    self.visit_expr_mut(inner);
                }
                let value = match r.expr.take() {
                    Some(v) => quote::quote!(#v),
                    None => quote::quote_spanned!(r.return_token.span=> ()),
                };
                r.expr = Some(Box::new(Expr::Verbatim((self.done)(value))));
            }
            Expr::Break(b) => {
                if let Some(inner) = &mut b.expr {
                    self.visit_expr_mut(inner);
                }
                if let Some((_, outer)) = self.target(b.label.as_ref()) {
                    b.label = Some(lifetime(outer, b.break_token.span));
                }
            }
            Expr::Continue(c) => {
                if let Some((once, _)) = self.target(c.label.as_ref()) {
                    // Leaving the resumed iteration's block enters the real loop: a new iteration.
                    let label = lifetime(once, c.continue_token.span);
                    *e =
                        Expr::Verbatim(quote::quote_spanned!(c.continue_token.span=> break #label));
                }
            }
            Expr::Loop(l) => {
                let label = l.label.as_ref().map(|l| l.name.clone());
                self.in_loop(label, |s| visit_mut::visit_expr_loop_mut(s, l));
            }
            Expr::While(w) => {
                let label = w.label.as_ref().map(|l| l.name.clone());
                self.in_loop(label, |s| visit_mut::visit_expr_while_mut(s, w));
            }
            Expr::ForLoop(f) => {
                let label = f.label.as_ref().map(|l| l.name.clone());
                self.in_loop(label, |s| visit_mut::visit_expr_for_loop_mut(s, f));
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
