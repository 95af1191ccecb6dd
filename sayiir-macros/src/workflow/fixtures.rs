//! Shared fixtures of the stage tests: run the stages on a parsed function.

use super::ir::Body;
use super::lower::Lowered;
use super::parse::{WorkflowFn, WorkflowOptions};
use super::{analyze, lower, parse};
use crate::diag::Diagnostics;

/// Options with the given stable name (or the fn's name).
pub(crate) fn options(name: Option<&str>, version: u32) -> WorkflowOptions {
    WorkflowOptions {
        name: name.map(str::to_string),
        version,
        krate: None,
        max_iterations: None,
        on_exhausted: None,
        concurrency: None,
    }
}

/// Every collected error, one per line.
pub(crate) fn messages(d: Diagnostics) -> Result<(), String> {
    d.finish().map_err(|e| {
        e.into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Parse, analyze and lower `f`.
pub(crate) fn lowered(
    f: syn::ItemFn,
    opts: &WorkflowOptions,
) -> (WorkflowFn, Body, Lowered, Result<(), String>) {
    let mut d = Diagnostics::new();
    let wf = parse::parse(f, opts, &mut d);
    let body = analyze::analyze(&wf.body, &mut d);
    let l = lower::lower(&wf, &body, &mut d);
    (wf, body, l, messages(d))
}
