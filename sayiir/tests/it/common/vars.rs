//! Settings from environment variables: how a child process learns its role, and how a
//! measurement is resized.

/// An environment variable, or "" when unset.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// A number from the environment, or `default` when unset or not a number.
pub(crate) fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
