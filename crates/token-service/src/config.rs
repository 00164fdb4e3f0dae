//! The configuration of the functions and of the local server, read once from the environment
//! through an injectable getter and validated at INIT; every error names the variable. Every
//! variable means the same on both hosts; they differ only in where secrets come from (Secrets
//! Manager, or the environment and development defaults of `rtc-token serve`).
//!
//! [`ENV_VARS`] lists what this crate reads (here, in [`crate::access`] and [`crate::telemetry`]),
//! [`caller_auth::AuthConfig::ENV_VARS`] what caller-auth reads and [`LOCAL_ENV_VARS`] what only the
//! local server reads; README.md's configuration tables document exactly these (a test checks it).

use caller_auth::AuthConfig;
use rtc_signing::Secret;

use crate::policy::Policy;
use crate::Provider;

/// The variables of the functions (and of the local server, which reads them the same way).
pub const ENV_VARS: &[&str] = &[
    "AGORA_SECRET_ID",
    "LIVEKIT_SECRET_ID",
    "STREAM_SECRET_ID",
    "SECRET_REFRESH_SECONDS",
    "POLICY_JSON",
    "POLICY_SECRET_ID",
    "METRICS_NAMESPACE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AUTH_HS256_SECRET_ID",
    "AUTH_HS256_SECRET",
    "ACCESS_TABLE",
    "ACCESS_QUOTA_PER_MINUTE",
    "ACCESS_REQUIRE_ROOM",
    "ACCESS_TIMEOUT_MS",
    "AUTHZ_WEBHOOK_URL",
    "AUTHZ_WEBHOOK_SECRET_ID",
    "AUTHZ_WEBHOOK_FAIL_OPEN",
    "AUTHZ_WEBHOOK_TIMEOUT_MS",
    "AUTHZ_WEBHOOK_CACHE_SECONDS",
    "RUST_LOG",
];

/// The variables only `rtc-token serve` reads: provider credentials and per-route policies (on
/// Lambda these are the secrets and `POLICY_JSON`).
pub const LOCAL_ENV_VARS: &[&str] = &[
    "AGORA_APP_ID",
    "AGORA_APP_CERTIFICATE",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "LIVEKIT_URL",
    "STREAM_API_KEY",
    "STREAM_API_SECRET",
    "AGORA_POLICY_JSON",
    "LIVEKIT_POLICY_JSON",
    "STREAM_POLICY_JSON",
];

/// Default secret refresh interval, seconds.
pub const DEFAULT_SECRET_REFRESH_SECONDS: u64 = 300;
/// Default CloudWatch namespace.
pub const DEFAULT_METRICS_NAMESPACE: &str = "RtcTokens";

/// A configuration that cannot work. The message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Where the policy comes from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// Parsed from `POLICY_JSON` (or the built-in default), validated at INIT.
    Inline(Box<Policy>),
    /// The secret `POLICY_SECRET_ID`.
    Secret(String),
}

/// Everything one function reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The provider this function mints for.
    pub provider: Provider,
    /// The provider secret id.
    pub secret_id: String,
    /// Re-read interval for secrets, seconds.
    pub secret_refresh_seconds: u64,
    /// The policy.
    pub policy: PolicySource,
    /// EMF namespace.
    pub metrics_namespace: String,
    /// The `Function` metric dimension.
    pub function_name: String,
    /// Caller-auth configuration.
    pub auth: AuthConfig,
    /// The secret id of the caller-auth shared secret, if any.
    pub auth_hs256_secret_id: Option<String>,
    /// The caller-auth shared secrets given directly (`AUTH_HS256_SECRET`).
    pub auth_hs_secrets: Vec<Secret>,
}

fn nonempty(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Reads `SECRET_REFRESH_SECONDS`.
pub fn refresh_seconds(get: &dyn Fn(&str) -> Option<String>) -> Result<u64, ConfigError> {
    match nonempty(get, "SECRET_REFRESH_SECONDS") {
        None => Ok(DEFAULT_SECRET_REFRESH_SECONDS),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=86_400).contains(&n) => Ok(n),
            _ => Err(ConfigError(format!(
                "SECRET_REFRESH_SECONDS must be an integer in 1..=86400, got {v:?}"
            ))),
        },
    }
}

/// Reads `AUTH_HS256_SECRET`: the caller JWT shared secret given directly, in the shape of the secret
/// `AUTH_HS256_SECRET_ID` names (`{"secret","previous"?}` or plain, trimmed). For local runs
/// (`rtc-token serve`, `cargo lambda watch`); in AWS prefer the secret id.
pub fn auth_hs256_secret(get: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Secret>, ConfigError> {
    match nonempty(get, "AUTH_HS256_SECRET") {
        None => Ok(Vec::new()),
        Some(text) => crate::secrets::parse_hs_secrets("AUTH_HS256_SECRET", &text)
            .map_err(|e| ConfigError(e.to_string())),
    }
}

/// Reads `POLICY_JSON` / `POLICY_SECRET_ID` (at most one).
pub fn policy_source(get: &dyn Fn(&str) -> Option<String>) -> Result<PolicySource, ConfigError> {
    match (
        nonempty(get, "POLICY_JSON"),
        nonempty(get, "POLICY_SECRET_ID"),
    ) {
        (Some(_), Some(_)) => Err(ConfigError(
            "set POLICY_JSON or POLICY_SECRET_ID, not both".to_owned(),
        )),
        (Some(json), None) => Policy::from_json(&json)
            .map(|p| PolicySource::Inline(Box::new(p)))
            .map_err(|e| ConfigError(format!("POLICY_JSON: {e}"))),
        (None, Some(id)) => Ok(PolicySource::Secret(id)),
        (None, None) => Ok(PolicySource::Inline(Box::default())),
    }
}

impl Config {
    /// Reads and validates the configuration of `provider`'s function.
    pub fn from_env(
        provider: Provider,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = provider.secret_id_var();
        let secret_id = nonempty(get, var).ok_or_else(|| {
            ConfigError(format!(
                "{var} is required (the Secrets Manager id of the {} secret)",
                provider.name()
            ))
        })?;
        let metrics_namespace = nonempty(get, "METRICS_NAMESPACE")
            .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        let function_name = nonempty(get, "AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_else(|| format!("{}-token", provider.name()));
        let auth = AuthConfig::from_env(get).map_err(|e| ConfigError(e.to_string()))?;
        Ok(Config {
            provider,
            secret_id,
            secret_refresh_seconds: refresh_seconds(get)?,
            policy: policy_source(get)?,
            metrics_namespace,
            function_name,
            auth,
            auth_hs256_secret_id: nonempty(get, "AUTH_HS256_SECRET_ID"),
            auth_hs_secrets: auth_hs256_secret(get)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn refresh_interval_default_and_bounds() {
        assert_eq!(refresh_seconds(&env(&[])).unwrap(), 300);
        assert_eq!(
            refresh_seconds(&env(&[("SECRET_REFRESH_SECONDS", "5")])).unwrap(),
            5
        );
        for bad in ["0", "x", "-1", "86401"] {
            let e = refresh_seconds(&env(&[("SECRET_REFRESH_SECONDS", bad)])).unwrap_err();
            assert!(e.to_string().contains("SECRET_REFRESH_SECONDS"), "{e}");
        }
    }

    #[test]
    fn policy_sources() {
        assert!(matches!(
            policy_source(&env(&[])).unwrap(),
            PolicySource::Inline(_)
        ));
        assert!(
            matches!(policy_source(&env(&[("POLICY_SECRET_ID", "p")])).unwrap(), PolicySource::Secret(ref s) if s == "p")
        );
        let e = policy_source(&env(&[("POLICY_JSON", "{\"bogus\":1}")])).unwrap_err();
        assert!(
            e.to_string().contains("POLICY_JSON") && e.to_string().contains("bogus"),
            "{e}"
        );
        let e =
            policy_source(&env(&[("POLICY_JSON", "{}"), ("POLICY_SECRET_ID", "p")])).unwrap_err();
        assert!(e.to_string().contains("not both"));
    }

    #[test]
    fn the_shared_secret_is_read_as_its_secret_would_be() {
        let secrets = |v: &str| auth_hs256_secret(&env(&[("AUTH_HS256_SECRET", v)])).unwrap();
        assert!(secrets("  ").is_empty());
        let plain = secrets(" a-shared-secret-of-enough-length-0123456789 \n");
        assert_eq!(plain.len(), 1);
        assert_eq!(
            plain[0].expose(),
            "a-shared-secret-of-enough-length-0123456789"
        );
        let rotated = secrets(r#"{"secret": "new-one", "previous": "old-one"}"#);
        assert_eq!(rotated.len(), 2);
        let e = auth_hs256_secret(&env(&[("AUTH_HS256_SECRET", "{\"bogus\":1}")])).unwrap_err();
        assert!(e.to_string().contains("AUTH_HS256_SECRET"), "{e}");
    }

    #[test]
    fn the_provider_secret_id_is_required_and_named() {
        let e =
            Config::from_env(Provider::LiveKit, &env(&[("AUTH_PROVIDER", "hs256")])).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_SECRET_ID"), "{e}");
    }
}
