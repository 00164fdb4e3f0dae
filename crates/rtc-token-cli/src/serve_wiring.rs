//! Builds the three `token_service::Service`s of the local server from the environment and the
//! development defaults.
//!
//! The services are the Lambda functions' own, built with [`token_service::Service::from_parts`]:
//! only the secret source differs (a [`StaticSource`] holding the provider JSON the functions would
//! read from Secrets Manager), and live access checks are off.

use crate::dev_defaults::{self, LocalCredentials};
use crate::serve::DefaultsInUse;
use caller_auth::AuthConfig;
use rtc_signing::Secret;
use std::sync::Arc;
use token_service::clock::{random_salt, SystemClock};
use token_service::config::{policy_source, refresh_seconds, PolicySource};
use token_service::policy::Policy;
use token_service::secrets::StaticSource;
use token_service::telemetry::Telemetry;
use token_service::{Provider, Service, ServiceParts};

/// The provider secrets' ids in the local [`StaticSource`].
fn secret_id(provider: Provider) -> String {
    format!("local/{}", provider.name())
}

/// The provider secret JSON, in the shape the functions read from Secrets Manager.
pub fn secret_json(provider: Provider, c: &LocalCredentials) -> String {
    let v = match provider {
        Provider::Agora => serde_json::json!({
            "app_id": c.agora_app_id.value, "app_certificate": c.agora_app_certificate.value,
        }),
        Provider::LiveKit => serde_json::json!({
            "api_key": c.livekit_api_key.value, "api_secret": c.livekit_api_secret.value, "url": c.livekit_url.value,
        }),
        Provider::Stream => serde_json::json!({
            "api_key": c.stream_api_key.value, "api_secret": c.stream_api_secret.value,
        }),
    };
    v.to_string()
}

/// The per-provider policy override variable of the local server (`AGORA_POLICY_JSON`, ...).
pub fn policy_var(provider: Provider) -> &'static str {
    match provider {
        Provider::Agora => "AGORA_POLICY_JSON",
        Provider::LiveKit => "LIVEKIT_POLICY_JSON",
        Provider::Stream => "STREAM_POLICY_JSON",
    }
}

/// The policy of one route: `<PROVIDER>_POLICY_JSON`, else `POLICY_JSON`, else the built-in default.
/// Returns the policy and whether it is the built-in default.
pub fn local_policy(
    provider: Provider,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(PolicySource, bool), String> {
    let var = policy_var(provider);
    if let Some(text) = get(var).filter(|v| !v.trim().is_empty()) {
        let p = Policy::from_json(&text).map_err(|e| format!("{var}: {e}"))?;
        return Ok((PolicySource::Inline(Box::new(p)), false));
    }
    if get("POLICY_SECRET_ID").is_some_and(|v| !v.trim().is_empty()) {
        return Err(
            "POLICY_SECRET_ID needs Secrets Manager; the local server takes POLICY_JSON \
                    (or AGORA_POLICY_JSON, LIVEKIT_POLICY_JSON, STREAM_POLICY_JSON)"
                .to_owned(),
        );
    }
    let is_default = get("POLICY_JSON").is_none_or(|v| v.trim().is_empty());
    policy_source(get)
        .map(|p| (p, is_default))
        .map_err(|e| e.to_string())
}

/// The caller-auth configuration and shared secrets: the environment's when any caller-auth variable
/// is set (exactly as the functions read it, plus `AUTH_HS256_SECRET`), else the development issuer.
pub fn local_auth(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(AuthConfig, Vec<Secret>, bool), String> {
    if dev_defaults::dev_issuer_in_use(get) {
        let dev = |k: &str| -> Option<String> {
            match k {
                "AUTH_PROVIDER" => Some("hs256".to_owned()),
                "AUTH_ISSUER" => Some(dev_defaults::DEV_ISSUER.to_owned()),
                "AUTH_AUDIENCE" => Some(dev_defaults::DEV_AUDIENCE.to_owned()),
                // `rtc-token dev-jwt --claims '{"roles":[...]}'` gives the caller roles.
                "AUTH_ROLE_CLAIMS" => Some(dev_defaults::DEV_ROLE_CLAIM.to_owned()),
                _ => None,
            }
        };
        let config = AuthConfig::from_env(&dev).map_err(|e| e.to_string())?;
        return Ok((
            config,
            vec![Secret::new(dev_defaults::DEV_CALLER_SECRET)],
            true,
        ));
    }
    if get("AUTH_HS256_SECRET_ID").is_some_and(|v| !v.trim().is_empty()) {
        return Err(
            "AUTH_HS256_SECRET_ID needs Secrets Manager; give the local server AUTH_HS256_SECRET"
                .to_owned(),
        );
    }
    let config = AuthConfig::from_env(get).map_err(|e| e.to_string())?;
    let secrets = match get("AUTH_HS256_SECRET").filter(|v| !v.trim().is_empty()) {
        Some(text) => token_service::secrets::parse_hs_secrets("AUTH_HS256_SECRET", &text)
            .map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    Ok((config, secrets, false))
}

/// Builds the three routes' services and reports which defaults are in use.
pub async fn build(
    get: &dyn Fn(&str) -> Option<String>,
    creds: &LocalCredentials,
) -> Result<(Arc<[Service]>, DefaultsInUse), String> {
    let (auth, hs_secrets, dev_issuer) = local_auth(get)?;
    let refresh = refresh_seconds(get).map_err(|e| e.to_string())?;
    let mut source = StaticSource::new();
    for p in Provider::ALL {
        source = source.with(secret_id(p), secret_json(p, creds));
    }
    let source = Arc::new(source);
    let mut policy_defaults = false;
    let mut services = Vec::new();
    for provider in Provider::ALL {
        let (policy, is_default) = local_policy(provider, get)?;
        policy_defaults |= is_default;
        let svc = Service::from_parts(ServiceParts {
            provider,
            auth: auth.clone(),
            source: source.clone(),
            secret_id: secret_id(provider),
            auth_hs256_secret_id: None,
            auth_hs_secrets: hs_secrets.clone(),
            secret_refresh_seconds: refresh,
            policy,
            access: token_service::access::AccessChecker::disabled(),
            clock: Arc::new(SystemClock),
            salt: random_salt(),
            telemetry: Telemetry::silent("RtcTokensLocal", format!("{}-token", provider.name())),
        })
        .await
        .map_err(|e| format!("{} route: {e}", provider.name()))?;
        services.push(svc);
    }
    let defaults = DefaultsInUse {
        providers: creds.providers_on_defaults(),
        dev_issuer,
        policy_defaults,
    };
    Ok((services.into(), defaults))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secret_json_has_the_secrets_manager_shapes() {
        let c = LocalCredentials::resolve(&env(&[]));
        let a: serde_json::Value = serde_json::from_str(&secret_json(Provider::Agora, &c)).unwrap();
        assert_eq!(a["app_id"], dev_defaults::DEV_AGORA_APP_ID);
        let l: serde_json::Value =
            serde_json::from_str(&secret_json(Provider::LiveKit, &c)).unwrap();
        assert_eq!(l["url"], dev_defaults::DEV_LIVEKIT_URL);
        let s: serde_json::Value =
            serde_json::from_str(&secret_json(Provider::Stream, &c)).unwrap();
        assert_eq!(s["api_key"], dev_defaults::DEV_STREAM_API_KEY);
        // and token-service accepts them
        token_service::secrets::AgoraSecret::parse("x", &secret_json(Provider::Agora, &c)).unwrap();
        token_service::secrets::LiveKitSecret::parse("x", &secret_json(Provider::LiveKit, &c))
            .unwrap();
        token_service::secrets::StreamSecret::parse("x", &secret_json(Provider::Stream, &c))
            .unwrap();
    }

    #[test]
    fn policy_precedence() {
        let (_, d) = local_policy(Provider::Agora, &env(&[])).unwrap();
        assert!(d);
        let (_, d) = local_policy(Provider::Agora, &env(&[("POLICY_JSON", "{}")])).unwrap();
        assert!(!d);
        let e = local_policy(
            Provider::Stream,
            &env(&[("STREAM_POLICY_JSON", "{\"bogus\":1}")]),
        )
        .unwrap_err();
        assert!(e.contains("STREAM_POLICY_JSON"), "{e}");
        // the per-provider variable wins over a broken shared one
        let (_, d) = local_policy(
            Provider::Stream,
            &env(&[("STREAM_POLICY_JSON", "{}"), ("POLICY_JSON", "nope")]),
        )
        .unwrap();
        assert!(!d);
        assert!(local_policy(Provider::Agora, &env(&[("POLICY_SECRET_ID", "p")])).is_err());
    }

    #[test]
    fn auth_from_environment_replaces_the_dev_issuer() {
        let (_, s, dev) = local_auth(&env(&[])).unwrap();
        assert!(dev);
        assert_eq!(s.len(), 1);
        let (_, s, dev) = local_auth(&env(&[
            ("AUTH_PROVIDER", "hs256"),
            ("AUTH_ISSUER", "https://backend.example.com"),
            (
                "AUTH_HS256_SECRET",
                "a-shared-secret-of-enough-length-0123456789",
            ),
        ]))
        .unwrap();
        assert!(!dev);
        assert_eq!(s.len(), 1);
        assert!(
            local_auth(&env(&[("AUTH_AUDIENCE", "x")])).is_err(),
            "AUTH_PROVIDER is required then"
        );
        assert!(local_auth(&env(&[
            ("AUTH_PROVIDER", "hs256"),
            ("AUTH_ISSUER", "i"),
            ("AUTH_HS256_SECRET_ID", "s")
        ]))
        .is_err());
    }
}
