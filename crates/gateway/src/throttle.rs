//! Failed-authentication throttling (DESIGN: "failed authentication is rate-limited per client
//! address and per key").
//!
//! Only failures are counted, and only failures are refused: once a client address or an
//! AppKey has failed more than the limit within the window, further *failures* are answered
//! with 429 `APIG.0308` instead of 401. A correct credential always passes, so a stranger who
//! knows an AppKey cannot lock its app out. AppCodes carry 256 bits and signatures are HMACs, so
//! guessing is hopeless either way; what the limit takes away is the detailed 401 diagnostics
//! (the server's canonical request) and the log volume a failing client would otherwise cost.
//!
//! The book sits behind one mutex that successful requests never touch. Per-key entries exist
//! only for AppKeys of real apps (an attacker cannot grow the map with invented keys); address
//! entries are pruned when the map grows, and past a hard cap new addresses are not tracked.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept per map before expired ones are pruned.
const PRUNE_AT: usize = 4096;
/// Entries per map never exceeded, whatever the traffic.
const HARD_CAP: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

#[derive(Debug, Default)]
struct Books {
    addrs: HashMap<IpAddr, Window>,
    keys: HashMap<Box<str>, Window>,
}

/// Counts failed authentications per client address and per AppKey.
#[derive(Debug)]
pub(crate) struct FailureBook {
    limit: u32,
    window: Duration,
    books: Mutex<Books>,
}

impl FailureBook {
    /// A book allowing `limit` failures per `window` before refusing with 429.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            books: Mutex::new(Books::default()),
        }
    }

    /// Records a failure from `addr`, for the AppKey of a known app if there is one; true when
    /// the address or the key is now over the limit.
    pub fn record(&self, addr: IpAddr, app_key: Option<&str>, now: Instant) -> bool {
        let mut books = self.books.lock().unwrap_or_else(|p| p.into_inner());
        let by_addr = bump(&mut books.addrs, addr, now, self.window);
        let by_key = match app_key {
            Some(key) => match books.keys.get_mut(key) {
                Some(w) => count(w, now, self.window),
                None => bump(&mut books.keys, key.into(), now, self.window),
            },
            None => 0,
        };
        by_addr > self.limit || by_key > self.limit
    }
}

/// Adds one failure to `w`, restarting an expired window; returns the count.
fn count(w: &mut Window, now: Instant, window: Duration) -> u32 {
    if now.duration_since(w.start) >= window {
        *w = Window {
            start: now,
            count: 0,
        };
    }
    w.count = w.count.saturating_add(1);
    w.count
}

fn bump<K: Hash + Eq>(map: &mut HashMap<K, Window>, key: K, now: Instant, window: Duration) -> u32 {
    if let Some(w) = map.get_mut(&key) {
        return count(w, now, window);
    }
    if map.len() >= PRUNE_AT {
        map.retain(|_, w| now.duration_since(w.start) < window);
        if map.len() >= HARD_CAP {
            return 1;
        }
    }
    map.insert(
        key,
        Window {
            start: now,
            count: 1,
        },
    );
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_per_address_and_per_key_then_forgets() {
        let book = FailureBook::new(2, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t = Instant::now();
        assert!(!book.record(a, None, t));
        assert!(!book.record(a, Some("k"), t));
        assert!(book.record(a, None, t));
        // Another address is not affected, but the key now is, once over its own limit.
        assert!(!book.record(b, Some("k"), t));
        assert!(book.record(b, Some("k"), t));
        assert!(!book.record(b, Some("other"), t + Duration::from_secs(61)));
        assert!(!book.record(a, None, t + Duration::from_secs(61)));
    }
}
