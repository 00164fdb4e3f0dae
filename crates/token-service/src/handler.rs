//! The one request handler of the three functions and the local server.
//!
//! Order of checks (each failure is a JSON error response, never an `Err`):
//! route (404) -> method `POST` (405 + `Allow`) -> body size <= 16 KiB (413) -> caller JWT (401) ->
//! `Content-Type: application/json` (415) -> typed body, unknown fields rejected (400) -> provider
//! secret and policy loaded (503 + `Retry-After`) -> policy (400/403) -> live access checks
//! (403/429/503) -> mint with the injected clock and salt -> JSON with `Cache-Control: no-store`.
//!
//! Routes: the path is API Gateway's `rawPath` with a named stage prefix removed, so
//! `/prod/agora/token` on stage `prod` is `/agora/token`.

use std::collections::BTreeMap;
use std::time::Instant;

use caller_auth::Caller;
use http::{header, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use rtc_signing::agora::MintAt;
use serde::{Deserialize, Serialize};

use crate::access::{AccessDecision, AccessRequest};
use crate::error::{json_response, ApiError};
use crate::livekit_room;
use crate::mint::{self, AgoraKind, LiveKitMint};
use crate::policy::{AgoraUser, Policy};
use crate::secrets::ProviderSecret;
use crate::service::Service;
use crate::telemetry::{Outcome, RequestLog};
use crate::Provider;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A failure with its log classification.
struct Fail {
    err: ApiError,
    outcome: Outcome,
    detail: Option<String>,
}

impl From<ApiError> for Fail {
    fn from(err: ApiError) -> Self {
        let outcome = match err.status().as_u16() {
            401 => Outcome::AuthFailed,
            403 | 429 => Outcome::Denied,
            400..=499 => Outcome::Rejected,
            _ => Outcome::Error,
        };
        Fail {
            err,
            outcome,
            detail: None,
        }
    }
}

fn secret_fail(err: ApiError) -> Fail {
    Fail {
        err,
        outcome: Outcome::SecretError,
        detail: None,
    }
}

/// What the log line reports about a request, filled in as the handler learns it.
#[derive(Default)]
struct Facts {
    subject: Option<String>,
    room: Option<String>,
    role: Option<String>,
    ttl: Option<u32>,
}

/// The route path: `rawPath` without a named stage prefix.
pub fn route_path(req: &Request) -> &str {
    let raw = req.raw_http_path();
    let path = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(stage) = ctx
            .stage
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "$default")
        {
            if let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                if rest.starts_with('/') {
                    return rest;
                }
            }
        }
    }
    path
}

fn request_id(req: &Request) -> &str {
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return &ctx.request_id;
        }
    }
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = &ctx.request_id {
            return id;
        }
    }
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .unwrap_or("-")
}

/// Answers one request. Never fails: every error is a JSON response.
pub async fn handle(svc: &Service, req: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(&req);
    let route = route_path(&req);
    let mut facts = Facts::default();
    let result = process(svc, &req, route, &mut facts).await;
    let (resp, outcome, code, detail) = match result {
        Ok(resp) => (resp, Outcome::Issued, None, None),
        Err(f) => {
            let code = f.err.code();
            (f.err.into_response(), f.outcome, Some(code), f.detail)
        }
    };
    let log = RequestLog {
        request_id,
        route,
        status: resp.status().as_u16(),
        outcome: Some(outcome),
        error_code: code,
        detail: detail.as_deref(),
        subject: facts.subject.as_deref(),
        room: facts.room.as_deref(),
        role: facts.role.as_deref(),
        ttl: facts.ttl,
        latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    };
    svc.telemetry
        .record(&log, svc.clock.now().saturating_mul(1000));
    resp
}

async fn process(
    svc: &Service,
    req: &Request,
    route: &str,
    facts: &mut Facts,
) -> Result<Response<Body>, Fail> {
    if route != svc.provider.route() {
        return Err(ApiError::NotFound.into());
    }
    if req.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" }.into());
    }
    let body = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }
        .into());
    }

    let now = svc.clock.now();
    svc.refresh_hs_secrets(now).await.map_err(secret_fail)?;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = match svc.auth.authenticate(authorization, now).await {
        Ok(c) => c,
        Err(e) => {
            return Err(Fail {
                err: ApiError::Unauthorized,
                outcome: Outcome::AuthFailed,
                detail: Some(e.to_string()),
            });
        }
    };
    facts.subject = Some(caller.subject.clone());

    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType.into());
    }

    let policy = svc.policy(now).await.map_err(secret_fail)?;
    policy.check_subject(&caller)?;
    let secret = svc.provider_secret(now).await.map_err(secret_fail)?;
    match (&*secret, svc.provider) {
        (ProviderSecret::Agora(s), Provider::Agora) => {
            agora(svc, s, &policy, &caller, parse(body)?, now, facts).await
        }
        (ProviderSecret::LiveKit(s), Provider::LiveKit) => {
            livekit(svc, s, &policy, &caller, parse(body)?, now, facts).await
        }
        (ProviderSecret::Stream(s), Provider::Stream) => {
            stream(svc, s, &policy, &caller, parse(body)?, now, facts).await
        }
        _ => Err(ApiError::Internal.into()),
    }
}

/// Parses a JSON body into `T`, mapping serde's errors to the documented codes.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson(
            "the request body is empty; expected a JSON object".to_owned(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("unknown field") {
            ApiError::UnknownField(msg)
        } else if e.is_data() {
            ApiError::BadRequest(msg)
        } else {
            ApiError::InvalidJson(msg)
        }
    })
}

/// Runs the live access checks; returns the (possibly narrowed) role and TTL cap.
#[allow(clippy::too_many_arguments)]
async fn access(
    svc: &Service,
    policy: &Policy,
    caller: &Caller,
    room: Option<&str>,
    role: &str,
    publishing: bool,
    ttl: u32,
    now: u64,
    valid_role: &(dyn Fn(&str) -> Option<bool> + Sync),
) -> Result<(String, Option<u32>), Fail> {
    let req = AccessRequest::new(svc.provider.name(), &caller.subject, room, role, now)
        .publishing(publishing)
        .ttl(ttl)
        .caller(Some(&caller.issuer), &caller.roles);
    match svc.access.check(&req).await {
        Ok(AccessDecision::Allow {
            role: None,
            max_ttl,
        }) => Ok((role.to_owned(), max_ttl)),
        Ok(AccessDecision::Allow {
            role: Some(narrow),
            max_ttl,
        }) => {
            // A narrower role must be one this provider knows, must not add publishing, and must
            // pass the static policy for this caller and room.
            let ok = match valid_role(&narrow) {
                Some(narrow_publishes) => {
                    (publishing || !narrow_publishes)
                        && room.is_none_or(|r| policy.check_room(caller, r, &narrow).is_ok())
                }
                None => false,
            };
            if ok {
                Ok((narrow, max_ttl))
            } else {
                Err(ApiError::forbidden("access_denied", "access denied").into())
            }
        }
        Ok(AccessDecision::Deny(code)) => {
            Err(ApiError::forbidden(code.code(), code.message()).into())
        }
        Ok(AccessDecision::Quota { retry_after }) => Err(ApiError::RateLimited {
            retry_after: retry_after.max(1),
        }
        .into()),
        Err(e) => Err(Fail {
            err: ApiError::Unavailable {
                retry_after: e.retry_after().max(1),
                message: "access checks temporarily unavailable; retry later",
            },
            outcome: Outcome::Error,
            detail: Some(e.to_string()),
        }),
    }
}

fn ok_json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    json_response(status, body)
}

/// `POST /agora/token` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgoraBody {
    /// `rtc` (default), `rtm` or `chat`.
    #[serde(rename = "type", default)]
    pub kind: Option<AgoraKind>,
    /// The channel (required for `rtc`).
    #[serde(default)]
    pub channel: Option<String>,
    /// `publisher` or `subscriber` (RTC).
    #[serde(default)]
    pub role: Option<String>,
    /// Requested lifetime, seconds.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// A client-chosen numeric uid (only when policy allows it).
    #[serde(default)]
    pub uid: Option<u32>,
    /// A client-chosen user account (only when policy allows it).
    #[serde(default)]
    pub account: Option<String>,
}

fn agora_role_publishes(role: &str) -> Option<bool> {
    match role {
        "publisher" => Some(true),
        "subscriber" => Some(false),
        _ => None,
    }
}

async fn agora(
    svc: &Service,
    secret: &crate::secrets::AgoraSecret,
    policy: &Policy,
    caller: &Caller,
    body: AgoraBody,
    now: u64,
    facts: &mut Facts,
) -> Result<Response<Body>, Fail> {
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
        mint::agora_channel(&channel)?;
        facts.room = Some(channel.clone());
        let role = policy
            .choose_role(caller, body.role.as_deref(), None)
            .ok_or_else(|| {
                ApiError::BadRequest("role is required: publisher or subscriber".to_owned())
            })?;
        if agora_role_publishes(&role).is_none() {
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
        svc,
        policy,
        caller,
        channel.as_deref(),
        role.as_deref().unwrap_or(kind.as_str()),
        role.as_deref() == Some("publisher"),
        ttl,
        now,
        &|r| {
            if kind == AgoraKind::Rtc {
                agora_role_publishes(r)
            } else {
                Some(false)
            }
        },
    )
    .await?;
    let role = if kind == AgoraKind::Rtc {
        Some(role)
    } else {
        None
    };
    if let Some(m) = max_ttl {
        ttl = ttl.min(m).max(1);
    }
    facts.role = role.clone();
    facts.ttl = Some(ttl);

    let issued_at = u32::try_from(now).map_err(|_| ApiError::Internal)?;
    let at = MintAt {
        issued_at,
        salt: (svc.salt)(),
    };
    let publisher = role.as_deref() == Some("publisher");
    let token = mint::agora(
        secret,
        kind,
        channel.as_deref().unwrap_or(""),
        &user,
        publisher,
        ttl,
        at,
    )?;
    let (uid, account) = match &user {
        AgoraUser::Uid(u) => (Some(*u), None),
        AgoraUser::Account(a) => (None, Some(a.as_str())),
    };
    Ok(ok_json(
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
    ))
}

/// The answers, serialised straight from borrowed fields. The fields are in alphabetical order,
/// the order the JSON has always had (it used to go through `serde_json::Value`'s sorted map).
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

/// LiveKit's token-endpoint answer (see [`AgoraAnswer`]).
#[derive(Serialize)]
struct LiveKitAnswer<'a> {
    participant_token: &'a str,
    server_url: &'a str,
}

/// The Stream answer (see [`AgoraAnswer`]).
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

/// `POST /livekit/token` body: LiveKit's standard token endpoint request, plus an optional `role`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveKitBody {
    /// The room; absent or empty: a fresh room from `livekit.room_template`.
    #[serde(default)]
    pub room_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub participant_name: Option<String>,
    /// Must equal the caller's subject when given.
    #[serde(default)]
    pub participant_identity: Option<String>,
    /// Participant metadata.
    #[serde(default)]
    pub participant_metadata: Option<String>,
    /// Participant attributes.
    #[serde(default)]
    pub participant_attributes: Option<BTreeMap<String, String>>,
    /// Room creation options (protojson `RoomConfiguration`; `livekit.room_config` policy).
    #[serde(default)]
    pub room_config: Option<serde_json::Value>,
    /// A grant profile (policy must allow it).
    #[serde(default)]
    pub role: Option<String>,
}

async fn livekit(
    svc: &Service,
    secret: &crate::secrets::LiveKitSecret,
    policy: &Policy,
    caller: &Caller,
    body: LiveKitBody,
    now: u64,
    facts: &mut Facts,
) -> Result<Response<Body>, Fail> {
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
    let publishing = profiles.get(&role).is_some_and(|p| p.can_publish);
    let (role, max_ttl) = access(
        svc,
        policy,
        caller,
        Some(&room),
        &role,
        publishing,
        ttl,
        now,
        &|r| profiles.get(r).map(|p| p.can_publish),
    )
    .await?;
    if let Some(m) = max_ttl {
        ttl = ttl.min(m).max(1);
    }
    facts.role = Some(role.clone());
    facts.ttl = Some(ttl);
    let profile = profiles.get(&role).ok_or(ApiError::Internal)?;
    let token = mint::livekit(
        secret,
        &LiveKitMint {
            identity: &caller.subject,
            name: body.participant_name.as_deref(),
            metadata: body.participant_metadata.as_deref(),
            attributes: body.participant_attributes.as_ref(),
            room: &room,
            profile,
            room_config: room_config.as_ref(),
            ttl,
            now,
        },
    )?;
    Ok(ok_json(
        StatusCode::CREATED,
        &LiveKitAnswer {
            participant_token: &token,
            server_url: &secret.url,
        },
    ))
}

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
    #[serde(default)]
    pub call_cids: Option<Vec<String>>,
    /// Call-level role (policy must allow it; needs `call_cids`).
    #[serde(default)]
    pub role: Option<String>,
    /// Requested lifetime, seconds.
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// The role a Stream video token without a role is checked as, against room rules.
pub const STREAM_IMPLICIT_ROLE: &str = "user";

async fn stream(
    svc: &Service,
    secret: &crate::secrets::StreamSecret,
    policy: &Policy,
    caller: &Caller,
    body: StreamBody,
    now: u64,
    facts: &mut Facts,
) -> Result<Response<Body>, Fail> {
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
        let (r, max_ttl) = access(
            svc,
            policy,
            caller,
            room,
            &check_role,
            false,
            ttl,
            now,
            &|_| Some(false),
        )
        .await?;
        if let Some(m) = max_ttl {
            ttl = ttl.min(m).max(1);
        }
        if role.is_some() || r != check_role {
            final_role = Some(r);
        }
    }
    facts.role = final_role.clone();
    facts.ttl = Some(ttl);
    let token = match kind {
        StreamKind::Chat => mint::stream_user(secret, &caller.subject, now, ttl)?,
        StreamKind::Video => mint::stream_video(
            secret,
            &caller.subject,
            &cids,
            final_role.as_deref(),
            now,
            ttl,
        )?,
    };
    Ok(ok_json(
        StatusCode::OK,
        &StreamAnswer {
            api_key: &secret.key.api_key,
            expires_at: now + u64::from(ttl),
            token: &token,
            user_id: &caller.subject,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_the_key_order_they_had_as_json_values() {
        // `serde_json::Value` sorts its keys; the answer structs must give the same text.
        fn same_as_value<T: Serialize>(answer: &T) {
            let direct = serde_json::to_string(answer).unwrap();
            let via_value = serde_json::to_value(answer).unwrap().to_string();
            assert_eq!(direct, via_value);
        }
        for (uid, account) in [(Some(7), None), (None, Some("alice"))] {
            same_as_value(&AgoraAnswer {
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
            });
        }
        same_as_value(&LiveKitAnswer {
            participant_token: "jwt",
            server_url: "wss://x",
        });
        same_as_value(&StreamAnswer {
            api_key: "key",
            expires_at: 9,
            token: "jwt",
            user_id: "u",
        });
    }

    #[test]
    fn parse_maps_serde_errors_to_codes() {
        let e = parse::<AgoraBody>(b"{\"channel\":\"c\",\"bogus\":1}").unwrap_err();
        assert_eq!(e.code(), "unknown_field");
        let e = parse::<AgoraBody>(b"{\"channel\":").unwrap_err();
        assert_eq!(e.code(), "invalid_json");
        let e = parse::<AgoraBody>(b"   ").unwrap_err();
        assert_eq!(e.code(), "invalid_json");
        let e = parse::<AgoraBody>(b"{\"ttl\":\"long\"}").unwrap_err();
        assert_eq!(e.code(), "bad_request");
        let e = parse::<AgoraBody>(b"{\"type\":\"video\"}").unwrap_err();
        assert_eq!(e.code(), "bad_request");
        let b = parse::<AgoraBody>(b"{\"type\":\"rtm\"}").unwrap();
        assert_eq!(b.kind, Some(AgoraKind::Rtm));
    }

    #[test]
    fn named_stage_is_stripped() {
        let ev = |raw: &str, stage: &str| {
            let j = serde_json::json!({
                "version": "2.0", "routeKey": "POST /agora/token", "rawPath": raw, "rawQueryString": "",
                "headers": {}, "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "POST", "path": raw, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "t"},
                "requestId": "rid-1", "routeKey": "POST /agora/token", "stage": stage, "time": "t", "timeEpoch": 0},
                "isBase64Encoded": false
            });
            lambda_http::request::from_str(&j.to_string()).unwrap()
        };
        assert_eq!(route_path(&ev("/prod/agora/token", "prod")), "/agora/token");
        assert_eq!(route_path(&ev("/agora/token", "$default")), "/agora/token");
        assert_eq!(route_path(&ev("/agora/token", "prod")), "/agora/token");
        assert_eq!(
            route_path(&ev("/production/agora/token", "prod")),
            "/production/agora/token"
        );
        assert_eq!(request_id(&ev("/agora/token", "$default")), "rid-1");
    }
}

#[cfg(test)]
mod future_size {
    use crate::service::Service;

    fn size_of_future<'a, F, Fut>(_: F) -> usize
    where
        F: Fn(&'a Service, lambda_http::Request) -> Fut,
        Fut: std::future::Future + 'a,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_request_future_stays_small() {
        // Every request's future is allocated and moved as a whole; the live-access backends'
        // futures (DynamoDB SDK, HTTP client: ~7 KB) are boxed so that they are not part of it.
        // It was 8,768 bytes with them inline, 1,936 without (rustc 1.95).
        let size = size_of_future(super::handle);
        assert!(size < 4096, "the handler's future is {size} bytes");
    }
}
