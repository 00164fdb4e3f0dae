//! Pure token signing for Agora AccessToken2 ("007") and 006, LiveKit and Stream.
//!
//! No I/O, no async, no clock, no randomness: every function takes the time (`issued_at`/`now`, unix
//! seconds) and, for Agora, the salt as arguments, so outputs are reproducible and testable.
//! The public names below are used by `token-service` and `rtc-token`.
//!
//! ```
//! use rtc_signing::agora::{self, AccessToken2, AgoraKey, MintAt, RtcRole, RtcUser};
//! use rtc_signing::livekit::{AccessToken, LiveKitKey, VideoGrants};
//!
//! let key = AgoraKey::new("970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b")?;
//! let at = MintAt { issued_at: 1_700_000_000, salt: 1 };
//! let token = agora::rtc_token(&key, "room-1", &RtcUser::Uid(42), RtcRole::Publisher, 3600, 3600, at)?;
//! let parsed = AccessToken2::parse(&token)?;
//! parsed.verify(&key)?; // signature only; expiry is separate:
//! assert!(!parsed.is_expired(1_700_000_000));
//!
//! let lk = LiveKitKey::new("APIkey", "secret")?;
//! let grants = VideoGrants { room_join: true, room: "room-1".into(), ..Default::default() };
//! let jwt = AccessToken::new(&lk).with_identity("alice").with_grants(grants).to_jwt(1_700_000_000)?;
//! let claims = rtc_signing::livekit::verify(&jwt, &lk, 1_700_000_000, 60)?;
//! assert_eq!(claims.identity(), Some("alice"));
//! # Ok::<(), rtc_signing::Error>(())
//! ```

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
