//! What changed between two descriptions of a workflow, in words: one line per change, each
//! naming its place (input, output, state and field, what a state waits for) and what the
//! stored type was and is.

use super::{FieldShape, StateShape, TypeShape, WaitShape, WorkflowShape};
use crate::shape;
use crate::shape::diff::by_name;

/// The changes from `old` to `new`, one line each. Empty when they store the same things in the
/// same places; when only the definition hash differs, one line says so.
pub fn workflow_changes(old: &WorkflowShape, new: &WorkflowShape) -> Vec<String> {
    let mut out = Vec::new();
    if old.name != new.name {
        out.push(format!("workflow `{}` is now `{}`", old.name, new.name));
    }
    fields("input", &old.inputs, &new.inputs, &mut out);
    ty("output", &old.output, &new.output, &mut out);
    for s in &old.states {
        if new.state_by_id(&s.id).is_none() {
            out.push(format!("state `{}` removed", s.id));
        }
    }
    for s in &new.states {
        match old.state_by_id(&s.id) {
            None => out.push(format!("state `{}` added", s.id)),
            Some(o) => {
                for line in state_changes(o, s) {
                    out.push(format!("state `{}`: {line}", s.id));
                }
            }
        }
    }
    let old_order: Vec<&str> = old.states.iter().map(|s| s.id.as_str()).collect();
    let new_order: Vec<&str> = new.states.iter().map(|s| s.id.as_str()).collect();
    if out.is_empty() && old_order != new_order {
        out.push(format!(
            "states reordered: `{}` is now `{}`",
            old_order.join(", "),
            new_order.join(", ")
        ));
    }
    if out.is_empty() && old.hash != new.hash {
        out.push(format!(
            "the body's structure around its awaits changed (definition {} is now {})",
            &old.hash[..old.hash.len().min(12)],
            &new.hash[..new.hash.len().min(12)]
        ));
    }
    out
}

/// The changes between two states of the same identity: carried fields and what they wait for.
pub fn state_changes(old: &StateShape, new: &StateShape) -> Vec<String> {
    let mut out = Vec::new();
    fields("field", &old.fields, &new.fields, &mut out);
    match (&old.wait, &new.wait) {
        (Some(a), Some(b)) => wait("waits for", a, b, &mut out),
        (None, None) => {}
        (None, Some(b)) => out.push(format!("now waits for {}", summary(b))),
        (Some(a), None) => out.push(format!("no longer waits for {}", summary(a))),
    }
    out
}

fn ty(place: &str, old: &TypeShape, new: &TypeShape, out: &mut Vec<String>) {
    for line in shape::diff(&old.shape, &new.shape) {
        out.push(format!("{place}: {line}"));
    }
}

fn fields(kind: &str, old: &[FieldShape], new: &[FieldShape], out: &mut Vec<String>) {
    let m = by_name(old, new, |f| f.name.as_str());
    for f in &m.removed {
        out.push(format!("{kind} `{}: {}` removed", f.name, f.ty.shape));
    }
    for g in &m.added {
        out.push(format!("{kind} `{}: {}` added", g.name, g.ty.shape));
    }
    if m.old_order != m.new_order {
        out.push(format!(
            "{kind}s reordered: `{}` is now `{}`",
            m.old_order.join(", "),
            m.new_order.join(", ")
        ));
    }
    for (f, g) in m.pairs {
        ty(&format!("{kind} `{}`", f.name), &f.ty, &g.ty, out);
    }
}

fn summary(w: &WaitShape) -> String {
    match w {
        WaitShape::Task(t) => format!("task `{}`", t.name),
        WaitShape::Child(c) => format!("child workflow `{}` version {}", c.name, c.version),
        WaitShape::Join(ws) => format!("a join of {} branches", ws.len()),
        WaitShape::JoinAll(w) => format!("a `join_all` of {}", summary(w)),
        WaitShape::Timer => "a timer".into(),
        WaitShape::Signal { payload, timeout } => format!(
            "a signal carrying `{}`{}",
            payload.shape,
            if *timeout { " with a timeout" } else { "" }
        ),
        WaitShape::Continue => "`continue_as_new`".into(),
    }
}

fn wait(place: &str, old: &WaitShape, new: &WaitShape, out: &mut Vec<String>) {
    if old.fingerprint() == new.fingerprint() {
        return;
    }
    match (old, new) {
        (WaitShape::Task(a), WaitShape::Task(b)) if a.name == b.name => {
            let mut lines = Vec::new();
            fields("argument", &a.args, &b.args, &mut lines);
            ty("output", &a.output, &b.output, &mut lines);
            for l in lines {
                out.push(format!("{place} task `{}`: {l}", b.name));
            }
        }
        (WaitShape::Child(a), WaitShape::Child(b)) if a.name == b.name => {
            if a.version != b.version {
                out.push(format!(
                    "{place} child workflow `{}` version {}, was version {}",
                    b.name, b.version, a.version
                ));
            }
            for l in workflow_changes(a, b) {
                out.push(format!("{place} child workflow `{}`: {l}", b.name));
            }
        }
        (WaitShape::Join(a), WaitShape::Join(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                wait(&format!("{place} join branch {i}:"), x, y, out);
            }
        }
        (WaitShape::JoinAll(a), WaitShape::JoinAll(b)) => {
            wait(&format!("{place} `join_all` of"), a, b, out);
        }
        (
            WaitShape::Signal {
                payload: a,
                timeout: ta,
            },
            WaitShape::Signal {
                payload: b,
                timeout: tb,
            },
        ) => {
            if ta != tb {
                out.push(format!(
                    "{place} a signal {} a timeout",
                    if *tb { "now with" } else { "no longer with" }
                ));
            }
            ty(&format!("{place} signal payload"), a, b, out);
        }
        _ => out.push(format!("{place} {}, was {}", summary(new), summary(old))),
    }
}
