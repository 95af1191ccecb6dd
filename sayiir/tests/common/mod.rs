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

/// Deterministic pseudo-random numbers from a printed seed (xorshift64*), for the kill tests.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}
