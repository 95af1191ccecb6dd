//! Stage 3 check: a name bound inside a branch must not shadow a name that the code after the
//! construct reads, because that code is emitted inside each branch.

use syn::{Expr, Stmt};

use super::ir::{Block, Body, Enter, NodeKind, Step};
use super::lower::after_construct;
use super::vars::{self, Binding};
use crate::diag::Diagnostics;

/// A branch of a construct: how it is entered, its block, the names its pattern binds.
type Branch<'a> = (Enter, &'a Block, Vec<Binding>);

/// Rejects a name declared at the top of a branch (or bound by its pattern) that the code after
/// the construct reads from an outer binding: that code is emitted inside each branch, where the
/// branch's binding would shadow the outer one.
pub(crate) fn check_shadowing(body: &Body, diag: &mut Diagnostics) {
    fn walk<'a>(block: &'a Block, levels: &mut Vec<(&'a Block, Step)>, diag: &mut Diagnostics) {
        for (index, node) in block.nodes.iter().enumerate() {
            let (kind, branches): (&str, Vec<Branch<'a>>) = match &node.kind {
                NodeKind::If {
                    cond, then, else_, ..
                } => {
                    let mut bound = Vec::new();
                    if let Expr::Let(l) = cond {
                        vars::pat_bindings(&l.pat, &mut bound);
                    }
                    let mut v = vec![(Enter::Then, then, bound)];
                    if let Some(e) = else_ {
                        v.push((Enter::Else, e, Vec::new()));
                    }
                    ("if", v)
                }
                NodeKind::Match { arms, .. } => {
                    let v = arms
                        .iter()
                        .enumerate()
                        .map(|(i, a)| {
                            let mut bound = Vec::new();
                            vars::pat_bindings(&a.pat, &mut bound);
                            (Enter::Arm(i), &a.body, bound)
                        })
                        .collect();
                    ("match", v)
                }
                NodeKind::Scope { block, .. } => ("block", vec![(Enter::Scope, block, Vec::new())]),
                NodeKind::Loop { body, .. } => ("loop", vec![(Enter::LoopBody, body, Vec::new())]),
                _ => continue,
            };
            levels.push((
                block,
                Step {
                    index,
                    into: Enter::Here,
                },
            ));
            if kind != "loop" {
                let after = vars::free_in(&after_construct(levels).iter().collect::<Vec<_>>());
                for (_, branch, mut bound) in branches.iter().map(|(e, b, v)| (*e, *b, v.clone())) {
                    for n in &branch.nodes {
                        if let NodeKind::Plain {
                            stmt: Stmt::Local(l),
                            ..
                        } = &n.kind
                        {
                            vars::pat_bindings(&l.pat, &mut bound);
                        }
                    }
                    for b in bound
                        .iter()
                        .filter(|b| after.contains_key(&b.ident.to_string()))
                    {
                        diag.error(
                            b.ident.span(),
                            format_args!(
                                "`{name}` here shadows the `{name}` that the code after this `{kind}` reads; in a workflow that code runs inside each branch, where this `{name}` would be seen instead; rename one of them",
                                name = b.ident
                            ),
                        );
                    }
                }
            }
            levels.pop();
            for (into, branch, _) in branches {
                levels.push((block, Step { index, into }));
                walk(branch, levels, diag);
                levels.pop();
            }
        }
    }
    walk(&body.block, &mut Vec::new(), diag);
}
