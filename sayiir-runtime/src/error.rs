//! Errors of the engine's public API.

use std::fmt;

use sayiir_store::{BlockKind, DefinitionHash, InstanceId, InvalidId, StoreError};

use crate::codec::CodecError;

/// An instance whose stored definition hash is not one this binary knows for its workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMismatch {
    /// The instance.
    pub instance: InstanceId,
    /// Its workflow name.
    pub workflow: String,
    /// The hash it was started under.
    pub stored: DefinitionHash,
    /// The hashes this binary has compiled in for that workflow name.
    pub known: Vec<DefinitionHash>,
}

impl fmt::Display for VersionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<String> = self.known.iter().map(|h| h.short()).collect();
        write!(
            f,
            "instance `{}` of workflow `{}` was started under definition {} but this binary only knows {}; \
             it is left untouched and blocked until a binary with that definition runs it \
             (keep the old `#[workflow]` compiled in under a new fn name with `name = \"{}\"`) or it is restarted",
            self.instance,
            self.workflow,
            self.stored.short(),
            if known.is_empty() {
                "no definition".to_string()
            } else {
                known.join(", ")
            },
            self.workflow,
        )
    }
}

impl std::error::Error for VersionMismatch {}

/// Errors of [`Engine`](crate::Engine) operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The instance id is not valid.
    #[error("invalid instance id: {0}")]
    InvalidId(#[from] InvalidId),
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
    /// The instance's definition hash is not known to this binary.
    #[error(transparent)]
    VersionMismatch(#[from] VersionMismatch),
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
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { id } => EngineError::NotFound { id },
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
