//! The HTTP application of the three functions and the local server: [`handle`] answers a plain
//! `http::Request` for the routes of the services it is given (one on Lambda, three locally).
//!
//! The shared pipeline (each failure is a JSON error response, never an `Err`):
//! route (404) -> method `POST` (405 + `Allow`) -> body size <= 16 KiB (413) -> caller JWT (401) ->
//! `Content-Type: application/json` (415) -> typed body, unknown fields rejected (400) -> provider
//! secret and policy loaded (503 + `Retry-After`) -> policy (400/403) -> live access checks
//! (403/429/503) -> mint with the injected clock and salt -> JSON with `Cache-Control: no-store`.
//! The provider-specific steps are in [`agora`], [`livekit`] and [`stream`].
//!
//! What the host knows beyond HTTP comes in a [`RequestInfo`] extension: the Lambda host
//! ([`crate::lambda`]) fills it from lambda_http's request context, the local server from its
//! connection.

pub mod agora;
pub mod livekit;
pub mod stream;

use std::time::{Duration, Instant};

use bytes::Bytes;
use caller_auth::{AuthErrorClass, Caller};
use http::{header, HeaderName, Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::access::{AccessDecision, AccessRequest};
use crate::error::{json_response, ApiError};
use crate::policy::Policy;
use crate::secrets::ProviderSecret;
use crate::service::Service;
use crate::telemetry::{Outcome, RequestLog};
use crate::Provider;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What a host knows about a request beyond its HTTP parts, inserted as a request extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The request id the log line carries (Lambda's, or the local server's own).
    pub request_id: String,
}

/// The invocation's deadline (unix ms), inserted as a request extension by the Lambda host from its
/// context (the function timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub u64);

/// The longest one request may take, whatever its dependencies do (docs/time-budget.md).
pub const REQUEST_BUDGET: Duration = Duration::from_millis(4000);
/// Kept free before Lambda's deadline, to write the answer and its log line.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// [`REQUEST_BUDGET`], or less when the invocation's own [`Deadline`] is nearer.
fn request_budget<B>(req: &Request<B>) -> Duration {
    let Some(Deadline(deadline)) = req.extensions().get::<Deadline>().copied() else {
        return REQUEST_BUDGET;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Duration::from_millis(deadline.saturating_sub(now_ms))
        .saturating_sub(DEADLINE_MARGIN)
        .clamp(Duration::from_millis(100), REQUEST_BUDGET)
}

/// A failure with its log classification.
pub(crate) struct Fail {
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
pub(crate) struct Facts {
    subject: Option<String>,
    room: Option<String>,
    role: Option<String>,
    ttl: Option<u32>,
}

/// What every provider route gets: the service, the caller, the policy and the time.
pub(crate) struct Ctx<'a> {
    svc: &'a Service,
    caller: &'a Caller,
    policy: &'a Policy,
    now: u64,
}

/// The request id: the host's [`RequestInfo`], else a client's `X-Request-Id` (up to 128 bytes).
fn request_id<B>(req: &Request<B>) -> &str {
    if let Some(info) = req.extensions().get::<RequestInfo>() {
        return &info.request_id;
    }
    header_value(req, header::HeaderName::from_static("x-request-id"))
        .filter(|v| v.len() <= 128)
        .unwrap_or("-")
}

/// A header given once as text (a repeated header counts as absent, as on API Gateway, which folds
/// repeats into one comma-joined value that no check accepts).
fn header_value<B>(req: &Request<B>, name: HeaderName) -> Option<&str> {
    let mut values = req.headers().get_all(name).into_iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// Answers one request for the route of one of `services` (an unknown route gets 404, logged by the
/// first service). Never fails: every error is a JSON response.
pub async fn handle(services: &[Service], req: Request<Bytes>) -> Response<String> {
    let route = req.uri().path();
    let Some(svc) = services
        .iter()
        .find(|s| s.provider.route() == route)
        .or(services.first())
    else {
        return ApiError::NotFound.into_response();
    };
    let started = Instant::now();
    let mut facts = Facts::default();
    let budget = request_budget(&req);
    let result = match tokio::time::timeout(budget, process(svc, &req, route, &mut facts)).await {
        Ok(r) => r,
        // Every wait inside is bounded on its own (docs/time-budget.md); this is the backstop that
        // keeps a request from ever ending as a Lambda timeout.
        Err(_) => Err(Fail {
            err: ApiError::Unavailable {
                retry_after: 1,
                message: "a dependency is slow; retry later",
            },
            outcome: Outcome::Error,
            detail: Some(format!("request budget of {} ms spent", budget.as_millis())),
        }),
    };
    let (resp, outcome, code, detail) = match result {
        Ok(resp) => (resp, Outcome::Issued, None, None),
        Err(f) => {
            let code = f.err.code();
            (f.err.into_response(), f.outcome, Some(code), f.detail)
        }
    };
    let log = RequestLog {
        request_id: request_id(&req),
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
    req: &Request<Bytes>,
    route: &str,
    facts: &mut Facts,
) -> Result<Response<String>, Fail> {
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
    // A shared secret that cannot be re-read keeps the previous one; one never loaded leaves HMAC
    // callers "cannot check now" in caller-auth (503 below), while JWKS callers go on.
    let _ = svc.refresh_hs_secrets(now).await;
    let authorization = header_value(req, header::AUTHORIZATION);
    let caller = match svc.auth.authenticate(authorization, now).await {
        Ok(c) => c,
        // The keys or the shared secret are not available: the token may be fine, so the client
        // retries (503) instead of signing the user out (401).
        Err(e) if e.class() == AuthErrorClass::KeysUnavailable => {
            return Err(Fail {
                err: ApiError::Unavailable {
                    // The JWKS's next attempt, else (an HMAC caller awaiting the shared secret)
                    // the secret's.
                    retry_after: e
                        .retry_after()
                        .unwrap_or_else(|| svc.hs_secrets_retry_after(now))
                        .max(1),
                    message: "the caller's keys are temporarily unavailable; retry later",
                },
                outcome: Outcome::SecretError,
                detail: Some(e.to_string()),
            });
        }
        Err(e) => {
            return Err(Fail {
                err: ApiError::Unauthorized,
                outcome: Outcome::AuthFailed,
                detail: Some(e.to_string()),
            });
        }
    };
    facts.subject = Some(caller.subject.clone());

    let is_json = header_value(req, header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType.into());
    }

    let policy = svc.policy(now).await.map_err(secret_fail)?;
    policy.check_subject(&caller)?;
    let secret = svc.provider_secret(now).await.map_err(secret_fail)?;
    let cx = Ctx {
        svc,
        caller: &caller,
        policy: &policy,
        now,
    };
    match (&*secret, svc.provider) {
        (ProviderSecret::Agora(s), Provider::Agora) => {
            agora::mint(&cx, s, parse(body)?, facts).await
        }
        (ProviderSecret::LiveKit(s), Provider::LiveKit) => {
            livekit::mint(&cx, s, parse(body)?, facts).await
        }
        (ProviderSecret::Stream(s), Provider::Stream) => {
            stream::mint(&cx, s, parse(body)?, facts).await
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

/// A signing error: invalid input is the client's 400, anything else an internal error.
fn signing_error(e: rtc_signing::Error) -> ApiError {
    match e.kind() {
        rtc_signing::ErrorKind::InvalidInput { field, reason } => {
            ApiError::BadRequest(format!("invalid {field}: {reason}"))
        }
        _ => {
            tracing::error!(error = %e, "signing failed");
            ApiError::Internal
        }
    }
}

/// One room (or none) for the live access checks.
pub(crate) struct AccessAsk<'a> {
    room: Option<&'a str>,
    role: &'a str,
    publishing: bool,
    ttl: u32,
}

/// Runs the live access checks; returns the (possibly narrowed) role and TTL cap. `valid_role`
/// says whether a narrowed role exists for this provider and whether it publishes.
async fn access(
    cx: &Ctx<'_>,
    ask: AccessAsk<'_>,
    valid_role: &(dyn Fn(&str) -> Option<bool> + Sync),
) -> Result<(String, Option<u32>), Fail> {
    let AccessAsk {
        room,
        role,
        publishing,
        ttl,
    } = ask;
    let (svc, caller, policy) = (cx.svc, cx.caller, cx.policy);
    let req = AccessRequest::new(svc.provider.name(), &caller.subject, room, role, cx.now)
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

/// A successful answer. The answer structs serialise straight from borrowed fields, their fields in
/// alphabetical order: the order the JSON has always had.
fn answer<T: Serialize>(status: StatusCode, body: &T) -> Result<Response<String>, Fail> {
    Ok(json_response(status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_maps_serde_errors_to_codes() {
        use agora::{AgoraBody, AgoraKind};
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
    fn request_id_from_the_host_else_the_client_header() {
        let req = |id: Option<&str>, header: Option<&str>| {
            let mut b = Request::builder();
            if let Some(h) = header {
                b = b.header("x-request-id", h);
            }
            let mut r = b.body(Bytes::new()).unwrap();
            if let Some(id) = id {
                r.extensions_mut().insert(RequestInfo {
                    request_id: id.to_owned(),
                });
            }
            r
        };
        assert_eq!(request_id(&req(Some("rid-1"), Some("client"))), "rid-1");
        assert_eq!(request_id(&req(None, Some("client"))), "client");
        assert_eq!(request_id(&req(None, Some(&"x".repeat(129)))), "-");
        assert_eq!(request_id(&req(None, None)), "-");
    }

    #[test]
    fn a_repeated_header_counts_as_absent() {
        let r = Request::builder()
            .header("authorization", "Bearer a")
            .header("authorization", "Bearer b")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        assert_eq!(header_value(&r, header::AUTHORIZATION), None);
        assert_eq!(
            header_value(&r, header::CONTENT_TYPE),
            Some("application/json")
        );
    }
}

#[cfg(test)]
mod future_size {
    use crate::service::Service;

    fn size_of_future<'a, F, Fut>(_: F) -> usize
    where
        F: Fn(&'a [Service], http::Request<bytes::Bytes>) -> Fut,
        Fut: std::future::Future + 'a,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_request_future_stays_small() {
        // Every request's future is allocated and moved as a whole; the live-access backends'
        // futures (DynamoDB SDK, HTTP client) are boxed so that they are not part of it.
        let size = size_of_future(super::handle);
        assert!(size < 4096, "the handler's future is {size} bytes");
    }
}
