//! Where a workflow can go from each state: the states its transition can suspend at next and
//! whether it can finish the workflow, read from the analyzed body (the same tree the lowering
//! turns into transitions). Recorded in the workflow's description (`StateShape::next`) for
//! people and tools (the dashboard draws it); no part of the definition hash or fingerprint.
//!
//! States are numbered as the description lists them: 0 is the start state, `k + 1` the state
//! of suspension point `k`. The analysis is conservative the way the lowering is: a statement
//! that may `return`, `?`, `break` or `continue` is taken to possibly do so, whatever its
//! conditions, so an edge means "can", never "will".

use std::collections::BTreeSet;

use syn::visit::Visit;
use syn::{Expr, Lifetime, Stmt};

use super::ir::{Block, Body, Exit, NodeKind, Suspension, exit_of};

/// Where control can go from one state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Next {
    /// The states the next transition can suspend at, in state order.
    pub(crate) states: BTreeSet<usize>,
    /// Whether the next transition can finish the workflow (return its output).
    pub(crate) ends: bool,
}

/// One entry per state (the start state first).
pub(crate) fn transitions(body: &Body) -> Vec<Next> {
    let mut a = Analysis {
        next: vec![Next::default(); body.points.len() + 1],
        loops: Vec::new(),
        labels: body
            .loops
            .iter()
            .map(|l| l.label.as_ref().map(|l| l.ident.to_string()))
            .collect(),
        continues: body
            .points
            .iter()
            .map(|p| matches!(p.what, Suspension::Continue(_)))
            .collect(),
    };
    let end = a.block(&body.block, BTreeSet::from([0]));
    a.finish(&end);
    a.next
}

/// The states control can be in, between suspension points, at one place of the body.
type Here = BTreeSet<usize>;

struct LoopCx {
    label: Option<String>,
    breaks: Here,
    continues: Here,
}

struct Analysis {
    next: Vec<Next>,
    /// The awaiting loops around the place being analyzed, innermost last.
    loops: Vec<LoopCx>,
    /// The label of each awaiting loop of the body, by id.
    labels: Vec<Option<String>>,
    /// Whether each point is a `continue_as_new`.
    continues: Vec<bool>,
}

impl Analysis {
    fn finish(&mut self, here: &Here) {
        for &s in here {
            if let Some(n) = self.next.get_mut(s) {
                n.ends = true;
            }
        }
    }

    /// Control reaching `stmt` from `here` (plain code): what it may leave by, and the states
    /// after it (none when it always leaves).
    fn plain(&mut self, stmt: &Stmt, here: Here) -> Here {
        let mut leaves = Leaves::default();
        leaves.visit_stmt(stmt);
        if leaves.returns {
            self.finish(&here);
        }
        for (label, is_break) in leaves.jumps {
            let target = match &label {
                None => self.loops.last_mut(),
                Some(l) => self
                    .loops
                    .iter_mut()
                    .rev()
                    .find(|c| c.label.as_deref() == Some(l)),
            };
            if let Some(cx) = target {
                let set = if is_break {
                    &mut cx.breaks
                } else {
                    &mut cx.continues
                };
                set.extend(here.iter().copied());
            }
        }
        match exit_of(std::slice::from_ref(stmt)) {
            Exit::Normal => here,
            Exit::Return | Exit::Break | Exit::Continue => Here::new(),
        }
    }

    /// Control entering `block` from `here`: the states when it falls through its end.
    fn block(&mut self, block: &Block, mut here: Here) -> Here {
        for node in &block.nodes {
            if here.is_empty() {
                break;
            }
            here = match &node.kind {
                NodeKind::Plain { stmt, .. } => self.plain(stmt, here),
                NodeKind::ForItem { .. } | NodeKind::LoopCount { .. } => {
                    // `ForItem` leaves the loop when the items run out.
                    if matches!(node.kind, NodeKind::ForItem { .. })
                        && let Some(cx) = self.loops.last_mut()
                    {
                        cx.breaks.extend(here.iter().copied());
                    }
                    here
                }
                NodeKind::Await { point, stmt, .. } => {
                    let state = point + 1;
                    for &s in &here {
                        if let Some(n) = self.next.get_mut(s) {
                            n.states.insert(state);
                        }
                    }
                    if self.continues.get(*point).copied().unwrap_or(false) {
                        // The run ends; the next one begins at the start state.
                        if let Some(n) = self.next.get_mut(state) {
                            n.states.insert(0);
                        }
                        Here::new()
                    } else {
                        self.plain(stmt, Here::from([state]))
                    }
                }
                NodeKind::If {
                    cond, then, else_, ..
                } => {
                    let here = self.expr(cond, here);
                    let mut out = self.block(then, here.clone());
                    match else_ {
                        Some(e) => out.extend(self.block(e, here)),
                        None => out.extend(here),
                    }
                    self.consumed(node, out)
                }
                NodeKind::Match {
                    scrutinee, arms, ..
                } => {
                    let here = self.expr(scrutinee, here);
                    let mut out = Here::new();
                    for arm in arms {
                        let here = match &arm.guard {
                            Some(g) => self.expr(g, here.clone()),
                            None => here.clone(),
                        };
                        out.extend(self.block(&arm.body, here));
                    }
                    self.consumed(node, out)
                }
                NodeKind::Scope { block: inner, .. } => {
                    let out = self.block(inner, here);
                    self.consumed(node, out)
                }
                NodeKind::Loop { id, body, .. } => {
                    let label = self.labels.get(*id).cloned().flatten();
                    let out = self.loop_(label, body, here);
                    self.consumed(node, out)
                }
            };
        }
        here
    }

    /// A loop entered from `here`: its body runs until nothing new reaches its head; it is left
    /// only by `break` (the analysis desugars `while` and `for` into `loop` with a `break`).
    fn loop_(&mut self, label: Option<String>, body: &Block, entry: Here) -> Here {
        let mut head = entry.clone();
        loop {
            self.loops.push(LoopCx {
                label: label.clone(),
                breaks: Here::new(),
                continues: Here::new(),
            });
            let end = self.block(body, head.clone());
            let Some(cx) = self.loops.pop() else {
                return Here::new();
            };
            let mut again = entry.clone();
            again.extend(end);
            again.extend(cx.continues);
            if again == head {
                return cx.breaks;
            }
            head = again;
        }
    }

    /// Plain code in a construct's head (a condition, a scrutinee, a guard).
    fn expr(&mut self, e: &Expr, here: Here) -> Here {
        self.plain(&Stmt::Expr(e.clone(), None), here)
    }

    /// What happens to a construct's value: `return construct;` finishes the workflow.
    fn consumed(&mut self, node: &super::ir::Node, out: Here) -> Here {
        match node.consumer() {
            Some(super::ir::Consumer::Return) => {
                self.finish(&out);
                Here::new()
            }
            _ => out,
        }
    }
}

/// The ways plain code may leave: `return` or `?` (finishing the workflow), and `break` /
/// `continue` aimed at a loop around it (label, whether a break).
#[derive(Default)]
struct Leaves {
    returns: bool,
    jumps: Vec<(Option<String>, bool)>,
    /// Labels of the loops inside the code, innermost last (`None` for unlabeled ones).
    inner: Vec<Option<String>>,
}

impl Leaves {
    fn jump(&mut self, label: Option<&Lifetime>, is_break: bool) {
        let label = label.map(|l| l.ident.to_string());
        let internal = match &label {
            None => !self.inner.is_empty(),
            Some(l) => self.inner.iter().flatten().any(|i| i == l),
        };
        if !internal {
            self.jumps.push((label, is_break));
        }
    }

    fn in_loop(&mut self, label: Option<&syn::Label>, f: impl FnOnce(&mut Self)) {
        self.inner.push(label.map(|l| l.name.ident.to_string()));
        f(self);
        self.inner.pop();
    }
}

impl<'ast> Visit<'ast> for Leaves {
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        self.returns = true;
        syn::visit::visit_expr_return(self, r);
    }
    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.returns = true;
        syn::visit::visit_expr_try(self, t);
    }
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        self.jump(b.label.as_ref(), true);
        syn::visit::visit_expr_break(self, b);
    }
    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        self.jump(c.label.as_ref(), false);
    }
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.in_loop(l.label.as_ref(), |s| syn::visit::visit_expr_loop(s, l));
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.in_loop(w.label.as_ref(), |s| syn::visit::visit_expr_while(s, w));
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.in_loop(f.label.as_ref(), |s| syn::visit::visit_expr_for_loop(s, f));
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
#[path = "transitions_tests.rs"]
mod tests;
