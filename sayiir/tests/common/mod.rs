//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use sayiir::{Engine, Workflow};

/// Starts `id` and waits for its output.
pub(crate) async fn run_to_end<W: Workflow>(
    engine: &Engine,
    id: &str,
    input: W::Input,
) -> W::Output {
    engine
        .start::<W>(id, input)
        .await
        .unwrap()
        .result()
        .await
        .unwrap()
}
