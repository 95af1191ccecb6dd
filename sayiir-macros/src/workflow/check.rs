//! Checks of the analyze stage: what cannot be checkpointed, loop attributes, and the shapes of
//! calls, joins and `join_all`.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprAwait, Lifetime, Stmt, Token};

use super::ir::{Call, Suspension, is_continue};
use crate::diag::Diagnostics;

/// Whether `e` contains an `.await` (outside closures, async blocks and nested items).
pub(crate) fn has_suspension(e: &Expr) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_await(&mut self, _: &'ast ExprAwait) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find(false);
    f.visit_expr(e);
    f.0
}

/// The names a body binds to an `async` block or closure (`let later = async { .. };`), each
/// reported where it is written: awaiting one later is not reported again.
pub(crate) fn async_bindings(body: &syn::Block) -> Vec<String> {
    struct Find(Vec<String>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let pat = match &l.pat {
                syn::Pat::Type(t) => &*t.pat,
                p => p,
            };
            if let (syn::Pat::Ident(p), Some(init)) = (pat, &l.init) {
                let is_async = match &*init.expr {
                    Expr::Async(_) => true,
                    Expr::Closure(c) => c.asyncness.is_some(),
                    _ => false,
                };
                if is_async {
                    self.0.push(p.ident.to_string());
                }
            }
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find(Vec::new());
    f.visit_block(body);
    f.0
}

/// Reports every construct of a statement that cannot be checkpointed. Awaits inside the
/// constructs the analyzer lowers are not visited here: the analyzer recurses into them.
pub(crate) struct Checker<'a, 'd> {
    head: Option<&'a ExprAwait>,
    diag: &'d mut Diagnostics,
    closures: usize,
}

impl<'a, 'd> Checker<'a, 'd> {
    pub(crate) fn new(head: Option<&'a ExprAwait>, diag: &'d mut Diagnostics) -> Self {
        Self {
            head,
            diag,
            closures: 0,
        }
    }

    pub(crate) fn visit(mut self, stmt: &Stmt) {
        self.visit_stmt(stmt);
    }

    pub(crate) fn visit_expr(mut self, e: &Expr) {
        Visit::visit_expr(&mut self, e);
    }

    fn misplaced_await(&mut self, span: Span) {
        if self.closures > 0 {
            self.diag.error(
                span,
                "`.await` inside a closure cannot be checkpointed: the closure runs outside the workflow's state machine; use a `for` loop, or `sayiir::join_all(items.into_iter().map(|item| task(item)))` to run the calls concurrently",
            );
        } else {
            self.diag.error(
                span,
                "`.await` must start its statement so the workflow can checkpoint there; bind the value first: `let value = task(..).await;`, then use `value`",
            );
        }
    }
}

fn has_await_token(tokens: proc_macro2::TokenStream) -> Option<Span> {
    let mut prev_dot = false;
    for tt in tokens {
        match tt {
            proc_macro2::TokenTree::Ident(i) if prev_dot && i == "await" => return Some(i.span()),
            proc_macro2::TokenTree::Group(g) => {
                if let Some(s) = has_await_token(g.stream()) {
                    return Some(s);
                }
                prev_dot = false;
            }
            proc_macro2::TokenTree::Punct(p) => prev_dot = p.as_char() == '.',
            _ => prev_dot = false,
        }
    }
    None
}

impl<'ast> Visit<'ast> for Checker<'_, '_> {
    fn visit_expr_await(&mut self, a: &'ast ExprAwait) {
        let is_head = self.head.is_some_and(|h| std::ptr::eq(h, a)) && self.closures == 0;
        if !is_head {
            self.misplaced_await(a.await_token.span);
        }
        if !matches!(&*a.base, Expr::Macro(_)) {
            Visit::visit_expr(self, &a.base);
        }
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.diag.error(
            a.async_token.span,
            "an `async` block cannot be checkpointed: its future lives only in memory; move the work into a `#[task]`",
        );
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        if let Some(a) = &c.asyncness {
            self.diag.error(
                a.span,
                "an `async` closure cannot be checkpointed: its future lives only in memory; move the work into a `#[task]`",
            );
            return;
        }
        self.closures += 1;
        visit::visit_expr_closure(self, c);
        self.closures -= 1;
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if let Some(span) = has_await_token(m.tokens.clone()) {
            self.diag.error(
                span,
                "`.await` inside a macro invocation cannot be checkpointed; bind the value with `let` first and pass the variable",
            );
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}

    /// The `else` of a `let ... else` that awaits is reported once, as such: its awaits are not
    /// misplaced awaits of the statement.
    fn visit_local_init(&mut self, init: &'ast syn::LocalInit) {
        Visit::visit_expr(self, &init.expr);
        if let Some((_, diverge)) = &init.diverge {
            if has_suspension(diverge) {
                self.diag.error_spanned(
                    diverge,
                    "the `else` of a `let ... else` cannot await; bind the value with a plain `let` and `match` on it",
                );
            } else {
                Visit::visit_expr(self, diverge);
            }
        }
    }

    fn visit_expr_block(&mut self, b: &'ast syn::ExprBlock) {
        if b.label.is_some() && b.block.stmts.iter().any(stmt_awaits) {
            self.diag.error_spanned(
                &b.label,
                "a labeled block cannot contain `.await` in a workflow; use a `loop` with `break` or a plain block",
            );
            return;
        }
        visit::visit_expr_block(self, b);
    }

    fn visit_expr_unsafe(&mut self, u: &'ast syn::ExprUnsafe) {
        if u.block.stmts.iter().any(stmt_awaits) {
            self.diag.error(
                u.unsafe_token.span,
                "an `unsafe` block cannot contain `.await` in a workflow; keep the unsafe code between the awaits",
            );
            return;
        }
        visit::visit_expr_unsafe(self, u);
    }
}

fn stmt_awaits(s: &Stmt) -> bool {
    match s {
        Stmt::Local(l) => l.init.as_ref().is_some_and(|i| has_suspension(&i.expr)),
        Stmt::Expr(e, _) => has_suspension(e),
        _ => false,
    }
}

fn is_limit_attr(a: &syn::Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "max_iterations")
}

/// Reads and removes `#[sayiir::max_iterations(N)]` from a loop's attributes.
pub(crate) fn loop_limit(attrs: &[syn::Attribute], diag: &mut Diagnostics) -> Option<u64> {
    let mut limit = None;
    for a in attrs.iter().filter(|a| is_limit_attr(a)) {
        match a
            .parse_args::<syn::LitInt>()
            .and_then(|l| l.base10_parse::<u64>())
        {
            Ok(n) if n > 0 => limit = Some(n),
            _ => diag.error_spanned(
                a,
                "write `#[sayiir::max_iterations(N)]` with N a positive integer",
            ),
        }
    }
    limit
}

/// Removes `max_iterations` attributes from loops that do not await (they run inside one
/// transition, where the limit does not apply); the attribute is not a real one.
pub(crate) fn strip_loop_attributes(stmt: &mut Stmt) {
    struct Strip;
    impl VisitMut for Strip {
        fn visit_expr_loop_mut(&mut self, e: &mut syn::ExprLoop) {
            e.attrs.retain(|a| !is_limit_attr(a));
            visit_mut::visit_expr_loop_mut(self, e);
        }
        fn visit_expr_while_mut(&mut self, e: &mut syn::ExprWhile) {
            e.attrs.retain(|a| !is_limit_attr(a));
            visit_mut::visit_expr_while_mut(self, e);
        }
        fn visit_expr_for_loop_mut(&mut self, e: &mut syn::ExprForLoop) {
            e.attrs.retain(|a| !is_limit_attr(a));
            visit_mut::visit_expr_for_loop_mut(self, e);
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    }
    Strip.visit_stmt_mut(stmt);
}

/// `break` with a value targets only `loop`; in a `while` or `for` that awaits (which the
/// macro turns into a `loop`) it would silently become legal, so it is reported here.
pub(crate) fn reject_break_values(
    body: &syn::Block,
    label: Option<&Lifetime>,
    kind: &str,
    diag: &mut Diagnostics,
) {
    struct Find<'a, 'd> {
        label: Option<&'a Lifetime>,
        depth: usize,
        kind: &'a str,
        diag: &'d mut Diagnostics,
    }
    impl<'ast> Visit<'ast> for Find<'_, '_> {
        fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
            let targets_us = match &b.label {
                None => self.depth == 0,
                Some(l) => self.label.is_some_and(|own| own.ident == l.ident),
            };
            if targets_us && let Some(value) = &b.expr {
                self.diag.error_spanned(
                    value,
                    format_args!(
                        "`break` with a value only works in `loop`: a `{}` loop yields `()`; use `loop {{ .. break value; }}` or set a variable before `break`",
                        self.kind
                    ),
                );
            }
            visit::visit_expr_break(self, b);
        }
        fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
            self.depth += 1;
            visit::visit_expr_loop(self, e);
            self.depth -= 1;
        }
        fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
            self.depth += 1;
            visit::visit_expr_while(self, e);
            self.depth -= 1;
        }
        fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
            self.depth += 1;
            visit::visit_expr_for_loop(self, e);
            self.depth -= 1;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    Find {
        label,
        depth: 0,
        kind,
        diag,
    }
    .visit_block(body);
}

/// A call of a task or workflow by path.
pub(crate) fn call(c: &syn::ExprCall, diag: &mut Diagnostics) -> Option<Call> {
    let Expr::Path(p) = &*c.func else {
        diag.error_spanned(
            &c.func,
            "only calls of `#[task]` and `#[workflow]` functions by name can be awaited in a workflow, e.g. `charge(order).await`",
        );
        return None;
    };
    if p.qself.is_some() {
        diag.error_spanned(
            p,
            "call the task or workflow by its path, without `<T as Trait>::`",
        );
        return None;
    }
    // `signal::<T>(..)` names its payload type; `continue_as_new` is a generic function.
    let generic_ok = p
        .path
        .segments
        .last()
        .is_some_and(|s| s.ident == "signal" || s.ident == "continue_as_new");
    if let Some(seg) = p.path.segments.iter().find(|s| !s.arguments.is_none())
        && !generic_ok
    {
        diag.error_spanned(
            &seg.arguments,
            "tasks and workflows are not generic: remove the `::<...>` from this call",
        );
        return None;
    }
    Some(Call {
        callee: p.path.clone(),
        args: c.args.iter().cloned().collect(),
        timeout: None,
    })
}

/// `continue_as_new(input)`: exactly one argument.
pub(crate) fn continue_call(c: &syn::ExprCall, diag: &mut Diagnostics) -> Option<Suspension> {
    if c.args.len() != 1 {
        diag.error_spanned(
            &c.func,
            format_args!(
                "`continue_as_new` takes the workflow's next input as its one argument ({} given); pass several inputs as a tuple: `continue_as_new((a, b))`",
                c.args.len()
            ),
        );
        return None;
    }
    call(c, diag).map(Suspension::Continue)
}

/// `call(..).timeout(d)`: a call with a deadline.
pub(crate) fn timed_call(m: &syn::ExprMethodCall, diag: &mut Diagnostics) -> Option<Call> {
    let receiver = match &*m.receiver {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) if is_continue(&p.path) => {
                diag.error(
                    m.method.span(),
                    "`continue_as_new` has no `.timeout(..)`: it ends the run at once",
                );
                return None;
            }
            Expr::Path(p)
                if p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "join_all" || s.ident == "try_join_all") =>
            {
                None
            }
            _ => Some(c),
        },
        _ => None,
    };
    let Some(c) = receiver else {
        diag.error(
            m.method.span(),
            "`.timeout(..)` applies to one call, e.g. `sayiir::signal::<T>(\"name\").timeout(d).await`; joins have no `.timeout`",
        );
        return None;
    };
    let [d] = m.args.iter().collect::<Vec<_>>()[..] else {
        diag.error(
            m.paren_token.span.join(),
            "`.timeout(..)` takes one `Duration`, e.g. `.timeout(Duration::from_secs(60))`",
        );
        return None;
    };
    let mut call = call(c, diag)?;
    // Decided here by name rather than by `TimeoutCallee` alone: an unmet bound on a type stored
    // in the state would be reported again by every bound on the state type.
    if call
        .callee
        .segments
        .last()
        .is_none_or(|s| s.ident != "signal")
    {
        diag.error(
            m.method.span(),
            "`.timeout(..)` applies to `sayiir::signal` waits only; a task's deadline is an option of the task: `#[sayiir::task(timeout = \"30s\")]`",
        );
        return None;
    }
    call.timeout = Some(d.clone());
    Some(call)
}

fn branch_call(e: &Expr, macro_name: &str, diag: &mut Diagnostics) -> Option<Call> {
    match e {
        Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if is_continue(&p.path)) => {
            let shown = if macro_name.ends_with("_all") {
                format!("{macro_name}(..)")
            } else {
                format!("{macro_name}!")
            };
            diag.error_spanned(
                &c.func,
                format_args!("`continue_as_new` cannot be a branch of `{shown}`: it ends the run; await it on its own: `return sayiir::continue_as_new(next).await;`"),
            );
            None
        }
        Expr::Call(c) => call(c, diag),
        Expr::MethodCall(m) if m.method == "timeout" => timed_call(m, diag),
        Expr::Return(r) => {
            diag.error(
                r.return_token.span,
                format_args!("`return` cannot be a branch of `{macro_name}!`: each branch is a call of a `#[task]` or `#[workflow]` function"),
            );
            None
        }
        Expr::Await(a) => {
            diag.error(
                a.await_token.span,
                format_args!("the branches of `{macro_name}!` are not awaited one by one: write `{macro_name}!(a(..), b(..)).await`"),
            );
            None
        }
        other => {
            diag.error_spanned(
                other,
                format_args!("each branch of `{macro_name}!` must be a call of a `#[task]` or `#[workflow]` function, e.g. `{macro_name}!(charge(order.clone()), reserve(items)).await`"),
            );
            None
        }
    }
}

/// The branches of `join!(..)` / `try_join!(..)`.
pub(crate) fn join_calls(
    mac: &syn::Macro,
    try_: bool,
    diag: &mut Diagnostics,
) -> Option<Suspension> {
    let name = if try_ { "try_join" } else { "join" };
    let args = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(mac.tokens.clone()) {
        Ok(a) => a,
        Err(e) => {
            diag.push(e);
            return None;
        }
    };
    if args.len() < 2 || args.len() > 8 {
        let why = if args.len() < 2 {
            "a join needs at least 2 calls; await a single call directly"
        } else {
            "a join takes at most 8 calls; use `sayiir::join_all` for more"
        };
        diag.error_spanned(mac, why);
        return None;
    }
    let mut calls = Vec::new();
    for a in &args {
        calls.push(branch_call(a, name, diag)?);
    }
    let span = syn::spanned::Spanned::span(&mac.path);
    Some(Suspension::Join { calls, try_, span })
}

/// `join_all(iter.map(|pat| call(..)))`.
pub(crate) fn join_all_call(
    c: &syn::ExprCall,
    try_: bool,
    diag: &mut Diagnostics,
) -> Option<Suspension> {
    let name = if try_ { "try_join_all" } else { "join_all" };
    let shape = || {
        format!(
            "write `sayiir::{name}(items.into_iter().map(|item| task(item)))`: an iterator mapped through a closure that calls one `#[task]` or `#[workflow]` function"
        )
    };
    let [Expr::MethodCall(m)] = c.args.iter().collect::<Vec<_>>()[..] else {
        diag.error_spanned(&c.args, shape());
        return None;
    };
    let map_args: Vec<&Expr> = m.args.iter().collect();
    let (true, [Expr::Closure(cl)]) = (m.method == "map", &map_args[..]) else {
        diag.error_spanned(m, shape());
        return None;
    };
    let [pat] = cl.inputs.iter().collect::<Vec<_>>()[..] else {
        diag.error_spanned(&cl.inputs, shape());
        return None;
    };
    let body = match &*cl.body {
        Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
            Stmt::Expr(e, None) => e,
            _ => &*cl.body,
        },
        e => e,
    };
    let call = branch_call(body, name, diag)?;
    let span = syn::spanned::Spanned::span(&c.func);
    Some(Suspension::JoinAll {
        iter: (*m.receiver).clone(),
        pat: pat.clone(),
        call,
        try_,
        span,
    })
}
