//! When and how long to wait before trying a request again.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// Exponential backoff with full jitter, for bounded attempts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Upper bound of the first wait; doubled after each failure.
    pub base_delay: Duration,
    /// Upper bound of any wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (after `attempt` failures, counted from 1): a
    /// uniformly random fraction of the capped exponential bound, so clients that failed together
    /// do not retry together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        // A fresh RandomState is seeded randomly: enough randomness for jitter, no extra crate.
        let random = RandomState::new().hash_one(attempt);
        bound.mul_f64((random % 1_000_000) as f64 / 1_000_000.0)
    }
}

/// Statuses worth another try: throttling and server-side failures.
pub(crate) fn retriable_status(status: u16) -> bool {
    status == 429 || status == 408 || (500..=599).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            let d = p.delay(attempt);
            let bound = (p.base_delay * 2u32.pow((attempt - 1).min(16))).min(p.max_delay);
            assert!(d <= bound, "{attempt}: {d:?} > {bound:?}");
        }
        assert!(retriable_status(503) && retriable_status(429) && !retriable_status(404));
    }
}
