//! The authorization webhook: for apps whose access state lives in their own database.
//!
//! Each check POSTs (JSON, `Content-Type: application/json`)
//! `{"caller":{"subject","issuer","roles"},"provider","request":{"room","role","ttl"}}` to
//! `AUTHZ_WEBHOOK_URL` with the header `X-RTC-Signature: t=<unix>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256(secret, "<t>.<body>"). The answer is `{"allow": bool, "role"?: str, "ttl"?: u32,
//! "code"?: str}`.
//!
//! Outcomes: a 2xx with a valid body is the answer (cached `AUTHZ_WEBHOOK_CACHE_SECONDS` per
//! issuer, subject, provider, room and role). A 401 or 403 is a refusal (`access_denied`, never
//! failed open: it usually means a wrong secret). Anything else (timeout, connection error, other
//! status, unreadable body) is a failure: 503 with `Retry-After` (fail closed, the default), or an
//! allow when `AUTHZ_WEBHOOK_FAIL_OPEN=true`. Failures are never cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{parse_bool, parse_timeout_ms, parse_u64, AccessConfigError};
use super::{AccessDecision, AccessError};
use super::{AccessRequest, DenyCode};
use crate::secrets::SecretSource;

/// The signature header name.
pub const SIGNATURE_HEADER: &str = "X-RTC-Signature";
/// Cache entries kept at most (expired entries are dropped first, then everything).
const CACHE_CAP: usize = 10_000;
/// Longest narrowed role accepted from the webhook.
const MAX_ROLE_LEN: usize = 64;

/// Webhook settings.
#[derive(Clone)]
pub struct WebhookConfig {
    /// `https://...`, or `http://` to a loopback address.
    pub url: String,
    /// The HMAC key.
    pub secret: Vec<u8>,
    /// Allow when the webhook fails (default false).
    pub fail_open: bool,
    /// Whole-request timeout (default 1500 ms).
    pub timeout: Duration,
    /// How long an answer is reused (default 5 s; 0 disables).
    pub cache_seconds: u64,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("fail_open", &self.fail_open)
            .field("timeout", &self.timeout)
            .field("cache_seconds", &self.cache_seconds)
            .finish()
    }
}

impl WebhookConfig {
    /// Defaults for everything but the URL and the secret.
    pub fn new(url: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        WebhookConfig {
            url: url.into(),
            secret: secret.into(),
            fail_open: false,
            timeout: Duration::from_millis(1500),
            cache_seconds: 5,
        }
    }

    /// Reads `AUTHZ_WEBHOOK_URL`, `AUTHZ_WEBHOOK_SECRET_ID` (fetched from `secrets`; the secret is
    /// the plain string or the `secret` field of a JSON object), `AUTHZ_WEBHOOK_FAIL_OPEN`,
    /// `AUTHZ_WEBHOOK_TIMEOUT_MS`, `AUTHZ_WEBHOOK_CACHE_SECONDS`.
    pub async fn from_env(
        get: &dyn Fn(&str) -> Option<String>,
        secrets: &dyn SecretSource,
    ) -> Result<Self, AccessConfigError> {
        let url = get("AUTHZ_WEBHOOK_URL").unwrap_or_default();
        validate_url(url.trim()).map_err(|reason| AccessConfigError::Invalid {
            name: "AUTHZ_WEBHOOK_URL",
            reason,
        })?;
        let id = get("AUTHZ_WEBHOOK_SECRET_ID")
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| AccessConfigError::Invalid {
                name: "AUTHZ_WEBHOOK_SECRET_ID",
                reason: "required with AUTHZ_WEBHOOK_URL".into(),
            })?;
        let text = secrets
            .fetch(id.trim())
            .await
            .map_err(|e| AccessConfigError::Secret(e.to_string()))?;
        let secret = parse_secret(&text).map_err(AccessConfigError::Secret)?;
        let mut cfg = WebhookConfig::new(url.trim(), secret);
        if let Some(v) = get("AUTHZ_WEBHOOK_FAIL_OPEN") {
            cfg.fail_open = parse_bool("AUTHZ_WEBHOOK_FAIL_OPEN", &v)?;
        }
        if let Some(v) = get("AUTHZ_WEBHOOK_TIMEOUT_MS") {
            cfg.timeout = parse_timeout_ms("AUTHZ_WEBHOOK_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = get("AUTHZ_WEBHOOK_CACHE_SECONDS") {
            let secs = parse_u64("AUTHZ_WEBHOOK_CACHE_SECONDS", &v)?;
            if secs > 300 {
                return Err(AccessConfigError::Invalid {
                    name: "AUTHZ_WEBHOOK_CACHE_SECONDS",
                    reason: "expected 0..=300".into(),
                });
            }
            cfg.cache_seconds = secs;
        }
        Ok(cfg)
    }
}

/// The secret string: plain, or `{"secret": "..."}`. At least 16 bytes.
fn parse_secret(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let value = if text.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|_| "malformed: not JSON".to_owned())?;
        v.get("secret")
            .and_then(|s| s.as_str())
            .ok_or_else(|| "malformed: no string field `secret`".to_owned())?
            .to_owned()
    } else {
        text.to_owned()
    };
    if value.len() < 16 {
        return Err("malformed: the secret must be at least 16 bytes".into());
    }
    Ok(value.into_bytes())
}

/// HTTPS, or HTTP to a loopback host; no user info: the rule caller-auth applies to key URLs.
pub fn validate_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    caller_auth::config::check_fetch_url(&parsed)
}

/// `X-RTC-Signature` value for `body` at time `t` (`None` only if the HMAC rejects the key,
/// which HMAC-SHA256 never does).
pub fn sign(secret: &[u8], t: u64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("t={t},v1={hex}"))
}

#[derive(Serialize)]
struct Caller<'a> {
    subject: &'a str,
    issuer: Option<&'a str>,
    roles: &'a [String],
}

#[derive(Serialize)]
struct Requested<'a> {
    room: Option<&'a str>,
    role: &'a str,
    ttl: u32,
}

#[derive(Serialize)]
struct Body<'a> {
    caller: Caller<'a>,
    provider: &'a str,
    request: Requested<'a>,
}

#[derive(Deserialize)]
struct Answer {
    allow: bool,
    role: Option<String>,
    ttl: Option<u32>,
    code: Option<String>,
}

type CacheKey = (String, String, &'static str, String, String);

/// The webhook back end of [`super::AccessChecker`].
pub struct WebhookChecker {
    cfg: WebhookConfig,
    client: reqwest::Client,
    cache: Mutex<HashMap<CacheKey, (u64, AccessDecision)>>,
}

impl fmt::Debug for WebhookChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookChecker")
            .field("cfg", &self.cfg)
            .finish()
    }
}

enum Outcome {
    Answer(AccessDecision, bool),
    Failure(String),
}

impl WebhookChecker {
    /// Validates the URL and builds the HTTP client (no redirects, no proxy, the timeout).
    pub fn new(cfg: WebhookConfig) -> Result<Self, String> {
        validate_url(&cfg.url)?;
        if cfg.secret.len() < 16 {
            return Err("the webhook secret must be at least 16 bytes".into());
        }
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("rtc-tokens/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(WebhookChecker {
            cfg,
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cache_key(req: &AccessRequest<'_>) -> CacheKey {
        (
            req.issuer.unwrap_or_default().to_owned(),
            req.subject.to_owned(),
            req.provider,
            req.room.unwrap_or_default().to_owned(),
            req.role.to_owned(),
        )
    }

    fn cached(&self, key: &CacheKey, now: u64) -> Option<AccessDecision> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(key)
            .filter(|(expires, _)| now < *expires)
            .map(|(_, d)| d.clone())
    }

    fn remember(&self, key: CacheKey, now: u64, decision: &AccessDecision) {
        if self.cfg.cache_seconds == 0 {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAP {
            cache.retain(|_, (expires, _)| now < *expires);
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
        }
        cache.insert(key, (now + self.cfg.cache_seconds, decision.clone()));
    }

    /// Asks the webhook (or the cache).
    pub async fn check(&self, req: &AccessRequest<'_>) -> Result<AccessDecision, AccessError> {
        let key = Self::cache_key(req);
        if let Some(d) = self.cached(&key, req.now) {
            return Ok(d);
        }
        match self.call(req).await {
            Outcome::Answer(decision, cacheable) => {
                if cacheable {
                    self.remember(key, req.now, &decision);
                }
                Ok(decision)
            }
            Outcome::Failure(reason) if self.cfg.fail_open => {
                tracing::warn!(reason = %reason, "authorization webhook failed; failing open");
                Ok(AccessDecision::ALLOW)
            }
            Outcome::Failure(reason) => Err(AccessError::Webhook(reason)),
        }
    }

    async fn call(&self, req: &AccessRequest<'_>) -> Outcome {
        let body = Body {
            caller: Caller {
                subject: req.subject,
                issuer: req.issuer,
                roles: req.caller_roles,
            },
            provider: req.provider,
            request: Requested {
                room: req.room,
                role: req.role,
                ttl: req.ttl,
            },
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(b) => b,
            Err(e) => return Outcome::Failure(format!("encoding the request: {e}")),
        };
        let Some(signature) = sign(&self.cfg.secret, req.now, &bytes) else {
            return Outcome::Failure("signing the request failed".into());
        };
        let resp = self
            .client
            .post(&self.cfg.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(bytes)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Outcome::Failure("timed out".into()),
            Err(e) if e.is_connect() => return Outcome::Failure("connection failed".into()),
            Err(_) => return Outcome::Failure("request failed".into()),
        };
        let status = resp.status();
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            return Outcome::Answer(AccessDecision::Deny(DenyCode::Denied), false);
        }
        if !status.is_success() {
            return Outcome::Failure(format!("status {}", status.as_u16()));
        }
        let text = match resp.bytes().await {
            Ok(t) if t.len() <= 16 * 1024 => t,
            Ok(_) => return Outcome::Failure("response too large".into()),
            Err(e) if e.is_timeout() => return Outcome::Failure("timed out".into()),
            Err(_) => return Outcome::Failure("reading the response failed".into()),
        };
        let answer: Answer = match serde_json::from_slice(&text) {
            Ok(a) => a,
            Err(_) => return Outcome::Failure("unreadable response".into()),
        };
        Outcome::Answer(interpret(answer, req), true)
    }
}

fn interpret(a: Answer, req: &AccessRequest<'_>) -> AccessDecision {
    if !a.allow {
        return AccessDecision::Deny(
            a.code
                .as_deref()
                .map(DenyCode::from_code)
                .unwrap_or(DenyCode::Denied),
        );
    }
    let role = a.role.filter(|r| {
        !r.is_empty()
            && r.len() <= MAX_ROLE_LEN
            && r.bytes().all(|b| b.is_ascii_graphic())
            && r != req.role
    });
    let max_ttl = a.ttl.filter(|t| *t > 0);
    AccessDecision::Allow { role, max_ttl }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        assert!(validate_url("https://authz.example.com/check").is_ok());
        assert!(validate_url("http://127.0.0.1:9000/x").is_ok());
        assert!(validate_url("http://[::1]:9000/x").is_ok());
        assert!(validate_url("http://localhost/x").is_ok());
        assert!(validate_url("http://authz.example.com/x").is_err());
        assert!(validate_url("http://10.0.0.1/x").is_err());
        assert!(validate_url("ftp://authz.example.com/x").is_err());
        assert!(validate_url("https://u:p@authz.example.com/x").is_err());
        assert!(validate_url("not a url").is_err());
    }

    #[test]
    fn signature_matches_a_known_value() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac 0123456789abcdef
        let sig = sign(b"0123456789abcdef", 1_700_000_000, b"{}").unwrap();
        assert_eq!(
            sig,
            "t=1700000000,v1=e4f8e2ecae2295b2ddb2f0b5584c8275e226c0ebe9b3b819e70156bb67122e3e"
        );
        assert_ne!(
            Some(sig.clone()),
            sign(b"0123456789abcdeX", 1_700_000_000, b"{}")
        );
        assert_ne!(Some(sig), sign(b"0123456789abcdef", 1_700_000_001, b"{}"));
    }

    #[test]
    fn secrets_parse_plain_or_json_and_need_length() {
        assert_eq!(
            parse_secret(" 0123456789abcdef ").unwrap(),
            b"0123456789abcdef"
        );
        assert_eq!(
            parse_secret(r#"{"secret":"0123456789abcdef"}"#).unwrap(),
            b"0123456789abcdef"
        );
        assert!(parse_secret("short").is_err());
        assert!(parse_secret(r#"{"other":"0123456789abcdef"}"#).is_err());
    }

    #[test]
    fn config_debug_is_redacted() {
        let c = WebhookConfig::new("https://x.example", "super-secret-value-123");
        assert!(!format!("{c:?}").contains("super-secret"));
    }

    #[test]
    fn answers_are_interpreted_strictly() {
        let req = AccessRequest::new("livekit", "u", Some("r"), "host", 0);
        let a = |s: &str| interpret(serde_json::from_str(s).unwrap(), &req);
        assert_eq!(a(r#"{"allow":true}"#), AccessDecision::ALLOW);
        assert_eq!(
            a(r#"{"allow":true,"role":"listener","ttl":60}"#),
            AccessDecision::Allow {
                role: Some("listener".into()),
                max_ttl: Some(60)
            }
        );
        assert_eq!(
            a(r#"{"allow":true,"role":"host","ttl":0}"#),
            AccessDecision::ALLOW
        );
        assert_eq!(
            a(r#"{"allow":false,"code":"banned"}"#),
            AccessDecision::Deny(DenyCode::Banned)
        );
        assert_eq!(
            a(r#"{"allow":false,"code":"nope"}"#),
            AccessDecision::Deny(DenyCode::Denied)
        );
    }
}
