//! Stage 2: find the suspension points of the body and reject what cannot be checkpointed.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, ExprAwait, Ident, Pat, Stmt};

use super::ir::{Body, Call, HOLE, LetBinding, Node, Point, Postfix, Suspension};
use crate::diag::Diagnostics;

/// Analyzes a workflow body.
pub(crate) fn analyze(body: &syn::Block, diag: &mut Diagnostics) -> Body {
    let mut out = Body {
        nodes: Vec::new(),
        points: Vec::new(),
    };
    let n = body.stmts.len();
    for (i, stmt) in body.stmts.iter().enumerate() {
        let tail = i + 1 == n && matches!(stmt, Stmt::Expr(_, None));
        let node = analyze_stmt(stmt, tail, &mut out.points, diag);
        out.nodes.push(node);
    }
    out
}

/// The expression of a statement where a suspension may start it.
fn head_expr(stmt: &Stmt) -> Option<&Expr> {
    match stmt {
        Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
        Stmt::Expr(Expr::Return(r), _) => r.expr.as_deref(),
        Stmt::Expr(e, _) => Some(e),
        _ => None,
    }
}

fn head_expr_mut(stmt: &mut Stmt) -> Option<&mut Expr> {
    match stmt {
        Stmt::Local(l) => l.init.as_mut().map(|i| &mut *i.expr),
        Stmt::Expr(Expr::Return(r), _) => r.expr.as_deref_mut(),
        Stmt::Expr(e, _) => Some(e),
        _ => None,
    }
}

/// The `.await` evaluated first in `expr`: at the bottom of its chain of `?`, method calls,
/// field accesses, casts and parentheses.
fn find_head(expr: &Expr) -> Option<&ExprAwait> {
    match expr {
        Expr::Await(a) => find_head(&a.base).or(Some(a)),
        Expr::Try(t) => find_head(&t.expr),
        Expr::MethodCall(m) => find_head(&m.receiver),
        Expr::Field(f) => find_head(&f.base),
        Expr::Paren(p) => find_head(&p.expr),
        Expr::Cast(c) => find_head(&c.expr),
        _ => None,
    }
}

/// Replaces the head `.await` (as found by [`find_head`]) with `hole`.
fn replace_head(expr: &mut Expr, hole: &Expr) -> bool {
    let inner = match expr {
        Expr::Await(a) => &mut a.base,
        Expr::Try(t) => &mut t.expr,
        Expr::MethodCall(m) => &mut m.receiver,
        Expr::Field(f) => &mut f.base,
        Expr::Paren(p) => &mut p.expr,
        Expr::Cast(c) => &mut c.expr,
        _ => return false,
    };
    if replace_head(inner, hole) {
        return true;
    }
    if matches!(expr, Expr::Await(_)) {
        *expr = hole.clone();
        return true;
    }
    false
}

fn postfix_of(init: &Expr) -> Postfix {
    match init {
        Expr::Await(_) => Postfix::None,
        Expr::Try(t) if matches!(&*t.expr, Expr::Await(_)) => Postfix::Try,
        _ => Postfix::Other,
    }
}

fn analyze_stmt(stmt: &Stmt, tail: bool, points: &mut Vec<Point>, diag: &mut Diagnostics) -> Node {
    let head = head_expr(stmt).and_then(find_head);
    let mut checker = Checker {
        head,
        diag: &mut *diag,
        closures: 0,
        constructs: Vec::new(),
    };
    checker.visit_stmt(stmt);
    let Some(head) = head else {
        return Node::Plain {
            stmt: stmt.clone(),
            tail,
        };
    };
    let Some(call) = call_of(head, diag) else {
        return Node::Plain {
            stmt: stmt.clone(),
            tail,
        };
    };
    let binding = match stmt {
        Stmt::Local(l) => {
            let (pat, ty) = match &l.pat {
                Pat::Type(t) => ((*t.pat).clone(), Some((*t.ty).clone())),
                p => (p.clone(), None),
            };
            let postfix = l
                .init
                .as_ref()
                .map_or(Postfix::Other, |i| postfix_of(&i.expr));
            Some(LetBinding { pat, ty, postfix })
        }
        _ => None,
    };
    let span = head.span();
    let hole = Expr::Path(syn::ExprPath {
        attrs: Vec::new(),
        qself: None,
        path: Ident::new(HOLE, span).into(),
    });
    let mut resumed = stmt.clone();
    if let Some(e) = head_expr_mut(&mut resumed) {
        replace_head(e, &hole);
    }
    let point = points.len();
    points.push(Point {
        what: Suspension::Call(call),
        binding,
    });
    Node::Await {
        point,
        stmt: resumed,
        original: stmt.clone(),
        tail,
    }
}

fn call_of(head: &ExprAwait, diag: &mut Diagnostics) -> Option<Call> {
    match &*head.base {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(seg) = p.path.segments.iter().find(|s| !s.arguments.is_none()) {
                    diag.error_spanned(
                        &seg.arguments,
                        "tasks and workflows are not generic: remove the `::<...>` from this call",
                    );
                    return None;
                }
                Some(Call {
                    callee: p.path.clone(),
                    args: c.args.iter().cloned().collect(),
                })
            }
            other => {
                diag.error_spanned(
                    other,
                    "only calls of `#[task]` and `#[workflow]` functions by name can be awaited in a workflow, e.g. `charge(order).await`",
                );
                None
            }
        },
        Expr::MethodCall(m) => {
            diag.error(
                m.method.span(),
                format_args!(
                    "a method call cannot be awaited in a workflow: `.{}(..)` is not a `#[task]`; move it into a `#[task]` function and call that",
                    m.method
                ),
            );
            None
        }
        Expr::Path(p) => {
            diag.error_spanned(
                p,
                format_args!(
                    "`{}` is awaited here, but a workflow can only await calls of `#[task]` and `#[workflow]` functions: a future held in a variable cannot be checkpointed",
                    p.to_token_stream()
                ),
            );
            None
        }
        other => {
            diag.error_spanned(
                other,
                "only calls of `#[task]` and `#[workflow]` functions can be awaited in a workflow, e.g. `charge(order).await`",
            );
            None
        }
    }
}

/// Reports every construct of a statement that cannot be checkpointed.
struct Checker<'a, 'd> {
    head: Option<&'a ExprAwait>,
    diag: &'d mut Diagnostics,
    closures: usize,
    constructs: Vec<&'static str>,
}

impl Checker<'_, '_> {
    fn within(&mut self, construct: &'static str, f: impl FnOnce(&mut Self)) {
        self.constructs.push(construct);
        f(self);
        self.constructs.pop();
    }

    fn misplaced_await(&mut self, span: Span) {
        if self.closures > 0 {
            self.diag.error(
                span,
                "`.await` inside a closure cannot be checkpointed: the closure runs outside the workflow's state machine; use a `for` loop, or move the work into a `#[task]`",
            );
        } else if let Some(c) = self.constructs.last() {
            self.diag.error(
                span,
                format_args!(
                    "`.await` inside {c} is not supported in a workflow body yet: only straight-line sequences of calls can suspend; move this part into a `#[task]` or a child `#[workflow]`"
                ),
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
        self.visit_expr(&a.base);
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

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        self.within("`if`", |s| visit::visit_expr_if(s, e));
    }
    fn visit_expr_match(&mut self, e: &'ast syn::ExprMatch) {
        self.within("`match`", |s| visit::visit_expr_match(s, e));
    }
    fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
        self.within("`loop`", |s| visit::visit_expr_loop(s, e));
    }
    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.within("`while`", |s| visit::visit_expr_while(s, e));
    }
    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        self.within("`for`", |s| visit::visit_expr_for_loop(s, e));
    }
    fn visit_expr_block(&mut self, e: &'ast syn::ExprBlock) {
        self.within("a block", |s| visit::visit_expr_block(s, e));
    }
    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        self.within("an `unsafe` block", |s| visit::visit_expr_unsafe(s, e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn run(b: syn::Block) -> (Body, Result<(), String>) {
        let mut d = Diagnostics::new();
        let body = analyze(&b, &mut d);
        let r = d.finish().map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        });
        (body, r)
    }

    #[test]
    fn finds_points_in_order_and_binds_postfix() {
        let (body, r) = run(parse_quote!({
            let a = first(x).await?;
            let b: u32 = second(a.clone()).await.unwrap_or(0);
            log(&a);
            third(b).await;
            return fourth().await;
        }));
        r.unwrap();
        assert_eq!(body.points.len(), 4);
        let names: Vec<String> = body
            .points
            .iter()
            .map(|p| p.callee().to_token_stream().to_string())
            .collect();
        assert_eq!(names, ["first", "second", "third", "fourth"]);
        assert_eq!(
            body.points[0].binding.as_ref().unwrap().postfix,
            Postfix::Try
        );
        assert_eq!(
            body.points[1].binding.as_ref().unwrap().postfix,
            Postfix::Other
        );
        assert!(body.points[1].binding.as_ref().unwrap().ty.is_some());
        assert!(matches!(body.nodes[2], Node::Plain { .. }));
        let Node::Await { stmt, .. } = &body.nodes[0] else {
            panic!()
        };
        assert_eq!(
            stmt.to_token_stream().to_string(),
            "let a = __sayiir_resumed ? ;"
        );
    }

    #[test]
    fn tail_await() {
        let (body, r) = run(parse_quote!({
            let x = a().await;
            b(x).await
        }));
        r.unwrap();
        assert!(matches!(body.nodes[1], Node::Await { tail: true, .. }));
    }

    #[test]
    fn rejects_what_cannot_be_checkpointed() {
        let cases: Vec<(syn::Block, &str)> = vec![
            (
                parse_quote!({
                    let x = f(a().await);
                }),
                "must start its statement",
            ),
            (
                parse_quote!({
                    items.iter().for_each(|i| {
                        t(i).await;
                    });
                }),
                "inside a closure",
            ),
            (
                parse_quote!({
                    let f = async { t().await };
                }),
                "`async` block",
            ),
            (
                parse_quote!({
                    if c {
                        t().await;
                    }
                }),
                "inside `if`",
            ),
            (
                parse_quote!({
                    client.get(url).await;
                }),
                "a method call cannot be awaited",
            ),
            (
                parse_quote!({
                    fut.await;
                }),
                "a future held in a variable",
            ),
            (
                parse_quote!({
                    println!("{}", t().await);
                }),
                "macro invocation",
            ),
            (
                parse_quote!({
                    t::<u8>().await;
                }),
                "not generic",
            ),
            (
                parse_quote!({
                    a().await.await;
                }),
                "must start its statement",
            ),
        ];
        for (block, expected) in cases {
            let text = block.to_token_stream().to_string();
            let (_, r) = run(block);
            let err = r.expect_err(&text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
