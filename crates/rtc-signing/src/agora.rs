//! Agora AccessToken2 ("007") build/parse/verify, legacy 006 parse/verify, identifier rules.
//! CONTRACT: signatures below are used by token-service and the CLI. Implement the bodies
//! (split into submodules under `agora/` as you like).

use crate::{Result, Secret};

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
        let _ = (app_id.into(), app_certificate.into());
        todo!()
    }
}

/// The time and randomness of one mint: `issued_at` (unix seconds) and `salt` (1..=99_999_999 in the SDKs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintAt {
    pub issued_at: u32,
    pub salt: u32,
}

/// RTC role: publisher gets join + audio + video + data privileges; subscriber join only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcRole {
    Publisher,
    Subscriber,
}

/// The RTC user: numeric uid (0 = wildcard, packed as "") or a string user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcUser {
    Uid(u32),
    Account(String),
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
    let _ = (key, channel, user, role, token_ttl, privilege_ttl, at);
    todo!()
}

/// `RtmTokenBuilder2.build_token`.
pub fn rtm_token(key: &AgoraKey, user_id: &str, ttl: u32, at: MintAt) -> Result<String> {
    let _ = (key, user_id, ttl, at);
    todo!()
}

/// `ChatTokenBuilder2.build_user_token`.
pub fn chat_user_token(key: &AgoraKey, user_id: &str, ttl: u32, at: MintAt) -> Result<String> {
    let _ = (key, user_id, ttl, at);
    todo!()
}

/// `ChatTokenBuilder2.build_app_token`.
pub fn chat_app_token(key: &AgoraKey, ttl: u32, at: MintAt) -> Result<String> {
    let _ = (key, ttl, at);
    todo!()
}

/// Agora's documented channel-name rule (< 64 bytes, 89-character set).
pub fn validate_channel(channel: &str) -> Result<()> {
    let _ = channel;
    todo!()
}
