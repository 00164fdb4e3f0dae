//! AccessToken2 ("007"): the general builder, the parser and the verifier.
//!
//! ```text
//! token        = "007" || base64_std(zlib(bytes16(signature) || signing_info))
//! signing_info = string(app_id) u32(issue_ts) u32(expire) u32(salt) u16(n) service…
//! signature    = HMAC(HMAC(u32le(salt), HMAC(u32le(issue_ts), certificate)), signing_info)
//! ```

use super::pack::{Reader, Writer};
use super::{check_hex32, AgoraKey};
use crate::{Error, ErrorKind, Result};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use flate2::{Compress, Compression, FlushCompress, Status};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;
use std::collections::BTreeMap;

type HmacSha256 = Hmac<Sha256>;

/// The version prefix of AccessToken2.
pub const VERSION_007: &str = "007";
/// The longest token text the parsers accept (far above any real token).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The largest inflated payload the parser accepts (guards against zlib bombs).
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;

/// Lenient decoder: standard alphabet, padding optional (URL-safe characters are mapped first).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Service type ids (the `u16 type` of each packed service).
pub mod service_type {
    /// Real-time communication.
    pub const RTC: u16 = 1;
    /// Real-time messaging (Signaling).
    pub const RTM: u16 = 2;
    /// Media streaming (re-added 2026-07).
    pub const STREAMING: u16 = 3;
    /// Fusion Packet Acceleration.
    pub const FPA: u16 = 4;
    /// Chat.
    pub const CHAT: u16 = 5;
    /// FCDN.
    pub const FCDN: u16 = 6;
    /// APaaS / Education.
    pub const APAAS: u16 = 7;
    /// RTM 2 with resource permissions.
    pub const RTM2: u16 = 8;
    /// Conversational AI engine (npm agora-token 2.0.6).
    pub const CONVO_AI: u16 = 9;
    /// Speech-to-text (npm agora-token 2.0.6).
    pub const STT: u16 = 10;
}

/// Privilege ids, per service.
pub mod privilege {
    /// RTC: join the channel.
    pub const RTC_JOIN_CHANNEL: u16 = 1;
    /// RTC: publish audio.
    pub const RTC_PUBLISH_AUDIO: u16 = 2;
    /// RTC: publish video.
    pub const RTC_PUBLISH_VIDEO: u16 = 3;
    /// RTC: publish data streams.
    pub const RTC_PUBLISH_DATA: u16 = 4;
    /// RTM / RTM2 / FPA: login.
    pub const LOGIN: u16 = 1;
    /// Streaming: publish the mixed stream.
    pub const STREAMING_PUBLISH_MIX: u16 = 1;
    /// Streaming: publish the raw stream.
    pub const STREAMING_PUBLISH_RAW: u16 = 2;
    /// Chat: user.
    pub const CHAT_USER: u16 = 1;
    /// Chat: app.
    pub const CHAT_APP: u16 = 2;
    /// FCDN: publish.
    pub const FCDN_PUBLISH: u16 = 1;
    /// FCDN: play.
    pub const FCDN_PLAY: u16 = 2;
    /// APaaS: room user.
    pub const APAAS_ROOM_USER: u16 = 1;
    /// APaaS: user.
    pub const APAAS_USER: u16 = 2;
    /// APaaS: app.
    pub const APAAS_APP: u16 = 3;
}

/// RTM2 permissions: resource type -> permission type -> resources (insertion order kept).
/// Resource types: 0 messageChannels, 1 streamChannels, 2 groupChannels, 3 serverGroups, 4 users;
/// permission types: 0 read, 1 write.
pub type Rtm2Permissions = BTreeMap<u16, BTreeMap<u16, Vec<String>>>;

/// The type-specific body of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceBody {
    /// Type 1.
    Rtc {
        /// Channel name.
        channel: String,
        /// Uid text (`""` = any uid).
        uid: String,
    },
    /// Type 2.
    Rtm {
        /// RTM user id.
        user_id: String,
    },
    /// Type 3.
    Streaming {
        /// Channel name.
        channel: String,
        /// Account (`""` for uid 0).
        account: String,
    },
    /// Type 4: no body.
    Fpa,
    /// Type 5.
    Chat {
        /// Chat user id (`""` for app tokens).
        user_id: String,
    },
    /// Type 6.
    Fcdn {
        /// Channel name.
        channel: String,
        /// Account (`""` for uid 0).
        account: String,
    },
    /// Type 7.
    Apaas {
        /// Room uuid.
        room_uuid: String,
        /// User uuid.
        user_uuid: String,
        /// Role (default −1).
        role: i16,
    },
    /// Type 8.
    Rtm2 {
        /// RTM user id.
        user_id: String,
        /// Resource permissions.
        permissions: Rtm2Permissions,
    },
    /// Type 9: no body.
    ConvoAi,
    /// Type 10: no body.
    Stt,
}

impl ServiceBody {
    /// The `u16` service type of this body.
    pub fn service_type(&self) -> u16 {
        use service_type::*;
        match self {
            ServiceBody::Rtc { .. } => RTC,
            ServiceBody::Rtm { .. } => RTM,
            ServiceBody::Streaming { .. } => STREAMING,
            ServiceBody::Fpa => FPA,
            ServiceBody::Chat { .. } => CHAT,
            ServiceBody::Fcdn { .. } => FCDN,
            ServiceBody::Apaas { .. } => APAAS,
            ServiceBody::Rtm2 { .. } => RTM2,
            ServiceBody::ConvoAi => CONVO_AI,
            ServiceBody::Stt => STT,
        }
    }

    /// The service's name as Agora's inspector prints it.
    pub fn name(&self) -> &'static str {
        match self {
            ServiceBody::Rtc { .. } => "RTC",
            ServiceBody::Rtm { .. } => "RTM",
            ServiceBody::Streaming { .. } => "Streaming",
            ServiceBody::Fpa => "FPA",
            ServiceBody::Chat { .. } => "Chat",
            ServiceBody::Fcdn { .. } => "FCDN",
            ServiceBody::Apaas { .. } => "APaaS",
            ServiceBody::Rtm2 { .. } => "RTM2",
            ServiceBody::ConvoAi => "ConvoAI",
            ServiceBody::Stt => "STT",
        }
    }

    fn pack(&self, w: &mut Writer) -> Result<()> {
        match self {
            ServiceBody::Rtc { channel, uid } => {
                w.string(channel)?;
                w.string(uid)
            }
            ServiceBody::Rtm { user_id } | ServiceBody::Chat { user_id } => w.string(user_id),
            ServiceBody::Streaming { channel, account }
            | ServiceBody::Fcdn { channel, account } => {
                w.string(channel)?;
                w.string(account)
            }
            ServiceBody::Apaas {
                room_uuid,
                user_uuid,
                role,
            } => {
                w.string(room_uuid)?;
                w.string(user_uuid)?;
                w.i16(*role);
                Ok(())
            }
            ServiceBody::Rtm2 {
                user_id,
                permissions,
            } => {
                w.string(user_id)?;
                w.u16(count(permissions.len())?);
                for (resource_type, perms) in permissions {
                    w.u16(*resource_type);
                    w.u16(count(perms.len())?);
                    for (permission_type, items) in perms {
                        w.u16(*permission_type);
                        w.u16(count(items.len())?);
                        for item in items {
                            w.string(item)?;
                        }
                    }
                }
                Ok(())
            }
            ServiceBody::Fpa | ServiceBody::ConvoAi | ServiceBody::Stt => Ok(()),
        }
    }

    /// Reads the body of a service of type `ty`; an unknown type is an error.
    fn unpack(ty: u16, r: &mut Reader<'_>) -> Result<Self> {
        use service_type::*;
        Ok(match ty {
            RTC => ServiceBody::Rtc {
                channel: r.string()?,
                uid: r.string()?,
            },
            RTM => ServiceBody::Rtm {
                user_id: r.string()?,
            },
            STREAMING => ServiceBody::Streaming {
                channel: r.string()?,
                account: r.string()?,
            },
            FPA => ServiceBody::Fpa,
            CHAT => ServiceBody::Chat {
                user_id: r.string()?,
            },
            FCDN => ServiceBody::Fcdn {
                channel: r.string()?,
                account: r.string()?,
            },
            APAAS => ServiceBody::Apaas {
                room_uuid: r.string()?,
                user_uuid: r.string()?,
                role: r.i16()?,
            },
            RTM2 => {
                let user_id = r.string()?;
                let mut permissions = Rtm2Permissions::new();
                for _ in 0..r.u16()? {
                    let resource_type = r.u16()?;
                    let perms = permissions.entry(resource_type).or_default();
                    for _ in 0..r.u16()? {
                        let permission_type = r.u16()?;
                        let items = perms.entry(permission_type).or_default();
                        for _ in 0..r.u16()? {
                            items.push(r.string()?);
                        }
                    }
                }
                ServiceBody::Rtm2 {
                    user_id,
                    permissions,
                }
            }
            CONVO_AI => ServiceBody::ConvoAi,
            STT => ServiceBody::Stt,
            other => return Err(Error::malformed(format!("unknown service type {other}"))),
        })
    }
}

fn count(n: usize) -> Result<u16> {
    u16::try_from(n).map_err(|_| Error::invalid("permissions", "more than 65535 entries"))
}

/// One service: privileges (id -> seconds after `issued_at`, 0 = no separate limit) and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Privilege id -> relative expiry in seconds; packed in ascending id order.
    pub privileges: BTreeMap<u16, u32>,
    /// The type-specific fields.
    pub body: ServiceBody,
}

impl Service {
    /// A service with no privileges yet.
    pub fn new(body: ServiceBody) -> Self {
        Service {
            privileges: BTreeMap::new(),
            body,
        }
    }

    /// Adds (or replaces) a privilege with its relative expiry.
    pub fn with_privilege(mut self, id: u16, expire: u32) -> Self {
        self.privileges.insert(id, expire);
        self
    }

    /// The `u16` service type.
    pub fn service_type(&self) -> u16 {
        self.body.service_type()
    }
}

/// The content of an AccessToken2: who issued it, when, for how long, and its services.
///
/// Used both as the general builder ([`AccessToken2::new`], [`AccessToken2::with_service`],
/// [`AccessToken2::build`]) and as the parse result's content. The builder only enforces what Agora's
/// own builders enforce (32-hex app id and certificate, at least one service); the task-level
/// functions in [`crate::agora`] add Agora's documented identifier rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken2 {
    /// The app id (32 hex characters), stored as text.
    pub app_id: String,
    /// Unix seconds at signing.
    pub issued_at: u32,
    /// Token lifetime in seconds after `issued_at`.
    pub expire: u32,
    /// Random salt.
    pub salt: u32,
    /// Services; [`AccessToken2::build`] packs them stably sorted by type, a parse keeps token order.
    pub services: Vec<Service>,
}

impl AccessToken2 {
    /// An empty token for `app_id` issued at `issued_at` with `salt`, living `expire` seconds.
    pub fn new(app_id: impl Into<String>, issued_at: u32, expire: u32, salt: u32) -> Self {
        AccessToken2 {
            app_id: app_id.into(),
            issued_at,
            expire,
            salt,
            services: Vec::new(),
        }
    }

    /// Adds a service (repeated types are allowed and keep their order).
    pub fn with_service(mut self, service: Service) -> Self {
        self.services.push(service);
        self
    }

    /// Unix time at which the whole token expires (`issued_at + expire`).
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issued_at) + u64::from(self.expire)
    }

    /// True when `now` is past [`AccessToken2::expires_at`].
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.expires_at()
    }

    /// Unix time at which a privilege value expires; `None` for 0 ("governed by the token expiry").
    pub fn privilege_expires_at(&self, value: u32) -> Option<u64> {
        (value != 0).then(|| u64::from(self.issued_at) + u64::from(value))
    }

    /// The signing info with services in the order given (`sorted`: stably by type, as builders do).
    fn signing_info(&self, sorted: bool) -> Result<Vec<u8>> {
        let mut w = Writer::with_capacity(128 + 64 * self.services.len());
        w.string(&self.app_id)?;
        w.u32(self.issued_at);
        w.u32(self.expire);
        w.u32(self.salt);
        w.u16(
            u16::try_from(self.services.len())
                .map_err(|_| Error::invalid("services", "too many"))?,
        );
        let mut order: Vec<&Service> = self.services.iter().collect();
        if sorted {
            order.sort_by_key(|s| s.service_type());
        }
        for s in order {
            w.u16(s.service_type());
            w.map_u16_u32(&s.privileges)?;
            s.body.pack(&mut w)?;
        }
        Ok(w.buf)
    }

    /// The uncompressed payload `bytes16(signature) || signing_info` (services sorted by type).
    pub fn payload(&self, app_certificate: &str) -> Result<Vec<u8>> {
        check_hex32("app_id", &self.app_id)?;
        check_hex32("app_certificate", app_certificate)?;
        let info = self.signing_info(true)?;
        let sig = sign(app_certificate, self.issued_at, self.salt, &info);
        let mut out = Vec::with_capacity(34 + info.len());
        out.extend_from_slice(&32u16.to_le_bytes());
        out.extend_from_slice(&sig);
        out.extend_from_slice(&info);
        Ok(out)
    }

    /// Signs and encodes the token (`"007" + base64(zlib level 6(payload))`).
    ///
    /// Errors: app id or certificate not 32 hex characters, no service, a string over 65535 bytes.
    pub fn build_with_certificate(&self, app_certificate: &str) -> Result<String> {
        if self.services.is_empty() {
            return Err(Error::invalid(
                "services",
                "at least one service is required",
            ));
        }
        let payload = self.payload(app_certificate)?;
        let compressed = zlib_compress(&payload)?;
        let mut out = String::with_capacity(3 + compressed.len().div_ceil(3) * 4);
        out.push_str(VERSION_007);
        STANDARD.encode_string(&compressed, &mut out);
        Ok(out)
    }

    /// Signs with `key` (the token's `app_id` must be `key.app_id`).
    pub fn build(&self, key: &AgoraKey) -> Result<String> {
        if self.app_id != key.app_id {
            return Err(Error::invalid("app_id", "differs from the key's app id"));
        }
        self.build_with_certificate(key.app_certificate.expose())
    }

    /// Parses a 007 token. Base64 is decoded leniently (URL-safe characters, missing padding).
    /// An unknown service type stops the parse with [`ErrorKind::Malformed`].
    pub fn parse(token: &str) -> Result<ParsedAccessToken2> {
        let body = token
            .strip_prefix(VERSION_007)
            .ok_or_else(|| Error::malformed("not an AccessToken2 (no \"007\" prefix)"))?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::malformed("token is too long"));
        }
        let compressed = decode_b64_lenient(body)?;
        let payload = zlib_decompress(&compressed)?;
        Self::parse_payload(&payload)
    }

    /// Parses an inflated payload (`bytes16(signature) || signing_info`).
    pub fn parse_payload(payload: &[u8]) -> Result<ParsedAccessToken2> {
        let mut r = Reader::new(payload);
        let signature = r.bytes()?.to_vec();
        let info_start = r.position();
        let app_id = r.string()?;
        let issued_at = r.u32()?;
        let expire = r.u32()?;
        let salt = r.u32()?;
        let n = r.u16()?;
        let mut services = Vec::with_capacity(usize::from(n).min(16));
        for _ in 0..n {
            let ty = r.u16()?;
            if !(service_type::RTC..=service_type::STT).contains(&ty) {
                return Err(Error::malformed(format!("unknown service type {ty}")));
            }
            let privileges = r.map_u16_u32()?;
            let body = ServiceBody::unpack(ty, &mut r)?;
            services.push(Service { privileges, body });
        }
        Ok(ParsedAccessToken2 {
            token: AccessToken2 {
                app_id,
                issued_at,
                expire,
                salt,
                services,
            },
            signature,
            signing_info: payload[info_start..].to_vec(),
            trailing_bytes: r.remaining(),
        })
    }
}

/// A parsed AccessToken2 with what is needed to verify it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedAccessToken2 {
    /// The decoded content (services in token order).
    pub token: AccessToken2,
    /// The signature as carried by the token (32 bytes when well formed).
    pub signature: Vec<u8>,
    /// The signed bytes: everything after the signature, to the end of the payload.
    pub signing_info: Vec<u8>,
    /// Bytes after the last service (signed, but not understood); 0 for tokens from Agora's builders.
    pub trailing_bytes: usize,
}

impl ParsedAccessToken2 {
    /// Checks the signature with a certificate, in constant time. Does **not** check expiry
    /// (see [`ParsedAccessToken2::expires_at`] / [`ParsedAccessToken2::is_expired`]).
    pub fn verify_with_certificate(&self, app_certificate: &str) -> Result<()> {
        check_hex32("app_id", &self.token.app_id)
            .map_err(|_| Error::malformed("app id is not 32 hex characters"))?;
        check_hex32("app_certificate", app_certificate)?;
        let mut mac = signing_mac(app_certificate, self.token.issued_at, self.token.salt);
        mac.update(&self.signing_info);
        mac.verify_slice(&self.signature)
            .map_err(|_| ErrorKind::InvalidSignature.into())
    }

    /// Checks that the token belongs to `key.app_id` and that its signature matches the certificate.
    pub fn verify(&self, key: &AgoraKey) -> Result<()> {
        if self.token.app_id != key.app_id {
            return Err(Error::invalid(
                "app_id",
                "the token was issued for another app id",
            ));
        }
        self.verify_with_certificate(key.app_certificate.expose())
    }

    /// Unix time at which the whole token expires.
    pub fn expires_at(&self) -> u64 {
        self.token.expires_at()
    }

    /// True when `now` is past the token expiry.
    pub fn is_expired(&self, now: u64) -> bool {
        self.token.is_expired(now)
    }
}

fn signing_mac(certificate: &str, issued_at: u32, salt: u32) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut m1 = <HmacSha256 as Mac>::new_from_slice(&issued_at.to_le_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m1.update(certificate.as_bytes());
    let k1 = m1.finalize().into_bytes();
    let mut m2 = <HmacSha256 as Mac>::new_from_slice(&salt.to_le_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m2.update(&k1);
    let k2 = m2.finalize().into_bytes();
    <HmacSha256 as Mac>::new_from_slice(&k2)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn sign(certificate: &str, issued_at: u32, salt: u32, info: &[u8]) -> [u8; 32] {
    let mut mac = signing_mac(certificate, issued_at, salt);
    mac.update(info);
    mac.finalize().into_bytes().into()
}

thread_local! {
    /// One zlib stream per thread, reset after each token. A fresh stream allocates ~270 KB, which
    /// glibc may return to the OS after every token and fault in again on the next. `deflateReset`
    /// leaves the state of a fresh `deflateInit`, so the bytes are unchanged (the vectors check this).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(6), true));
}

/// Stock zlib, level 6, window 15: byte-identical to the Python/C++/Java/Node builders.
fn zlib_compress(data: &[u8]) -> Result<Vec<u8>> {
    DEFLATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut c) => {
            let out = deflate_all(&mut c, data);
            c.reset();
            out
        }
        // Re-entrant use cannot happen today; fall back to a fresh stream rather than panic.
        Err(_) => deflate_all(&mut Compress::new(Compression::new(6), true), data),
    })
}

fn deflate_all(c: &mut Compress, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        let status = c
            .compress_vec(
                &data[c.total_in() as usize..],
                &mut out,
                FlushCompress::Finish,
            )
            .map_err(|_| Error::invalid("payload", "zlib compression failed"))?;
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
        }
    }
}

/// Inflates a complete zlib stream; truncated streams, trailing bytes and oversize output fail.
pub(crate) fn zlib_decompress(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut d = flate2::bufread::ZlibDecoder::new(data);
    let mut out = Vec::new();
    (&mut d)
        .take(MAX_PAYLOAD_LEN as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Error::malformed("the zlib stream is corrupt or truncated"))?;
    if out.len() > MAX_PAYLOAD_LEN {
        return Err(Error::malformed("payload is too large"));
    }
    if d.total_in() as usize != data.len() {
        return Err(Error::malformed("bytes after the end of the zlib stream"));
    }
    Ok(out)
}

/// Standard Base64, padding optional; `-`/`_` accepted for `+`/`/`.
pub(crate) fn decode_b64_lenient(s: &str) -> Result<Vec<u8>> {
    let bad = || Error::malformed("invalid base64");
    if s.bytes().any(|b| b == b'-' || b == b'_') {
        let mapped: String = s
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        LENIENT_B64.decode(mapped).map_err(|_| bad())
    } else {
        LENIENT_B64.decode(s).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

    fn at2_01() -> AccessToken2 {
        AccessToken2::new(APP_ID, 1_111_111, 600, 1).with_service(
            Service::new(ServiceBody::Rtc {
                channel: "7d72365eb983485397e3e3f9d460bdda".into(),
                uid: "2882341273".into(),
            })
            .with_privilege(privilege::RTC_JOIN_CHANNEL, 600),
        )
    }

    /// The reused stream gives a fresh stream's bytes, call after call, and inflates back.
    #[test]
    fn zlib_compress_equals_a_fresh_stream_on_every_call() {
        for len in [1usize, 138, 700, 4096, 5000, 138] {
            let data: Vec<u8> = (0..len)
                .map(|i| (i * 31 % 253) as u8 ^ (i >> 7) as u8)
                .collect();
            let ours = zlib_compress(&data).unwrap();
            let fresh = deflate_all(&mut Compress::new(Compression::new(6), true), &data).unwrap();
            assert_eq!(ours, fresh, "{len} bytes");
            assert_eq!(zlib_decompress(&ours).unwrap(), data);
        }
    }

    #[test]
    fn worked_example_signature_and_string() {
        // spec §11
        let p = at2_01().payload(CERT).unwrap();
        assert_eq!(p.len(), 138);
        assert_eq!(
            hex(&p[2..34]),
            "16a0b84c5a5e82cbf74fb813d09f59c54bdac9c06120580539ac97578e958b1a"
        );
        assert_eq!(
            at2_01().build_with_certificate(CERT).unwrap(),
            "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj"
        );
    }

    #[test]
    fn services_are_stably_sorted_by_type() {
        let t = AccessToken2::new(APP_ID, 1, 600, 1)
            .with_service(Service::new(ServiceBody::Chat {
                user_id: "b".into(),
            }))
            .with_service(Service::new(ServiceBody::Rtm {
                user_id: "x".into(),
            }))
            .with_service(Service::new(ServiceBody::Chat {
                user_id: "a".into(),
            }));
        let parsed = AccessToken2::parse(&t.build_with_certificate(CERT).unwrap()).unwrap();
        let bodies: Vec<_> = parsed
            .token
            .services
            .iter()
            .map(|s| s.body.clone())
            .collect();
        assert_eq!(
            bodies,
            vec![
                ServiceBody::Rtm {
                    user_id: "x".into()
                },
                ServiceBody::Chat {
                    user_id: "b".into()
                },
                ServiceBody::Chat {
                    user_id: "a".into()
                },
            ]
        );
    }

    #[test]
    fn build_rejects_no_service_and_bad_credentials() {
        let empty = AccessToken2::new(APP_ID, 1, 600, 1);
        assert!(matches!(
            empty.build_with_certificate(CERT).unwrap_err().kind(),
            ErrorKind::InvalidInput {
                field: "services",
                ..
            }
        ));
        assert!(at2_01().build_with_certificate("zz").is_err());
        let mut bad = at2_01();
        bad.app_id = "g70CA35de60c44645bbae8a215061b33".into();
        assert!(bad.build_with_certificate(CERT).is_err());
    }

    #[test]
    fn verify_detects_tampering_and_wrong_certificate() {
        let token = at2_01().build_with_certificate(CERT).unwrap();
        let parsed = AccessToken2::parse(&token).unwrap();
        parsed.verify_with_certificate(CERT).unwrap();
        let wrong = parsed
            .verify_with_certificate("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .unwrap_err();
        assert_eq!(wrong.kind(), &ErrorKind::InvalidSignature);
        let mut tampered = parsed.clone();
        tampered.signing_info[40] ^= 1;
        assert_eq!(
            tampered.verify_with_certificate(CERT).unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
    }

    #[test]
    fn expiry_is_reported_separately() {
        let parsed = AccessToken2::parse(&at2_01().build_with_certificate(CERT).unwrap()).unwrap();
        assert_eq!(parsed.expires_at(), 1_111_711);
        assert!(!parsed.is_expired(1_111_711));
        assert!(parsed.is_expired(1_111_712));
        assert_eq!(parsed.token.privilege_expires_at(0), None);
        assert_eq!(parsed.token.privilege_expires_at(600), Some(1_111_711));
    }

    #[test]
    fn lenient_base64_and_unknown_type() {
        let token = at2_01().build_with_certificate(CERT).unwrap();
        let url = token
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
            .to_string();
        assert_eq!(
            AccessToken2::parse(&url).unwrap(),
            AccessToken2::parse(&token).unwrap()
        );
        // A payload with service type 11 stops with an error.
        let mut p = at2_01().payload(CERT).unwrap();
        let ty_at = 34 + 2 + 32 + 12 + 2;
        p[ty_at] = 11;
        let err = AccessToken2::parse_payload(&p).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Malformed(m) if m.contains("unknown service type 11"))
        );
    }

    #[test]
    fn zlib_truncated_and_trailing_are_rejected() {
        let z = zlib_compress(b"hello hello hello").unwrap();
        assert_eq!(zlib_decompress(&z).unwrap(), b"hello hello hello");
        assert!(zlib_decompress(&z[..z.len() - 2]).is_err());
        let mut extra = z.clone();
        extra.push(0);
        assert!(zlib_decompress(&extra).is_err());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
