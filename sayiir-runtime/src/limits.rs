//! The payload limit: the largest encoded value the engine writes (an input, a signal payload,
//! a task's return value, a state, an output). Checked where the value is made, so a value that
//! is too large is refused at the call that made it instead of being stored and then failing
//! to load.

use crate::codec::CodecError;
use crate::error::EngineError;

/// Default of [`WorkerConfig::max_payload`](crate::WorkerConfig::max_payload): 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Fails with [`EngineError::TooLarge`] when `len` bytes exceed `limit`.
pub(crate) fn check(what: &'static str, len: usize, limit: usize) -> Result<(), EngineError> {
    if len > limit {
        return Err(EngineError::TooLarge {
            what,
            size: len,
            limit,
        });
    }
    Ok(())
}

/// The error for a value that does not encode: [`EngineError::TooLarge`] when it is over the
/// format's own limit, else [`EngineError::Encode`].
pub(crate) fn encode_error(what: &'static str, e: CodecError, limit: usize) -> EngineError {
    match e {
        CodecError::TooLarge { len } => EngineError::TooLarge {
            what,
            size: len,
            limit,
        },
        source => EngineError::Encode { what, source },
    }
}

/// The block reason of an instance whose transition made a value over the limit.
pub(crate) fn block_reason(what: &str, len: usize, limit: usize) -> String {
    format!(
        "{what} encodes to {len} bytes, more than the payload limit of {limit} bytes \
         (`WorkerConfig::max_payload`); nothing of it was written and the instance stays at its \
         previous state"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_inclusive() {
        assert!(check("input", 10, 10).is_ok());
        match check("input", 11, 10) {
            Err(EngineError::TooLarge { what, size, limit }) => {
                assert_eq!((what, size, limit), ("input", 11, 10))
            }
            other => panic!("{other:?}"),
        }
    }
}
