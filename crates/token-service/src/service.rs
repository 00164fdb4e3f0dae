//! [`Service`]: everything one function needs, built once at INIT.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use caller_auth::{AuthConfig, Authenticator};
use rtc_signing::Secret;

use crate::access::AccessChecker;
use crate::aws::Aws;
use crate::clock::{random_salt, Clock, SaltFn, SystemClock};
use crate::config::{Config, PolicySource};
use crate::error::ApiError;
use crate::policy::Policy;
use crate::secrets::{
    parse_hs_secrets, AgoraSecret, LiveKitSecret, ParseFn, ProviderSecret, SecretCache,
    SecretSource, SourceError, StreamSecret,
};
use crate::telemetry::{stdout_sink, Telemetry};
use crate::Provider;

/// INIT failed; the message says what to fix (never contains a secret).
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The environment is incomplete or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A secret exists but cannot be used (missing, malformed).
    #[error(transparent)]
    Secret(#[from] SourceError),
    /// Caller authentication could not be set up.
    #[error("caller auth: {0}")]
    Auth(String),
    /// The access checks could not be set up.
    #[error("access checks: {0}")]
    Access(String),
}

/// The explicit parts of a [`Service`] (local server, tests, benchmarks).
pub struct ServiceParts {
    /// The provider.
    pub provider: Provider,
    /// Caller-auth configuration.
    pub auth: AuthConfig,
    /// Where secrets come from (Secrets Manager, or a [`crate::secrets::StaticSource`]).
    pub source: Arc<dyn SecretSource>,
    /// The provider secret's id in `source`.
    pub secret_id: String,
    /// The caller-auth shared secret's id in `source`, if any.
    pub auth_hs256_secret_id: Option<String>,
    /// Caller-auth shared secrets given directly (e.g. `AUTH_HS256_SECRET` locally).
    pub auth_hs_secrets: Vec<Secret>,
    /// Secret refresh interval, seconds.
    pub secret_refresh_seconds: u64,
    /// The policy.
    pub policy: PolicySource,
    /// The live access checks.
    pub access: AccessChecker,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The Agora salt source.
    pub salt: SaltFn,
    /// Log and metric output.
    pub telemetry: Telemetry,
}

impl ServiceParts {
    /// The parts of the service `config` describes, its secrets read from `source` (Secrets Manager
    /// on Lambda, a [`crate::secrets::StaticSource`] locally), with a random Agora salt.
    pub fn new(
        config: Config,
        source: Arc<dyn SecretSource>,
        access: AccessChecker,
        clock: Arc<dyn Clock>,
        telemetry: Telemetry,
    ) -> Self {
        ServiceParts {
            provider: config.provider,
            auth: config.auth,
            source,
            secret_id: config.secret_id,
            auth_hs256_secret_id: config.auth_hs256_secret_id,
            auth_hs_secrets: config.auth_hs_secrets,
            secret_refresh_seconds: config.secret_refresh_seconds,
            policy: config.policy,
            access,
            clock,
            salt: random_salt(),
            telemetry,
        }
    }
}

pub(crate) enum PolicyHolder {
    Inline(Arc<Policy>),
    Cached(SecretCache<Policy>),
}

/// One function's state, built once and shared by reference with every request.
pub struct Service {
    pub(crate) provider: Provider,
    pub(crate) auth: Authenticator,
    pub(crate) hs_secrets: Option<SecretCache<Vec<Secret>>>,
    hs_applied: AtomicU64,
    pub(crate) secret: SecretCache<ProviderSecret>,
    pub(crate) policy: PolicyHolder,
    pub(crate) access: AccessChecker,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) salt: SaltFn,
    pub(crate) telemetry: Telemetry,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("provider", &self.provider)
            .field("secret", &self.secret)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

fn provider_parser(provider: Provider) -> ParseFn<ProviderSecret> {
    match provider {
        Provider::Agora => Arc::new(|id, t| AgoraSecret::parse(id, t).map(ProviderSecret::Agora)),
        Provider::LiveKit => {
            Arc::new(|id, t| LiveKitSecret::parse(id, t).map(ProviderSecret::LiveKit))
        }
        Provider::Stream => {
            Arc::new(|id, t| StreamSecret::parse(id, t).map(ProviderSecret::Stream))
        }
    }
}

/// At INIT: an unreachable store is survivable (503 until it answers); a missing or malformed secret
/// is a deployment error and stops INIT with a clear message.
fn init_result<T>(
    r: Result<T, SourceError>,
    telemetry: &Telemetry,
    now: u64,
) -> Result<(), InitError> {
    match r {
        Ok(_) => Ok(()),
        Err(e @ SourceError::Unavailable { .. }) => {
            tracing::error!(error = %e, "secret not loaded at INIT; requests answer 503 and retry");
            telemetry.secret_error(now.saturating_mul(1000));
            Ok(())
        }
        Err(e) => Err(InitError::Secret(e)),
    }
}

impl Service {
    /// Builds the Lambda function's service from the process environment and AWS.
    pub async fn from_env(provider: Provider) -> Result<Self, InitError> {
        let get = |k: &str| std::env::var(k).ok();
        // Loaded beside the rest of INIT, not before it (see `crate::aws`).
        let aws = Aws::start_from_env();
        Self::from_env_with(provider, &get, aws, Arc::new(SystemClock)).await
    }

    /// As [`Service::from_env`] with an injected environment, AWS clients and clock (tests).
    pub async fn from_env_with(
        provider: Provider,
        get: &dyn Fn(&str) -> Option<String>,
        aws: Aws,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, InitError> {
        let config = Config::from_env(provider, get)?;
        let telemetry = Telemetry::new(
            config.metrics_namespace.clone(),
            config.function_name.clone(),
            stdout_sink(),
        );
        let parts = ServiceParts::new(
            config,
            Arc::new(aws.clone()),
            AccessChecker::disabled(),
            clock,
            telemetry,
        );
        // The access checks' set-up (the webhook's secret is a Secrets Manager read) runs beside
        // the other loads, not before them; the service holds it once both are done.
        let access = async {
            AccessChecker::from_env(get, &aws)
                .await
                .map_err(|e| InitError::Access(e.to_string()))
        };
        let (mut service, access) = tokio::try_join!(Self::from_parts(parts), access)?;
        service.access = access;
        Ok(service)
    }

    /// Builds a service from explicit parts and loads everything it needs now, all at once: the
    /// caller's keys (OIDC discovery + JWKS), the caller-auth shared secret, the provider secret and
    /// the policy secret are independent, so INIT takes as long as the slowest of them, each bounded
    /// by its own timeout. A source that fails delays nothing else (see [`init_result`]: unreachable
    /// is survivable, missing or malformed is an error); the JWKS is retried in the background.
    pub async fn from_parts(parts: ServiceParts) -> Result<Self, InitError> {
        let now = parts.clock.now();
        let refresh = parts.secret_refresh_seconds;

        let hs_secrets = parts.auth_hs256_secret_id.as_ref().map(|id| {
            SecretCache::new(
                id.clone(),
                parts.source.clone(),
                refresh,
                Arc::new(parse_hs_secrets) as ParseFn<Vec<Secret>>,
            )
        });
        let hs256 = parts.auth.provider == caller_auth::ProviderKind::Hs256;
        if hs256 && hs_secrets.is_none() && parts.auth_hs_secrets.is_empty() {
            return Err(InitError::Auth(
                "AUTH_PROVIDER=hs256 needs a shared secret (AUTH_HS256_SECRET_ID or AUTH_HS256_SECRET)"
                    .into(),
            ));
        }
        let role_claims_configured = !parts.auth.role_claims.is_empty();
        let mut auth = Authenticator::build(parts.auth, parts.clock.clone())
            .map_err(|e| InitError::Auth(e.to_string()))?;
        if hs_secrets.is_some() {
            // HMAC callers get 503 (not 401) until the store has answered.
            auth = auth.awaiting_shared_secrets();
        } else if !parts.auth_hs_secrets.is_empty() {
            auth.try_set_shared_secrets(parts.auth_hs_secrets.iter().map(Secret::expose))
                .map_err(|e| InitError::Auth(e.to_string()))?;
        }

        let secret = SecretCache::new(
            parts.secret_id,
            parts.source.clone(),
            refresh,
            provider_parser(parts.provider),
        );
        let policy = match parts.policy {
            PolicySource::Inline(p) => {
                p.check_role_claims(role_claims_configured)
                    .map_err(|e| InitError::Config(crate::config::ConfigError(e)))?;
                PolicyHolder::Inline(Arc::from(p))
            }
            PolicySource::Secret(id) => {
                let parse: ParseFn<Policy> = Arc::new(move |id: &str, t: &str| {
                    Policy::from_json(t)
                        .and_then(|p| p.check_role_claims(role_claims_configured).map(|()| p))
                        .map_err(|reason| SourceError::Malformed {
                            id: id.to_owned(),
                            reason,
                        })
                });
                PolicyHolder::Cached(SecretCache::new(id, parts.source.clone(), refresh, parse))
            }
        };

        // Everything independent at once.
        let (keys, hs, provider_secret, policy_secret) = tokio::join!(
            auth.prefetch(),
            async {
                match &hs_secrets {
                    Some(c) => Some(c.load(now).await),
                    None => None,
                }
            },
            secret.load(now),
            async {
                match &policy {
                    PolicyHolder::Cached(c) => Some(c.load(now).await),
                    PolicyHolder::Inline(_) => None,
                }
            },
        );
        if let Err(e) = keys {
            tracing::error!(error = %e, "caller keys not loaded at INIT; callers get 503 until they are (retried in the background)");
        }
        let mut hs_version = 0;
        if let Some(r) = hs {
            if let (Ok(v), Some(cache)) = (&r, &hs_secrets) {
                auth.set_shared_secrets(v.iter().map(Secret::expose));
                // Just loaded, so this reads the version without a fetch.
                hs_version = cache.get(now).await.map_or(0, |(_, version)| version);
            }
            init_result(r, &parts.telemetry, now)?;
        }
        init_result(provider_secret, &parts.telemetry, now)?;
        if let Some(r) = policy_secret {
            init_result(r, &parts.telemetry, now)?;
        }

        Ok(Service {
            provider: parts.provider,
            auth,
            hs_secrets,
            hs_applied: AtomicU64::new(hs_version),
            secret,
            policy,
            access: parts.access,
            clock: parts.clock,
            salt: parts.salt,
            telemetry: parts.telemetry,
        })
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The caller authenticator (e.g. for the local server's diagnostics).
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Brings the caller-auth shared secrets up to date (refreshing them when due).
    pub(crate) async fn refresh_hs_secrets(&self, now: u64) -> Result<(), ApiError> {
        let Some(cache) = &self.hs_secrets else {
            return Ok(());
        };
        let (secrets, version) = cache
            .get(now)
            .await
            .map_err(|_| secret_unavailable(cache.retry_after(now)))?;
        if self.hs_applied.swap(version, Ordering::AcqRel) != version {
            self.auth
                .set_shared_secrets(secrets.iter().map(Secret::expose));
        }
        Ok(())
    }

    /// Seconds until the caller-auth shared secret is fetched again (1 without one configured).
    pub(crate) fn hs_secrets_retry_after(&self, now: u64) -> u64 {
        self.hs_secrets
            .as_ref()
            .map_or(1, |cache| cache.retry_after(now))
    }

    /// The current provider secret.
    pub(crate) async fn provider_secret(&self, now: u64) -> Result<Arc<ProviderSecret>, ApiError> {
        self.secret
            .get(now)
            .await
            .map(|(v, _)| v)
            .map_err(|_| secret_unavailable(self.secret.retry_after(now)))
    }

    /// The current policy.
    pub(crate) async fn policy(&self, now: u64) -> Result<Arc<Policy>, ApiError> {
        match &self.policy {
            PolicyHolder::Inline(p) => Ok(p.clone()),
            PolicyHolder::Cached(c) => c
                .get(now)
                .await
                .map(|(v, _)| v)
                .map_err(|_| secret_unavailable(c.retry_after(now))),
        }
    }
}

/// A 503 for a secret that is not loaded; `retry_after` is the time left until the next attempt
/// ([`SecretCache::retry_after`]).
fn secret_unavailable(retry_after: u64) -> ApiError {
    ApiError::Unavailable {
        retry_after,
        message: "credentials temporarily unavailable; retry later",
    }
}
