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
    let key = &secret.key;
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
            agora::rtc_token(key, channel, &user, role, ttl, ttl, at)
        }
        AgoraKind::Rtm => agora::rtm_token(key, &user_id, ttl, at),
        AgoraKind::Chat => agora::chat_user_token(key, &user_id, ttl, at),
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
    /// `roomConfig`, as [`crate::livekit_room::resolve`] gave it (read as protojson, policy applied).
    pub room_config: Option<&'a rtc_signing::livekit::RoomConfiguration>,
    /// Lifetime, seconds.
    pub ttl: u32,
    /// Unix seconds now.
    pub now: u64,
}

/// Mints a LiveKit access token (`nbf` = now, `exp` = now + ttl, `sub` = identity).
pub fn livekit(secret: &LiveKitSecret, m: &LiveKitMint<'_>) -> Result<String, ApiError> {
    use rtc_signing::livekit::{AccessToken, VideoGrants};
    let key = &secret.key;
    let p = m.profile;
    let grants = VideoGrants {
        room_join: true,
        room: m.room.to_owned(),
        room_admin: p.room_admin,
        can_publish: Some(p.can_publish),
        can_subscribe: Some(p.can_subscribe),
        can_publish_data: Some(p.can_publish_data),
        can_publish_sources: if p.can_publish {
            p.can_publish_sources.clone()
        } else {
            Vec::new()
        },
        can_update_own_metadata: Some(p.can_update_own_metadata),
        hidden: p.hidden,
        ..VideoGrants::default()
    };
    let mut t = AccessToken::new(key)
        .with_identity(m.identity)
        .with_ttl(u64::from(m.ttl))
        .with_grants(grants);
    if let Some(n) = m.name {
        t = t.with_name(n);
    }
    if let Some(md) = m.metadata {
        t = t.with_metadata(md);
    }
    if let Some(a) = m.attributes {
        t = t.with_attributes(a.clone());
    }
    if let Some(rc) = m.room_config {
        t = t.with_room_config(rc.clone());
    }
    t.to_jwt(m.now).map_err(map_err)
}

/// Mints a Stream Chat user token (`exp` = now + ttl; `iat` as the signing crate backdates it).
pub fn stream_user(
    secret: &StreamSecret,
    user_id: &str,
    now: u64,
    ttl: u32,
) -> Result<String, ApiError> {
    rtc_signing::stream::user_token(&secret.key, user_id, now, Some(now + u64::from(ttl)))
        .map_err(map_err)
}

/// Mints a Stream Video call token (at least one call id; without any, use [`stream_user`]).
pub fn stream_video(
    secret: &StreamSecret,
    user_id: &str,
    call_cids: &[String],
    role: Option<&str>,
    now: u64,
    ttl: u32,
) -> Result<String, ApiError> {
    if call_cids.is_empty() {
        return stream_user(secret, user_id, now, ttl);
    }
    let cids: Vec<&str> = call_cids.iter().map(String::as_str).collect();
    rtc_signing::stream::video_token(
        &secret.key,
        user_id,
        &cids,
        role,
        now,
        Some(now + u64::from(ttl)),
    )
    .map_err(map_err)
}
