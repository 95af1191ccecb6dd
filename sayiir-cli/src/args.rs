//! The commands and their arguments (clap derive: each doc comment is the `--help` text).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use sayiir::store::{BlockKind, Timestamp};

use crate::time::parse_rfc3339;

/// The exit codes, shown at the end of `--help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  an operation failed (e.g. some instances of a bulk action refused it; not confirmed)
  2  usage error (unknown option, missing argument; a bulk action without --yes when stdin
     is not a terminal)
  3  not found (no instance with that id)
  4  bad input (JSON that does not parse, a payload of the wrong type, a malformed id)
  5  store unreachable or unusable (connection refused, a schema newer than this build,
     not a database)
  6  refused by the instance's state (e.g. resume of an instance that is not paused)";

/// The commands of the `sayiir` command line. Parse them as a subcommand of your own command
/// line and run them with [`execute`](crate::execute).
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// List instances, ordered by id, a page at a time (prints the cursor of the next page).
    List(ListArgs),
    /// Count instances by workflow and status, and the live workers.
    Stats,
    /// Show one instance: status and why it is blocked, definition, state and the values it
    /// carries, what it waits for, buffered signals, output, lease holder, allowed actions.
    Show {
        /// The instance id.
        id: String,
    },
    /// The committed transitions of an instance, oldest first, with the time between them:
    /// task results and errors, signals, retries, operators' actions.
    History {
        /// The instance id.
        id: String,
    },
    /// Send a signal with a JSON payload to an instance (checked against the type the
    /// workflow waits for under that name before anything is sent).
    Signal(SignalArgs),
    /// Cancel instances: they end `cancelled`, with the reason given.
    Cancel(CancelArgs),
    /// Pause instances: no step is taken until they are resumed.
    Pause(Targets),
    /// Resume paused instances.
    Resume(Targets),
    /// Run again what instances need attention for: a parked call (with a fresh attempt
    /// budget), or the step whose code panicked, whose migration failed or whose value was
    /// over the payload limit.
    Retry(Targets),
    /// Let the error of a parked call flow into its workflow (which may compensate, or fail).
    Fail(Targets),
    /// Instances of each workflow definition by status: how far an old version has drained.
    Versions,
    /// Concurrency limits (of tasks, workflow types and concurrency keys): each one's limit,
    /// slots in use and what waits for one; then rate limits: each one's rate, burst, starts
    /// in use and starts reserved ahead.
    Limits,
    /// Schedules: list them with their next fire times, show, pause, resume, delete, backfill.
    Schedules {
        /// What to do.
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Serve the HTTP API (JSON under /api/v1, see the sayiir-server crate) on --listen until
    /// Ctrl-C. Standalone, no workflow is registered: it is read-mostly (what needs the
    /// workflows' types, such as checking a signal's payload without a saved description,
    /// fails with an error that says so); mounted in an application's binary, it uses its
    /// engine.
    Serve {
        /// The address to listen on (port 0: any free port; the address is printed).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        /// The tokens that may use the API: a JSON file of {"name", "role", "namespaces",
        /// "sha256"} entries (see `sayiir token new`). Required: the API serves no request
        /// without a token.
        #[arg(long, value_name = "FILE", env = "SAYIIR_TOKENS")]
        tokens: Option<PathBuf>,
    },
    /// The audit log of the HTTP API: every action asked of it (who, what, on which
    /// instances, when, how it ended), newest first, a page at a time.
    Audit {
        /// Only entries older than this one (the cursor printed after a full page).
        #[arg(long, value_name = "ID")]
        after: Option<u64>,
        /// At most this many entries.
        #[arg(long, value_name = "N", default_value = "50")]
        limit: NonZeroUsize,
    },
    /// Tokens of the HTTP API (`sayiir serve --tokens FILE`).
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// The `token` subcommands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum TokenCommand {
    /// Make a new random token: prints it once (it is not kept anywhere) and the entry to add
    /// to the token file (its SHA-256 only). Needs no store.
    New {
        /// Its name: what the audit log records as "who" (unique in the file).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Its role: viewer (reads), operator (and actions), admin (and the audit log).
        #[arg(long, value_name = "ROLE", value_parser = ["viewer", "operator", "admin"])]
        role: String,
        /// A namespace it is bound to (repeat for several; none: every namespace). Not the
        /// global --namespace, which picks the namespace a command works in.
        #[arg(long = "scope", value_name = "NS")]
        namespaces: Vec<String>,
    },
}

/// The `schedules` subcommands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum ScheduleCommand {
    /// Every schedule, ordered by id: workflow, cron and zone, state, next fire time, last run.
    List,
    /// One schedule: its spec, policies, state, next 5 fire times (UTC and local), the tick
    /// waiting for the previous run, the last run, the last problem met firing it.
    Show {
        /// The schedule id.
        id: String,
    },
    /// Pause a schedule: it fires nothing until resumed.
    Pause {
        /// The schedule id.
        id: String,
    },
    /// Resume a paused schedule: it goes on from its next tick (the ticks that passed while
    /// it was paused do not run; see `backfill`).
    Resume {
        /// The schedule id.
        id: String,
    },
    /// Delete a schedule (the instances it started are kept).
    Delete {
        /// The schedule id.
        id: String,
    },
    /// Start the runs of the ticks from --from to --to (both included) that have none; a tick
    /// that already ran is not run again. Needs the workflow's code: run it from your
    /// application's binary (`sayiir_cli::run`).
    Backfill {
        /// The schedule id.
        id: String,
        /// The first time of the range (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
        from: Timestamp,
        /// The last time of the range (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
        to: Timestamp,
    },
}

/// Which instances a command looks at. Every filter given must hold.
#[derive(Debug, Clone, Default, Args)]
#[non_exhaustive]
pub struct Filter {
    /// Only instances of this workflow.
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only instances of this declared version of their workflow.
    #[arg(long, value_name = "N")]
    pub version: Option<u32>,
    /// Only instances in this status ("blocked": kept out of dispatch for any reason;
    /// "needs-attention": blocked for a reason other than a pause).
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Option<StatusFilter>,
    /// Only instances blocked by one of these kinds (comma-separated: parked, panicked,
    /// version_mismatch, migration_failed, payload_too_large, iteration_limit,
    /// corrupt_state, corrupt_row, paused, retry_requested, fail_requested).
    #[arg(
        long,
        value_name = "KIND",
        value_delimiter = ',',
        value_parser = parse_block_kind,
        conflicts_with = "status"
    )]
    pub blocked: Vec<BlockKind>,
    /// Only instances in the state with this id (`charge#1`, `signal:approve#1`, a label).
    #[arg(long, value_name = "STATE_ID")]
    pub state: Option<String>,
    /// Only instances whose id starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub id_prefix: Option<String>,
    /// Only instances created at or after this time (RFC 3339: 2025-03-01T08:30:00Z, or with
    /// an offset: 2025-03-01T10:30:00+02:00).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub created_after: Option<Timestamp>,
    /// Only instances created before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub created_before: Option<Timestamp>,
    /// Only instances whose last step was at or after this time (RFC 3339). Not indexed: on
    /// a large store, combine it with other filters.
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub updated_after: Option<Timestamp>,
    /// Only instances whose last step was before this time (RFC 3339; not indexed).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub updated_before: Option<Timestamp>,
}

/// A block kind by its stable name (`parked`, `panicked`, ...; `-` and `_` alike).
fn parse_block_kind(s: &str) -> Result<BlockKind, String> {
    BlockKind::from_name(&s.trim().replace('-', "_")).ok_or_else(|| {
        let names: Vec<&str> = BlockKind::ALL.iter().map(|k| k.name()).collect();
        format!("`{s}` is not a block kind; one of: {}", names.join(", "))
    })
}

impl Filter {
    /// Whether no filter is given (every instance).
    pub fn is_empty(&self) -> bool {
        let Filter {
            workflow,
            version,
            status,
            blocked,
            state,
            id_prefix,
            created_after,
            created_before,
            updated_after,
            updated_before,
        } = self;
        workflow.is_none()
            && version.is_none()
            && status.is_none()
            && blocked.is_empty()
            && state.is_none()
            && id_prefix.is_none()
            && created_after.is_none()
            && created_before.is_none()
            && updated_after.is_none()
            && updated_before.is_none()
    }
}

/// The statuses `--status` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum StatusFilter {
    /// Not finished and not blocked: runnable, sleeping or waiting for a signal.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Not finished and kept out of dispatch, whatever the reason (paused included).
    Blocked,
    /// Paused (`sayiir pause`).
    Paused,
    /// Blocked for a reason that needs an operator: a parked call (its attempts ran out), a
    /// panic, a state that does not decode, a version no worker runs...
    NeedsAttention,
}

/// Arguments of `list`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct ListArgs {
    /// Which instances.
    #[command(flatten)]
    pub filter: Filter,
    /// At most this many instances.
    #[arg(long, default_value = "50", value_name = "N")]
    pub limit: NonZeroUsize,
    /// Start after this instance id: the cursor the previous page printed.
    #[arg(long, value_name = "ID")]
    pub after: Option<String>,
}

/// The instances an action is for: ids, or filters that select them.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct Targets {
    /// The instance ids. Without ids, the filter options select the instances: they are
    /// listed, then the action asks for confirmation (or needs --yes when stdin is not a
    /// terminal).
    #[arg(value_name = "ID", conflicts_with_all = FILTER_ARGS)]
    pub ids: Vec<String>,
    /// Which instances.
    #[command(flatten)]
    pub filter: Filter,
    /// Act on the instances the filters select without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The filter options' ids, which instance ids exclude.
const FILTER_ARGS: [&str; 10] = [
    "workflow",
    "version",
    "status",
    "blocked",
    "state",
    "id_prefix",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
];

/// Arguments of `cancel`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct CancelArgs {
    /// Which instances.
    #[command(flatten)]
    pub targets: Targets,
    /// Why (what the instance's result reports).
    #[arg(long, default_value = "cancelled with `sayiir cancel`")]
    pub reason: String,
}

/// Arguments of `signal`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct SignalArgs {
    /// The instance id.
    pub id: String,
    /// The signal name, as the workflow waits for it (`sayiir::signal::<T>("approve")`).
    pub name: String,
    /// The payload as JSON (`'{"by": "ada"}'`, `true`, `"text"`); or give --file.
    #[arg(required_unless_present = "file", value_name = "JSON")]
    pub payload: Option<String>,
    /// Read the JSON payload from this file (`-`: stdin).
    #[arg(long, conflicts_with = "payload", value_name = "PATH")]
    pub file: Option<PathBuf>,
}
