//! Backoff between task attempts: exponential from the task's `backoff`, capped at
//! `max_backoff`, with "equal jitter" (half the delay fixed, half spread). The spread comes from
//! a hash of the call's identity and attempt, so instances retrying together spread out while a
//! given attempt's delay is reproducible. The arithmetic is a few saturating operations over
//! the persisted attempt number; backoff crates keep their position in an iterator, which
//! would have to be rebuilt from that number anyway.

use std::time::Duration;

use crate::hash::blake3;
use crate::machine::{TaskOptions, TaskOutput};

/// Whether a failed attempt gets another one.
pub(crate) fn should_retry(options: &TaskOptions, attempt: u32, output: &TaskOutput) -> bool {
    output.is_error && !output.permanent && attempt <= options.retries
}

/// Delay before attempt `attempt + 1`, after attempt `attempt` (from 1) failed. `seed`
/// identifies the call (instance, origin, slot).
pub(crate) fn delay(options: &TaskOptions, attempt: u32, seed: &str) -> Duration {
    let base = options.backoff.as_millis().min(u128::from(u64::MAX)) as u64;
    let cap = options.max_backoff.as_millis().min(u128::from(u64::MAX)) as u64;
    let doublings = attempt.saturating_sub(1).min(63);
    let full = base.saturating_mul(1u64 << doublings).min(cap.max(base));
    let half = full / 2;
    let mut input = seed.as_bytes().to_vec();
    input.extend_from_slice(&attempt.to_le_bytes());
    let h = blake3(&input);
    let r = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
    let spread = if half == 0 { 0 } else { r % (half + 1) };
    Duration::from_millis(full - half + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(retries: u32, base_ms: u64, cap_ms: u64) -> TaskOptions {
        TaskOptions {
            retries,
            backoff: Duration::from_millis(base_ms),
            max_backoff: Duration::from_millis(cap_ms),
            ..TaskOptions::DEFAULT
        }
    }

    #[test]
    fn delays_double_within_jitter_and_stop_at_the_cap() {
        let o = opts(10, 100, 1_000);
        for attempt in 1..=10u32 {
            let full = (100u64 << (attempt - 1)).min(1_000);
            let d = delay(&o, attempt, "i/1").as_millis() as u64;
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d} ms vs {full}"
            );
        }
        assert_eq!(delay(&o, 3, "a"), delay(&o, 3, "a"), "reproducible");
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|i| delay(&o, 4, &format!("inst-{i}")))
            .collect();
        assert!(spread.len() > 10, "instances spread out: {}", spread.len());
        assert!(delay(&o, u32::MAX, "x") <= Duration::from_millis(1_000));
    }

    #[test]
    fn retries_stop_after_the_last_attempt_and_on_permanent_errors() {
        let o = opts(2, 10, 10);
        let err = TaskOutput {
            bytes: vec![],
            is_error: true,
            permanent: false,
        };
        assert!(should_retry(&o, 1, &err));
        assert!(should_retry(&o, 2, &err));
        assert!(!should_retry(&o, 3, &err));
        let perm = TaskOutput {
            permanent: true,
            ..err.clone()
        };
        assert!(!should_retry(&o, 1, &perm));
        let ok = TaskOutput {
            is_error: false,
            ..err
        };
        assert!(!should_retry(&o, 1, &ok));
    }
}
