//! Throttling of failed authentication: after `limit` failures within `window` for one key
//! (a user name, a client address), further attempts for that key are refused with 429 until
//! the window has passed, so a password brute force meets 429 quickly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before stale ones are swept (bounds memory under a spray of random keys).
const SWEEP_AT: usize = 10_000;

/// Failure counts per key in fixed windows.
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    book: Mutex<HashMap<String, (Instant, u32)>>,
}

impl FailureThrottle {
    /// Refuses a key after `limit` failures within `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            book: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the key has used up its failures in the current window.
    pub fn is_blocked(&self, key: &str) -> bool {
        let book = self.book.lock().expect("throttle book");
        matches!(book.get(key), Some((start, n)) if start.elapsed() < self.window && *n >= self.limit)
    }

    /// Counts one failure for the key.
    pub fn record_failure(&self, key: &str) {
        let mut book = self.book.lock().expect("throttle book");
        if book.len() >= SWEEP_AT {
            let window = self.window;
            book.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let entry = book.entry(key.to_owned()).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_within_the_window() {
        let t = FailureThrottle::new(3, Duration::from_millis(80));
        for _ in 0..2 {
            t.record_failure("alice");
        }
        assert!(!t.is_blocked("alice"));
        t.record_failure("alice");
        assert!(t.is_blocked("alice"));
        assert!(!t.is_blocked("bob"));
        std::thread::sleep(Duration::from_millis(90));
        assert!(!t.is_blocked("alice"));
    }
}
