//! `POST /stream/token`: Stream Chat user tokens and Video call tokens.

use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::{access, answer, signing_error, AccessAsk, Ctx, Facts, Fail};
use crate::error::ApiError;
use crate::secrets::StreamSecret;
use crate::Provider;

/// Stream token type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    /// Chat user token.
    Chat,
    /// Video (call) token.
    Video,
}

/// `POST /stream/token` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamBody {
    /// `chat` or `video` (default: `video` with `call_cids`, else `chat`).
    #[serde(rename = "type", default)]
    pub kind: Option<StreamKind>,
    /// Calls (`type:id`) for a video token.
    pub call_cids: Option<Vec<String>>,
    /// Call-level role (policy must allow it; needs `call_cids`).
    pub role: Option<String>,
    /// Requested lifetime, seconds.
    pub ttl: Option<u32>,
}

/// The answer (fields in alphabetical order, see [`super::answer`]).
#[derive(Serialize)]
struct StreamAnswer<'a> {
    #[serde(rename = "apiKey")]
    api_key: &'a str,
    #[serde(rename = "expiresAt")]
    expires_at: u64,
    token: &'a str,
    #[serde(rename = "userId")]
    user_id: &'a str,
}

/// The role a Stream video token without a role is checked as, against room rules.
pub const STREAM_IMPLICIT_ROLE: &str = "user";

pub(super) async fn mint(
    cx: &Ctx<'_>,
    secret: &StreamSecret,
    body: StreamBody,
    facts: &mut Facts,
) -> Result<Response<String>, Fail> {
    let (policy, caller, now) = (cx.policy, cx.caller, cx.now);
    let cids = body.call_cids.unwrap_or_default();
    let kind = body.kind.unwrap_or(if cids.is_empty() {
        StreamKind::Chat
    } else {
        StreamKind::Video
    });
    let kind_name = if kind == StreamKind::Chat {
        "chat"
    } else {
        "video"
    };
    if !policy.stream_type_allowed(kind_name) {
        return Err(ApiError::forbidden(
            "type_not_allowed",
            format!("{kind_name} tokens are not allowed"),
        )
        .into());
    }
    if kind == StreamKind::Chat && (!cids.is_empty() || body.role.is_some()) {
        return Err(
            ApiError::BadRequest("call_cids and role are for video tokens".to_owned()).into(),
        );
    }
    for cid in &cids {
        let valid = cid
            .split_once(':')
            .is_some_and(|(t, id)| !t.is_empty() && !id.is_empty());
        if !valid || cid.len() > 128 {
            return Err(ApiError::BadRequest(format!(
                "call_cids entries look like \"default:call-1\", not {cid:?}"
            ))
            .into());
        }
    }
    if cids.len() > 32 {
        return Err(ApiError::BadRequest("at most 32 call_cids".to_owned()).into());
    }
    let role = if kind == StreamKind::Video {
        policy.choose_role(caller, body.role.as_deref(), None)
    } else {
        None
    };
    if role.is_some() && cids.is_empty() {
        return Err(ApiError::BadRequest("a role needs call_cids".to_owned()).into());
    }
    let check_role = role
        .clone()
        .unwrap_or_else(|| STREAM_IMPLICIT_ROLE.to_owned());
    let mut caps = Vec::new();
    for cid in &cids {
        caps.push(policy.check_room(caller, cid, &check_role)?);
    }
    if !cids.is_empty() {
        facts.room = Some(cids.join(","));
    }
    facts.role = role.clone();
    let mut ttl = policy.choose_ttl(Provider::Stream, body.ttl, &caps)?;
    let mut final_role = role.clone();
    let rooms: Vec<Option<&str>> = if cids.is_empty() {
        vec![None]
    } else {
        cids.iter().map(|c| Some(c.as_str())).collect()
    };
    for room in rooms {
        let ask = AccessAsk {
            room,
            role: &check_role,
            publishing: false,
            ttl,
        };
        let (r, max_ttl) = access(cx, ask, &|_| Some(false)).await?;
        if let Some(m) = max_ttl {
            ttl = ttl.min(m).max(1);
        }
        if role.is_some() || r != check_role {
            final_role = Some(r);
        }
    }
    facts.role = final_role.clone();
    facts.ttl = Some(ttl);
    let key = &secret.key;
    let user = caller.subject.as_str();
    let exp = Some(now + u64::from(ttl));
    let token = if cids.is_empty() {
        // A chat token, or a video token for no particular call: a user token (`exp` = now + ttl;
        // `iat` as the signing crate backdates it).
        rtc_signing::stream::user_token(key, user, now, exp)
    } else {
        let cids: Vec<&str> = cids.iter().map(String::as_str).collect();
        rtc_signing::stream::video_token(key, user, &cids, final_role.as_deref(), now, exp)
    }
    .map_err(signing_error)?;
    answer(
        StatusCode::OK,
        &StreamAnswer {
            api_key: &secret.key.api_key,
            expires_at: now + u64::from(ttl),
            token: &token,
            user_id: &caller.subject,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_keeps_the_key_order_it_had_as_a_json_value() {
        let answer = StreamAnswer {
            api_key: "key",
            expires_at: 9,
            token: "jwt",
            user_id: "u",
        };
        let direct = serde_json::to_string(&answer).unwrap();
        assert_eq!(direct, serde_json::to_value(&answer).unwrap().to_string());
    }
}
