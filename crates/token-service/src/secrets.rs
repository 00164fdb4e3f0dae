//! Typed provider secrets and the refreshing cache that holds them.
//!
//! Secret JSON (Secrets Manager `SecretString`):
//! - Agora `{"app_id": "<32 hex>", "app_certificate": "<32 hex>"}`, optionally with
//!   `"customer_id"` and `"customer_secret"` (both or neither): Agora's RESTful API credentials, used
//!   only by `rtc-token admin ban --kick` (kicking rules); the functions ignore them
//! - LiveKit `{"api_key": "...", "api_secret": "...", "url": "wss://..."}`
//! - Stream `{"api_key": "...", "api_secret": "..."}`
//! - caller-auth HS256 (`AUTH_HS256_SECRET_ID`): `{"secret": "...", "previous": "..."}` (previous
//!   optional, accepted during a rotation) or the plain secret string.
//!
//! Cache behaviour ([`SecretCache`]): loaded at INIT; a value older than the refresh interval
//! (`SECRET_REFRESH_SECONDS`, default 300) is re-read on the next request; a failed re-read keeps the
//! old value and is retried after `min(interval, 30 s)`. With no value yet (Secrets Manager was
//! unreachable at INIT), it is retried with backoff like the caller keys (1 s, 2 s, 4 s ... 60 s after
//! each failure, [`caller_auth::jwks::backoff_secs`]): a request at a due time tries once, the
//! requests in between answer 503 with `Retry-After` at once, without a call to the store.
//! Errors name the secret id and the field, never a value; `Debug` of every type here is redacted.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use rtc_signing::Secret;

/// A boxed future of one secret fetch.
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SourceError>> + Send + 'a>>;

/// Where secret strings come from: Secrets Manager ([`crate::aws::Aws`]) in Lambda; embedded or
/// environment values ([`StaticSource`]) for the local server and tests.
pub trait SecretSource: Send + Sync {
    /// The secret string of `id`.
    fn fetch<'a>(&'a self, id: &'a str) -> SourceFuture<'a>;
}

/// A fixed map of id -> secret string.
#[derive(Clone, Default)]
pub struct StaticSource(HashMap<String, String>);

impl StaticSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) a value.
    pub fn with(mut self, id: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(id.into(), value.into());
        self
    }
}

impl std::fmt::Debug for StaticSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticSource")
            .field("ids", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretSource for StaticSource {
    fn fetch<'a>(&'a self, id: &'a str) -> SourceFuture<'a> {
        let r = self
            .0
            .get(id)
            .cloned()
            .ok_or_else(|| SourceError::NotFound { id: id.to_owned() });
        Box::pin(async move { r })
    }
}

/// A failed fetch or parse. Names the secret id, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Secrets Manager could not be reached or answered with an error: retry later.
    #[error("secret {id}: {reason}")]
    Unavailable {
        /// The secret id.
        id: String,
        /// Why (no secret content).
        reason: String,
    },
    /// No such secret.
    #[error("secret {id}: not found")]
    NotFound {
        /// The secret id.
        id: String,
    },
    /// The secret exists but its content is not what this function expects.
    #[error("secret {id}: malformed: {reason}")]
    Malformed {
        /// The secret id.
        id: String,
        /// What is wrong (field names only).
        reason: String,
    },
}

/// Agora project credentials from the secret, kept as the signing key the mint borrows (built once
/// per load, not per request).
#[derive(Clone)]
pub struct AgoraSecret {
    /// App ID (32 hex characters, public) and app certificate (32 hex characters).
    pub key: rtc_signing::agora::AgoraKey,
    /// Agora RESTful API credentials (`customer_id`, `customer_secret`), when the secret has them.
    pub rest: Option<AgoraRestCredentials>,
}

/// Agora RESTful API credentials (HTTP Basic auth of the Channel Management API).
#[derive(Clone)]
pub struct AgoraRestCredentials {
    /// Customer ID (the Basic auth user name).
    pub customer_id: String,
    /// Customer secret (the Basic auth password).
    pub customer_secret: Secret,
}

impl std::fmt::Debug for AgoraRestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The customer id is not a signing secret, but with the secret it is the login: keep both out.
        f.debug_struct("AgoraRestCredentials")
            .finish_non_exhaustive()
    }
}

/// LiveKit credentials from the secret.
#[derive(Clone)]
pub struct LiveKitSecret {
    /// API key (public) and API secret, as the signing key.
    pub key: rtc_signing::livekit::LiveKitKey,
    /// The server URL returned to clients (`wss://...`).
    pub url: String,
}

/// Stream credentials from the secret.
#[derive(Clone)]
pub struct StreamSecret {
    /// API key (public) and API secret, as the signing key.
    pub key: rtc_signing::stream::StreamKey,
}

macro_rules! redacted_debug {
    ($t:ty, $($field:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))$(.field(stringify!($field), &self.$field))*.finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(AgoraSecret, key, rest);
redacted_debug!(LiveKitSecret, key, url);
redacted_debug!(StreamSecret, key);

/// The secret of one function's provider.
#[derive(Clone, Debug)]
pub enum ProviderSecret {
    /// Agora.
    Agora(AgoraSecret),
    /// LiveKit.
    LiveKit(LiveKitSecret),
    /// Stream.
    Stream(StreamSecret),
}

fn object(id: &str, text: &str) -> Result<serde_json::Map<String, serde_json::Value>, SourceError> {
    // serde_json's syntax errors carry only a position, never input text.
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(malformed(id, "expected a JSON object")),
        Err(e) => Err(malformed(
            id,
            &format!("not JSON (line {} column {})", e.line(), e.column()),
        )),
    }
}

fn malformed(id: &str, reason: &str) -> SourceError {
    SourceError::Malformed {
        id: id.to_owned(),
        reason: reason.to_owned(),
    }
}

fn field(
    id: &str,
    m: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<String, SourceError> {
    match m.get(name) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(serde_json::Value::String(_)) => {
            Err(malformed(id, &format!("field {name:?} is empty")))
        }
        Some(_) => Err(malformed(id, &format!("field {name:?} is not a string"))),
        None => Err(malformed(id, &format!("field {name:?} is missing"))),
    }
}

/// A signing-key constructor's refusal as this secret's error (field name and reason only; the
/// signing crate's messages never carry the value).
fn key_error(id: &str, e: rtc_signing::Error) -> SourceError {
    match e.kind() {
        rtc_signing::ErrorKind::InvalidInput { field, reason } => {
            malformed(id, &format!("field {field:?} {reason}"))
        }
        _ => malformed(id, &e.to_string()),
    }
}

impl AgoraSecret {
    /// Parses `{"app_id","app_certificate"}` (both 32 hex characters, checked by
    /// [`rtc_signing::agora::AgoraKey::new`]) and the optional `customer_id` + `customer_secret`.
    pub fn parse(id: &str, text: &str) -> Result<Self, SourceError> {
        let m = object(id, text)?;
        let app_id = field(id, &m, "app_id")?;
        let cert = field(id, &m, "app_certificate")?;
        let key = rtc_signing::agora::AgoraKey::new(app_id, cert).map_err(|e| key_error(id, e))?;
        let rest =
            match (
                m.contains_key("customer_id"),
                m.contains_key("customer_secret"),
            ) {
                (false, false) => None,
                (true, true) => Some(AgoraRestCredentials {
                    customer_id: field(id, &m, "customer_id")?,
                    customer_secret: Secret::new(field(id, &m, "customer_secret")?),
                }),
                _ => return Err(malformed(
                    id,
                    "fields \"customer_id\" and \"customer_secret\" go together (both or neither)",
                )),
            };
        Ok(AgoraSecret { key, rest })
    }
}

impl LiveKitSecret {
    /// Parses `{"api_key","api_secret","url"}`.
    pub fn parse(id: &str, text: &str) -> Result<Self, SourceError> {
        let m = object(id, text)?;
        let api_key = field(id, &m, "api_key")?;
        let api_secret = field(id, &m, "api_secret")?;
        let url = field(id, &m, "url")?;
        if !(url.starts_with("wss://")
            || url.starts_with("ws://")
            || url.starts_with("https://")
            || url.starts_with("http://"))
        {
            return Err(malformed(
                id,
                "field \"url\" must be a ws(s):// or http(s):// URL",
            ));
        }
        let key = rtc_signing::livekit::LiveKitKey::new(api_key, api_secret)
            .map_err(|e| key_error(id, e))?;
        Ok(LiveKitSecret { key, url })
    }
}

impl StreamSecret {
    /// Parses `{"api_key","api_secret"}`.
    pub fn parse(id: &str, text: &str) -> Result<Self, SourceError> {
        let m = object(id, text)?;
        let api_key = field(id, &m, "api_key")?;
        let api_secret = field(id, &m, "api_secret")?;
        let key = rtc_signing::stream::StreamKey::new(api_key, api_secret)
            .map_err(|e| key_error(id, e))?;
        Ok(StreamSecret { key })
    }
}

/// Parses the caller-auth shared secret: `{"secret","previous"?}` or a plain string. Current first.
pub fn parse_hs_secrets(id: &str, text: &str) -> Result<Vec<Secret>, SourceError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let m = object(id, trimmed)?;
        let mut out = vec![Secret::new(field(id, &m, "secret")?)];
        if m.contains_key("previous") {
            out.push(Secret::new(field(id, &m, "previous")?));
        }
        Ok(out)
    } else if trimmed.is_empty() {
        Err(malformed(id, "the secret is empty"))
    } else {
        Ok(vec![Secret::new(trimmed)])
    }
}

/// A parser from (secret id, text) to a typed value.
pub type ParseFn<T> = Arc<dyn Fn(&str, &str) -> Result<T, SourceError> + Send + Sync>;

struct State<T> {
    value: Option<Arc<T>>,
    /// Unix time of the next fetch attempt (0 = now).
    next_fetch: u64,
    /// Failed attempts in a row while no value is held (the backoff's exponent).
    failures: u64,
    /// Bumped on every successful load.
    version: u64,
}

/// One refreshing secret (see the module documentation).
pub struct SecretCache<T> {
    id: String,
    source: Arc<dyn SecretSource>,
    parse: ParseFn<T>,
    refresh_secs: u64,
    state: RwLock<State<T>>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl<T> std::fmt::Debug for SecretCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("id", &self.id)
            .field("refresh_secs", &self.refresh_secs)
            .finish_non_exhaustive()
    }
}

/// After a failed re-read, the next attempt waits at most this long.
pub const RETRY_AFTER_FAILURE_SECS: u64 = 30;

/// How long a due re-read may hold a request when the previous value can still serve.
pub const REFRESH_BUDGET: std::time::Duration = std::time::Duration::from_millis(1200);

impl<T: Send + Sync> SecretCache<T> {
    /// A cache with nothing loaded yet.
    pub fn new(
        id: impl Into<String>,
        source: Arc<dyn SecretSource>,
        refresh_secs: u64,
        parse: ParseFn<T>,
    ) -> Self {
        SecretCache {
            id: id.into(),
            source,
            parse,
            refresh_secs: refresh_secs.max(1),
            state: RwLock::new(State {
                value: None,
                next_fetch: 0,
                failures: 0,
                version: 0,
            }),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The secret id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn snapshot(&self) -> (Option<Arc<T>>, u64, u64) {
        match self.state.read() {
            Ok(s) => (s.value.clone(), s.next_fetch, s.version),
            Err(p) => {
                let s = p.into_inner();
                (s.value.clone(), s.next_fetch, s.version)
            }
        }
    }

    fn store(&self, f: impl FnOnce(&mut State<T>)) {
        match self.state.write() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Fetches and parses now, replacing the value on success. Returns the error otherwise (the
    /// old value, if any, stays).
    pub async fn load(&self, now: u64) -> Result<Arc<T>, SourceError> {
        let result = async {
            let text = self.source.fetch(&self.id).await?;
            (self.parse)(&self.id, &text)
        }
        .await;
        match result {
            Ok(v) => {
                let v = Arc::new(v);
                let stored = v.clone();
                let next = now.saturating_add(self.refresh_secs);
                self.store(|s| {
                    s.value = Some(stored);
                    s.next_fetch = next;
                    s.failures = 0;
                    s.version += 1;
                });
                Ok(v)
            }
            Err(e) => {
                let retry = now.saturating_add(self.refresh_secs.min(RETRY_AFTER_FAILURE_SECS));
                self.store(|s| {
                    if s.value.is_some() {
                        s.next_fetch = retry;
                    } else {
                        s.failures = s.failures.saturating_add(1);
                        s.next_fetch =
                            now.saturating_add(caller_auth::jwks::backoff_secs(s.failures));
                    }
                });
                Err(e)
            }
        }
    }

    /// The current value, re-reading it first when it is due. `Err` only when there is no value at
    /// all: at once while the backoff after a failed load runs, else after one attempt.
    /// The `u64` is the version, bumped on every successful load (so dependants can be updated).
    pub async fn get(&self, now: u64) -> Result<(Arc<T>, u64), SourceError> {
        if let Some(r) = self.without_fetch(now) {
            return r;
        }
        // Due (or missing): one fetch at a time; others re-check after waiting.
        let _guard = self.fetch_lock.lock().await;
        if let Some(r) = self.without_fetch(now) {
            return r;
        }
        let (value, _, version) = self.snapshot();
        // With a value to fall back on, a re-read may cost a request at most REFRESH_BUDGET; without
        // one, the SDK's own operation timeout bounds it. This keeps several due secrets inside the
        // Lambda timeout even while Secrets Manager hangs.
        let result = if value.is_some() {
            match tokio::time::timeout(REFRESH_BUDGET, self.load(now)).await {
                Ok(r) => r,
                Err(_) => {
                    let retry = now.saturating_add(self.refresh_secs.min(RETRY_AFTER_FAILURE_SECS));
                    self.store(|s| s.next_fetch = retry);
                    Err(SourceError::Unavailable {
                        id: self.id.clone(),
                        reason: "re-read timed out".into(),
                    })
                }
            }
        } else {
            self.load(now).await
        };
        match result {
            Ok(v) => {
                let (_, _, version) = self.snapshot();
                Ok((v, version))
            }
            Err(e) => {
                match &value {
                    Some(_) => {
                        tracing::warn!(secret_id = %self.id, error = %e, "secret re-read failed; keeping the previous value")
                    }
                    None => tracing::error!(secret_id = %self.id, error = %e, "secret unavailable"),
                }
                value.map(|v| (v, version)).ok_or(e)
            }
        }
    }

    /// The answer when no fetch is due: the value, or (none held, backoff running) the error.
    fn without_fetch(&self, now: u64) -> Option<Result<(Arc<T>, u64), SourceError>> {
        let (value, next_fetch, version) = self.snapshot();
        if now >= next_fetch {
            return None;
        }
        Some(match value {
            Some(v) => Ok((v, version)),
            None => Err(SourceError::Unavailable {
                id: self.id.clone(),
                reason: format!(
                    "not loaded; next attempt in {} s",
                    next_fetch.saturating_sub(now)
                ),
            }),
        })
    }

    /// The current value without any fetch.
    pub fn current(&self) -> Option<Arc<T>> {
        self.snapshot().0
    }

    /// Seconds from `now` until the next fetch attempt (at least 1): after a failed load with no
    /// value held, the time left in the backoff pause (1, 2, 4 ... 60 s), so a client told to retry
    /// after it comes back when the secret can load.
    pub fn retry_after(&self, now: u64) -> u64 {
        self.snapshot().1.saturating_sub(now).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const CERT: &str = "0123456789abcdef0123456789abcdef";
    const APP: &str = "970ca35de60c44645bbae8a215061b33";

    #[test]
    fn agora_secret_parses_and_validates() {
        let s = AgoraSecret::parse(
            "id",
            &format!(r#"{{"app_id":"{APP}","app_certificate":"{CERT}"}}"#),
        )
        .unwrap();
        assert_eq!(s.key.app_id, APP);
        assert_eq!(s.key.app_certificate.expose(), CERT);
        let dbg = format!("{s:?}");
        assert!(!dbg.contains(CERT) && dbg.contains(APP));

        let e = AgoraSecret::parse(
            "agora/prod",
            &format!(r#"{{"app_id":"x","app_certificate":"{CERT}"}}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("agora/prod") && e.contains("app_id"), "{e}");
        let e = AgoraSecret::parse("id", &format!(r#"{{"app_id":"{APP}"}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"app_certificate\" is missing"), "{e}");
        let e = AgoraSecret::parse(
            "id",
            &format!(r#"{{"app_id":"{APP}","app_certificate":"{CERT}zz"}}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("\"app_certificate\" must be 32 hex") && !e.contains(CERT),
            "{e}"
        );
        let e = AgoraSecret::parse("id", &format!("{{\"app_certificate\":\"{CERT}\","))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not JSON") && !e.contains(CERT), "{e}");
        let e = AgoraSecret::parse(
            "id",
            r#"{"app_id": 12345678901234567890123456789012, "app_certificate": 5}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("1234567890"), "{e}");
    }

    #[test]
    fn agora_rest_credentials_are_optional_paired_and_redacted() {
        let base = format!(r#""app_id":"{APP}","app_certificate":"{CERT}""#);
        assert!(AgoraSecret::parse("a", &format!("{{{base}}}"))
            .unwrap()
            .rest
            .is_none());
        let s = AgoraSecret::parse(
            "a",
            &format!(r#"{{{base},"customer_id":"cust-1d","customer_secret":"cust-s3cret"}}"#),
        )
        .unwrap();
        let rest = s.rest.as_ref().unwrap();
        assert_eq!(rest.customer_id, "cust-1d");
        assert_eq!(rest.customer_secret.expose(), "cust-s3cret");
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("cust-s3cret") && !dbg.contains("cust-1d"),
            "{dbg}"
        );
        let e = AgoraSecret::parse(
            "agora/prod",
            &format!(r#"{{{base},"customer_secret":"cust-s3cret"}}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("customer_id") && !e.contains("cust-s3cret"),
            "{e}"
        );
        let e = AgoraSecret::parse(
            "a",
            &format!(r#"{{{base},"customer_id":"c","customer_secret":""}}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"customer_secret\" is empty"), "{e}");
    }

    #[test]
    fn livekit_and_stream_secrets() {
        let s = LiveKitSecret::parse(
            "lk",
            r#"{"api_key":"APIk","api_secret":"sssecret","url":"wss://x.livekit.cloud"}"#,
        )
        .unwrap();
        assert_eq!(s.url, "wss://x.livekit.cloud");
        assert_eq!(s.key.api_key, "APIk");
        assert_eq!(s.key.api_secret.expose(), "sssecret");
        assert!(!format!("{s:?}").contains("sssecret"));
        assert!(
            LiveKitSecret::parse("lk", r#"{"api_key":"a","api_secret":"b","url":"ftp://x"}"#)
                .is_err()
        );
        assert!(
            LiveKitSecret::parse("lk", r#"{"api_key":"a","api_secret":"b"}"#)
                .unwrap_err()
                .to_string()
                .contains("url")
        );
        let s = StreamSecret::parse("st", r#"{"api_key":"k","api_secret":"topsecret"}"#).unwrap();
        assert_eq!(s.key.api_key, "k");
        assert_eq!(s.key.api_secret.expose(), "topsecret");
        assert!(!format!("{s:?}").contains("topsecret"));
        assert!(StreamSecret::parse("st", r#"[]"#)
            .unwrap_err()
            .to_string()
            .contains("object"));
    }

    #[test]
    fn hs_secrets_json_or_plain() {
        let v = parse_hs_secrets("a", r#"{"secret":"new","previous":"old"}"#).unwrap();
        assert_eq!(
            v.iter().map(|s| s.expose()).collect::<Vec<_>>(),
            ["new", "old"]
        );
        let v = parse_hs_secrets("a", "plain-secret\n").unwrap();
        assert_eq!(v[0].expose(), "plain-secret");
        assert!(parse_hs_secrets("a", r#"{"previous":"old"}"#).is_err());
        assert!(parse_hs_secrets("a", "  ").is_err());
    }

    /// A source whose answer the test changes.
    #[derive(Clone)]
    struct Scripted(Arc<Mutex<(Result<String, SourceError>, u32)>>);
    impl Default for Scripted {
        fn default() -> Self {
            Scripted(Arc::new(Mutex::new((Ok(String::new()), 0))))
        }
    }
    impl Scripted {
        fn set(&self, r: Result<String, SourceError>) {
            self.0.lock().unwrap().0 = r;
        }
        fn calls(&self) -> u32 {
            self.0.lock().unwrap().1
        }
    }
    impl SecretSource for Scripted {
        fn fetch<'a>(&'a self, _id: &'a str) -> SourceFuture<'a> {
            let mut g = self.0.lock().unwrap();
            g.1 += 1;
            let r = g.0.clone();
            Box::pin(async move { r })
        }
    }

    fn down() -> Result<String, SourceError> {
        Err(SourceError::Unavailable {
            id: "s".into(),
            reason: "down".into(),
        })
    }

    #[tokio::test]
    async fn cache_refreshes_keeps_old_on_failure_and_recovers() {
        let src = Scripted::default();
        src.set(down());
        let parse: ParseFn<String> = Arc::new(|_, t| Ok(t.to_owned()));
        let cache = SecretCache::new("s", Arc::new(src.clone()), 100, parse);
        // Nothing yet: retried with backoff (1, 2, 4 ... 60 s); in between, errors without a fetch.
        assert!(cache.get(1000).await.is_err());
        assert!(cache.get(1000).await.is_err());
        assert_eq!(src.calls(), 1);
        let mut at = 1000;
        for (n, pause) in [1, 2, 4, 8, 16, 32, 60, 60].into_iter().enumerate() {
            assert!(cache.get(at + pause - 1).await.is_err());
            assert_eq!(
                src.calls(),
                n as u32 + 1,
                "no fetch {} s into a {pause} s pause",
                pause - 1
            );
            at += pause;
            assert!(cache.get(at).await.is_err());
            assert_eq!(
                src.calls(),
                n as u32 + 2,
                "one fetch once the {pause} s pause is over"
            );
        }
        src.set(Ok("v1".into()));
        assert!(
            cache.get(at + 59).await.is_err(),
            "still inside the 60 s pause"
        );
        let calls = src.calls();
        at += 60;
        let (v, ver1) = cache.get(at).await.unwrap();
        assert_eq!(src.calls(), calls + 1);
        assert_eq!(*v, "v1");
        // Fresh: no fetch.
        src.set(Ok("v2".into()));
        assert_eq!(*cache.get(at + 99).await.unwrap().0, "v1");
        assert_eq!(src.calls(), calls + 1);
        // Due: re-read picks up the rotation.
        let (v, ver2) = cache.get(at + 100).await.unwrap();
        assert_eq!(*v, "v2");
        assert!(ver2 > ver1);
        // Due but the source is down: old value kept, retried after 30 s, not on every call.
        src.set(down());
        assert_eq!(*cache.get(at + 200).await.unwrap().0, "v2");
        let calls = src.calls();
        assert_eq!(*cache.get(at + 210).await.unwrap().0, "v2");
        assert_eq!(src.calls(), calls);
        src.set(Ok("v3".into()));
        assert_eq!(*cache.get(at + 230).await.unwrap().0, "v3");
    }

    #[tokio::test]
    async fn static_source_and_malformed_values() {
        let src = StaticSource::new().with("a", "{}");
        let parse: ParseFn<AgoraSecret> = Arc::new(AgoraSecret::parse);
        let cache = SecretCache::new("a", Arc::new(src), 300, parse);
        let e = cache.get(1).await.unwrap_err();
        assert!(matches!(e, SourceError::Malformed { .. }));
        let missing = SecretCache::new(
            "zz",
            Arc::new(StaticSource::new()),
            300,
            Arc::new(|_: &str, t: &str| Ok(t.to_owned())),
        );
        assert_eq!(
            missing.get(1).await.unwrap_err(),
            SourceError::NotFound { id: "zz".into() }
        );
        assert!(format!("{:?}", StaticSource::new().with("id", "hidden")).contains("id"));
        assert!(!format!("{:?}", StaticSource::new().with("id", "hidden")).contains("hidden"));
    }
}
