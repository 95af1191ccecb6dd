//! The canonical encoding of a lowered workflow that its definition hash is computed over.
//!
//! It covers what decides whether a stored state can be resumed by this code: the name and
//! declared version, input and output types, every state with its stored fields and their types,
//! the structure of the body around its suspension points, and (appended in const evaluation)
//! the hashes of every callee. It leaves out spans, formatting, comments, the plain code between
//! suspension points, and task options such as retries and timeouts.

use quote::ToTokens;

use super::ir::{Body, Node};
use super::lower::{FieldTy, Lowered};
use super::parse::WorkflowFn;
use crate::canon::Canon;

/// Format version of this encoding; bump it whenever the encoding changes.
const FORMAT: u32 = 1;

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
    c.node("output");
    c.tokens(&wf.output);
    c.node("states");
    c.u32(len(l.states.len()));
    for s in &l.states {
        c.str(&s.variant.to_string());
        c.u32(len(s.callee));
        c.u32(len(s.fields.len()));
        for f in &s.fields {
            c.str(&f.ident.to_string());
            match &f.ty {
                FieldTy::Written(t) => {
                    c.node("type");
                    c.tokens(t);
                }
                FieldTy::Return(p) => {
                    c.node("return-of");
                    c.u32(len(callee(l, p)));
                }
                FieldTy::Ok(p) => {
                    c.node("ok-of");
                    c.u32(len(callee(l, p)));
                }
            }
        }
    }
    c.node("body");
    for node in &body.nodes {
        if let Node::Await { point, tail, .. } = node {
            c.node("await");
            c.u32(len(*point));
            c.u32(u32::from(*tail));
        }
    }
    c.end();
    c.node("callees");
    c.u32(len(l.callees.len()));
    c.into_bytes()
}

fn len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn callee(l: &Lowered, p: &syn::Path) -> usize {
    let key = p.to_token_stream().to_string();
    l.callees
        .iter()
        .position(|c| c.to_token_stream().to_string() == key)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::{analyze, lower, parse};
    use super::*;

    fn bytes(src: &str, version: u32) -> Vec<u8> {
        let f: syn::ItemFn = syn::parse_str(src).expect("fixture parses");
        let mut d = crate::diag::Diagnostics::new();
        let opts = parse::WorkflowOptions {
            name: Some("w".into()),
            version,
            krate: None,
        };
        let wf = parse::parse(f, &opts, &mut d);
        let body = analyze::analyze(&wf.body, &mut d);
        let l = lower::lower(&wf, &body, &mut d);
        assert!(!d.has_errors());
        definition_bytes(&wf, &body, &l)
    }

    const BASE: &str = "async fn a(n: u64) -> u64 { let k: u32 = 7; let x: u64 = one(n).await; let y = n + 1; two(x, y + k as u64).await }";

    #[test]
    fn formatting_comments_and_plain_code_are_not_hashed() {
        let other = "async fn b( n : u64 )->u64{ // c\n let k : u32 = 9 ; let x : u64 = one( n ).await ; let y = n + 2 ; two( x , y * k as u64 ).await }";
        assert_eq!(bytes(BASE, 1), bytes(other, 1));
    }

    #[test]
    fn structure_types_and_version_are_hashed() {
        let base = bytes(BASE, 1);
        assert_ne!(base, bytes(BASE, 2));
        // `k` is kept across `one(n).await`: its type is part of the stored state.
        assert_ne!(base, bytes(&BASE.replace("k: u32", "k: u64"), 1));
        // `x` is produced and consumed in one transition: never stored, not hashed.
        assert_eq!(base, bytes(&BASE.replace("x: u64", "x: u32"), 1));
        assert_ne!(base, bytes(&BASE.replace("one(n)", "two(n)"), 1));
        assert_ne!(base, bytes(&BASE.replace("n: u64)", "n: u32)"), 1));
    }
}
