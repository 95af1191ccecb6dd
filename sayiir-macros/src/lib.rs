//! Procedural macros of sayiir: `#[task]` and `#[workflow]`. Use them through the `sayiir`
//! crate, which documents them.

mod canon;
mod diag;
mod impl_block;
mod options;
#[cfg(test)]
mod snapshots;
mod task;
mod workflow;

use proc_macro::TokenStream;

/// Marks an async fn as a task. See `sayiir::task`.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Compiles an async fn into a durable state machine. See `sayiir::workflow`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}
