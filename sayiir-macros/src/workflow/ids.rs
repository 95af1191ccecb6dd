//! Stable identities of states: what a state is called across versions of a workflow, so that a
//! newer version can take over an instance parked in it.
//!
//! A state is named after what it awaits and the occurrence of that among the body's awaits, in
//! source order: `charge#1` (the first await of `charge`), `signal:approval#1`, `sleep#2`,
//! `join(quote,quote)#1`, `join_all(ship)#1`, `continue_as_new#1`. Inserting an await of another
//! callee elsewhere does not rename it; inserting an earlier await of the same callee does, which
//! is what `#[sayiir::state("label")]` on the awaiting statement is for: the label is the id.

use proc_macro2::Span;
use syn::{Attribute, LitStr, Stmt};

use super::ir::{Call, Suspension};
use crate::diag::Diagnostics;

/// The id of the state before the first transition.
pub(crate) const START: &str = "start";

fn is_state_attr(a: &Attribute) -> bool {
    let segs: Vec<String> = a
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    matches!(segs.as_slice(), [s] if s == "state")
        || matches!(segs.as_slice(), [k, s] if k == "sayiir" && s == "state")
}

fn attrs_mut(stmt: &mut Stmt) -> Option<&mut Vec<Attribute>> {
    use syn::Expr;
    match stmt {
        Stmt::Local(l) => Some(&mut l.attrs),
        Stmt::Expr(e, _) => match e {
            Expr::Await(x) => Some(&mut x.attrs),
            Expr::Try(x) => Some(&mut x.attrs),
            Expr::MethodCall(x) => Some(&mut x.attrs),
            Expr::Call(x) => Some(&mut x.attrs),
            Expr::Assign(x) => Some(&mut x.attrs),
            Expr::Return(x) => Some(&mut x.attrs),
            Expr::Binary(x) => Some(&mut x.attrs),
            Expr::Field(x) => Some(&mut x.attrs),
            Expr::Paren(x) => Some(&mut x.attrs),
            Expr::Cast(x) => Some(&mut x.attrs),
            Expr::Match(x) => Some(&mut x.attrs),
            Expr::If(x) => Some(&mut x.attrs),
            Expr::Block(x) => Some(&mut x.attrs),
            Expr::Loop(x) => Some(&mut x.attrs),
            Expr::While(x) => Some(&mut x.attrs),
            Expr::ForLoop(x) => Some(&mut x.attrs),
            _ => None,
        },
        _ => None,
    }
}

/// Removes `#[sayiir::state("..")]` from a statement and returns its label (reporting a
/// malformed or repeated attribute).
pub(crate) fn take_label(stmt: &mut Stmt, diag: &mut Diagnostics) -> Option<LitStr> {
    let attrs = attrs_mut(stmt)?;
    let mut label = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for a in attrs.drain(..) {
        if !is_state_attr(&a) {
            kept.push(a);
            continue;
        }
        match a.parse_args::<LitStr>() {
            Ok(l) if label.is_none() => label = Some(l),
            Ok(_) => diag.error_spanned(&a, "a statement takes one `#[sayiir::state(..)]` label"),
            Err(_) => diag.error_spanned(
                &a,
                "write `#[sayiir::state(\"name\")]` with the state's stable name as a string",
            ),
        }
    }
    *attrs = kept;
    label
}

fn callee_name(c: &Call) -> String {
    let last = c
        .callee
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    match (last.as_str(), c.first_literal()) {
        ("signal", Some(name)) => format!("signal:{}", name.value()),
        _ => last,
    }
}

/// What a state is named after, before its occurrence number.
fn base(what: &Suspension) -> String {
    match what {
        Suspension::Call(c) => callee_name(c),
        Suspension::Continue(_) => "continue_as_new".into(),
        Suspension::Join { calls, try_, .. } => format!(
            "{}({})",
            if *try_ { "try_join" } else { "join" },
            calls.iter().map(callee_name).collect::<Vec<_>>().join(",")
        ),
        Suspension::JoinAll { call, try_, .. } => format!(
            "{}({})",
            if *try_ { "try_join_all" } else { "join_all" },
            callee_name(call)
        ),
    }
}

/// Checks a label: a name people can write, unlike any generated id.
fn check_label(label: &LitStr, diag: &mut Diagnostics) -> bool {
    let v = label.value();
    let why = if v.is_empty() {
        Some("a state label cannot be empty")
    } else if v == START {
        Some("`start` is the id of the state before the first await; choose another label")
    } else if v.len() > 64 {
        Some("a state label is at most 64 bytes long")
    } else if v.contains('#') {
        Some("a state label cannot contain `#`, which generated ids use")
    } else if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("a state label cannot contain spaces or control characters")
    } else {
        None
    };
    if let Some(why) = why {
        diag.error_spanned(label, why);
        return false;
    }
    true
}

/// The stable id of each point (in point order), given each point's suspension and label.
pub(crate) fn assign(
    points: &[(&Suspension, Option<&LitStr>)],
    diag: &mut Diagnostics,
) -> Vec<String> {
    let mut counts: Vec<(String, u32)> = Vec::new();
    let mut labels: Vec<(String, Span)> = Vec::new();
    let mut ids = Vec::with_capacity(points.len());
    for (what, label) in points {
        let b = base(what);
        let n = match counts.iter_mut().find(|(k, _)| *k == b) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                counts.push((b.clone(), 1));
                1
            }
        };
        let generated = format!("{b}#{n}");
        let Some(label) = label else {
            ids.push(generated);
            continue;
        };
        let v = label.value();
        if !check_label(label, diag) {
            ids.push(generated);
            continue;
        }
        if labels.iter().any(|(l, _)| *l == v) {
            diag.error_spanned(
                *label,
                format_args!(
                    "state label `{v}` is used twice in this workflow; each labelled await needs its own"
                ),
            );
        }
        labels.push((v.clone(), label.span()));
        ids.push(v);
    }
    ids
}
