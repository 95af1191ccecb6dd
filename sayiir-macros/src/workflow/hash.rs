//! The canonical encoding of a lowered workflow that its definition hash is computed over.
//!
//! It covers what decides whether a stored state can be resumed by this code: the name and
//! declared version, input and output types, every state with its stored fields and their types,
//! the structure of the body around its suspension points (which constructs, which arms and
//! patterns, which points inside which branch or loop), and (appended in const evaluation) the
//! hashes of every callee. It leaves out spans, formatting, comments, the plain code between
//! suspension points (conditions, guards, expressions) and options that may change under
//! running instances (retries, timeouts, backoffs, iteration limits). A `.timeout(..)` on a call
//! is hashed as a marker (it changes what the state stores), its duration is not; a shared
//! context parameter is hashed as a marker.

use super::ir::{Block, Body, Call, Consumer, LoopKind, NodeKind, Suspension};
use super::lower::{Base, FieldTy, Lowered, Proj};
use super::parse::WorkflowFn;
use crate::canon::Canon;

/// Format version of this encoding; bump it whenever the encoding changes.
/// 3: states carry their stable ids, and signal names enter the hash.
const FORMAT: u32 = 3;

pub(crate) fn definition_bytes(wf: &WorkflowFn, body: &Body, l: &Lowered) -> Vec<u8> {
    let mut c = Canon::new("sayiir/workflow-definition", FORMAT);
    c.str(&wf.name);
    c.u32(wf.version);
    c.node("inputs");
    c.u32(len(wf.params.len()));
    for p in &wf.params {
        c.str(&p.ident.to_string());
        c.tokens(&p.ty);
    }
    if wf.ctx.is_some() {
        // Only whether the workflow takes the shared context, not its name or path.
        c.node("context");
    }
    c.node("output");
    c.tokens(&wf.output);
    c.node("states");
    c.u32(len(l.states.len()));
    for (k, s) in l.states.iter().enumerate() {
        c.str(&s.variant.to_string());
        c.str(&s.id);
        // The names of the signals the state waits for (a renamed signal is another state).
        for call in body
            .points
            .get(k)
            .map(|p| p.what.calls())
            .unwrap_or_default()
        {
            if let (Some(last), Some(name)) = (call.callee.segments.last(), call.first_literal())
                && last.ident == "signal"
            {
                c.node("signal");
                c.str(&name.value());
            }
        }
        c.u32(len(s.callees.len()));
        for i in &s.callees {
            c.u32(len(*i));
        }
        c.u32(len(s.fields.len()));
        for f in &s.fields {
            c.str(&f.ident.to_string());
            field_ty(&mut c, &f.ty);
        }
    }
    c.node("body");
    block(&mut c, &body.block, body);
    c.node("callees");
    c.u32(len(l.callees.len()));
    c.into_bytes()
}

fn len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn field_ty(c: &mut Canon, t: &FieldTy) {
    match &t.base {
        Base::Written(ty) => {
            c.node("type");
            c.tokens(ty);
        }
        Base::Point(k) => {
            c.node("output-of");
            c.u32(len(*k));
        }
        Base::Count => c.node("loop-count"),
        Base::ForIter(item) => {
            c.node("for-items");
            field_ty(c, item);
        }
        Base::Apply(g, args) => {
            c.node("apply");
            c.str(g.name());
            for a in args {
                field_ty(c, a);
            }
            c.end();
        }
        Base::Tuple(items) => {
            c.node("tuple");
            for a in items {
                field_ty(c, a);
            }
            c.end();
        }
        Base::Op(op, l, r) => {
            c.node("op");
            c.str(op);
            field_ty(c, l);
            field_ty(c, r);
        }
    }
    for p in &t.proj {
        match p {
            Proj::Ok => c.node("ok"),
            Proj::Err => c.node("err"),
            Proj::Item => c.node("item"),
            Proj::Field(i) => {
                c.node("field");
                c.u32(len(*i));
            }
        }
    }
    c.end();
}

/// Marks the call at `index` of a point as having a `.timeout(..)` (which changes its wait);
/// the duration itself is plain code. Nothing is written for calls without one.
fn timeout(c: &mut Canon, call: &Call, index: usize) {
    if call.timeout.is_some() {
        c.node("timeout");
        c.u32(len(index));
    }
}

fn consumer(c: &mut Canon, k: &Consumer) {
    match k {
        Consumer::Discard => c.node("discard"),
        Consumer::Tail => c.node("tail"),
        Consumer::Return => c.node("return"),
        Consumer::Let { pat, ty, .. } => {
            c.node("let");
            c.tokens(pat);
            if let Some(t) = ty {
                c.tokens(t);
            }
        }
        Consumer::Assign { .. } => c.node("assign"),
    }
}

fn block(c: &mut Canon, b: &Block, body: &Body) {
    c.node("{");
    for node in &b.nodes {
        match &node.kind {
            NodeKind::Plain { .. } => {}
            NodeKind::Await { point, tail, .. } => {
                c.node("await");
                c.u32(len(*point));
                c.u32(u32::from(*tail));
                match body.points.get(*point).map(|p| &p.what) {
                    Some(Suspension::Call(call)) => {
                        c.node("call");
                        timeout(c, call, 0);
                    }
                    Some(Suspension::Join { calls, try_, .. }) => {
                        c.node(if *try_ { "try-join" } else { "join" });
                        c.u32(len(calls.len()));
                        for (i, call) in calls.iter().enumerate() {
                            timeout(c, call, i);
                        }
                    }
                    Some(Suspension::JoinAll { try_, call, .. }) => {
                        c.node(if *try_ { "try-join-all" } else { "join-all" });
                        timeout(c, call, 0);
                    }
                    Some(Suspension::Continue(_)) => c.node("continue-as-new"),
                    None => {}
                }
            }
            NodeKind::If {
                cond,
                then,
                else_,
                consumer: k,
            } => {
                c.node("if");
                match cond {
                    syn::Expr::Let(l) => {
                        c.node("if-let");
                        c.tokens(&l.pat);
                    }
                    _ => c.node("cond"),
                }
                block(c, then, body);
                match else_ {
                    Some(e) => block(c, e, body),
                    None => c.node("no-else"),
                }
                consumer(c, k);
            }
            NodeKind::Match {
                arms, consumer: k, ..
            } => {
                c.node("match");
                c.u32(len(arms.len()));
                for arm in arms {
                    c.tokens(&arm.pat);
                    c.u32(u32::from(arm.guard.is_some()));
                    block(c, &arm.body, body);
                }
                consumer(c, k);
            }
            NodeKind::Loop {
                id,
                body: inner,
                consumer: k,
            } => {
                c.node("loop");
                match body.loops.get(*id).map(|l| &l.kind) {
                    Some(LoopKind::Loop) => c.node("loop"),
                    Some(LoopKind::While) => c.node("while"),
                    Some(LoopKind::For { pat, .. }) => {
                        c.node("for");
                        c.tokens(pat);
                    }
                    None => {}
                }
                block(c, inner, body);
                consumer(c, k);
            }
            NodeKind::Scope {
                block: inner,
                consumer: k,
            } => {
                c.node("scope");
                block(c, inner, body);
                consumer(c, k);
            }
            NodeKind::ForItem { .. } => c.node("for-item"),
            NodeKind::LoopCount { .. } => c.node("loop-count"),
        }
    }
    c.end();
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
