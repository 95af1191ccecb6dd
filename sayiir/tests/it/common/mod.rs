//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod children;
pub(crate) mod events;
pub(crate) mod hooked;
mod rng;
pub(crate) mod stores;
mod vars;
mod wait;

pub(crate) use rng::{Rng, mix, seed, seed_of};
pub(crate) use vars::{env, env_or};
pub(crate) use wait::{PATIENCE, eventually, within};

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
