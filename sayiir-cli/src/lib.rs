//! # sayiir-cli
//!
//! The `sayiir` command line: see and act on workflow instances without writing SQL. List
//! them, count them, show one, read its history, send it a signal, cancel, pause, resume,
//! retry or fail it, one at a time or in bulk by filter. The reference, with real output, is
//! [docs/cli.md](https://github.com/sayiir/sayiir/blob/main/docs/cli.md).
//!
//! ## Two forms
//!
//! **Standalone**: the `sayiir` binary of this crate works on any store, without the
//! application's code:
//!
//! ```text
//! sayiir --store sqlite://data/app.db list --status needs-attention
//! SAYIIR_STORE=postgres://ops@db.internal/app sayiir show order-42
//! ```
//!
//! It opens the store ([`open_store`]; the SQLite worker lock is not taken: it runs no
//! worker) and builds an [`Engine`](sayiir::Engine) with no workflows registered. States,
//! outputs and payloads are decoded to JSON by the descriptions of their definitions that the
//! application's engine saved in the store, and `signal` checks a JSON payload against them;
//! without a description (a store written by an older sayiir) values are shown as sizes, and
//! the output says so.
//!
//! **Embedded**: the same commands inside the application's own binary, with its workflows
//! registered: [`run`] parses the process's arguments (`myapp list --json`), [`run_from`]
//! takes them; or mount [`Command`] as a subcommand of the application's own clap command line
//! and call [`execute`]:
//!
//! ```no_run
//! use clap::Parser;
//!
//! # #[sayiir::workflow] async fn checkout(n: u64) -> u64 { n }
//! #[derive(Parser)]
//! enum App {
//!     /// Run the workers.
//!     Worker,
//!     /// See and act on workflow instances.
//!     #[command(subcommand)]
//!     Admin(sayiir_cli::Command),
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     let engine = sayiir::Engine::builder(sayiir::SqliteStore::open("app.db").unwrap())
//!         .register::<checkout>()
//!         .build()
//!         .unwrap();
//!     match App::parse() {
//!         App::Worker => { /* engine.spawn_worker() ... */ }
//!         App::Admin(command) => {
//!             let out = sayiir_cli::Output::new(false);
//!             if let Err(e) = sayiir_cli::execute(&engine, &command, &out).await {
//!                 eprintln!("error: {}", e.line());
//!                 return e.exit_code().into();
//!             }
//!         }
//!     }
//!     std::process::ExitCode::SUCCESS
//! }
//! ```
//!
//! ## Output
//!
//! Tables and aligned fields by default, coloured only when stdout is a terminal and
//! `NO_COLOR` is unset; `--json` prints one JSON document on stdout instead (every command).
//! Errors go to stderr as one line starting with `error:`, never as a panic or a backtrace.
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | an operation failed: some instances of a bulk action refused it, the action was not confirmed |
//! | 2 | usage error (clap's); a bulk action without `--yes` when stdin is not a terminal |
//! | 3 | not found: no instance with that id |
//! | 4 | bad input: JSON that does not parse, a payload of the wrong type, a malformed id |
//! | 5 | store unreachable or unusable: connection refused, a schema newer than this build, not a database |
//! | 6 | refused by the instance's state: resume of an instance that is not paused, cancel of a finished one |
//!
//! They are the constants of [`exit`]; [`CliError::exit_code`] maps each error to one.
//!
//! ## Bulk actions
//!
//! `cancel`, `pause`, `resume`, `retry` and `fail` take instance ids, or filters
//! (`sayiir cancel --status needs-attention --workflow checkout`): the matching instances are
//! listed, then the command asks `Proceed? [y/N]` on a terminal, or needs `--yes` when stdin
//! is not one. Each instance's result is printed, then a summary; exit code 1 if any failed.

mod args;
mod cmd;
mod error;
mod output;
mod run;
mod select;
mod store;
mod time;
mod views;

pub use args::{
    CancelArgs, Command, Filter, ListArgs, SignalArgs, StatusFilter, Targets, TokenCommand,
};
pub use cmd::execute;
pub use error::{CliError, exit};
pub use output::Output;
pub use run::{run, run_from, standalone};
pub use store::open_store;
