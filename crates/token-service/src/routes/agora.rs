//! `POST /agora/token`: Agora AccessToken2 for RTC (a channel), RTM or Chat.

use http::{Response, StatusCode};
use rtc_signing::agora::{self as signing, MintAt, RtcRole, RtcUser};
use serde::{Deserialize, Serialize};

use super::{access, answer, signing_error, AccessAsk, Ctx, Facts, Fail};
use crate::error::ApiError;
use crate::policy::AgoraUser;
use crate::secrets::AgoraSecret;
use crate::Provider;

/// The Agora token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
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

/// `POST /agora/token` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgoraBody {
    /// `rtc` (default), `rtm` or `chat`.
    #[serde(rename = "type", default)]
    pub kind: Option<AgoraKind>,
    /// The channel (required for `rtc`).
    pub channel: Option<String>,
    /// `publisher` or `subscriber` (RTC).
    pub role: Option<String>,
    /// Requested lifetime, seconds.
    pub ttl: Option<u32>,
    /// A client-chosen numeric uid (only when policy allows it).
    pub uid: Option<u32>,
    /// A client-chosen user account (only when policy allows it).
    pub account: Option<String>,
}

/// The answer (fields in alphabetical order, see [`super::answer`]).
#[derive(Serialize)]
struct AgoraAnswer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(rename = "appId")]
    app_id: &'a str,
    channel: Option<&'a str>,
    #[serde(rename = "expiresAt")]
    expires_at: u64,
    #[serde(rename = "issuedAt")]
    issued_at: u64,
    #[serde(rename = "refreshAfter")]
    refresh_after: u64,
    role: Option<&'a str>,
    token: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<u32>,
}

/// Whether an RTC role publishes (`None`: not an RTC role).
fn role_publishes(role: &str) -> Option<bool> {
    match role {
        "publisher" => Some(true),
        "subscriber" => Some(false),
        _ => None,
    }
}

pub(super) async fn mint(
    cx: &Ctx<'_>,
    secret: &AgoraSecret,
    body: AgoraBody,
    facts: &mut Facts,
) -> Result<Response<String>, Fail> {
    let (policy, caller, now) = (cx.policy, cx.caller, cx.now);
    let kind = body.kind.unwrap_or(AgoraKind::Rtc);
    if !policy.agora_type_allowed(kind.as_str()) {
        return Err(ApiError::forbidden(
            "type_not_allowed",
            format!("{} tokens are not allowed", kind.as_str()),
        )
        .into());
    }
    let user = policy.agora_user(caller, body.uid, body.account.as_deref())?;
    let (channel, role, cap) = if kind == AgoraKind::Rtc {
        let channel = body
            .channel
            .ok_or_else(|| ApiError::BadRequest("channel is required for rtc tokens".to_owned()))?;
        signing::validate_channel(&channel).map_err(signing_error)?;
        facts.room = Some(channel.clone());
        let role = policy
            .choose_role(caller, body.role.as_deref(), None)
            .ok_or_else(|| {
                ApiError::BadRequest("role is required: publisher or subscriber".to_owned())
            })?;
        if role_publishes(&role).is_none() {
            return Err(ApiError::BadRequest(format!(
                "role must be publisher or subscriber, not {role:?}"
            ))
            .into());
        }
        facts.role = Some(role.clone());
        let cap = policy.check_room(caller, &channel, &role)?;
        (Some(channel), Some(role), cap)
    } else {
        (None, None, None)
    };
    let mut ttl = policy.choose_ttl(Provider::Agora, body.ttl, &[cap])?;
    let (role, max_ttl) = access(
        cx,
        AccessAsk {
            room: channel.as_deref(),
            role: role.as_deref().unwrap_or(kind.as_str()),
            publishing: role.as_deref() == Some("publisher"),
            ttl,
        },
        &|r| {
            if kind == AgoraKind::Rtc {
                role_publishes(r)
            } else {
                Some(false)
            }
        },
    )
    .await?;
    let role = (kind == AgoraKind::Rtc).then_some(role);
    if let Some(m) = max_ttl {
        ttl = ttl.min(m).max(1);
    }
    facts.role = role.clone();
    facts.ttl = Some(ttl);

    let issued_at = u32::try_from(now).map_err(|_| ApiError::Internal)?;
    let at = MintAt {
        issued_at,
        salt: (cx.svc.salt)(),
    };
    let key = &secret.key;
    let user_id = || match &user {
        AgoraUser::Uid(u) => u.to_string(),
        AgoraUser::Account(a) => a.clone(),
    };
    let token = match kind {
        AgoraKind::Rtc => {
            let user = match &user {
                AgoraUser::Uid(u) => RtcUser::Uid(*u),
                AgoraUser::Account(a) => RtcUser::Account(a.clone()),
            };
            let role = if role.as_deref() == Some("publisher") {
                RtcRole::Publisher
            } else {
                RtcRole::Subscriber
            };
            let channel = channel.as_deref().unwrap_or("");
            signing::rtc_token(key, channel, &user, role, ttl, ttl, at)
        }
        AgoraKind::Rtm => signing::rtm_token(key, &user_id(), ttl, at),
        AgoraKind::Chat => signing::chat_user_token(key, &user_id(), ttl, at),
    }
    .map_err(signing_error)?;
    let (uid, account) = match &user {
        AgoraUser::Uid(u) => (Some(*u), None),
        AgoraUser::Account(a) => (None, Some(a.as_str())),
    };
    answer(
        StatusCode::OK,
        &AgoraAnswer {
            account,
            app_id: &secret.key.app_id,
            channel: channel.as_deref(),
            expires_at: now + u64::from(ttl),
            issued_at: now,
            refresh_after: now + u64::from(ttl) * 4 / 5,
            role: role.as_deref(),
            token: &token,
            kind: kind.as_str(),
            uid,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_keeps_the_key_order_it_had_as_a_json_value() {
        // `serde_json::Value` sorts its keys; the answer struct must give the same text.
        for (uid, account) in [(Some(7), None), (None, Some("alice"))] {
            let answer = AgoraAnswer {
                account,
                app_id: "app",
                channel: Some("room-1"),
                expires_at: 3,
                issued_at: 1,
                refresh_after: 2,
                role: None,
                token: "007x",
                kind: "rtc",
                uid,
            };
            let direct = serde_json::to_string(&answer).unwrap();
            let via_value = serde_json::to_value(&answer).unwrap().to_string();
            assert_eq!(direct, via_value);
        }
    }
}
