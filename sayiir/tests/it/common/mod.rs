//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod children;
pub(crate) mod events;
pub(crate) mod hooked;

use sayiir::{Engine, Workflow};

/// The name libtest gives a test of this binary, from its path in the crate:
/// `test_name!(crash::crash_child)` is `"crash::crash_child"`. Child processes re-run the binary
/// with that one test selected (`--exact`); naming the fn makes a moved or renamed test a
/// compile error instead of a child that runs nothing.
macro_rules! test_name {
    ($($seg:ident)::+) => {{
        let _exists = crate::$($seg)::+;
        [$(stringify!($seg)),+].join("::")
    }};
}
pub(crate) use test_name;

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
