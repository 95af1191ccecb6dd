//! Waiting for something that should happen soon. A test that waits for an event bounds the
//! wait only to report a hang: the bound is [`PATIENCE`], far above what any step takes even on
//! a loaded machine, and never a measure of speed. Tests about the engine's own timing use
//! virtual time (`sayiir::testing::TestEngine`) or compare against a much longer interval
//! the engine would wait for if it were wrong (an idle poll of an hour, a lease of a day).

use std::future::Future;
use std::time::Duration;

/// How long a test waits for an event before it calls the engine stuck.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` every 10 ms until it gives `Some`; panics, naming `what`, after
/// [`PATIENCE`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting for {what} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `fut`'s output; panics, naming `what`, if it takes longer than [`PATIENCE`].
pub(crate) async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("still waiting for {what} after {PATIENCE:?}"))
}
