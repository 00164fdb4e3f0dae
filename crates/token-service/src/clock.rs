//! Time and randomness, injected so tests pin them and production uses the system's. The clock is
//! caller-auth's (one clock for the claim checks, the JWKS cache and everything here).

use std::sync::Arc;

pub use caller_auth::clock::{Clock, ManualClock, SystemClock};

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
    fn salts_are_in_the_sdk_range() {
        let s = random_salt();
        for _ in 0..1000 {
            let v = s();
            assert!((1..=99_999_999).contains(&v));
        }
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
