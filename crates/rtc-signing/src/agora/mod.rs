//! Agora AccessToken2 ("007") build/parse/verify, legacy 006 parse/verify, identifier rules.
//!
//! The task-level functions here ([`rtc_token`], [`rtm_token`], [`chat_user_token`],
//! [`chat_app_token`], [`validate_channel`], …) are used by token-service and the CLI. They enforce
//! Agora's documented identifier rules with [`ErrorKind::InvalidInput`](crate::ErrorKind) errors; the
//! general [`AccessToken2`] builder enforces only what Agora's own builders do.

mod pack;
mod token2;
mod v006;

pub use token2::{
    privilege, service_type, AccessToken2, ParsedAccessToken2, Rtm2Permissions, Service,
    ServiceBody, MAX_PAYLOAD_LEN, MAX_TOKEN_LEN, VERSION_007,
};
pub use v006::{AccessToken006, VERSION_006};

use crate::{Error, Result, Secret};

/// The longest token or privilege lifetime Agora documents (24 h), in seconds.
pub const MAX_LIFETIME_SECS: u32 = 86_400;
/// Channel names must be shorter than this many bytes.
pub const CHANNEL_MAX_BYTES_EXCLUSIVE: usize = 64;
/// User accounts may have at most this many bytes.
pub const ACCOUNT_MAX_BYTES: usize = 255;
/// RTM (and Chat) user ids must be shorter than this many bytes.
pub const USER_ID_MAX_BYTES_EXCLUSIVE: usize = 64;

/// Agora project credentials. `Debug` hides the certificate.
#[derive(Clone, Debug)]
pub struct AgoraKey {
    /// 32 hex characters.
    pub app_id: String,
    /// 32 hex characters.
    pub app_certificate: Secret,
}

impl AgoraKey {
    /// Validates both values (32 hex characters each).
    pub fn new(app_id: impl Into<String>, app_certificate: impl Into<String>) -> Result<Self> {
        let app_id = app_id.into();
        let app_certificate = app_certificate.into();
        check_hex32("app_id", &app_id)?;
        check_hex32("app_certificate", &app_certificate)?;
        Ok(AgoraKey {
            app_id,
            app_certificate: Secret::new(app_certificate),
        })
    }
}

/// The time and randomness of one mint: `issued_at` (unix seconds) and `salt` (1..=99_999_999 in the SDKs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintAt {
    /// Unix seconds.
    pub issued_at: u32,
    /// Random salt; any u32 verifies, the SDKs draw from 1..=99_999_999.
    pub salt: u32,
}

/// RTC role: publisher gets join + audio + video + data privileges; subscriber join only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcRole {
    /// Join and publish audio, video and data.
    Publisher,
    /// Join only.
    Subscriber,
}

/// The RTC user: numeric uid (0 = wildcard, packed as "") or a string user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcUser {
    /// Numeric uid; 0 means "any uid".
    Uid(u32),
    /// String user account (1..=255 bytes), signed verbatim (`"0"` stays `"0"`).
    Account(String),
}

impl RtcUser {
    /// The uid text as signed: `""` for uid 0, decimal for other uids, the account verbatim.
    pub fn signed_text(&self) -> String {
        match self {
            RtcUser::Uid(0) => String::new(),
            RtcUser::Uid(n) => n.to_string(),
            RtcUser::Account(a) => a.clone(),
        }
    }

    /// Checks Agora's rule for this kind of user (accounts: 1..=255 bytes).
    pub fn validate(&self) -> Result<()> {
        match self {
            RtcUser::Uid(_) => Ok(()),
            RtcUser::Account(a) => validate_account(a),
        }
    }
}

/// Explicit relative expiries (seconds after issue, 0 = governed by the token) of the four RTC privileges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcPrivileges {
    /// joinChannel.
    pub join: u32,
    /// publishAudioStream.
    pub audio: u32,
    /// publishVideoStream.
    pub video: u32,
    /// publishDataStream.
    pub data: u32,
}

/// `RtcTokenBuilder2.build_token_with_uid` / `_with_user_account`. TTLs are relative seconds.
pub fn rtc_token(
    key: &AgoraKey,
    channel: &str,
    user: &RtcUser,
    role: RtcRole,
    token_ttl: u32,
    privilege_ttl: u32,
    at: MintAt,
) -> Result<String> {
    validate_token_ttl(token_ttl)?;
    validate_privilege_ttl("privilege_ttl", privilege_ttl)?;
    rtc_builder(key, channel, user, role, token_ttl, privilege_ttl, at)?.build(key)
}

/// `RtcTokenBuilder2.build_token_with_uid_and_privilege` / `_with_user_account_and_privilege`:
/// all four RTC privileges, each with its own relative expiry (no role).
pub fn rtc_token_with_privileges(
    key: &AgoraKey,
    channel: &str,
    user: &RtcUser,
    token_ttl: u32,
    privileges: RtcPrivileges,
    at: MintAt,
) -> Result<String> {
    validate_channel(channel)?;
    user.validate()?;
    validate_token_ttl(token_ttl)?;
    for (field, v) in [
        ("join_ttl", privileges.join),
        ("audio_ttl", privileges.audio),
        ("video_ttl", privileges.video),
        ("data_ttl", privileges.data),
    ] {
        validate_privilege_ttl(field, v)?;
    }
    let rtc = Service::new(ServiceBody::Rtc {
        channel: channel.into(),
        uid: user.signed_text(),
    })
    .with_privilege(privilege::RTC_JOIN_CHANNEL, privileges.join)
    .with_privilege(privilege::RTC_PUBLISH_AUDIO, privileges.audio)
    .with_privilege(privilege::RTC_PUBLISH_VIDEO, privileges.video)
    .with_privilege(privilege::RTC_PUBLISH_DATA, privileges.data);
    AccessToken2::new(key.app_id.clone(), at.issued_at, token_ttl, at.salt)
        .with_service(rtc)
        .build(key)
}

/// `RtcTokenBuilder2.build_token_with_rtm`: RTC (as [`rtc_token`]) plus RTM login for the same user
/// (`login` = `token_ttl`). The RTM user id is the user's text, so uid 0 (wildcard) is refused.
pub fn rtc_rtm_token(
    key: &AgoraKey,
    channel: &str,
    user: &RtcUser,
    role: RtcRole,
    token_ttl: u32,
    privilege_ttl: u32,
    at: MintAt,
) -> Result<String> {
    validate_token_ttl(token_ttl)?;
    validate_privilege_ttl("privilege_ttl", privilege_ttl)?;
    let rtm_user = user.signed_text();
    validate_rtm_user_id(&rtm_user)?;
    rtc_builder(key, channel, user, role, token_ttl, privilege_ttl, at)?
        .with_service(
            Service::new(ServiceBody::Rtm { user_id: rtm_user })
                .with_privilege(privilege::LOGIN, token_ttl),
        )
        .build(key)
}

fn rtc_builder(
    key: &AgoraKey,
    channel: &str,
    user: &RtcUser,
    role: RtcRole,
    token_ttl: u32,
    privilege_ttl: u32,
    at: MintAt,
) -> Result<AccessToken2> {
    validate_channel(channel)?;
    user.validate()?;
    let mut rtc = Service::new(ServiceBody::Rtc {
        channel: channel.into(),
        uid: user.signed_text(),
    })
    .with_privilege(privilege::RTC_JOIN_CHANNEL, privilege_ttl);
    if role == RtcRole::Publisher {
        rtc = rtc
            .with_privilege(privilege::RTC_PUBLISH_AUDIO, privilege_ttl)
            .with_privilege(privilege::RTC_PUBLISH_VIDEO, privilege_ttl)
            .with_privilege(privilege::RTC_PUBLISH_DATA, privilege_ttl);
    }
    Ok(AccessToken2::new(key.app_id.clone(), at.issued_at, token_ttl, at.salt).with_service(rtc))
}

/// `RtmTokenBuilder2.build_token`.
pub fn rtm_token(key: &AgoraKey, user_id: &str, ttl: u32, at: MintAt) -> Result<String> {
    validate_rtm_user_id(user_id)?;
    let body = ServiceBody::Rtm {
        user_id: user_id.into(),
    };
    one_privilege_token(key, body, privilege::LOGIN, ttl, at)
}

/// `ChatTokenBuilder2.build_user_token`.
pub fn chat_user_token(key: &AgoraKey, user_id: &str, ttl: u32, at: MintAt) -> Result<String> {
    validate_chat_user_id(user_id)?;
    let body = ServiceBody::Chat {
        user_id: user_id.into(),
    };
    one_privilege_token(key, body, privilege::CHAT_USER, ttl, at)
}

/// `ChatTokenBuilder2.build_app_token`.
pub fn chat_app_token(key: &AgoraKey, ttl: u32, at: MintAt) -> Result<String> {
    let body = ServiceBody::Chat {
        user_id: String::new(),
    };
    one_privilege_token(key, body, privilege::CHAT_APP, ttl, at)
}

/// A token of one service holding one privilege for the token's whole lifetime `ttl`.
fn one_privilege_token(
    key: &AgoraKey,
    body: ServiceBody,
    privilege: u16,
    ttl: u32,
    at: MintAt,
) -> Result<String> {
    validate_token_ttl(ttl)?;
    AccessToken2::new(key.app_id.clone(), at.issued_at, ttl, at.salt)
        .with_service(Service::new(body).with_privilege(privilege, ttl))
        .build(key)
}

/// True for the 89 characters Agora allows in channel names and accounts.
pub fn is_agora_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " !#$%&()+-:;<=.>?@[]^_{}|~,".contains(c)
}

/// Agora's documented channel-name rule (< 64 bytes, 89-character set).
pub fn validate_channel(channel: &str) -> Result<()> {
    if channel.is_empty() {
        return Err(Error::invalid("channel", "must not be empty"));
    }
    if channel.len() >= CHANNEL_MAX_BYTES_EXCLUSIVE {
        return Err(Error::invalid("channel", "must be shorter than 64 bytes"));
    }
    if !channel.chars().all(is_agora_name_char) {
        return Err(Error::invalid(
            "channel",
            "may only contain a-z A-Z 0-9 space and !#$%&()+-:;<=.>?@[]^_{}|~,",
        ));
    }
    Ok(())
}

/// Agora's user-account rule: 1..=255 bytes.
pub fn validate_account(account: &str) -> Result<()> {
    if account.is_empty() {
        return Err(Error::invalid("account", "must not be empty"));
    }
    if account.len() > ACCOUNT_MAX_BYTES {
        return Err(Error::invalid("account", "must be at most 255 bytes"));
    }
    Ok(())
}

/// Agora's RTM user-id rule: 1..64 bytes, not starting with a space.
pub fn validate_rtm_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(Error::invalid("user_id", "must not be empty"));
    }
    if user_id.len() >= USER_ID_MAX_BYTES_EXCLUSIVE {
        return Err(Error::invalid("user_id", "must be shorter than 64 bytes"));
    }
    if user_id.starts_with(' ') {
        return Err(Error::invalid("user_id", "must not start with a space"));
    }
    Ok(())
}

/// The Chat user-id rule used here: the RTM rule (1..64 bytes, no leading space).
pub fn validate_chat_user_id(user_id: &str) -> Result<()> {
    validate_rtm_user_id(user_id)
}

/// Token lifetime: 1..=86400 seconds.
pub fn validate_token_ttl(ttl: u32) -> Result<()> {
    if ttl == 0 || ttl > MAX_LIFETIME_SECS {
        return Err(Error::invalid(
            "ttl",
            "must be 1..=86400 seconds (Agora allows at most 24 h)",
        ));
    }
    Ok(())
}

/// Privilege lifetime: 0 (governed by the token) ..= 86400 seconds.
fn validate_privilege_ttl(field: &'static str, ttl: u32) -> Result<()> {
    if ttl > MAX_LIFETIME_SECS {
        return Err(Error::invalid(
            field,
            "must be at most 86400 seconds (24 h)",
        ));
    }
    Ok(())
}

/// 32 hex characters (app id, certificate).
pub(crate) fn check_hex32(field: &'static str, v: &str) -> Result<()> {
    if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::invalid(field, "must be 32 hexadecimal characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    const AT: MintAt = MintAt {
        issued_at: 1_111_111,
        salt: 1,
    };

    fn key() -> AgoraKey {
        AgoraKey::new(APP_ID, CERT).unwrap()
    }

    fn field_of(e: Error) -> &'static str {
        match e.kind() {
            ErrorKind::InvalidInput { field, .. } => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn key_requires_32_hex_and_hides_certificate() {
        assert_eq!(field_of(AgoraKey::new("abc", CERT).unwrap_err()), "app_id");
        assert_eq!(
            field_of(AgoraKey::new(APP_ID, "x".repeat(32)).unwrap_err()),
            "app_certificate"
        );
        assert!(!format!("{:?}", key()).contains(CERT));
    }

    #[test]
    fn channel_rule() {
        validate_channel("Room 1!#$%&()+-:;<=.>?@[]^_{}|~,").unwrap();
        assert!(validate_channel(&"a".repeat(63)).is_ok());
        assert_eq!(
            field_of(validate_channel(&"a".repeat(64)).unwrap_err()),
            "channel"
        );
        assert!(validate_channel("").is_err());
        for bad in ["a/b", "a*b", "a\"b", "chännel", "a\\b", "a'b", "a\nb"] {
            assert!(validate_channel(bad).is_err(), "{bad}");
        }
        // exactly 89 allowed ASCII characters
        assert_eq!(
            (0u8..128)
                .filter(|b| is_agora_name_char(*b as char))
                .count(),
            89
        );
    }

    #[test]
    fn user_rules() {
        assert!(validate_account(&"a".repeat(255)).is_ok());
        assert!(validate_account(&"a".repeat(256)).is_err());
        assert!(validate_account("").is_err());
        assert!(validate_rtm_user_id(&"u".repeat(63)).is_ok());
        assert!(validate_rtm_user_id(&"u".repeat(64)).is_err());
        assert!(validate_rtm_user_id(" x").is_err());
        assert_eq!(RtcUser::Uid(0).signed_text(), "");
        assert_eq!(RtcUser::Uid(u32::MAX).signed_text(), "4294967295");
        assert_eq!(RtcUser::Account("0".into()).signed_text(), "0");
    }

    #[test]
    fn lifetimes_capped_at_24h() {
        let k = key();
        let u = RtcUser::Uid(1);
        assert!(rtc_token(&k, "c", &u, RtcRole::Publisher, 86_400, 86_400, AT).is_ok());
        assert_eq!(
            field_of(rtc_token(&k, "c", &u, RtcRole::Publisher, 86_401, 0, AT).unwrap_err()),
            "ttl"
        );
        assert_eq!(
            field_of(rtc_token(&k, "c", &u, RtcRole::Publisher, 0, 0, AT).unwrap_err()),
            "ttl"
        );
        assert_eq!(
            field_of(rtc_token(&k, "c", &u, RtcRole::Publisher, 600, 86_401, AT).unwrap_err()),
            "privilege_ttl"
        );
        assert!(rtm_token(&k, "u", 86_401, AT).is_err());
        assert!(chat_app_token(&k, 86_401, AT).is_err());
    }

    #[test]
    fn roles_give_the_documented_privileges() {
        let k = key();
        let publisher =
            rtc_token(&k, "c", &RtcUser::Uid(7), RtcRole::Publisher, 600, 300, AT).unwrap();
        let subscriber =
            rtc_token(&k, "c", &RtcUser::Uid(7), RtcRole::Subscriber, 600, 300, AT).unwrap();
        let p = AccessToken2::parse(&publisher).unwrap();
        let s = AccessToken2::parse(&subscriber).unwrap();
        assert_eq!(
            p.token.services[0]
                .privileges
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(
            s.token.services[0]
                .privileges
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            [1]
        );
        assert!(p.token.services[0].privileges.values().all(|v| *v == 300));
        p.verify(&k).unwrap();
    }

    #[test]
    fn rtc_rtm_adds_login_with_token_ttl_and_refuses_wildcard() {
        let k = key();
        let t = rtc_rtm_token(
            &k,
            "c",
            &RtcUser::Account("bob".into()),
            RtcRole::Subscriber,
            600,
            0,
            AT,
        )
        .unwrap();
        let p = AccessToken2::parse(&t).unwrap();
        assert_eq!(p.token.services.len(), 2);
        assert_eq!(
            p.token.services[1].body,
            ServiceBody::Rtm {
                user_id: "bob".into()
            }
        );
        assert_eq!(p.token.services[1].privileges[&privilege::LOGIN], 600);
        assert!(rtc_rtm_token(&k, "c", &RtcUser::Uid(0), RtcRole::Subscriber, 600, 0, AT).is_err());
    }

    #[test]
    fn explicit_privileges_are_each_signed() {
        let k = key();
        let privs = RtcPrivileges {
            join: 3600,
            audio: 1800,
            video: 1200,
            data: 600,
        };
        let t = rtc_token_with_privileges(&k, "c", &RtcUser::Uid(5), 3600, privs, AT).unwrap();
        let p = AccessToken2::parse(&t).unwrap();
        assert_eq!(
            p.token.services[0]
                .privileges
                .values()
                .copied()
                .collect::<Vec<_>>(),
            [3600, 1800, 1200, 600]
        );
    }
}
