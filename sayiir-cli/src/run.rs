//! Running a command line: parsing, the store (standalone), errors as one line, exit codes,
//! panics kept in.

use std::ffi::OsString;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

use clap::Parser;
use futures_util::FutureExt;
use sayiir::Engine;

use crate::args::{Command, EXIT_CODES};
use crate::cmd::execute;
use crate::error::{CliError, exit, one_line};
use crate::output::Output;
use crate::store::open_store;

/// The commands inside an application's binary (its store, its workflows).
#[derive(Debug, Parser)]
#[command(
    about = "See and act on the workflow instances of this application's store",
    after_help = EXIT_CODES
)]
struct Embedded {
    /// Print one JSON document on stdout instead of tables.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    /// The namespace whose instances and schedules the command sees and acts on (default:
    /// the application engine's).
    #[arg(
        long,
        env = "SAYIIR_NAMESPACE",
        global = true,
        help_heading = "Global options",
        value_name = "NAME"
    )]
    namespace: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// The standalone `sayiir` program.
#[derive(Debug, Parser)]
#[command(
    name = "sayiir",
    version,
    about = "See and act on sayiir workflow instances in a store",
    long_about = "See and act on sayiir workflow instances in a store (SQLite or PostgreSQL), \
                  without the application's code: states and payloads are decoded by the \
                  descriptions its workers saved in the store (shown as sizes where there are \
                  none). Mount the same commands in the application's binary (the sayiir-cli \
                  crate) to decode and check them by its own types.",
    after_help = EXIT_CODES
)]
struct Standalone {
    /// The store: sqlite://path/app.db (relative), sqlite:///srv/app.db (absolute),
    /// sqlite:path/app.db, or postgres://user:password@host:port/database.
    #[arg(
        long,
        env = "SAYIIR_STORE",
        global = true,
        help_heading = "Global options",
        value_name = "URL",
        hide_env_values = true
    )]
    store: Option<String>,
    /// Print one JSON document on stdout instead of tables.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    /// The namespace whose instances and schedules the command sees and acts on (default:
    /// `default`).
    #[arg(
        long,
        env = "SAYIIR_NAMESPACE",
        global = true,
        help_heading = "Global options",
        value_name = "NAME"
    )]
    namespace: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Parses the process's arguments and runs the command on `engine`: the commands mounted in an
/// application's binary, with its workflows registered (so `signal` checks payloads against
/// their Rust types). Prints the results on stdout, an error as one line on stderr, and
/// returns the exit code (see the [crate] docs).
///
/// ```no_run
/// # #[sayiir::workflow] async fn checkout(n: u64) -> u64 { n }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     let engine = sayiir::Engine::builder(sayiir::SqliteStore::open("app.db").unwrap())
///         .register::<checkout>()
///         .build()
///         .unwrap();
///     sayiir_cli::run(&engine).await
/// }
/// ```
pub async fn run(engine: &Engine) -> ExitCode {
    run_from(engine, std::env::args_os()).await
}

/// [`run`] with the given arguments (the first one is the program's name).
pub async fn run_from<I, T>(engine: &Engine, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Embedded::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let out = Output::new(cli.json);
    let _quiet = QuietPanics::install();
    let engine = match cli.namespace.as_deref() {
        None => engine.clone(),
        Some(name) => match engine.in_namespace(name) {
            Ok(engine) => engine,
            Err(e) => return finish(Err(namespace_error(name, e))),
        },
    };
    let run = AssertUnwindSafe(execute(&engine, &cli.command, &out));
    match run.catch_unwind().await {
        Ok(result) => finish(result),
        Err(_) => ExitCode::from(exit::FAILED),
    }
}

/// What the `sayiir` binary runs: parses `--store` (or `SAYIIR_STORE`), `--json` and a
/// command from the process's arguments, opens the store, builds an engine with no workflows
/// registered and runs the command on it. Returns the exit code.
pub fn standalone() -> ExitCode {
    let _quiet = QuietPanics::install();
    std::panic::catch_unwind(standalone_unguarded).unwrap_or(ExitCode::from(exit::FAILED))
}

fn standalone_unguarded() -> ExitCode {
    let cli = match Standalone::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return finish(Err(CliError::Failed(format!("cannot start: {e}")))),
    };
    let out = Output::new(cli.json);
    let result = runtime.block_on(async {
        if let Command::Token { command } = &cli.command {
            // Needs no store.
            return crate::cmd::token_only(command, &out);
        }
        let Some(url) = cli.store.as_deref() else {
            return Err(CliError::Usage(
                "no store: give --store URL (e.g. --store sqlite://app.db) or set SAYIIR_STORE"
                    .into(),
            ));
        };
        let store = open_store(url).await?;
        let mut engine = Engine::builder_shared(store)
            .build()
            .map_err(|e| CliError::Failed(e.to_string()))?;
        if let Some(name) = cli.namespace.as_deref() {
            engine = engine
                .in_namespace(name)
                .map_err(|e| namespace_error(name, e))?;
        }
        execute(&engine, &cli.command, &out).await
    });
    finish(result)
}

/// The error of `--namespace NAME`: a name that is not valid is a usage error.
fn namespace_error(name: &str, e: sayiir::EngineError) -> CliError {
    match e {
        sayiir::EngineError::InvalidNamespace(reason) => {
            CliError::Usage(format!("--namespace `{name}`: {reason}"))
        }
        other => CliError::Engine(other),
    }
}

/// Prints clap's message (help on stdout, an error on stderr) and gives its exit code.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE))
}

/// The exit code of `result`, after printing its error on one line.
fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {}", e.line());
            ExitCode::from(e.exit_code())
        }
    }
}

type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// While it lives, a panic prints one `error: internal error: ...` line instead of the default
/// report (and never a backtrace, whatever `RUST_BACKTRACE` says); the hook before it is put
/// back when it is dropped.
struct QuietPanics {
    previous: Option<Hook>,
}

impl QuietPanics {
    fn install() -> Self {
        if std::thread::panicking() {
            return Self { previous: None };
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            let _ = writeln!(
                std::io::stderr().lock(),
                "error: internal error: {}{at}",
                one_line(&message)
            );
        }));
        Self {
            previous: Some(previous),
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take()
            && !std::thread::panicking()
        {
            std::panic::set_hook(previous);
        }
    }
}
