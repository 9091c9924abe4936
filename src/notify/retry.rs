//! When to try a failed notification again: exponential backoff with jitter from
//! `notify.retry_min` to `notify.retry_max` (backon's schedule, indexed by the attempt
//! number stored in the outbox, so the schedule survives restarts), and never after the
//! give-up deadline.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// The delay before attempt `attempts + 1`, after `attempts` failed ones (>= 1).
pub fn delay_after(attempts: u32, min: Duration, max: Duration) -> Duration {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(attempts.saturating_sub(1).min(64) as usize)
        .unwrap_or(max)
        .min(max * 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        let first = delay_after(1, min, max);
        assert!(first >= min && first <= min * 2, "{first:?}");
        let fourth = delay_after(4, min, max);
        assert!(fourth >= Duration::from_secs(8), "{fourth:?}");
        let late = delay_after(40, min, max);
        assert!(late <= max * 2, "{late:?}");
    }
}
