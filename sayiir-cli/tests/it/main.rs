//! The command line as a real process, against stores a real engine populated: the `sayiir`
//! binary (standalone) and the `embedded` example (the commands in an application's binary,
//! its workflows registered). One test binary: see ARCHITECTURE.md.

// The checks and helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../examples/embedded/flows.rs"]
#[allow(dead_code)]
mod flows;

mod checks;
mod common;
mod embedded;
mod errors;
mod postgres;
mod serve;
mod sqlite;
mod terminal;
