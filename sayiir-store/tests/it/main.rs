//! The store's integration tests, in one binary: the conformance suite on every backend, then
//! each backend's own behaviour. A module whose backend or suite is not built is left out (run
//! everything with `--all-features`, as `cargo test --workspace` does through the facade).

/// The name libtest gives a test of this binary, from its path in the crate:
/// `test_name!(sqlite::files::x)` is `"sqlite::files::x"`, for re-running the binary with that
/// one test selected (`--exact`); naming the fn makes a moved test a compile error.
#[allow(unused_macros)]
macro_rules! test_name {
    ($($seg:ident)::+) => {{
        let _exists = crate::$($seg)::+;
        [$(stringify!($seg)),+].join("::")
    }};
}
#[allow(unused_imports)]
pub(crate) use test_name;

#[cfg(feature = "conformance")]
mod conformance;
#[cfg(feature = "pg-harness")]
mod pg_harness;
#[cfg(all(feature = "pg-harness", feature = "conformance"))]
mod postgres;
#[cfg(all(feature = "sqlite", feature = "conformance"))]
mod sqlite;
