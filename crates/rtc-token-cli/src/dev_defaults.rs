//! DEVELOPMENT ONLY defaults of `rtc-token serve` and `rtc-token dev-jwt`.
//!
//! Everything here lives in the CLI crate on purpose: the Lambda binaries do not depend on this crate,
//! so the development caller issuer and these credentials cannot be enabled in a deployed function.
//! The provider credentials below are well-formed but belong to no real project: tokens minted with
//! them are refused by Agora, LiveKit Cloud and Stream. They exist so a developer can see the whole
//! request path (caller JWT -> policy -> token) on a fresh machine, without any account.

/// The `iss` of development caller JWTs (`rtc-token dev-jwt`).
pub const DEV_ISSUER: &str = "rtc-token-dev";

/// The `aud` of development caller JWTs.
pub const DEV_AUDIENCE: &str = "rtc-tokens-local";

/// The claim carrying a development caller's roles (`dev-jwt --claims '{"roles":["guide"]}'`).
pub const DEV_ROLE_CLAIM: &str = "roles";

/// The HS256 key shared by `dev-jwt` and `serve`. DEVELOPMENT ONLY: anyone can read it here.
pub const DEV_CALLER_SECRET: &str = "rtc-token-dev-caller-secret-DEVELOPMENT-ONLY-do-not-deploy";

/// DEVELOPMENT ONLY Agora app id (32 hex digits, no real project).
pub const DEV_AGORA_APP_ID: &str = "de7000000000000000000000000a9010";
/// DEVELOPMENT ONLY Agora app certificate (32 hex digits).
pub const DEV_AGORA_APP_CERTIFICATE: &str = "de70000000000000000000000ce271f1";
/// DEVELOPMENT ONLY LiveKit API key (the key `livekit-server --dev` also uses).
pub const DEV_LIVEKIT_API_KEY: &str = "devkey";
/// DEVELOPMENT ONLY LiveKit API secret (32+ characters).
pub const DEV_LIVEKIT_API_SECRET: &str = "rtc-token-dev-livekit-secret-DEVELOPMENT-ONLY";
/// The LiveKit server URL returned by `/livekit/token` when `LIVEKIT_URL` is not set
/// (`livekit-server --dev` listens there).
pub const DEV_LIVEKIT_URL: &str = "ws://127.0.0.1:7880";
/// DEVELOPMENT ONLY Stream API key.
pub const DEV_STREAM_API_KEY: &str = "devstreamkey";
/// DEVELOPMENT ONLY Stream API secret.
pub const DEV_STREAM_API_SECRET: &str = "rtc-token-dev-stream-secret-DEVELOPMENT-ONLY";

/// A value with where it came from.
#[derive(Clone)]
pub struct Sourced {
    /// The value (may be a secret: never print it).
    pub value: String,
    /// `true` when it is the embedded development default.
    pub is_default: bool,
}

impl std::fmt::Debug for Sourced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sourced")
            .field("value", &"<redacted>")
            .field("is_default", &self.is_default)
            .finish()
    }
}

/// Reads `name` through `get` (empty counts as unset), or falls back to `default`.
pub fn sourced(get: &dyn Fn(&str) -> Option<String>, name: &str, default: &str) -> Sourced {
    let value = get(name).filter(|v| !v.trim().is_empty());
    Sourced {
        is_default: value.is_none(),
        value: value.unwrap_or_else(|| default.to_owned()),
    }
}

/// The provider credentials of the local server, each from the environment or the defaults.
#[derive(Debug, Clone)]
pub struct LocalCredentials {
    /// `AGORA_APP_ID`.
    pub agora_app_id: Sourced,
    /// `AGORA_APP_CERTIFICATE`.
    pub agora_app_certificate: Sourced,
    /// `LIVEKIT_API_KEY`.
    pub livekit_api_key: Sourced,
    /// `LIVEKIT_API_SECRET`.
    pub livekit_api_secret: Sourced,
    /// `LIVEKIT_URL`.
    pub livekit_url: Sourced,
    /// `STREAM_API_KEY`.
    pub stream_api_key: Sourced,
    /// `STREAM_API_SECRET`.
    pub stream_api_secret: Sourced,
}

impl LocalCredentials {
    /// Resolves every credential through `get` (for example `|k| std::env::var(k).ok()`).
    pub fn resolve(get: &dyn Fn(&str) -> Option<String>) -> Self {
        LocalCredentials {
            agora_app_id: sourced(get, "AGORA_APP_ID", DEV_AGORA_APP_ID),
            agora_app_certificate: sourced(get, "AGORA_APP_CERTIFICATE", DEV_AGORA_APP_CERTIFICATE),
            livekit_api_key: sourced(get, "LIVEKIT_API_KEY", DEV_LIVEKIT_API_KEY),
            livekit_api_secret: sourced(get, "LIVEKIT_API_SECRET", DEV_LIVEKIT_API_SECRET),
            livekit_url: sourced(get, "LIVEKIT_URL", DEV_LIVEKIT_URL),
            stream_api_key: sourced(get, "STREAM_API_KEY", DEV_STREAM_API_KEY),
            stream_api_secret: sourced(get, "STREAM_API_SECRET", DEV_STREAM_API_SECRET),
        }
    }

    /// The providers whose key or secret is a development default (the URL alone does not count).
    pub fn providers_on_defaults(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.agora_app_id.is_default || self.agora_app_certificate.is_default {
            out.push("agora");
        }
        if self.livekit_api_key.is_default || self.livekit_api_secret.is_default {
            out.push("livekit");
        }
        if self.stream_api_key.is_default || self.stream_api_secret.is_default {
            out.push("stream");
        }
        out
    }
}

/// `true` when no caller-auth variable is set (any of caller-auth's own or the shared secret's), so
/// the development issuer is in use; otherwise the local server verifies callers exactly as the
/// Lambda functions would.
pub fn dev_issuer_in_use(get: &dyn Fn(&str) -> Option<String>) -> bool {
    !caller_auth::AuthConfig::ENV_VARS
        .iter()
        .chain(&["AUTH_HS256_SECRET", "AUTH_HS256_SECRET_ID"])
        .any(|k| get(k).is_some_and(|v| !v.trim().is_empty()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An injectable environment of `pairs` (the unit tests of the local server's wiring too).
    pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn agora_defaults_are_32_hex_digits() {
        for v in [DEV_AGORA_APP_ID, DEV_AGORA_APP_CERTIFICATE] {
            assert_eq!(v.len(), 32);
            assert!(v.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
        }
        assert!(DEV_LIVEKIT_API_SECRET.len() >= 32);
        assert!(DEV_CALLER_SECRET.len() >= 32);
    }

    #[test]
    fn every_variable_overrides_its_default() {
        let get = env(&[
            ("AGORA_APP_ID", "a"),
            ("AGORA_APP_CERTIFICATE", "b"),
            ("LIVEKIT_API_KEY", "c"),
            ("LIVEKIT_API_SECRET", "d"),
            ("STREAM_API_KEY", "e"),
            ("STREAM_API_SECRET", "f"),
        ]);
        let c = LocalCredentials::resolve(&get);
        assert_eq!(c.agora_app_id.value, "a");
        assert_eq!(c.stream_api_secret.value, "f");
        assert!(c.providers_on_defaults().is_empty());
        assert!(c.livekit_url.is_default);
    }

    #[test]
    fn half_configured_provider_still_counts_as_default() {
        let get = env(&[("AGORA_APP_ID", "a"), ("STREAM_API_SECRET", "  ")]);
        let c = LocalCredentials::resolve(&get);
        assert_eq!(
            c.providers_on_defaults(),
            vec!["agora", "livekit", "stream"]
        );
        assert!(c.stream_api_secret.is_default, "blank counts as unset");
    }

    #[test]
    fn any_auth_variable_turns_the_dev_issuer_off() {
        assert!(dev_issuer_in_use(&env(&[])));
        assert!(dev_issuer_in_use(&env(&[("AUTH_PROVIDER", "")])));
        assert!(!dev_issuer_in_use(&env(&[(
            "AUTH_JWKS_URL",
            "http://127.0.0.1:1/jwks"
        )])));
        assert!(!dev_issuer_in_use(&env(&[("AUTH_PROVIDER", "clerk")])));
        // caller-auth's whole list counts (these six were once missing), and the shared secret.
        for k in [
            "CLERK_REJECT_PENDING_SESSIONS",
            "AUTH0_ALLOW_M2M",
            "SUPABASE_ALLOW_ANONYMOUS",
            "SUPABASE_REQUIRED_AAL",
            "OIDC_TOKEN_TYPE",
            "AUTH_MAX_TOKEN_AGE_SECONDS",
            "AUTH_HS256_SECRET",
        ] {
            assert!(!dev_issuer_in_use(&env(&[(k, "x")])), "{k}");
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let c = LocalCredentials::resolve(&env(&[]));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(DEV_AGORA_APP_CERTIFICATE));
        assert!(!dbg.contains(DEV_STREAM_API_SECRET));
    }
}
