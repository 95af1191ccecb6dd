//! The commands: one module each, rendering human text or JSON.

use sayiir::Engine;

use crate::args::Command;
use crate::error::CliError;
use crate::output::Output;

mod act;
mod audit;
mod history;
mod limits;
mod list;
mod schedules;
mod serve;
mod show;
mod signal;
mod stats;
mod token;
mod versions;

/// `sayiir token ...`, which needs no store.
pub(crate) fn token_only(
    command: &crate::args::TokenCommand,
    out: &Output,
) -> Result<(), CliError> {
    token::run(command, out)
}

/// Runs `command` on `engine`, printing its results to `out`.
///
/// Errors are returned, not printed: print `error: ` and [`CliError::line`] on stderr and exit
/// with [`CliError::exit_code`] (what [`run`](crate::run) does). A bulk action has printed
/// each instance's result before it returns [`CliError::Partial`].
pub async fn execute(engine: &Engine, command: &Command, out: &Output) -> Result<(), CliError> {
    match command {
        Command::List(args) => list::run(engine, args, out).await,
        Command::Stats => stats::run(engine, out).await,
        Command::Show { id } => show::run(engine, id, out).await,
        Command::History { id } => history::run(engine, id, out).await,
        Command::Signal(args) => signal::run(engine, args, out).await,
        Command::Cancel(args) => {
            let action = act::Action::Cancel {
                reason: &args.reason,
            };
            act::run(engine, action, &args.targets, out).await
        }
        Command::Pause(t) => act::run(engine, act::Action::Pause, t, out).await,
        Command::Resume(t) => act::run(engine, act::Action::Resume, t, out).await,
        Command::Retry(t) => act::run(engine, act::Action::Retry, t, out).await,
        Command::Fail(t) => act::run(engine, act::Action::Fail, t, out).await,
        Command::Versions => versions::run(engine, out).await,
        Command::Limits => limits::run(engine, out).await,
        Command::Schedules { command } => schedules::run(engine, command, out).await,
        Command::Serve { listen, tokens } => {
            serve::run(engine, listen, tokens.as_deref(), out).await
        }
        Command::Audit { after, limit } => audit::run(engine, *after, *limit, out).await,
        Command::Token { command } => token::run(command, out),
    }
}
