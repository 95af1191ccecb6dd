//! Errors of the engine's public API.

use std::fmt;

use sayiir_store::{BlockKind, DefinitionRef, InstanceId, InvalidId, StoreError, WorkerId};

use crate::codec::CodecError;

/// A definition in words: `version 2 (definition 3fa1c2aa04b1, fingerprint 9b0e11c2d3e4)`.
pub(crate) fn describe_def(d: &DefinitionRef) -> String {
    format!(
        "version {} (definition {}, fingerprint {})",
        d.version,
        d.hash.short(),
        d.fingerprint.short()
    )
}

/// An instance whose stored definition (version, definition hash, fingerprint of its stored
/// types) is not one this binary runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMismatch {
    /// The instance.
    pub instance: InstanceId,
    /// Its workflow name.
    pub workflow: String,
    /// The definition it was started under (or last migrated to).
    pub stored: DefinitionRef,
    /// The definitions this binary has registered for that workflow name.
    pub known: Vec<DefinitionRef>,
    /// What changed from the stored definition to the closest registered one (the same
    /// version if registered, else the newest), one line each; empty when the stored
    /// definition's description was never saved (an instance from an older sayiir).
    pub changes: Vec<String>,
}

impl fmt::Display for VersionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<String> = self.known.iter().map(describe_def).collect();
        write!(
            f,
            "instance `{}` of workflow `{}` was started under {}, but this binary has {}",
            self.instance,
            self.workflow,
            describe_def(&self.stored),
            if known.is_empty() {
                "no definition of it".to_string()
            } else {
                known.join(" and ")
            },
        )?;
        if self.changes.is_empty() {
            f.write_str("; the stored definition was not recorded, so what changed is not known")?;
        } else {
            f.write_str("; what changed:")?;
            for c in &self.changes {
                write!(f, "\n    {c}")?;
            }
        }
        write!(
            f,
            "\nit is left untouched and blocked: keep version {} compiled in and registered to drain it, declare a `Migration` from it to a newer version, or restart it on the newest version (`Engine::restart`)",
            self.stored.version
        )
    }
}

impl std::error::Error for VersionMismatch {}

/// An instance that runs another definition of its workflow than the type a typed call names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "instance `{id}` of workflow `{workflow}` runs {}, not {} which `{type_name}` is; its state and output are not read as another definition's types",
    describe_def(found),
    describe_def(expected)
)]
pub struct WrongDefinition {
    /// The id.
    pub id: InstanceId,
    /// The workflow name.
    pub workflow: String,
    /// The definition of the type the call names.
    pub expected: DefinitionRef,
    /// The instance's definition.
    pub found: DefinitionRef,
    /// The Rust path of the workflow type the call names.
    pub type_name: &'static str,
}

/// Errors of [`Engine`](crate::Engine) operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The instance id is not valid.
    #[error("invalid instance id: {0}")]
    InvalidId(#[from] InvalidId),
    /// The namespace name is not valid.
    #[error("invalid namespace: {0}")]
    InvalidNamespace(#[from] sayiir_store::InvalidNamespace),
    /// No instance has this id.
    #[error("no instance with id `{id}`")]
    NotFound {
        /// The id.
        id: InstanceId,
    },
    /// The instance belongs to another workflow.
    #[error("instance `{id}` belongs to workflow `{found}`, not `{expected}`")]
    WrongWorkflow {
        /// The id.
        id: InstanceId,
        /// Workflow asked for.
        expected: &'static str,
        /// Workflow of the instance.
        found: String,
    },
    /// The instance runs another definition of the workflow than the type the call names
    /// (another version, or the same version with other stored types): its values are not
    /// read as that type's.
    #[error(transparent)]
    WrongDefinition(Box<WrongDefinition>),
    /// The workflow type is not registered with this engine.
    #[error(
        "workflow `{workflow}` version {version} (`{type_name}`) is not registered with this engine: add `.register::<{type_name}>()` to the engine builder"
    )]
    NotRegistered {
        /// The workflow name.
        workflow: String,
        /// Its version.
        version: u32,
        /// The Rust path of the type.
        type_name: &'static str,
    },
    /// No version of the workflow name is registered with this engine.
    #[error("no version of workflow `{workflow}` is registered with this engine")]
    UnknownWorkflow {
        /// The workflow name.
        workflow: String,
    },
    /// The input given to [`Engine::start_by_name`](crate::Engine::start_by_name) does not have
    /// the structure of the newest version's inputs.
    #[error(
        "workflow `{workflow}` version {version} takes `{expected}` (its input, or a tuple of its inputs), not {found}"
    )]
    WrongInput {
        /// The workflow.
        workflow: String,
        /// Its newest registered version.
        version: u32,
        /// The shape it takes.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A restart or start cannot use the given or stored input: its shape is not the one the
    /// target version's input has.
    #[error(
        "the input of instance `{id}` does not fit version {version} of `{workflow}`: {}; restart it with an input of the new type (`Engine::restart_with`)",
        changes.join("; ")
    )]
    InputChanged {
        /// The id.
        id: InstanceId,
        /// The workflow.
        workflow: String,
        /// The target version.
        version: u32,
        /// What differs, one line each.
        changes: Vec<String>,
    },
    /// The instance's definition is not one this binary runs.
    #[error(transparent)]
    VersionMismatch(Box<VersionMismatch>),
    /// The instance is blocked (corrupt state, or code that panicked) and is not being run.
    #[error("instance `{id}` is blocked ({kind:?}): {reason}")]
    Blocked {
        /// The id.
        id: InstanceId,
        /// Category.
        kind: BlockKind,
        /// Explanation.
        reason: String,
    },
    /// The instance was cancelled.
    #[error("instance `{id}` was cancelled: {reason}")]
    Cancelled {
        /// The id.
        id: InstanceId,
        /// The reason given to `Engine::cancel`.
        reason: String,
    },
    /// The instance has finished; it takes no signals, cancellation or pause.
    #[error("instance `{id}` has already finished ({status})")]
    Finished {
        /// The id.
        id: InstanceId,
        /// How it finished.
        status: sayiir_store::Status,
    },
    /// The instance's workflow waits for no signal of that name.
    #[error(
        "workflow `{workflow}` (instance `{id}`) receives no signal `{name}`; it receives {}",
        if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
    )]
    UnknownSignal {
        /// The id.
        id: InstanceId,
        /// Its workflow.
        workflow: String,
        /// The signal name sent.
        name: String,
        /// The signals it declares (`name: Type`).
        declared: Vec<String>,
    },
    /// The payload's type is not the one the workflow waits for under that name.
    #[error(
        "signal `{name}` of instance `{id}` carries `{expected}`, not `{found}`; nothing was sent"
    )]
    SignalType {
        /// The id.
        id: InstanceId,
        /// Signal name.
        name: String,
        /// The type the workflow declares.
        expected: &'static str,
        /// The type sent.
        found: &'static str,
    },
    /// This engine does not have the instance's workflow definition registered, so it cannot
    /// check what the instance accepts.
    #[error(
        "instance `{id}` runs workflow `{workflow}` under a definition this engine has not registered; register it to send it signals"
    )]
    UnknownDefinition {
        /// The id.
        id: InstanceId,
        /// Its workflow.
        workflow: String,
    },
    /// `resume` of an instance that is not paused.
    #[error("instance `{id}` is not paused")]
    NotPaused {
        /// The id.
        id: InstanceId,
    },
    /// An operator's action that the instance's status does not allow (see
    /// [`Operation`](crate::admin::Operation) for the table): e.g. `pause` of an instance
    /// blocked because a task panicked (pausing would hide the reason), `fail` of one that is
    /// not parked.
    #[error("cannot {operation} instance `{id}`: it is {status}")]
    NotAllowed {
        /// The id.
        id: InstanceId,
        /// What was asked.
        operation: crate::ops::Operation,
        /// Its status, in words (`running`, `paused`, `blocked (panicked)`, …).
        status: String,
    },
    /// [`StartOptions`](crate::StartOptions) that cannot be honoured (a `key_limit` of 0, an
    /// empty concurrency key). Nothing was created.
    #[error("invalid start options: {detail}")]
    BadStartOptions {
        /// What is wrong.
        detail: String,
    },
    /// A JSON signal payload that is not a value of the type the workflow declares for the
    /// signal (or, without the workflow's code, of the type its saved description records).
    #[error("the payload of signal `{name}` for instance `{id}` is not a `{expected}`: {detail}")]
    BadPayload {
        /// The id.
        id: InstanceId,
        /// Signal name.
        name: String,
        /// The type expected.
        expected: String,
        /// Why not.
        detail: String,
    },
    /// A stored blob of the instance does not decode.
    #[error("the stored {what} of instance `{id}` is corrupt: {source}")]
    Corrupt {
        /// The id.
        id: InstanceId,
        /// Which blob.
        what: &'static str,
        /// Decoder error.
        #[source]
        source: CodecError,
    },
    /// A value could not be encoded.
    #[error("cannot encode the {what}: {source}")]
    Encode {
        /// Which value.
        what: &'static str,
        /// Encoder error.
        #[source]
        source: CodecError,
    },
    /// A value encodes to more bytes than the payload limit
    /// ([`WorkerConfig::max_payload`](crate::WorkerConfig::max_payload)); nothing was written.
    #[error(
        "the {what} encodes to {size} bytes, more than the payload limit of {limit} bytes (`WorkerConfig::max_payload`); nothing was written"
    )]
    TooLarge {
        /// Which value (`input`, `signal payload`, ...).
        what: &'static str,
        /// Its encoded size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A worker's task ended abnormally instead of returning its result: it panicked (a bug,
    /// in sayiir or in the store; `panic` holds the panic's message), or it was cancelled
    /// before it stopped (`panic` is `None`: the tokio runtime it ran on shut down). Reported
    /// by [`WorkerHandle::join`](crate::WorkerHandle::join) and
    /// [`WorkerHandle::shutdown`](crate::WorkerHandle::shutdown).
    #[error("worker `{worker}` {}", match panic {
        Some(message) => format!("panicked: {message}"),
        None => "was cancelled before it stopped (its tokio runtime shut down)".to_owned(),
    })]
    WorkerCrashed {
        /// The worker's lease owner id.
        worker: WorkerId,
        /// The panic's message; `None` when the worker's task was cancelled.
        panic: Option<String>,
    },
    /// A schedule operation failed: bad cron or time zone, unknown schedule… (see
    /// [`ScheduleError`](crate::schedule::ScheduleError)).
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { id } => EngineError::NotFound { id },
            StoreError::ScheduleNotFound { id } => {
                EngineError::Schedule(crate::schedule::ScheduleError::NotFound { id })
            }
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// Whether retrying the operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, EngineError::Store(e) if e.is_retryable())
    }
}
