//! Time and randomness, injected so tests pin them and production uses the system's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A source of the current unix time in seconds.
pub trait Clock: Send + Sync {
    /// Unix seconds now.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock tests set and advance by hand. Clones share the same time.
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now)))
    }
    /// Moves the clock to `now`.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }
    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The salt of an Agora token: a random number in `1..=99_999_999` as the official SDKs draw it.
pub type SaltFn = Arc<dyn Fn() -> u32 + Send + Sync>;

/// The production salt source (thread-local CSPRNG).
pub fn random_salt() -> SaltFn {
    Arc::new(|| rand::random_range(1..=99_999_999u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances_and_is_shared() {
        let c = ManualClock::new(100);
        let c2 = c.clone();
        c.advance(5);
        assert_eq!(c2.now(), 105);
        c2.set(7);
        assert_eq!(c.now(), 7);
    }

    #[test]
    fn salts_are_in_the_sdk_range() {
        let s = random_salt();
        for _ in 0..1000 {
            let v = s();
            assert!((1..=99_999_999).contains(&v));
        }
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
