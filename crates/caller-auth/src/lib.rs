//! Caller authentication: verifies the calling app's own JWT before anything is signed.
//!
//! CONTRACT (used by token-service and the CLI; keep these names, add freely):
//! - [`AuthConfig`]: parsed from environment-style key/values (`AUTH_PROVIDER`, `AUTH_ISSUER`, ...).
//! - [`Authenticator`]: built once at INIT, shared by reference; `authenticate` per request.
//! - [`Caller`]: the verified identity handed to policy.
//! - [`AuthError`]: one error; every failure maps to the same 401 for the client.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

pub use rtc_signing::Secret;

/// Which preset validated the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    Clerk,
    Supabase,
    Firebase,
    Auth0,
    Cognito,
    Oidc,
    Jwks,
    Hs256,
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
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The token's `exp` (unix seconds).
    pub expires_at: u64,
}

/// Configuration, the same for the three functions and the local server.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    // implementer: provider, issuer, audience, jwks_url, leeway, user-id claim, role claims, ...
    pub provider: ProviderKind,
}

impl AuthConfig {
    /// Reads `AUTH_*` and the preset variables through `get` (e.g. `|k| std::env::var(k).ok()`).
    /// The HS256 secret itself is not read here (it comes from Secrets Manager or `AUTH_HS256_SECRET`).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let _ = get;
        todo!()
    }
}

/// A configuration that cannot work; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("caller-auth configuration: {0}")]
pub struct ConfigError(pub String);

/// Why a caller was refused. `Display` is the precise reason for the log; it never contains the token.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// Verifies caller JWTs; owns the JWKS cache and the shared secrets.
pub struct Authenticator {
    _config: AuthConfig,
}

impl Authenticator {
    /// Builds it and, when a JWKS is configured, fetches the keys now (INIT). A failed fetch is logged,
    /// not fatal: the next request retries.
    pub async fn new(config: AuthConfig, hs_secrets: Vec<Secret>) -> Result<Self, ConfigError> {
        let _ = hs_secrets;
        Ok(Self { _config: config })
    }

    /// Replaces the HS256/384/512 shared secrets (rotation; current first, previous second).
    pub fn set_shared_secrets(&self, secrets: Vec<Secret>) {
        let _ = secrets;
        todo!()
    }

    /// Verifies the `Authorization` header value at unix time `now`.
    pub async fn authenticate(&self, authorization: Option<&str>, now: u64) -> Result<Caller, AuthError> {
        let _ = (authorization, now);
        todo!()
    }
}

/// Unused placeholder to keep BTreeMap import meaningful for implementers.
pub type Claims = BTreeMap<String, serde_json::Value>;
