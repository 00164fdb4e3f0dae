//! `POST /livekit/token`: LiveKit's standard token endpoint (plus an optional `role`, a grant
//! profile of the policy).

use std::collections::BTreeMap;

use http::{Response, StatusCode};
use rtc_signing::livekit::{AccessToken, VideoGrants};
use serde::{Deserialize, Serialize};

use super::{access, answer, signing_error, AccessAsk, Ctx, Facts, Fail};
use crate::error::ApiError;
use crate::livekit_room;
use crate::policy::Profile;
use crate::secrets::LiveKitSecret;
use crate::Provider;

/// `POST /livekit/token` body: LiveKit's standard token endpoint request, plus an optional `role`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveKitBody {
    /// The room; absent or empty: a fresh room from `livekit.room_template`.
    pub room_name: Option<String>,
    /// Display name.
    pub participant_name: Option<String>,
    /// Must equal the caller's subject when given.
    pub participant_identity: Option<String>,
    /// Participant metadata.
    pub participant_metadata: Option<String>,
    /// Participant attributes.
    pub participant_attributes: Option<BTreeMap<String, String>>,
    /// Room creation options (protojson `RoomConfiguration`; `livekit.room_config` policy).
    pub room_config: Option<serde_json::Value>,
    /// A grant profile (policy must allow it).
    pub role: Option<String>,
}

/// LiveKit's token-endpoint answer (fields in alphabetical order, see [`super::answer`]).
#[derive(Serialize)]
struct LiveKitAnswer<'a> {
    participant_token: &'a str,
    server_url: &'a str,
}

pub(super) async fn mint(
    cx: &Ctx<'_>,
    secret: &LiveKitSecret,
    body: LiveKitBody,
    facts: &mut Facts,
) -> Result<Response<String>, Fail> {
    let (policy, caller) = (cx.policy, cx.caller);
    if body
        .participant_identity
        .as_deref()
        .is_some_and(|i| i != caller.subject)
    {
        return Err(ApiError::forbidden(
            "identity_not_allowed",
            "participant_identity must be the caller's own id",
        )
        .into());
    }
    let room = livekit_room::room_name(policy, &caller.subject, body.room_name);
    facts.room = Some(room.clone());
    let room_config =
        livekit_room::resolve(policy, &caller.subject, &room, body.room_config.as_ref())?;
    let profiles = policy.profiles();
    let role = policy
        .choose_role(caller, body.role.as_deref(), Some("host"))
        .ok_or_else(|| ApiError::BadRequest("role is required".to_owned()))?;
    if !profiles.contains_key(&role) {
        return Err(ApiError::BadRequest(format!("unknown role {role:?}")).into());
    }
    facts.role = Some(role.clone());
    let cap = policy.check_room(caller, &room, &role)?;
    let mut ttl = policy.choose_ttl(Provider::LiveKit, None, &[cap])?;
    let (role, max_ttl) = access(
        cx,
        AccessAsk {
            room: Some(&room),
            role: &role,
            publishing: profiles.get(&role).is_some_and(|p| p.can_publish),
            ttl,
        },
        &|r| profiles.get(r).map(|p| p.can_publish),
    )
    .await?;
    if let Some(m) = max_ttl {
        ttl = ttl.min(m).max(1);
    }
    facts.role = Some(role.clone());
    facts.ttl = Some(ttl);
    let profile = profiles.get(&role).ok_or(ApiError::Internal)?;
    let mut token = AccessToken::new(&secret.key)
        .with_identity(&caller.subject)
        .with_ttl(u64::from(ttl))
        .with_grants(grants(&room, profile));
    if let Some(n) = body.participant_name.as_deref() {
        token = token.with_name(n);
    }
    if let Some(md) = body.participant_metadata.as_deref() {
        token = token.with_metadata(md);
    }
    if let Some(a) = body.participant_attributes {
        token = token.with_attributes(a);
    }
    if let Some(rc) = room_config {
        token = token.with_room_config(rc);
    }
    // `nbf` = now, `exp` = now + ttl, `sub` = the caller.
    let token = token.to_jwt(cx.now).map_err(signing_error)?;
    answer(
        StatusCode::CREATED,
        &LiveKitAnswer {
            participant_token: &token,
            server_url: &secret.url,
        },
    )
}

/// The video grants of `profile` in `room`.
fn grants(room: &str, p: &Profile) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_owned(),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_keeps_the_key_order_it_had_as_a_json_value() {
        let answer = LiveKitAnswer {
            participant_token: "jwt",
            server_url: "wss://x",
        };
        let direct = serde_json::to_string(&answer).unwrap();
        assert_eq!(direct, serde_json::to_value(&answer).unwrap().to_string());
    }
}
