//! Builds the three `token_service::Service`s of the local server from the environment and the
//! development defaults.
//!
//! The services are the Lambda functions' own: configured by the same [`Config::from_env`] and
//! assembled by the same [`ServiceParts::new`]; only the secret source differs (a [`StaticSource`]
//! holding the provider JSON the functions would read from Secrets Manager), and live access checks
//! are off.

use crate::dev_defaults::{self, LocalCredentials};
use crate::serve::DefaultsInUse;
use std::sync::Arc;
use token_service::access::AccessChecker;
use token_service::clock::SystemClock;
use token_service::config::{policy_source, Config, PolicySource};
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

/// The policy of one route: `<PROVIDER>_POLICY_JSON`, else `POLICY_JSON`, else the built-in default.
/// Returns the policy and whether it is the built-in default.
pub fn local_policy(
    provider: Provider,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(PolicySource, bool), String> {
    let var = format!("{}_POLICY_JSON", provider.name().to_uppercase());
    if let Some(text) = get(&var).filter(|v| !v.trim().is_empty()) {
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

/// The environment one route's configuration is read from: the process environment, except the
/// provider secret id (the local [`StaticSource`]'s), the policy (see [`local_policy`]) and, while
/// no caller-auth variable is set, the development caller issuer.
pub fn route_env<'a>(
    provider: Provider,
    get: &'a dyn Fn(&str) -> Option<String>,
    dev_issuer: bool,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |k: &str| {
        if k == provider.secret_id_var() {
            return Some(secret_id(provider));
        }
        if dev_issuer {
            let dev = match k {
                "AUTH_PROVIDER" => Some("hs256"),
                "AUTH_ISSUER" => Some(dev_defaults::DEV_ISSUER),
                "AUTH_AUDIENCE" => Some(dev_defaults::DEV_AUDIENCE),
                "AUTH_HS256_SECRET" => Some(dev_defaults::DEV_CALLER_SECRET),
                // `rtc-token dev-jwt --claims '{"roles":[...]}'` gives the caller roles.
                "AUTH_ROLE_CLAIMS" => Some(dev_defaults::DEV_ROLE_CLAIM),
                _ => None,
            };
            if let Some(v) = dev {
                return Some(v.to_owned());
            }
        }
        match k {
            "POLICY_JSON" | "POLICY_SECRET_ID" => None,
            _ => get(k),
        }
    }
}

/// Builds the three routes' services and reports which defaults are in use. Each is configured by
/// the functions' own [`Config::from_env`] (see [`route_env`]); only the secret source differs, and
/// live access checks are off.
pub async fn build(
    get: &dyn Fn(&str) -> Option<String>,
    creds: &LocalCredentials,
) -> Result<(Arc<[Service]>, DefaultsInUse), String> {
    let dev_issuer = dev_defaults::dev_issuer_in_use(get);
    if get("AUTH_HS256_SECRET_ID").is_some_and(|v| !v.trim().is_empty()) {
        return Err(
            "AUTH_HS256_SECRET_ID needs Secrets Manager; give the local server AUTH_HS256_SECRET"
                .to_owned(),
        );
    }
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
        let mut config = Config::from_env(provider, &route_env(provider, get, dev_issuer))
            .map_err(|e| e.to_string())?;
        config.policy = policy;
        let telemetry = Telemetry::silent(
            config.metrics_namespace.clone(),
            config.function_name.clone(),
        );
        let parts = ServiceParts::new(
            config,
            source.clone(),
            AccessChecker::disabled(),
            Arc::new(SystemClock),
            telemetry,
        );
        let svc = Service::from_parts(parts)
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
    use crate::dev_defaults::tests::env;

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
    fn the_route_environment_is_the_process_one_but_for_secret_policy_and_dev_issuer() {
        let get = env(&[("SECRET_REFRESH_SECONDS", "5"), ("POLICY_JSON", "{}")]);
        let route = route_env(Provider::LiveKit, &get, true);
        assert_eq!(route("LIVEKIT_SECRET_ID").as_deref(), Some("local/livekit"));
        assert_eq!(route("SECRET_REFRESH_SECONDS").as_deref(), Some("5"));
        assert_eq!(route("POLICY_JSON"), None, "local_policy reads it");
        assert_eq!(
            route("AUTH_ISSUER").as_deref(),
            Some(dev_defaults::DEV_ISSUER)
        );
        let c = Config::from_env(Provider::LiveKit, &route).unwrap();
        assert_eq!(c.secret_refresh_seconds, 5);
        assert_eq!(c.auth_hs_secrets.len(), 1);
        assert_eq!(
            c.auth_hs_secrets[0].expose(),
            dev_defaults::DEV_CALLER_SECRET
        );

        // With caller-auth variables set, they are read as the functions read them.
        let get = env(&[
            ("AUTH_PROVIDER", "hs256"),
            ("AUTH_ISSUER", "https://backend.example.com"),
            (
                "AUTH_HS256_SECRET",
                r#"{"secret": "a-shared-secret-of-enough-length-0123456789"}"#,
            ),
        ]);
        let route = route_env(Provider::Agora, &get, dev_defaults::dev_issuer_in_use(&get));
        let c = Config::from_env(Provider::Agora, &route).unwrap();
        assert_eq!(c.auth_hs_secrets.len(), 1);
        let get = env(&[("AUTH_AUDIENCE", "x")]);
        let route = route_env(Provider::Agora, &get, dev_defaults::dev_issuer_in_use(&get));
        let e = Config::from_env(Provider::Agora, &route).unwrap_err();
        assert!(e.to_string().contains("AUTH_PROVIDER"), "{e}");
    }
}
