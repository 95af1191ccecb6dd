//! Procedural macros of sayiir: `#[task]` and `#[workflow]`. Use them through the `sayiir`
//! crate, which re-exports them as `sayiir::task` and `sayiir::workflow`. Their examples are
//! compiled and run as doctests of `sayiir` (this crate cannot depend on it).

mod canon;
mod diag;
mod impl_block;
mod options;
#[cfg(test)]
mod snapshots;
mod task;
mod workflow;

use proc_macro::TokenStream;

#[doc = include_str!("../doc/task.md")]
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

#[doc = include_str!("../doc/workflow.md")]
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}
