//! The one adapter between the handler and `rtc-signing`: turns a policy decision and a provider
//! secret into token text. Signing errors become [`ApiError`]s here.

use std::collections::BTreeMap;

use rtc_signing::agora::{self, MintAt, RtcRole, RtcUser};
use rtc_signing::ErrorKind;

use crate::error::ApiError;
use crate::policy::{AgoraUser, Profile};
use crate::secrets::{AgoraSecret, LiveKitSecret, StreamSecret};

fn map_err(e: rtc_signing::Error) -> ApiError {
    match e.kind() {
        ErrorKind::InvalidInput { field, reason } => {
            ApiError::BadRequest(format!("invalid {field}: {reason}"))
        }
        _ => {
            tracing::error!(error = %e, "signing failed");
            ApiError::Internal
        }
    }
}

/// The Agora token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgoraKind {
    /// RTC (channel join/publish).
    Rtc,
    /// Signaling / RTM.
    Rtm,
    /// Chat user token.
    Chat,
}

impl AgoraKind {
    /// `rtc`, `rtm`, `chat`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgoraKind::Rtc => "rtc",
            AgoraKind::Rtm => "rtm",
            AgoraKind::Chat => "chat",
        }
    }
}

/// Validates an Agora channel name (Agora's documented rule).
pub fn agora_channel(channel: &str) -> Result<(), ApiError> {
    agora::validate_channel(channel).map_err(map_err)
}

/// Mints an Agora token of `kind`. `channel` and `publisher` are used for RTC only.
pub fn agora(
    secret: &AgoraSecret,
    kind: AgoraKind,
    channel: &str,
    user: &AgoraUser,
    publisher: bool,
    ttl: u32,
    at: MintAt,
) -> Result<String, ApiError> {
    let key = secret.key();
    let user_id = match user {
        AgoraUser::Uid(u) => u.to_string(),
        AgoraUser::Account(a) => a.clone(),
    };
    match kind {
        AgoraKind::Rtc => {
            let user = match user {
                AgoraUser::Uid(u) => RtcUser::Uid(*u),
                AgoraUser::Account(a) => RtcUser::Account(a.clone()),
            };
            let role = if publisher {
                RtcRole::Publisher
            } else {
                RtcRole::Subscriber
            };
            agora::rtc_token(&key, channel, &user, role, ttl, ttl, at)
        }
        AgoraKind::Rtm => agora::rtm_token(&key, &user_id, ttl, at),
        AgoraKind::Chat => agora::chat_user_token(&key, &user_id, ttl, at),
    }
    .map_err(map_err)
}

/// What a LiveKit token carries.
#[derive(Debug, Clone)]
pub struct LiveKitMint<'a> {
    /// Participant identity (the caller).
    pub identity: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// Participant metadata.
    pub metadata: Option<&'a str>,
    /// Participant attributes.
    pub attributes: Option<&'a BTreeMap<String, String>>,
    /// Room.
    pub room: &'a str,
    /// Grants.
    pub profile: &'a Profile,
    /// `roomConfig` (only when policy allows it).
    pub room_config: Option<&'a serde_json::Value>,
    /// Lifetime, seconds.
    pub ttl: u32,
    /// Unix seconds now.
    pub now: u64,
}

/// Mints a LiveKit access token.
pub fn livekit(secret: &LiveKitSecret, m: &LiveKitMint<'_>) -> Result<String, ApiError> {
    let _ = (secret, m);
    // Waiting for rtc_signing::livekit::AccessToken (issue 2); answers 500 until it lands.
    Err(ApiError::Internal)
}

/// Mints a Stream Chat user token (`exp` = now + ttl).
pub fn stream_user(
    secret: &StreamSecret,
    user_id: &str,
    now: u64,
    ttl: u32,
) -> Result<String, ApiError> {
    let _ = (secret, user_id, now, ttl);
    Err(ApiError::Internal)
}

/// Mints a Stream Video call token.
pub fn stream_video(
    secret: &StreamSecret,
    user_id: &str,
    call_cids: &[String],
    role: Option<&str>,
    now: u64,
    ttl: u32,
) -> Result<String, ApiError> {
    let _ = (secret, user_id, call_cids, role, now, ttl);
    Err(ApiError::Internal)
}
