//! Pacing: the per-endpoint rate limiter shared by every dialogue of a run, and the retry
//! backoff. Kept apart from the runner so the arithmetic is testable without a network.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use rand::Rng;
use tokio::sync::Mutex;

use crate::record::RateHeaders;

/// Spaces requests `1/rate` apart across every task that shares it. A reservation model
/// rather than a bucket: each caller takes the next free slot, so bursts never exceed the
/// configured rate even at the start of a run (a live endpoint's own limiter would punish it).
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    pub fn per_second(rate: f64) -> Self {
        Limiter {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let wait = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = match *next {
                Some(n) if n > now => n,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Longest we will wait before one retry: a gate that sleeps for an hour on a
/// `Retry-After: 3600` looks hung. A server asking for more is not retried; its answer is
/// reported as it came.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Exponential backoff with full jitter: uniform in `[0, min(cap, base * 2^attempt)]`, so
/// many dialogues retrying at once do not stampede together.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
        .min(MAX_BACKOFF);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// A wait the server asked for, spread: up to half again (at most 5 s more), never less.
/// Every dialogue turned away by the same limit is told the same wait; sleeping exactly that,
/// they would all come back at once and be turned away again together.
pub fn spread(asked: Duration) -> Duration {
    let extra = (asked / 2).min(Duration::from_secs(5)).as_millis() as u64;
    asked + Duration::from_millis(rand::rng().random_range(0..=extra))
}

/// What the server told us to wait after a reply of `status`: `Retry-After` first; for a 429
/// also when its request budget resets (`x-ratelimit-reset-requests`, or `X-RateLimit-Reset`
/// when `X-RateLimit-Remaining` is 0). `None` when it said nothing. A 5xx's budget headers
/// say when more requests are allowed, not when the server is back: it takes the backoff.
pub fn server_delay(rate: &RateHeaders, status: u16, now: SystemTime) -> Option<Duration> {
    if let Some(d) = rate.retry_after {
        return Some(d);
    }
    if status != 429 {
        return None;
    }
    if let Some(d) = rate.reset_requests {
        return Some(d);
    }
    if rate.remaining == Some(0) {
        let reset = rate.reset?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            assert!(backoff(0) <= Duration::from_millis(200));
            assert!(backoff(3) <= Duration::from_millis(1600));
            assert!(backoff(30) <= MAX_BACKOFF);
        }
    }

    #[test]
    fn a_servers_wait_is_spread_never_shortened() {
        for asked in [0, 10, 1_000, 2_000, 40_000] {
            let asked = Duration::from_millis(asked);
            let most = asked + (asked / 2).min(Duration::from_secs(5));
            let waits: Vec<Duration> = (0..200).map(|_| spread(asked)).collect();
            assert!(waits.iter().all(|w| *w >= asked && *w <= most), "{asked:?}");
            if asked >= Duration::from_secs(1) {
                assert!(waits.iter().any(|w| *w != waits[0]), "{asked:?} is spread");
            }
        }
    }

    #[test]
    fn retry_after_beats_reset() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let rate = RateHeaders {
            remaining: Some(0),
            reset: Some(1_005),
            retry_after: Some(Duration::from_secs(2)),
            ..RateHeaders::default()
        };
        assert_eq!(server_delay(&rate, 429, now), Some(Duration::from_secs(2)));
        let rate = RateHeaders {
            retry_after: None,
            ..rate
        };
        assert_eq!(server_delay(&rate, 429, now), Some(Duration::from_secs(5)));
        // A 5xx waits only for what `Retry-After` says.
        assert_eq!(server_delay(&rate, 503, now), None);
        let rate = RateHeaders {
            remaining: Some(3),
            ..rate
        };
        assert_eq!(server_delay(&rate, 429, now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_requests() {
        let limiter = Limiter::per_second(10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // Five slots 100ms apart: the fifth starts 400ms after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
