//! The types of construct values bound by a `let` without a written type (`let v = if c {
//! task(..).await } else { None };`, `let r = loop { .. break x; };`). A transition may hold
//! only some branches of such a construct, or none of a loop's `break`s, so rustc cannot
//! always infer the binding's type from that transition's code: each transition states the
//! type the whole body gives it.

use syn::{Expr, Pat, Stmt};

use super::collections;
use super::{Block, Consumer, Enter, Env, FieldTy, Lowerer, Node, NodeKind};
use crate::diag::Diagnostics;
use crate::workflow::parse::WorkflowFn;

impl Lowerer<'_> {
    /// The type of the value a loop breaks with, from its first typed `break value`.
    pub(super) fn loop_value(&self, env: &Env, id: usize, body: &[Node]) -> Option<FieldTy> {
        let label = self.body.loops.get(id)?.label.as_ref();
        self.break_in(env, body, label, false)
    }

    fn break_in(
        &self,
        env: &Env,
        nodes: &[Node],
        label: Option<&syn::Lifetime>,
        nested: bool,
    ) -> Option<FieldTy> {
        let mut env = env.clone();
        for (i, n) in nodes.iter().enumerate() {
            let found = match &n.kind {
                NodeKind::Plain { stmt, .. } => collections::broken(&env, stmt, label, nested),
                NodeKind::If {
                    cond, then, else_, ..
                } => {
                    let mut then_env = env.clone();
                    if let Expr::Let(l) = cond {
                        then_env.declare_pat(&l.pat, env.type_of(&l.expr));
                    }
                    self.break_in(&then_env, &then.nodes, label, nested)
                        .or_else(|| self.break_in(&env, &else_.as_ref()?.nodes, label, nested))
                }
                NodeKind::Match {
                    scrutinee, arms, ..
                } => {
                    let ty = env.type_of(scrutinee);
                    arms.iter().find_map(|arm| {
                        let mut arm_env = env.clone();
                        arm_env.declare_pat(&arm.pat, ty.clone());
                        self.break_in(&arm_env, &arm.body.nodes, label, nested)
                    })
                }
                NodeKind::Scope { block, .. } => self.break_in(&env, &block.nodes, label, nested),
                NodeKind::Loop { body, .. } if label.is_some() => {
                    self.break_in(&env, &body.nodes, label, true)
                }
                _ => None,
            };
            if found.is_some() {
                return found;
            }
            self.declare_in(&mut env, nodes, i, false);
        }
        None
    }

    /// Types every `let` consumer without a written type (indexed by its id). One the macro
    /// cannot type is an error when a branch's value is a bare number: rustc would give it
    /// the type its context shows, and a transition that sees that branch alone shows less
    /// than the whole body (so `200` would be an `i32` there and a `u8` in Rust).
    pub(super) fn type_lets(
        &mut self,
        cx: (&WorkflowFn, &mut Diagnostics),
        env: &Env,
        nodes: &[Node],
        top: bool,
        out: &mut [Option<FieldTy>],
    ) {
        let (wf, diag) = cx;
        let mut env = env.clone();
        for i in 0..nodes.len() {
            let n = &nodes[i];
            if let Some(Consumer::Let { ty: None, id, pat }) = n.consumer()
                && let Some(slot) = out.get_mut(*id)
            {
                *slot = self.infer_value(&env, n).or_else(|| {
                    // `let mut w = loop { .. break 11; .. }; .. w += x;`: from a later
                    // assignment, as Rust does.
                    let Pat::Ident(p) = pat else {
                        return None;
                    };
                    let mut after = env.clone();
                    self.declare(&mut after, n);
                    self.assigned_type(&after, &nodes[i + 1..], &p.ident)
                });
                if slot.is_none()
                    && let (Some(number), true) = number_values(n)
                {
                    let mut names = Vec::new();
                    super::vars::pat_bindings(pat, &mut names);
                    let name = names.first().map_or_else(
                        || "the value".to_string(),
                        |b| format!("`{}`", wf.written_name(&b.ident)),
                    );
                    diag.error_spanned(
                        &number,
                        format_args!(
                            "cannot tell the type of {name}: this construct awaits, so its branches run in different transitions, and this number takes its type from the code around it, which a transition sees only in part; annotate the binding: `let {}: Type = ...`",
                            names.first().map_or_else(|| "x".to_string(), |b| wf.written_name(&b.ident))
                        ),
                    );
                }
            }
            match &n.kind {
                NodeKind::If { then, else_, .. } => {
                    let mut then_env = env.clone();
                    self.enter(&mut then_env, n, Enter::Then);
                    self.type_lets((wf, diag), &then_env, &then.nodes, false, out);
                    if let Some(e) = else_ {
                        self.type_lets((wf, diag), &env, &e.nodes, false, out);
                    }
                }
                NodeKind::Match { arms, .. } => {
                    for (k, arm) in arms.iter().enumerate() {
                        let mut arm_env = env.clone();
                        self.enter(&mut arm_env, n, Enter::Arm(k));
                        self.type_lets((wf, diag), &arm_env, &arm.body.nodes, false, out);
                    }
                }
                NodeKind::Scope { block, .. } => {
                    self.type_lets((wf, diag), &env, &block.nodes, false, out)
                }
                NodeKind::Loop { body, .. } => {
                    let mut body_env = env.clone();
                    self.enter(&mut body_env, n, Enter::LoopBody);
                    self.type_lets((wf, diag), &body_env, &body.nodes, false, out);
                }
                _ => {}
            }
            self.declare_in(&mut env, nodes, i, top);
        }
    }
}

/// The values of the construct `node` (its branches' final expressions, or a loop's `break`
/// values): the first that is a bare number (its type comes from its context), and whether
/// another one is not. Only both together are a risk: a transition that holds the number's
/// branch alone does not see the other value that gives the number its type in Rust (when all
/// values are bare numbers, the code that types them follows the construct, in every
/// transition alike).
fn number_values(node: &Node) -> (Option<Expr>, bool) {
    let mut bare = None;
    let mut other = false;
    let mut value = |e: &Expr| {
        if bare_number(e) {
            bare.get_or_insert_with(|| e.clone());
        } else if !diverges(e) {
            other = true;
        }
    };
    fn tails<'n>(block: &'n Block, out: &mut Vec<&'n Expr>, nested: &mut Vec<&'n Node>) {
        let Some(last) = block.nodes.last() else {
            return;
        };
        match &last.kind {
            NodeKind::Plain {
                stmt: Stmt::Expr(e, None),
                tail: true,
            } => out.push(e),
            _ if matches!(last.consumer(), Some(Consumer::Tail)) => nested.push(last),
            _ => {}
        }
    }
    let mut exprs = Vec::new();
    let mut nested = Vec::new();
    match &node.kind {
        NodeKind::If { then, else_, .. } => {
            tails(then, &mut exprs, &mut nested);
            if let Some(e) = else_ {
                tails(e, &mut exprs, &mut nested);
            }
        }
        NodeKind::Match { arms, .. } => {
            for a in arms {
                tails(&a.body, &mut exprs, &mut nested);
            }
        }
        NodeKind::Scope { block, .. } => tails(block, &mut exprs, &mut nested),
        NodeKind::Loop { body, .. } => {
            struct Breaks<'a>(Vec<&'a Expr>);
            impl<'ast> syn::visit::Visit<'ast> for Breaks<'ast> {
                fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
                    if let Some(e) = &b.expr {
                        self.0.push(e);
                    }
                }
                fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
                fn visit_item(&mut self, _: &'ast syn::Item) {}
            }
            let mut b = Breaks(Vec::new());
            for n in &body.nodes {
                syn::visit::Visit::visit_stmt(&mut b, &n.original);
            }
            exprs.extend(b.0);
        }
        _ => {}
    }
    for e in exprs {
        value(e);
    }
    let mut nested_other = false;
    for n in nested {
        let (b, o) = number_values(n);
        if let Some(b) = b {
            value(&b);
        }
        nested_other |= o;
    }
    (bare, other || nested_other)
}

/// Whether an expression never yields a value (`return`, `break`, `continue`, a panic).
fn diverges(e: &Expr) -> bool {
    let stmt = Stmt::Expr(e.clone(), None);
    super::exit_of(std::slice::from_ref(&stmt)) != super::Exit::Normal
}

/// Whether an expression's type is only what its context makes of a number literal: `200`,
/// `-1`, `1.5`, `(2 + 3)`, `Some(0)`, `(0, 1)`.
pub(super) fn bare_number(e: &Expr) -> bool {
    match e {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) => i.suffix().is_empty(),
            syn::Lit::Float(f) => f.suffix().is_empty(),
            _ => false,
        },
        Expr::Paren(p) => bare_number(&p.expr),
        Expr::Group(g) => bare_number(&g.expr),
        Expr::Unary(u) => bare_number(&u.expr),
        Expr::Binary(b) => bare_number(&b.left) && bare_number(&b.right),
        Expr::Call(c) if c.args.len() == 1 => {
            matches!(&*c.func, Expr::Path(p) if ["Some", "Ok", "Err"].iter().any(|n| p.path.is_ident(n)))
                && bare_number(&c.args[0])
        }
        Expr::Tuple(t) => t.elems.iter().any(bare_number),
        Expr::Block(b) => match b.block.stmts.last() {
            Some(Stmt::Expr(e, None)) => bare_number(e),
            _ => false,
        },
        _ => false,
    }
}
