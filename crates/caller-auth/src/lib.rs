//! Caller authentication: verifies the calling app's own JWT before anything is signed.
//!
//! - [`AuthConfig`]: parsed from environment-style key/values (`AUTH_PROVIDER`, `AUTH_ISSUER`, ...).
//! - [`Authenticator`]: built once at INIT, shared by reference; `authenticate` per request.
//! - [`Caller`]: the verified identity handed to policy.
//! - [`AuthError`]: one error with a class: the token is wrong (401), the request is malformed (400),
//!   or the caller cannot be checked right now because its keys or the shared secret are not
//!   available (503 with `Retry-After`).
//! - [`clock`]: the project's one clock, injected down to the JWKS cache.
//!
//! Pipeline of [`Authenticator::authenticate`]: `Authorization` parsing → 8 KiB cap and exactly three
//! base64url segments → JOSE header checks (no `none`, `crit`, `jku`, `x5u`, `jwk`, `x5c`, nested
//! tokens) → key selection by configuration (shared secret for `HS*`, JWKS by `kid` otherwise; the
//! token's `alg` must equal the key's algorithm) → signature (`jsonwebtoken`, aws-lc-rs) → strict
//! claims with the injected clock → [`Caller`].
//!
//! Mains should call [`init_crypto`] once at start-up ([`Authenticator::build`] also does).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

pub mod clock;
pub mod config;
mod error;
pub mod header;
pub mod jwks;
mod validate;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AuthConfig, CognitoTokenUse, JwksSource, ProviderRules};
pub use error::{AuthError, AuthErrorClass, ConfigError};
pub use header::{authorization_from_headers, bearer_token, MAX_TOKEN_BYTES};
pub use jwks::JwksStats;

/// Shortest shared secret accepted (bytes), RFC 8725 §3.5.
pub const MIN_SECRET_BYTES: usize = 32;

/// Installs jsonwebtoken's aws-lc-rs crypto provider for the process. Idempotent; call it at the
/// start of every main so a feature mix-up can never panic on the first request.
pub fn init_crypto() {
    // Err means a provider is already installed, which is what we want.
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

/// Which preset validated the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// Clerk session tokens.
    Clerk,
    /// Supabase Auth access tokens.
    Supabase,
    /// Firebase Auth ID tokens.
    Firebase,
    /// Auth0 access tokens for an API.
    Auth0,
    /// AWS Cognito user-pool tokens.
    Cognito,
    /// Any OIDC issuer (discovery).
    Oidc,
    /// A fixed JWKS URL and issuer.
    Jwks,
    /// Shared secret (HS256/384/512) only.
    Hs256,
}

impl ProviderKind {
    /// The `AUTH_PROVIDER` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Clerk => "clerk",
            ProviderKind::Supabase => "supabase",
            ProviderKind::Firebase => "firebase",
            ProviderKind::Auth0 => "auth0",
            ProviderKind::Cognito => "cognito",
            ProviderKind::Oidc => "oidc",
            ProviderKind::Jwks => "jwks",
            ProviderKind::Hs256 => "hs256",
        }
    }
}

/// A verified caller. Holds no token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user id (from `sub`, or the configured user-id claim).
    pub subject: String,
    /// The verified `iss`.
    pub issuer: String,
    /// The preset that validated it.
    pub provider: ProviderKind,
    /// Roles from the configured role claims (strings, flattened).
    pub roles: Vec<String>,
    /// All claims of the verified token (for policy rules such as a uid claim).
    pub claims: Claims,
    /// The token's `exp` (unix seconds).
    pub expires_at: u64,
}

/// Verifies caller JWTs; owns the JWKS cache and the shared secrets.
pub struct Authenticator {
    config: AuthConfig,
    jwks: Option<jwks::JwksCache>,
    /// The shared secrets (current first), as HMAC keys of `config.hs_algorithm`.
    secrets: RwLock<Arc<Vec<DecodingKey>>>,
    /// A shared secret is expected but has not been set yet (its store has not answered): HMAC
    /// tokens are then "cannot check now" (503), not "wrong" (401).
    secrets_pending: AtomicBool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("provider", &self.config.provider)
            .field("issuer", &self.config.issuer)
            .field("shared_secrets", &self.secret_keys().len())
            .field("jwks", &self.jwks_stats())
            .finish()
    }
}

fn secret_key(secret: &[u8]) -> Result<DecodingKey, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError(format!(
            "a shared secret is {} bytes; at least {MIN_SECRET_BYTES} are required",
            secret.len()
        )));
    }
    Ok(DecodingKey::from_secret(secret))
}

fn secret_keys<I>(secrets: I) -> Result<Vec<DecodingKey>, ConfigError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    secrets
        .into_iter()
        .map(|s| secret_key(s.as_ref()))
        .collect()
}

impl Authenticator {
    /// Builds it without any I/O: no shared secret yet (see [`Authenticator::set_shared_secrets`])
    /// and, with a JWKS, no keys until [`Authenticator::prefetch`]. With `AUTH_PROVIDER=hs256` the
    /// shared secret is awaited (see [`Authenticator::awaiting_shared_secrets`]).
    ///
    /// This is what an INIT that loads everything at once uses: build, then run `prefetch` beside
    /// the other loads, then set the shared secret when its store answers.
    pub fn build(config: AuthConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        init_crypto();
        config.validate()?;
        let jwks = match &config.jwks {
            Some(source) => Some(
                jwks::JwksCache::new(
                    source.clone(),
                    config.issuer.clone(),
                    config.jwks_algorithms.clone(),
                    config.min_refetch_interval,
                    clock,
                )
                .map_err(ConfigError)?,
            ),
            None => None,
        };
        let pending = config.provider == ProviderKind::Hs256;
        Ok(Authenticator {
            config,
            jwks,
            secrets: RwLock::new(Arc::new(Vec::new())),
            secrets_pending: AtomicBool::new(pending),
        })
    }

    /// Marks the shared secret as expected but not loaded: until [`Authenticator::set_shared_secrets`]
    /// is called, HMAC tokens are refused as [`AuthErrorClass::KeysUnavailable`] (503), because the
    /// token may be fine.
    pub fn awaiting_shared_secrets(self) -> Self {
        self.secrets_pending.store(true, Ordering::SeqCst);
        self
    }

    /// INIT's fetch of the JWKS (no-op without one). Waits at most [`jwks::INIT_WAIT`]; a fetch still
    /// running then finishes in the background. On failure the keys are retried in the background
    /// with backoff (1 s, 2 s, 4 s ... 60 s) and requests meanwhile answer
    /// [`AuthErrorClass::KeysUnavailable`] with the seconds until the next attempt. The error is
    /// for the log.
    pub async fn prefetch(&self) -> Result<(), String> {
        match &self.jwks {
            Some(cache) => cache.prefetch().await,
            None => Ok(()),
        }
    }

    /// Builds it with these shared secrets and, when a JWKS is configured, fetches the keys now
    /// (INIT; see [`Authenticator::prefetch`]). A failed fetch is logged, not fatal.
    pub async fn new<I>(config: AuthConfig, shared_secrets: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        Self::with_clock(config, shared_secrets, Arc::new(SystemClock)).await
    }

    /// As [`Authenticator::new`], with the clock used by the JWKS cache.
    pub async fn with_clock<I>(
        config: AuthConfig,
        shared_secrets: I,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let auth = Self::build(config, clock)?;
        let keys = secret_keys(shared_secrets)?;
        if auth.config.provider == ProviderKind::Hs256 && keys.is_empty() {
            return Err(ConfigError(
                "AUTH_PROVIDER=hs256 needs a shared secret (AUTH_HS256_SECRET_ID or AUTH_HS256_SECRET)".into(),
            ));
        }
        auth.store_secrets(keys);
        if let Err(e) = auth.prefetch().await {
            tracing::warn!(error = %e, issuer = %auth.config.issuer, "JWKS fetch at start-up failed; retrying in the background");
        }
        Ok(auth)
    }

    /// The configuration in use.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// JWKS cache counters (`None` without a JWKS).
    pub fn jwks_stats(&self) -> Option<JwksStats> {
        self.jwks.as_ref().map(|j| j.stats())
    }

    fn secret_keys(&self) -> Arc<Vec<DecodingKey>> {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the HS256/384/512 shared secrets (rotation; current first, previous second).
    /// Secrets shorter than 32 bytes are dropped with an error log; see
    /// [`Authenticator::try_set_shared_secrets`] to get the error instead.
    pub fn set_shared_secrets<I>(&self, secrets: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let keys = secrets
            .into_iter()
            .filter_map(|s| match secret_key(s.as_ref()) {
                Ok(k) => Some(k),
                Err(_) => {
                    tracing::error!(
                        "ignoring a shared secret shorter than {MIN_SECRET_BYTES} bytes"
                    );
                    None
                }
            })
            .collect();
        self.store_secrets(keys);
    }

    /// Replaces the shared secrets, refusing the whole list if one is too short.
    pub fn try_set_shared_secrets<I>(&self, secrets: I) -> Result<(), ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let keys = secret_keys(secrets)?;
        self.store_secrets(keys);
        Ok(())
    }

    fn store_secrets(&self, keys: Vec<DecodingKey>) {
        *self.secrets.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        self.secrets_pending.store(false, Ordering::SeqCst);
    }

    /// Verifies the `Authorization` header value at unix time `now`.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<Caller, AuthError> {
        let token = header::bearer_token(authorization)?;
        self.authenticate_token(token, now).await
    }

    /// Verifies a bare token (no `Bearer ` prefix) at unix time `now`.
    pub async fn authenticate_token(&self, token: &str, now: u64) -> Result<Caller, AuthError> {
        let seg = header::split_token(token)?;
        let jose = header::parse_header(seg.header)?;
        if self.config.rules.require_access_token_type && !jose.access_token_type {
            return Err(AuthError::token(
                "bad_typ",
                "an access token (typ at+jwt) is required",
            ));
        }
        // Decoding first is the payload's alphabet check (malformed input never reaches a key).
        let payload = header::b64(seg.payload, "payload")?;
        if jose.alg.family() == AlgorithmFamily::Hmac {
            self.verify_hmac(jose.alg, &seg)?;
        } else {
            self.verify_jwks(jose.alg, jose.kid.as_deref(), &seg)
                .await?;
        }
        let claims = validate::parse_claims(&payload)?;
        let mut caller = validate::check_claims(&self.config, &claims, now)?;
        caller.claims = Claims(claims);
        Ok(caller)
    }

    fn verify_hmac(&self, alg: Algorithm, seg: &header::Segments<'_>) -> Result<(), AuthError> {
        let keys = self.secret_keys();
        if keys.is_empty() && self.secrets_pending.load(Ordering::SeqCst) {
            return Err(AuthError::unavailable(
                "secret_unavailable",
                "the shared secret has not been loaded yet",
                None,
            ));
        }
        if keys.is_empty() {
            return Err(AuthError::token(
                "bad_alg",
                format!("{alg:?} tokens are not accepted (no shared secret)"),
            ));
        }
        if alg != self.config.hs_algorithm {
            return Err(AuthError::token(
                "alg_mismatch",
                format!(
                    "{alg:?} but the shared secret is {:?}",
                    self.config.hs_algorithm
                ),
            ));
        }
        for key in keys.iter() {
            if verify(seg, key, alg)? {
                return Ok(());
            }
        }
        Err(AuthError::token(
            "bad_signature",
            "no shared secret verifies the signature",
        ))
    }

    async fn verify_jwks(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        seg: &header::Segments<'_>,
    ) -> Result<(), AuthError> {
        let Some(cache) = &self.jwks else {
            return Err(AuthError::token(
                "bad_alg",
                format!("{alg:?} tokens are not accepted (no JWKS)"),
            ));
        };
        let kid = kid.ok_or_else(|| AuthError::token("missing_kid", "kid is required"))?;
        let key = cache.key(kid).await?;
        if key.alg != alg {
            return Err(AuthError::token(
                "alg_mismatch",
                format!(
                    "header alg {alg:?} but key {} is {:?}",
                    error::loggable(kid),
                    key.alg
                ),
            ));
        }
        if verify(seg, &key.key, key.alg)? {
            Ok(())
        } else {
            Err(AuthError::token(
                "bad_signature",
                format!(
                    "signature does not verify with key {}",
                    error::loggable(kid)
                ),
            ))
        }
    }
}

fn verify(
    seg: &header::Segments<'_>,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<bool, AuthError> {
    jsonwebtoken::crypto::verify(seg.signature, seg.signing_input.as_bytes(), key, alg).map_err(
        |e| {
            AuthError::token(
                "bad_signature",
                format!("signature rejected ({:?})", e.kind()),
            )
        },
    )
}

/// The verified caller token's claims (a JSON object with unique names). Holds no signature.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Claims(serde_json::Map<String, serde_json::Value>);

impl Claims {
    /// From a map (tests and callers building a [`Caller`] by hand).
    pub fn from_map(map: serde_json::Map<String, serde_json::Value>) -> Self {
        Claims(map)
    }

    /// The top-level claim `name`, if present.
    pub fn get(&self, name: &str) -> Option<serde_json::Value> {
        self.0.get(name).cloned()
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(&self.0).finish()
    }
}
