//! The function's configuration, read once from the environment through an injectable getter and
//! validated at INIT; every error names the variable.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `AGORA_SECRET_ID` / `LIVEKIT_SECRET_ID` / `STREAM_SECRET_ID` | the provider secret (required by its function) |
//! | `SECRET_REFRESH_SECONDS` | re-read interval of loaded secrets (default 300, 1..=86400) |
//! | `POLICY_JSON` | the policy document (see [`crate::policy`]); default: the permissive built-in policy |
//! | `POLICY_SECRET_ID` | alternatively, a secret holding the policy document (refreshed like the others) |
//! | `METRICS_NAMESPACE` | CloudWatch EMF namespace (default `RtcTokens`) |
//! | `AWS_LAMBDA_FUNCTION_NAME` | the `Function` metric dimension (default `<provider>-token`) |
//! | `AUTH_*`, preset variables | caller authentication (caller-auth) |
//! | `AUTH_HS256_SECRET_ID` | secret with the caller JWT shared secret (`{"secret","previous"?}` or plain) |
//! | `AUTH_HS256_SECRET` | the caller JWT shared secret given directly (local runs such as `cargo lambda watch`; prefer the secret id in AWS) |
//! | `ACCESS_TABLE`, `AUTHZ_WEBHOOK_*` | live access checks ([`crate::access`]) |
//! | `RUST_LOG` | log filter (default `info`) |

use caller_auth::AuthConfig;

use crate::policy::Policy;
use crate::Provider;

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
    fn the_provider_secret_id_is_required_and_named() {
        let e =
            Config::from_env(Provider::LiveKit, &env(&[("AUTH_PROVIDER", "hs256")])).unwrap_err();
        assert!(e.to_string().contains("LIVEKIT_SECRET_ID"), "{e}");
    }
}
