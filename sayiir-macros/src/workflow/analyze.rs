//! Stage 2: find the suspension points of the body, build the tree of constructs around them,
//! and reject what cannot be checkpointed.
//!
//! A suspension point must start its statement (`let x = call(..).await?;`). An await at the
//! head of an `if` condition, a `match` scrutinee, a `while` condition or a `for` iterator is
//! desugared into a `let` of a synthetic variable just before the construct (or at the top of the
//! loop body for `while`), which puts it at the start of its statement.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;
use syn::{Expr, ExprAwait, Ident, Pat, Stmt};

use super::check::{Checker, has_suspension};
use super::ir::{
    Arm, Block, Body, Consumer, HOLE, LetBinding, LoopInfo, LoopKind, Node, NodeKind, Point,
    Postfix, Suspension,
};
use crate::diag::Diagnostics;

/// Analyzes a workflow body.
pub(crate) fn analyze(body: &syn::Block, diag: &mut Diagnostics) -> Body {
    let mut a = Analyzer {
        futures: super::check::async_bindings(body),
        diag,
        points: Vec::new(),
        loops: Vec::new(),
        synthetic: 0,
        lets: 0,
    };
    let block = a.block(&body.stmts, body.brace_token.span.close());
    let Analyzer {
        mut points,
        loops,
        lets,
        ..
    } = a;
    let named: Vec<_> = points.iter().map(|p| (&p.what, p.label.as_ref())).collect();
    let ids = super::ids::assign(&named, diag);
    for (p, id) in points.iter_mut().zip(ids) {
        p.id = id;
    }
    Body {
        block,
        points,
        loops,
        lets,
    }
}

struct Analyzer<'d> {
    /// Names bound to an `async` block or closure (already reported).
    futures: Vec<String>,
    diag: &'d mut Diagnostics,
    points: Vec<Point>,
    loops: Vec<LoopInfo>,
    /// `let` consumers so far.
    lets: usize,
    synthetic: usize,
}

/// The expression of a statement where a suspension may start it.
/// Whether a binary operator is a compound assignment (`+=`, `-=`, ...).
fn is_assign_op(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

fn head_expr(stmt: &Stmt) -> Option<&Expr> {
    match stmt {
        Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
        Stmt::Expr(Expr::Return(r), _) => r.expr.as_deref(),
        Stmt::Expr(Expr::Assign(a), _) => Some(&a.right),
        Stmt::Expr(Expr::Binary(b), _) if is_assign_op(&b.op) => Some(&b.right),
        Stmt::Expr(e, _) => Some(e),
        _ => None,
    }
}

fn head_expr_mut(stmt: &mut Stmt) -> Option<&mut Expr> {
    // Decided first, so the match below needs no guard (a guard would keep `stmt` borrowed).
    let compound = matches!(stmt, Stmt::Expr(Expr::Binary(b), _) if is_assign_op(&b.op));
    match (compound, stmt) {
        (_, Stmt::Local(l)) => l.init.as_mut().map(|i| &mut *i.expr),
        (_, Stmt::Expr(Expr::Return(r), _)) => r.expr.as_deref_mut(),
        (_, Stmt::Expr(Expr::Assign(a), _)) => Some(&mut a.right),
        (true, Stmt::Expr(Expr::Binary(b), _)) => Some(&mut b.right),
        (_, Stmt::Expr(e, _)) => Some(e),
        _ => None,
    }
}

/// The `.await` evaluated first in `expr`: at the bottom of its chain of `?`, method calls,
/// field accesses, casts and parentheses.
pub(crate) fn find_head(expr: &Expr) -> Option<&ExprAwait> {
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

fn path_expr(ident: &Ident) -> Expr {
    Expr::Path(syn::ExprPath {
        attrs: Vec::new(),
        qself: None,
        path: ident.clone().into(),
    })
}

fn parse_stmt(tokens: TokenStream) -> Stmt {
    // Only called on statements built here from valid pieces.
    syn::parse2(tokens).unwrap_or_else(|e| Stmt::Expr(Expr::Verbatim(e.to_compile_error()), None))
}

/// A construct's value as its statement consumes it, for what the statement reads and binds:
/// `let pat = <value>;`, `place = <value>;`, `return <value>;`, or the value itself.
fn consumed(value: TokenStream, consumer: &Consumer) -> Stmt {
    match consumer {
        Consumer::Let {
            pat, ty: Some(ty), ..
        } => parse_stmt(quote!(let #pat: #ty = #value;)),
        Consumer::Let { pat, ty: None, .. } => parse_stmt(quote!(let #pat = #value;)),
        Consumer::Assign { place } => parse_stmt(quote!(#place = #value;)),
        Consumer::Return => parse_stmt(quote!(return #value;)),
        Consumer::Tail | Consumer::Discard => parse_stmt(value),
    }
}

/// Whether an expression is a construct the analyzer lowers (when it contains suspensions).
fn is_construct(e: &Expr) -> bool {
    match e {
        Expr::If(_) | Expr::Match(_) | Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => true,
        Expr::Block(b) => b.label.is_none(),
        _ => false,
    }
}

impl Analyzer<'_> {
    fn block(&mut self, stmts: &[Stmt], end: Span) -> Block {
        let mut nodes = Vec::new();
        let n = stmts.len();
        for (i, stmt) in stmts.iter().enumerate() {
            let tail = i + 1 == n && matches!(stmt, Stmt::Expr(_, None));
            self.stmt(stmt, tail, &mut nodes);
        }
        Block { nodes, end }
    }

    /// A block made of one expression (a `match` arm without braces).
    fn expr_block(&mut self, e: &Expr) -> Block {
        match e {
            Expr::Block(b) if b.label.is_none() && b.attrs.is_empty() => {
                self.block(&b.block.stmts, b.block.brace_token.span.close())
            }
            other => {
                let mut nodes = Vec::new();
                self.stmt(&Stmt::Expr(other.clone(), None), true, &mut nodes);
                Block {
                    nodes,
                    end: other.span(),
                }
            }
        }
    }

    fn synthetic(&mut self, what: &str, span: Span) -> Ident {
        self.synthetic += 1;
        let mut id = format_ident!("__sayiir_{}_{}", what, self.synthetic);
        id.set_span(span);
        id
    }

    fn plain(&mut self, stmt: &Stmt, tail: bool, out: &mut Vec<Node>) {
        let mut stmt = stmt.clone();
        super::check::strip_loop_attributes(&mut stmt);
        Checker::new(None, self.diag).visit(&stmt);
        out.push(Node {
            kind: NodeKind::Plain {
                stmt: stmt.clone(),
                tail,
            },
            original: stmt,
        });
    }

    fn stmt(&mut self, stmt: &Stmt, tail: bool, out: &mut Vec<Node>) {
        let mut owned = stmt.clone();
        let label = super::ids::take_label(&mut owned, self.diag);
        let stmt = &owned;
        let head = head_expr(stmt);
        if let Some(head_await) = head.and_then(find_head) {
            self.await_stmt(stmt, head_await, tail, label, out);
            return;
        }
        if let Some(l) = &label {
            self.diag.error_spanned(
                l,
                "`#[sayiir::state(..)]` names the state of an await: put it on a statement that starts with one, e.g. `#[sayiir::state(\"pay\")] let receipt = charge(order).await?;`",
            );
        }
        let construct = match (stmt, head) {
            (Stmt::Local(l), Some(e)) if is_construct(e) && has_suspension(e) => {
                if let Some(init) = &l.init
                    && let Some((_, diverge)) = &init.diverge
                {
                    self.diag.error_spanned(
                        diverge,
                        "`let ... else` around a construct that awaits is not supported; bind the value with a plain `let` and `match` on it",
                    );
                    return;
                }
                let (pat, ty) = match &l.pat {
                    Pat::Type(t) => ((*t.pat).clone(), Some((*t.ty).clone())),
                    p => (p.clone(), None),
                };
                self.lets += 1;
                Some((
                    e,
                    Consumer::Let {
                        pat,
                        ty,
                        id: self.lets - 1,
                    },
                ))
            }
            (Stmt::Expr(Expr::Return(_), _), Some(e)) if is_construct(e) && has_suspension(e) => {
                Some((e, Consumer::Return))
            }
            (Stmt::Expr(Expr::Assign(a), _), Some(e)) if is_construct(e) && has_suspension(e) => {
                Some((
                    e,
                    Consumer::Assign {
                        place: (*a.left).clone(),
                    },
                ))
            }
            (Stmt::Expr(e, _), _) if is_construct(e) && has_suspension(e) => Some((
                e,
                if tail {
                    Consumer::Tail
                } else {
                    Consumer::Discard
                },
            )),
            _ => None,
        };
        match construct {
            Some((e, consumer)) => self.construct(e, consumer, stmt, out),
            None => self.plain(stmt, tail, out),
        }
    }

    fn await_stmt(
        &mut self,
        stmt: &Stmt,
        head: &ExprAwait,
        tail: bool,
        label: Option<syn::LitStr>,
        out: &mut Vec<Node>,
    ) {
        Checker::new(Some(head), self.diag).visit(stmt);
        let Some(what) = self.suspension_of(head) else {
            out.push(Node {
                kind: NodeKind::Plain {
                    stmt: stmt.clone(),
                    tail,
                },
                original: stmt.clone(),
            });
            return;
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
        let hole = path_expr(&Ident::new(HOLE, head.span()));
        let mut resumed = stmt.clone();
        if let Some(e) = head_expr_mut(&mut resumed) {
            replace_head(e, &hole);
        }
        let point = self.points.len();
        self.points.push(Point {
            what,
            binding,
            label,
            id: String::new(),
        });
        out.push(Node {
            kind: NodeKind::Await {
                point,
                stmt: resumed,
                tail,
            },
            original: stmt.clone(),
        });
    }

    /// Splits an awaiting head expression off into `let <synthetic> = <expr>;` (pushed to
    /// `out`) and returns the synthetic variable, or the expression unchanged.
    fn hoist(&mut self, e: &Expr, what: &str, out: &mut Vec<Node>) -> Expr {
        if find_head(e).is_none() {
            if has_suspension(e) {
                Checker::new(None, self.diag).visit_expr(e);
            }
            return e.clone();
        }
        let var = self.synthetic(what, e.span());
        let stmt = parse_stmt(quote!(let #var = #e;));
        self.stmt(&stmt, false, out);
        path_expr(&var)
    }

    fn construct(&mut self, e: &Expr, consumer: Consumer, stmt: &Stmt, out: &mut Vec<Node>) {
        match e {
            Expr::If(i) => {
                let cond = match &*i.cond {
                    Expr::Let(l) => {
                        let scrutinee = self.hoist(&l.expr, "scrutinee", out);
                        Expr::Let(syn::ExprLet {
                            expr: Box::new(scrutinee),
                            ..l.clone()
                        })
                    }
                    c => self.hoist(c, "condition", out),
                };
                let then = self.block(&i.then_branch.stmts, i.then_branch.brace_token.span.close());
                let else_ = i.else_branch.as_ref().map(|(_, e)| self.expr_block(e));
                let then_written = &i.then_branch;
                let else_written = else_tokens(i);
                let original = consumed(quote!(if #cond #then_written #else_written), &consumer);
                out.push(Node {
                    kind: NodeKind::If {
                        cond,
                        then,
                        else_,
                        consumer,
                    },
                    original,
                });
            }
            Expr::Match(m) => {
                let scrutinee = self.hoist(&m.expr, "scrutinee", out);
                let arms: Vec<Arm> = m
                    .arms
                    .iter()
                    .map(|a| {
                        if let Some((_, g)) = &a.guard
                            && has_suspension(g)
                        {
                            Checker::new(None, self.diag).visit_expr(g);
                        }
                        Arm {
                            pat: a.pat.clone(),
                            guard: a.guard.as_ref().map(|(_, g)| (**g).clone()),
                            body: self.expr_block(&a.body),
                        }
                    })
                    .collect();
                let user_arms = &m.arms;
                let original = consumed(quote!(match #scrutinee { #(#user_arms)* }), &consumer);
                out.push(Node {
                    kind: NodeKind::Match {
                        scrutinee,
                        arms,
                        consumer,
                    },
                    original,
                });
            }
            Expr::Block(b) => {
                if let Some(u) = b.attrs.first() {
                    self.diag
                        .error_spanned(u, "attributes on a block that awaits are not supported");
                }
                let block = self.block(&b.block.stmts, b.block.brace_token.span.close());
                out.push(Node {
                    kind: NodeKind::Scope { block, consumer },
                    original: stmt.clone(),
                });
            }
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => self.loop_(e, consumer, out),
            other => self.plain(&Stmt::Expr(other.clone(), None), false, out),
        }
    }

    fn loop_(&mut self, e: &Expr, consumer: Consumer, out: &mut Vec<Node>) {
        let id = self.loops.len();
        let (attrs, label, body, span) = match e {
            Expr::Loop(l) => (
                &l.attrs,
                l.label.as_ref().map(|l| l.name.clone()),
                &l.body,
                l.loop_token.span,
            ),
            Expr::While(w) => (
                &w.attrs,
                w.label.as_ref().map(|l| l.name.clone()),
                &w.body,
                w.while_token.span,
            ),
            Expr::ForLoop(f) => (
                &f.attrs,
                f.label.as_ref().map(|l| l.name.clone()),
                &f.body,
                f.for_token.span,
            ),
            _ => return,
        };
        let limit = super::check::loop_limit(attrs, self.diag);
        let mut prologue: Vec<Node> = Vec::new();
        let kind = match e {
            Expr::While(w) => {
                super::check::reject_break_values(&w.body, label.as_ref(), "while", self.diag);
                match &*w.cond {
                    Expr::Let(l) => {
                        let scrutinee = self.hoist(&l.expr, "scrutinee", &mut prologue);
                        let pat = &l.pat;
                        self.plain(
                            &parse_stmt(quote!(let #pat = #scrutinee else { break };)),
                            false,
                            &mut prologue,
                        );
                    }
                    c => {
                        let cond = self.hoist(c, "condition", &mut prologue);
                        self.plain(
                            &parse_stmt(quote!(if !(#cond) { break; })),
                            false,
                            &mut prologue,
                        );
                    }
                }
                LoopKind::While
            }
            Expr::ForLoop(f) => {
                super::check::reject_break_values(&f.body, label.as_ref(), "for", self.diag);
                let iter = self.hoist(&f.expr, "items", out);
                let pat = (*f.pat).clone();
                let var = iter_var(id);
                let original = parse_stmt(
                    quote!(let #pat = match #var.next() { Some(v) => v, None => break };),
                );
                prologue.push(Node {
                    kind: NodeKind::ForItem {
                        id,
                        pat: pat.clone(),
                    },
                    original,
                });
                LoopKind::For { pat, iter }
            }
            _ => LoopKind::Loop,
        };
        // Registered before the body so nested loops get later ids.
        self.loops.push(LoopInfo {
            label: label.clone(),
            kind,
            limit,
            span,
        });
        let count = count_var(id);
        prologue.push(Node {
            kind: NodeKind::LoopCount { id },
            original: parse_stmt(quote!(#count += 1;)),
        });
        let mut body_block = self.block(&body.stmts, body.brace_token.span.close());
        prologue.append(&mut body_block.nodes);
        body_block.nodes = prologue;
        let originals: Vec<&Stmt> = body_block.nodes.iter().map(|n| &n.original).collect();
        let init = match &self.loops[id].kind {
            LoopKind::For { iter, .. } => {
                let var = iter_var(id);
                quote!(let mut #var = ::sayiir_for_iter(#iter);)
            }
            _ => quote!(),
        };
        let label_tokens = label.as_ref().map(|l| quote!(#l:));
        let original = consumed(
            quote!({
                #init
                let mut #count = 0u64;
                #label_tokens loop { #(#originals)* }
            }),
            &consumer,
        );
        out.push(Node {
            kind: NodeKind::Loop {
                id,
                body: body_block,
                consumer,
            },
            original,
        });
    }

    fn suspension_of(&mut self, head: &ExprAwait) -> Option<Suspension> {
        match &*head.base {
            Expr::Macro(m) => {
                let name = m
                    .mac
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                if name != "join" && name != "try_join" {
                    self.diag.error_spanned(
                        &m.mac.path,
                        "only calls of `#[task]` and `#[workflow]` functions, `sayiir::join!`, `sayiir::try_join!` and `sayiir::join_all` can be awaited in a workflow",
                    );
                    return None;
                }
                super::check::join_calls(&m.mac, name == "try_join", self.diag)
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    self.diag.error_spanned(
                        &c.func,
                        "only calls of `#[task]` and `#[workflow]` functions by name can be awaited in a workflow, e.g. `charge(order).await`",
                    );
                    return None;
                };
                let last = p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                if p.qself.is_none() && (last == "join_all" || last == "try_join_all") {
                    return super::check::join_all_call(c, last == "try_join_all", self.diag);
                }
                if p.qself.is_none() && last == "continue_as_new" {
                    return super::check::continue_call(c, self.diag);
                }
                super::check::call(c, self.diag).map(Suspension::Call)
            }
            Expr::MethodCall(m) if m.method == "timeout" => {
                super::check::timed_call(m, self.diag).map(Suspension::Call)
            }
            Expr::MethodCall(m) => {
                self.diag.error(
                    m.method.span(),
                    format_args!(
                        "a method call cannot be awaited in a workflow: `.{}(..)` is not a `#[task]`; move it into a `#[task]` function and call that",
                        m.method
                    ),
                );
                None
            }
            Expr::Path(p) => {
                if p.path
                    .get_ident()
                    .is_some_and(|i| self.futures.contains(&i.to_string()))
                {
                    return None;
                }
                self.diag.error_spanned(
                    p,
                    format_args!(
                        "`{}` is awaited here, but a workflow can only await calls of `#[task]` and `#[workflow]` functions: a future held in a variable cannot be checkpointed",
                        p.to_token_stream()
                    ),
                );
                None
            }
            other => {
                self.diag.error_spanned(
                    other,
                    "only calls of `#[task]` and `#[workflow]` functions can be awaited in a workflow, e.g. `charge(order).await`",
                );
                None
            }
        }
    }
}

fn else_tokens(i: &syn::ExprIf) -> TokenStream {
    match &i.else_branch {
        Some((_, e)) => quote!(else #e),
        None => quote!(),
    }
}

/// The variable holding a `for` loop's remaining items.
pub(crate) fn iter_var(id: usize) -> Ident {
    format_ident!("__sayiir_iter_{}", id)
}

/// The variable counting a loop's iterations.
pub(crate) fn count_var(id: usize) -> Ident {
    format_ident!("__sayiir_count_{}", id)
}

#[cfg(test)]
#[path = "analyze_tests.rs"]
mod tests;
