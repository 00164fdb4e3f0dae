//! Pure token signing for Agora AccessToken2 ("007") and 006, LiveKit and Stream.
//!
//! No I/O, no async, no clock, no randomness: every function takes the time (`issued_at`/`now`, unix
//! seconds) and, for Agora, the salt as arguments, so outputs are reproducible and testable.
//! CONTRACT (filled in by the signing work): the public names below are used by `token-service`
//! and `rtc-token`; keep them, add to them freely.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agora;
mod error;
pub mod jws;
pub mod livekit;
mod secret;
pub mod stream;

pub use error::{Error, ErrorKind, Result};
pub use secret::Secret;
