//! The history payloads the kill tests read back (mirrors of the runtime's private history
//! events in `sayiir-runtime/src/feed.rs`; a change there must be made here too).

#![allow(dead_code)]

use serde::Deserialize;

/// A task attempt's outcome fed to the workflow (`task`).
#[derive(Deserialize)]
pub(crate) struct TaskEvent {
    pub(crate) slot: Vec<u32>,
    pub(crate) task: String,
    pub(crate) attempt: u32,
    pub(crate) output: Vec<u8>,
}

/// A failed attempt scheduled for a retry (`retry`).
#[derive(Deserialize)]
pub(crate) struct RetryEvent {
    pub(crate) slot: Vec<u32>,
    pub(crate) task: String,
    pub(crate) failed_attempt: u32,
    pub(crate) not_before: i64,
    pub(crate) error: Vec<u8>,
}

/// A delivered signal (`signal`).
#[derive(Deserialize)]
pub(crate) struct SignalEvent {
    pub(crate) slot: Vec<u32>,
    pub(crate) name: String,
    pub(crate) signal_id: u64,
    pub(crate) payload: Vec<u8>,
}

/// Decodes a history payload or a stored output.
pub(crate) fn decode<T: serde::de::DeserializeOwned + 'static>(bytes: &[u8]) -> T {
    match sayiir::__private::codec::decode(bytes) {
        Ok(v) => v,
        Err(e) => panic!("a stored blob does not decode: {e}"),
    }
}
