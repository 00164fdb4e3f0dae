//! Legacy AccessToken "006": decode, and verify when the channel and uid are known.
//!
//! ```text
//! token   = "006" || app_id (32 chars) || base64_std(content)          (no compression)
//! content = bytes16(signature) u32(crc32(channel)) u32(crc32(uid_text)) bytes16(m)
//! m       = u32(salt) u32(ts) map_u16_u32(privileges)                   (absolute unix seconds)
//! signature = HMAC-SHA256(key = certificate, msg = app_id || channel || uid_text || m)
//! ```

use super::pack::Reader;
use super::token2::{decode_b64_lenient, MAX_TOKEN_LEN};
use super::{check_hex32, AgoraKey};
use crate::{Error, ErrorKind, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The version prefix of the legacy token.
pub const VERSION_006: &str = "006";

/// A decoded 006 token. Privilege values and `ts` are absolute unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken006 {
    /// The app id (plain text in the token).
    pub app_id: String,
    /// The signature as carried.
    pub signature: Vec<u8>,
    /// CRC-32 of the channel name the token was made for.
    pub crc_channel: u32,
    /// CRC-32 of the uid text the token was made for.
    pub crc_uid: u32,
    /// Random salt.
    pub salt: u32,
    /// The message timestamp (the SDKs default it to issue time + 24 h).
    pub ts: u32,
    /// Privilege id (1 join, 2 audio, 3 video, 4 data, 1000 RTM login) -> absolute expiry.
    pub privileges: BTreeMap<u16, u32>,
    /// The raw signed message `m`.
    message: Vec<u8>,
}

impl AccessToken006 {
    /// Decodes a 006 token (no signature check).
    pub fn parse(token: &str) -> Result<Self> {
        let rest = token
            .strip_prefix(VERSION_006)
            .ok_or_else(|| Error::malformed("not a 006 token (no \"006\" prefix)"))?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::malformed("token is too long"));
        }
        let app_id = rest
            .get(..32)
            .ok_or_else(|| Error::malformed("token is truncated"))?;
        check_hex32("app_id", app_id)
            .map_err(|_| Error::malformed("app id is not 32 hex characters"))?;
        let content = decode_b64_lenient(&rest[32..])?;
        let mut r = Reader::new(&content);
        let signature = r.bytes()?.to_vec();
        let crc_channel = r.u32()?;
        let crc_uid = r.u32()?;
        let message = r.bytes()?.to_vec();
        if r.remaining() != 0 {
            return Err(Error::malformed("bytes after the message"));
        }
        let mut m = Reader::new(&message);
        let salt = m.u32()?;
        let ts = m.u32()?;
        let privileges = m.map_u16_u32()?;
        if m.remaining() != 0 {
            return Err(Error::malformed("bytes after the privileges"));
        }
        Ok(AccessToken006 {
            app_id: app_id.to_string(),
            signature,
            crc_channel,
            crc_uid,
            salt,
            ts,
            privileges,
            message,
        })
    }

    /// Verifies for a channel and uid text (integer uid 0 is `""`; see
    /// [`RtcUser::signed_text`](super::RtcUser::signed_text); RTM tokens use the user id as the channel
    /// and `""` as the uid). Wrong channel/uid or wrong certificate give [`ErrorKind::InvalidSignature`].
    pub fn verify_with_certificate(
        &self,
        app_certificate: &str,
        channel: &str,
        uid: &str,
    ) -> Result<()> {
        check_hex32("app_certificate", app_certificate)?;
        if crc32fast::hash(channel.as_bytes()) != self.crc_channel
            || crc32fast::hash(uid.as_bytes()) != self.crc_uid
        {
            return Err(ErrorKind::InvalidSignature.into());
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_certificate.as_bytes())
            .map_err(|_| Error::invalid("app_certificate", "unusable as an HMAC key"))?;
        mac.update(self.app_id.as_bytes());
        mac.update(channel.as_bytes());
        mac.update(uid.as_bytes());
        mac.update(&self.message);
        mac.verify_slice(&self.signature)
            .map_err(|_| ErrorKind::InvalidSignature.into())
    }

    /// Verifies with a key (the app id must match).
    pub fn verify(&self, key: &AgoraKey, channel: &str, uid: &str) -> Result<()> {
        if self.app_id != key.app_id {
            return Err(Error::invalid(
                "app_id",
                "the token was issued for another app id",
            ));
        }
        self.verify_with_certificate(key.app_certificate.expose(), channel, uid)
    }

    /// The latest privilege expiry (absolute unix seconds), if any privilege is set.
    pub fn expires_at(&self) -> Option<u64> {
        self.privileges
            .values()
            .copied()
            .filter(|v| *v != 0)
            .max()
            .map(u64::from)
    }

    /// True when every non-zero privilege has expired at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at().is_some_and(|e| now > e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    const TOKEN: &str = "006970CA35de60c44645bbae8a215061b33IACV0fZUBw+72cVoL9eyGGh3Q6Poi8bgjwVLnyKSJyOXR7dIfRBXoFHlEAABAAAAR/QQAAEAAQCvKDdW";

    #[test]
    fn decodes_and_verifies_the_official_vector() {
        let t = AccessToken006::parse(TOKEN).unwrap();
        assert_eq!(t.crc_channel, 276_646_071);
        assert_eq!(t.crc_uid, 3_847_331_927);
        assert_eq!((t.salt, t.ts), (1, 1_111_111));
        assert_eq!(t.privileges, BTreeMap::from([(1, 1_446_455_471)]));
        t.verify_with_certificate(CERT, "7d72365eb983485397e3e3f9d460bdda", "2882341273")
            .unwrap();
        assert!(t
            .verify_with_certificate(CERT, "other", "2882341273")
            .is_err());
        assert!(t
            .verify_with_certificate(CERT, "7d72365eb983485397e3e3f9d460bdda", "1")
            .is_err());
        assert!(t
            .verify_with_certificate(
                &"a".repeat(32),
                "7d72365eb983485397e3e3f9d460bdda",
                "2882341273"
            )
            .is_err());
        assert_eq!(t.expires_at(), Some(1_446_455_471));
        assert!(t.is_expired(1_446_455_472));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "006",
            "007abc",
            "006970CA35de60c44645bbae8a215061b3",
            "006970CA35de60c44645bbae8a215061b33!!",
        ] {
            assert!(AccessToken006::parse(bad).is_err(), "{bad}");
        }
    }
}
