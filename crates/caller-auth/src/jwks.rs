//! Remote JWKS: fetch with strict limits, filter keys, cache for a warm Lambda.
//!
//! Every wait is bounded (the request path's time budget, docs/time-budget.md):
//! - INIT ([`JwksCache::prefetch`]) waits for the first fetch at most [`INIT_WAIT`]; a fetch still
//!   running then completes in the background;
//! - a request waits for a refetch at most [`REQUEST_WAIT`]; the fetch itself (discovery, then the
//!   set) runs as its own task bounded by the HTTP client's timeouts, so a late answer still lands.
//!
//! When to fetch (the time comes from the injected [`Clock`]):
//! - fresh set (`now < fresh_until`) and known `kid`: no I/O;
//! - expired set: one refresh attempt (single-flight, at most one per `min_refetch_interval` after
//!   the previous attempt); on failure the old keys are served until `fetched_at + 24 h`;
//! - unknown `kid`: a refresh only if the last attempt is at least `min_refetch_interval` old,
//!   otherwise an immediate refusal;
//! - no usable set (never fetched, or older than 24 h): retried with backoff (1 s, 2 s, 4 s ... 60 s
//!   after each failure), by a background task and by the first request after each step; requests
//!   in between are refused at once as [`AuthErrorClass::KeysUnavailable`] with the seconds until the
//!   next attempt (503 + `Retry-After`), never as a bad token;
//! - a successful fetch replaces the whole set (removed keys stop being trusted).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use url::Url;

use crate::config::{algorithm_from_name, check_fetch_url, JwksSource};
use crate::error::{loggable, AuthError};
use crate::header::valid_kid;
use crate::Clock;

/// Shortest cache lifetime, whatever `Cache-Control` says.
pub const MIN_TTL_SECS: u64 = 5 * 60;
/// Longest cache lifetime.
pub const MAX_TTL_SECS: u64 = 24 * 60 * 60;
/// Lifetime when the response has no `max-age`.
pub const DEFAULT_TTL_SECS: u64 = 10 * 60;
/// How long keys are served after their last successful fetch when the endpoint fails.
pub const MAX_STALE_SECS: u64 = 24 * 60 * 60;
/// Largest JWKS / discovery body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most keys considered from one set.
pub const MAX_KEYS: usize = 32;
/// Connect timeout of one HTTP request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Whole-request timeout of one HTTP request (discovery or the set).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest INIT waits for the first fetch (discovery + set).
pub const INIT_WAIT: Duration = Duration::from_secs(4);
/// Longest a request waits for a refetch.
pub const REQUEST_WAIT: Duration = Duration::from_secs(1);
/// Longest pause between two attempts while no usable set is held.
pub const MAX_BACKOFF_SECS: u64 = 60;

/// The pause after `failures` failed attempts in a row: 1, 2, 4 ... [`MAX_BACKOFF_SECS`] seconds.
pub fn backoff_secs(failures: u64) -> u64 {
    let exp = failures.saturating_sub(1).min(6) as u32;
    (1u64 << exp).min(MAX_BACKOFF_SECS)
}

/// A public key with the one algorithm it may verify.
pub(crate) struct VerifyKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    fetched_at: u64,
    fresh_until: u64,
}

impl KeySet {
    fn usable(&self, now: u64) -> bool {
        now < self.fetched_at.saturating_add(MAX_STALE_SECS)
    }
}

/// Counters for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JwksStats {
    /// Refresh attempts (each is one JWKS request, plus one discovery request the first time).
    pub refresh_attempts: u64,
    /// Failed refresh attempts.
    pub refresh_failures: u64,
    /// Keys currently held.
    pub keys: usize,
}

/// The cache; cheap to clone (the fetch tasks hold a clone while they run).
pub(crate) struct JwksCache(Arc<Inner>);

struct Inner {
    source: JwksSource,
    resolved: Mutex<Option<Url>>,
    issuer: String,
    algorithms: Vec<Algorithm>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    min_refetch_secs: u64,
    state: RwLock<Option<Arc<KeySet>>>,
    /// Unix time of the last refresh attempt + 1 (0 = never).
    last_attempt: AtomicU64,
    /// While no usable set is held: no attempt before this unix time (the backoff).
    retry_at: AtomicU64,
    /// Failed attempts since the last success (the backoff's exponent).
    failures_in_row: AtomicU64,
    attempts: AtomicU64,
    failures: AtomicU64,
    refresh_lock: tokio::sync::Mutex<()>,
    /// The background retry task is running.
    retrying: AtomicBool,
}

fn fetch_error(msg: impl Into<String>) -> String {
    msg.into()
}

impl JwksCache {
    pub(crate) fn new(
        source: JwksSource,
        issuer: String,
        algorithms: Vec<Algorithm>,
        min_refetch: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!(
                "rtc-tokens-caller-auth/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let resolved = match &source {
            JwksSource::Url(u) => Some(u.clone()),
            JwksSource::Discovery(_) => None,
        };
        Ok(JwksCache(Arc::new(Inner {
            source,
            resolved: Mutex::new(resolved),
            issuer,
            algorithms,
            client,
            clock,
            min_refetch_secs: min_refetch.as_secs().max(1),
            state: RwLock::new(None),
            last_attempt: AtomicU64::new(0),
            retry_at: AtomicU64::new(0),
            failures_in_row: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            refresh_lock: tokio::sync::Mutex::new(()),
            retrying: AtomicBool::new(false),
        })))
    }

    pub(crate) fn stats(&self) -> JwksStats {
        let i = &self.0;
        JwksStats {
            refresh_attempts: i.attempts.load(Ordering::SeqCst),
            refresh_failures: i.failures.load(Ordering::SeqCst),
            keys: i.snapshot().map(|s| s.keys.len()).unwrap_or(0),
        }
    }

    /// Fetches now (INIT), waiting at most [`INIT_WAIT`]; on failure (or still running) the
    /// background retry takes over. Errors are returned for the log.
    pub(crate) async fn prefetch(&self) -> Result<(), String> {
        let seen = self.0.attempts.load(Ordering::SeqCst);
        let r = match self.refresh_within(seen, INIT_WAIT).await {
            Some(r) => r,
            None => Err(format!(
                "no answer within {} ms; the fetch goes on in the background",
                INIT_WAIT.as_millis()
            )),
        };
        if r.is_err() {
            self.retry_in_background();
        }
        r
    }

    /// Finds the key for `kid`, refreshing under the rules in the module docs.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, AuthError> {
        let i = &self.0;
        let now = i.clock.now();
        let seen = i.attempts.load(Ordering::SeqCst);
        let unknown = || {
            AuthError::token(
                "unknown_kid",
                format!("kid {} is not in the key set", loggable(kid)),
            )
        };
        match i.snapshot() {
            Some(s) if now < s.fresh_until => {
                if let Some(k) = s.keys.get(kid) {
                    return Ok(k.clone());
                }
                if !i.may_attempt(now) {
                    return Err(unknown());
                }
                let _ = self.refresh_within(seen, REQUEST_WAIT).await;
            }
            Some(s) if s.usable(now) => {
                // Expired but within the stale window: try once, serve the old keys on failure.
                if i.may_attempt(now) {
                    let _ = self.refresh_within(seen, REQUEST_WAIT).await;
                }
            }
            _ => {
                // Never fetched, or too old to trust: the backoff decides; the caller is told to
                // come back, not that its token is bad.
                if now >= i.retry_at.load(Ordering::SeqCst) {
                    let _ = self.refresh_within(seen, REQUEST_WAIT).await;
                }
                self.retry_in_background();
            }
        }
        let now = i.clock.now();
        match i.snapshot() {
            Some(s) if s.usable(now) => s.keys.get(kid).cloned().ok_or_else(unknown),
            held => {
                let retry_after = i.retry_at.load(Ordering::SeqCst).saturating_sub(now).max(1);
                let detail = if held.is_some() {
                    "JWKS older than 24 h and the endpoint fails"
                } else {
                    "no JWKS has been fetched yet"
                };
                Err(AuthError::unavailable(
                    "keys_unavailable",
                    detail,
                    Some(retry_after),
                ))
            }
        }
    }

    /// Runs one single-flight refresh as its own task and waits for it at most `wait`. `None` when
    /// it is still running (it then completes in the background).
    async fn refresh_within(&self, seen: u64, wait: Duration) -> Option<Result<(), String>> {
        let inner = self.0.clone();
        let fetch = async move { inner.refresh(seen).await };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => match tokio::time::timeout(wait, rt.spawn(fetch)).await {
                Ok(Ok(r)) => Some(r),
                Ok(Err(e)) => Some(Err(format!("fetch task failed: {e}"))),
                Err(_) => None,
            },
            // Not inside a Tokio runtime: no task and no timer, the client's own timeouts bound it.
            Err(_) => Some(fetch.await),
        }
    }

    /// Starts the background retry task (once) while no usable set is held. It waits out the
    /// backoff, tries, and ends with the first success or when the cache is dropped.
    fn retry_in_background(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.0.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.0);
        rt.spawn(async move {
            loop {
                let pause = {
                    let Some(i) = weak.upgrade() else { return };
                    let now = i.clock.now();
                    if i.snapshot().is_some_and(|s| s.usable(now)) {
                        i.retrying.store(false, Ordering::SeqCst);
                        return;
                    }
                    if now >= i.retry_at.load(Ordering::SeqCst) {
                        let seen = i.attempts.load(Ordering::SeqCst);
                        let _ = i.refresh(seen).await;
                        continue;
                    }
                    i.retry_at
                        .load(Ordering::SeqCst)
                        .saturating_sub(now)
                        .clamp(1, MAX_BACKOFF_SECS)
                };
                tokio::time::sleep(Duration::from_secs(pause)).await;
            }
        });
    }
}

impl Inner {
    fn snapshot(&self) -> Option<Arc<KeySet>> {
        match self.state.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn may_attempt(&self, now: u64) -> bool {
        match self.last_attempt.load(Ordering::SeqCst) {
            0 => true,
            t => now >= (t - 1).saturating_add(self.min_refetch_secs),
        }
    }

    /// Single-flight refresh: if another attempt completed since `seen`, do nothing.
    async fn refresh(&self, seen: u64) -> Result<(), String> {
        let _guard = self.refresh_lock.lock().await;
        if self.attempts.load(Ordering::SeqCst) != seen {
            return Ok(());
        }
        let now = self.clock.now();
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.last_attempt
            .store(now.saturating_add(1), Ordering::SeqCst);
        match self.fetch().await {
            Ok((keys, ttl)) => {
                if keys.is_empty() {
                    tracing::warn!(issuer = %self.issuer, "JWKS holds no usable keys");
                } else {
                    tracing::debug!(issuer = %self.issuer, keys = keys.len(), ttl, "JWKS refreshed");
                }
                let set = KeySet {
                    keys,
                    fetched_at: now,
                    fresh_until: now.saturating_add(ttl),
                };
                match self.state.write() {
                    Ok(mut g) => *g = Some(Arc::new(set)),
                    Err(p) => *p.into_inner() = Some(Arc::new(set)),
                }
                self.failures_in_row.store(0, Ordering::SeqCst);
                self.retry_at.store(0, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::SeqCst);
                let n = self.failures_in_row.fetch_add(1, Ordering::SeqCst) + 1;
                let retry = now.saturating_add(backoff_secs(n));
                self.retry_at.store(retry, Ordering::SeqCst);
                tracing::warn!(issuer = %self.issuer, error = %e, failures_in_row = n, "JWKS refresh failed; keeping previous keys");
                Err(e)
            }
        }
    }

    async fn jwks_url(&self) -> Result<Url, String> {
        if let Some(u) = self
            .resolved
            .lock()
            .map_err(|_| "poisoned".to_string())?
            .clone()
        {
            return Ok(u);
        }
        let JwksSource::Discovery(discovery) = &self.source else {
            return Err("no JWKS URL".into());
        };
        let (body, _) = self.get(discovery.clone()).await?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|_| fetch_error("discovery document is not JSON"))?;
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if issuer != self.issuer {
            return Err(format!(
                "discovery issuer {} differs from the configured issuer",
                loggable(issuer)
            ));
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| fetch_error("discovery document has no jwks_uri"))?;
        let url = Url::parse(uri).map_err(|_| fetch_error("jwks_uri is not a URL"))?;
        check_fetch_url(&url).map_err(|e| format!("jwks_uri: {e}"))?;
        if let Ok(mut g) = self.resolved.lock() {
            *g = Some(url.clone());
        }
        Ok(url)
    }

    async fn get(&self, url: Url) -> Result<(Vec<u8>, Option<String>), String> {
        let mut resp = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .send()
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("status {}", resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
        }
        let cache_control = resp
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("reading body: {}", error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("body larger than {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, cache_control))
    }

    async fn fetch(&self) -> Result<(HashMap<String, Arc<VerifyKey>>, u64), String> {
        let url = self.jwks_url().await?;
        let (body, cache_control) = self.get(url).await?;
        let keys = parse_jwks(&body, &self.algorithms)?;
        Ok((keys, ttl_from_cache_control(cache_control.as_deref())))
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Lifetime from `Cache-Control`: `max-age` clamped to 5 min..24 h; `no-store`/`no-cache` give the
/// minimum; absent gives 10 min.
pub(crate) fn ttl_from_cache_control(value: Option<&str>) -> u64 {
    let Some(value) = value else {
        return DEFAULT_TTL_SECS;
    };
    let mut ttl = None;
    for directive in value.split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return MIN_TTL_SECS;
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            ttl = Some(v.trim_matches('"').parse::<u64>().unwrap_or(0));
        }
    }
    ttl.map(|t| t.clamp(MIN_TTL_SECS, MAX_TTL_SECS))
        .unwrap_or(DEFAULT_TTL_SECS)
}

fn b64_len(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// Parses a JWK set, keeping only usable signature keys. A malformed entry is skipped; a body
/// that is not `{"keys":[...]}` is an error.
pub(crate) fn parse_jwks(
    body: &[u8],
    allowed: &[Algorithm],
) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "JWKS is not JSON".to_string())?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "JWKS has no keys array".to_string())?;
    if entries.len() > MAX_KEYS {
        tracing::warn!(
            count = entries.len(),
            "JWKS holds more than {MAX_KEYS} keys; the rest are ignored"
        );
    }
    let mut keys = HashMap::new();
    for entry in entries.iter().take(MAX_KEYS) {
        match parse_key(entry, allowed) {
            Ok((kid, key)) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(kid.clone()) {
                    slot.insert(Arc::new(key));
                } else {
                    tracing::warn!(kid = %loggable(&kid), "duplicate kid in JWKS; keeping the first");
                }
            }
            Err(why) => tracing::debug!(reason = why, "JWKS entry skipped"),
        }
    }
    Ok(keys)
}

fn parse_key(entry: &Value, allowed: &[Algorithm]) -> Result<(String, VerifyKey), &'static str> {
    let obj = entry.as_object().ok_or("not an object")?;
    let s = |k: &str| obj.get(k).and_then(Value::as_str);
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        if obj.contains_key(private) {
            return Err("holds private or secret material");
        }
    }
    let kty = s("kty").ok_or("no kty")?;
    let kid = s("kid").filter(|k| valid_kid(k)).ok_or("no usable kid")?;
    match obj.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        _ => return Err("use is not sig"),
    }
    if let Some(ops) = obj.get("key_ops") {
        let ok = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
        if !ok {
            return Err("key_ops lacks verify");
        }
    }
    let declared = match obj.get("alg") {
        None => None,
        Some(Value::String(a)) => Some(algorithm_from_name(a).ok_or("unsupported alg")?),
        Some(_) => return Err("alg is not a string"),
    };
    let (alg, key) = match kty {
        "RSA" => {
            let n = s("n").ok_or("no n")?;
            let e = s("e").ok_or("no e")?;
            let n_bytes = b64_len(n).ok_or("bad n")?;
            let first = n_bytes.iter().position(|b| *b != 0).ok_or("bad n")?;
            let bits = (n_bytes.len() - first) * 8 - n_bytes[first].leading_zeros() as usize;
            if !(2048..=8192).contains(&bits) {
                return Err("RSA modulus outside 2048..8192 bits");
            }
            if b64_len(e).as_deref() != Some(&[1, 0, 1]) {
                return Err("RSA exponent is not 65537");
            }
            let alg = declared.unwrap_or(Algorithm::RS256);
            if !matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) {
                return Err("alg does not fit an RSA key");
            }
            (
                alg,
                DecodingKey::from_rsa_components(n, e).map_err(|_| "bad RSA components")?,
            )
        }
        "EC" => {
            let (curve_alg, len) = match s("crv") {
                Some("P-256") => (Algorithm::ES256, 32),
                Some("P-384") => (Algorithm::ES384, 48),
                _ => return Err("unsupported EC curve"),
            };
            if declared.is_some_and(|a| a != curve_alg) {
                return Err("alg does not fit the curve");
            }
            let x = s("x").ok_or("no x")?;
            let y = s("y").ok_or("no y")?;
            if b64_len(x).map(|v| v.len()) != Some(len) || b64_len(y).map(|v| v.len()) != Some(len)
            {
                return Err("bad EC coordinates");
            }
            (
                curve_alg,
                DecodingKey::from_ec_components(x, y).map_err(|_| "bad EC components")?,
            )
        }
        "OKP" => {
            if s("crv") != Some("Ed25519") {
                return Err("unsupported OKP curve");
            }
            if declared.is_some_and(|a| a != Algorithm::EdDSA) {
                return Err("alg does not fit Ed25519");
            }
            let x = s("x").ok_or("no x")?;
            if b64_len(x).map(|v| v.len()) != Some(32) {
                return Err("bad Ed25519 key");
            }
            (
                Algorithm::EdDSA,
                DecodingKey::from_ed_components(x).map_err(|_| "bad Ed25519 key")?,
            )
        }
        _ => return Err("unsupported kty (oct keys are never used from a remote set)"),
    };
    if !allowed.contains(&alg) {
        return Err("alg not allowed by configuration");
    }
    Ok((kid.to_string(), VerifyKey { alg, key }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ASYMMETRIC_ALGORITHMS;
    use serde_json::json;

    fn rsa_n(bits: usize) -> String {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0xc1;
        URL_SAFE_NO_PAD.encode(n)
    }

    fn parse(keys: Value) -> HashMap<String, Arc<VerifyKey>> {
        parse_jwks(
            json!({ "keys": keys }).to_string().as_bytes(),
            ASYMMETRIC_ALGORITHMS,
        )
        .unwrap()
    }

    #[test]
    fn cache_control_ttl() {
        assert_eq!(ttl_from_cache_control(None), DEFAULT_TTL_SECS);
        assert_eq!(ttl_from_cache_control(Some("public, max-age=600")), 600);
        assert_eq!(ttl_from_cache_control(Some("max-age=10")), MIN_TTL_SECS);
        assert_eq!(
            ttl_from_cache_control(Some("max-age=9999999")),
            MAX_TTL_SECS
        );
        assert_eq!(
            ttl_from_cache_control(Some("public, max-age=18671, must-revalidate")),
            18671
        );
        assert_eq!(ttl_from_cache_control(Some("no-store")), MIN_TTL_SECS);
        assert_eq!(ttl_from_cache_control(Some("max-age=abc")), MIN_TTL_SECS);
        assert_eq!(ttl_from_cache_control(Some("public")), DEFAULT_TTL_SECS);
    }

    #[test]
    fn key_filtering() {
        let ec = |kid: &str| json!({"kty":"EC","crv":"P-256","kid":kid,"x":URL_SAFE_NO_PAD.encode([1u8;32]),"y":URL_SAFE_NO_PAD.encode([2u8;32])});
        let keys = parse(json!([
            {"kty":"RSA","kid":"rsa","n":rsa_n(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"ps","alg":"PS256","use":"sig","n":rsa_n(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"small","n":rsa_n(1024),"e":"AQAB"},
            {"kty":"RSA","kid":"e3","n":rsa_n(2048),"e":"Aw"},
            {"kty":"RSA","kid":"enc","use":"enc","n":rsa_n(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":rsa_n(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"es-on-rsa","alg":"ES256","n":rsa_n(2048),"e":"AQAB"},
            {"kty":"RSA","kid":"private","n":rsa_n(2048),"e":"AQAB","d":"AA"},
            {"kty":"oct","kid":"oct","k":"c2VjcmV0","alg":"HS256"},
            {"kty":"RSA","n":rsa_n(2048),"e":"AQAB"},
            ec("ec"),
            {"kty":"EC","crv":"P-256","kid":"ec384alg","alg":"ES384","x":URL_SAFE_NO_PAD.encode([1u8;32]),"y":URL_SAFE_NO_PAD.encode([2u8;32])},
            {"kty":"EC","crv":"P-521","kid":"p521","x":"AA","y":"AA"},
            {"kty":"OKP","crv":"Ed25519","kid":"ed","x":URL_SAFE_NO_PAD.encode([3u8;32])},
            {"kty":"OKP","crv":"X25519","kid":"x25519","x":URL_SAFE_NO_PAD.encode([3u8;32])},
            "junk",
            ec("ec"),
        ]));
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, vec!["ec", "ed", "ps", "rsa"]);
        assert_eq!(keys["rsa"].alg, Algorithm::RS256);
        assert_eq!(keys["ps"].alg, Algorithm::PS256);
        assert_eq!(keys["ec"].alg, Algorithm::ES256);
        assert_eq!(keys["ed"].alg, Algorithm::EdDSA);
    }

    #[test]
    fn allow_list_and_bad_documents() {
        let only_rs = parse_jwks(
            json!({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":URL_SAFE_NO_PAD.encode([3u8;32])}]}).to_string().as_bytes(),
            &[Algorithm::RS256],
        )
        .unwrap();
        assert!(only_rs.is_empty());
        assert!(parse_jwks(b"not json", ASYMMETRIC_ALGORITHMS).is_err());
        assert!(parse_jwks(b"{\"nokeys\":[]}", ASYMMETRIC_ALGORITHMS).is_err());
        assert!(parse_jwks(b"{\"keys\":[]}", ASYMMETRIC_ALGORITHMS)
            .unwrap()
            .is_empty());
    }
}
