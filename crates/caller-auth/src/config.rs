//! Configuration: `AUTH_*` environment variables and the provider presets.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `AUTH_PROVIDER` | `clerk`, `supabase`, `firebase`, `auth0`, `cognito`, `oidc`, `jwks`, `hs256` |
//! | `AUTH_ISSUER` | exact `iss` (required for `oidc`, `jwks`, `hs256`; overrides a preset's issuer) |
//! | `AUTH_AUDIENCE` | comma list of accepted `aud` values (required for `auth0`) |
//! | `AUTH_JWKS_URL` | JWKS URL (required for `jwks`; overrides a preset's URL; skips OIDC discovery) |
//! | `AUTH_LEEWAY_SECONDS` | clock leeway for `exp`/`nbf`/`iat` (default 30, at most 300) |
//! | `AUTH_USER_ID_CLAIM` | claim holding the user id (default `sub`) |
//! | `AUTH_ROLE_CLAIMS` | comma list of claim paths carrying roles (`roles,app_metadata.roles,cognito:groups`) |
//! | `AUTH_ALGORITHMS` | optional allow-list of JWKS algorithms (default: the preset's) |
//! | `AUTH_HS_ALGORITHM` | algorithm of the shared secrets: `HS256` (default), `HS384`, `HS512` |
//! | `AUTH_JWKS_MIN_REFETCH_SECONDS` | minimum interval between unknown-`kid` refetches (default 30) |
//! | `CLERK_FRONTEND_API_URL` | Clerk issuer (or `AUTH_ISSUER`) |
//! | `CLERK_AUTHORIZED_PARTIES` | comma list of allowed `azp` origins (missing `azp` is then refused) |
//! | `SUPABASE_URL` | `https://<ref>.supabase.co` |
//! | `FIREBASE_PROJECT_ID` | Firebase project id |
//! | `AUTH0_DOMAIN` | `tenant.eu.auth0.com` (issuer `https://<domain>/`, with the slash) |
//! | `COGNITO_USER_POOL_ID`, `COGNITO_REGION`, `COGNITO_CLIENT_ID`, `COGNITO_TOKEN_USE` | Cognito pool, region (default: from the pool id), app client id(s), `access` (default) or `id` |
//! | `CLERK_REJECT_PENDING_SESSIONS` | `true`: refuse sessions with `sts: "pending"` (organisations mandatory); default `false` |
//! | `AUTH0_ALLOW_M2M` | `true`: accept machine-to-machine tokens (`gty: client-credentials`); default `false` (refused) |
//! | `SUPABASE_ALLOW_ANONYMOUS` | `false`: refuse anonymous users (`is_anonymous: true`); default `true` |
//! | `SUPABASE_REQUIRED_AAL` | `aal2`: require multi-factor sessions (`aal` claim); default: any |
//! | `OIDC_TOKEN_TYPE` | `access`: accept only RFC 9068 JWT access tokens (header `typ: at+jwt`); default `any` |
//! | `AUTH_MAX_TOKEN_AGE_SECONDS` | refuse tokens whose `iat` is older than this (then `iat` is required); default: no limit |
//!
//! The shared secrets themselves are not read here: in Lambda they come from Secrets Manager
//! (`AUTH_HS256_SECRET_ID`), locally from `AUTH_HS256_SECRET`; the caller passes them to
//! [`crate::Authenticator::new`]. A shared secret is accepted for any preset (migration), and
//! required for `hs256`.

use std::net::IpAddr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use url::Url;

use crate::error::ConfigError;
use crate::ProviderKind;

/// Default clock leeway in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// Largest accepted leeway.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default minimum interval between two JWKS fetches triggered by an unknown `kid`.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Firebase's public keys as a JWK set (same keys as the documented x509 endpoint).
pub const FIREBASE_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// Every asymmetric algorithm we accept from a JWKS.
pub const ASYMMETRIC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Where the JWKS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// A fixed JWKS URL.
    Url(Url),
    /// OIDC discovery: `<issuer>/.well-known/openid-configuration`, whose `issuer` must equal the
    /// configured issuer, gives `jwks_uri`.
    Discovery(Url),
}

/// Which Cognito token the API accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CognitoTokenUse {
    /// Access tokens: no `aud`; `client_id` must be a configured client id.
    Access,
    /// ID tokens: `aud` must be a configured client id.
    Id,
}

impl CognitoTokenUse {
    /// The `token_use` claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            CognitoTokenUse::Access => "access",
            CognitoTokenUse::Id => "id",
        }
    }
}

/// Provider-specific rules on top of the universal checks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProviderRules {
    /// Clerk: allowed `azp` values; when non-empty, a missing or other `azp` is refused.
    pub authorized_parties: Vec<String>,
    /// Clerk: require a `sid` claim (session tokens; refuses JWT-template tokens).
    pub require_sid: bool,
    /// Clerk: `v`, when present, must be 2.
    pub clerk_version: bool,
    /// Supabase: `role` must equal this (`authenticated`), refusing anon/service_role keys.
    pub required_role: Option<String>,
    /// Firebase: `auth_time` required and not in the future.
    pub require_auth_time: bool,
    /// Cognito: `token_use` to accept and the app client ids.
    pub cognito: Option<(CognitoTokenUse, Vec<String>)>,
    /// Clerk: refuse sessions whose `sts` is `pending` (a user who has not finished the session's
    /// tasks, such as choosing an organisation; set when organisations are mandatory).
    pub reject_pending_sessions: bool,
    /// Auth0: refuse machine-to-machine tokens (`gty: client-credentials`): only end users mint.
    pub reject_machine_tokens: bool,
    /// Supabase: refuse anonymous users (`is_anonymous: true`).
    pub reject_anonymous: bool,
    /// Supabase: the authenticator assurance level required (`aal2` = multi-factor).
    pub required_aal: Option<String>,
    /// OIDC: accept only JWT access tokens (RFC 9068: header `typ` `at+jwt`), not ID tokens.
    pub require_access_token_type: bool,
    /// Any preset: refuse tokens whose `iat` is older than this many seconds (`iat` then required).
    pub max_token_age_seconds: Option<u64>,
}

/// Configuration, the same for the three functions and the local server.
///
/// Build it with [`AuthConfig::from_env`] or the constructors ([`AuthConfig::hs256`],
/// [`AuthConfig::jwks`]) and the `with_*` methods. [`crate::Authenticator::new`] validates it.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The preset.
    pub provider: ProviderKind,
    /// The exact `iss` accepted.
    pub issuer: String,
    /// Accepted `aud` values; empty = the token must carry no `aud`.
    pub audiences: Vec<String>,
    /// Remote key set, if any.
    pub jwks: Option<JwksSource>,
    /// Algorithms accepted from the JWKS (a key's own `alg` must be in here).
    pub jwks_algorithms: Vec<Algorithm>,
    /// Algorithm of the shared secrets.
    pub hs_algorithm: Algorithm,
    /// Leeway for `exp`, `nbf`, `iat` (seconds).
    pub leeway_seconds: u64,
    /// Claim holding the user id.
    pub user_id_claim: String,
    /// Claim paths (dot-separated) carrying roles.
    pub role_claims: Vec<String>,
    /// Minimum interval between unknown-`kid` refetches.
    pub min_refetch_interval: Duration,
    /// Provider-specific rules.
    pub rules: ProviderRules,
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_url(var: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim())
        .map_err(|e| ConfigError::new(format!("{var}: not a URL ({e})")))?;
    check_fetch_url(&url).map_err(|e| ConfigError::new(format!("{var}: {e}")))?;
    Ok(url)
}

/// HTTPS only, except plain http to a loopback address (tests and local runs); no credentials.
pub fn check_fetch_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback {
                return Err("plain http is accepted only for a loopback address; use https".into());
            }
        }
        other => return Err(format!("unsupported scheme {other:?}; use https")),
    }
    if url.host().is_none() {
        return Err("URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("URL must not carry credentials".into());
    }
    Ok(())
}

/// Parses a JOSE `alg` name we support (exact case, jsonwebtoken's names): HS256/384/512 and
/// [`ASYMMETRIC_ALGORITHMS`]. `none` and other names give `None`.
pub(crate) fn algorithm_from_name(name: &str) -> Option<Algorithm> {
    let alg: Algorithm = name.parse().ok()?;
    (alg.family() == AlgorithmFamily::Hmac || ASYMMETRIC_ALGORITHMS.contains(&alg)).then_some(alg)
}

fn trim_slash(s: &str) -> &str {
    s.trim().trim_end_matches('/')
}

impl AuthConfig {
    fn base(provider: ProviderKind, issuer: String) -> Self {
        AuthConfig {
            provider,
            issuer,
            audiences: Vec::new(),
            jwks: None,
            jwks_algorithms: ASYMMETRIC_ALGORITHMS.to_vec(),
            hs_algorithm: Algorithm::HS256,
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            user_id_claim: "sub".to_string(),
            role_claims: Vec::new(),
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            rules: ProviderRules::default(),
        }
    }

    /// A shared-secret (HS256) configuration, e.g. the CLI's development issuer.
    pub fn hs256(issuer: impl Into<String>, audience: Option<&str>) -> Self {
        let mut c = Self::base(ProviderKind::Hs256, issuer.into());
        if let Some(aud) = audience {
            c.audiences = vec![aud.to_string()];
        }
        c
    }

    /// A generic JWKS configuration (`AUTH_PROVIDER=jwks`).
    pub fn jwks(issuer: impl Into<String>, jwks_url: &str) -> Result<Self, ConfigError> {
        let mut c = Self::base(ProviderKind::Jwks, issuer.into());
        c.jwks = Some(JwksSource::Url(parse_url("jwks_url", jwks_url)?));
        Ok(c)
    }

    /// Replaces the accepted audiences.
    pub fn with_audience(mut self, audiences: &[&str]) -> Self {
        self.audiences = audiences.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the leeway (seconds).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway_seconds = seconds;
        self
    }

    /// Sets the user-id claim.
    pub fn with_user_id_claim(mut self, claim: &str) -> Self {
        self.user_id_claim = claim.to_string();
        self
    }

    /// Sets the role claim paths.
    pub fn with_role_claims(mut self, paths: &[&str]) -> Self {
        self.role_claims = paths.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the algorithm of the shared secrets (HS256, HS384 or HS512).
    pub fn with_hs_algorithm(mut self, alg: Algorithm) -> Self {
        self.hs_algorithm = alg;
        self
    }

    /// Sets Clerk's authorized parties (`azp` allow-list).
    pub fn with_authorized_parties(mut self, parties: &[&str]) -> Self {
        self.rules.authorized_parties = parties.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Every variable [`AuthConfig::from_env`] reads (a test holds it to that). The HS256 secret
    /// itself is not among them: it comes from Secrets Manager or `AUTH_HS256_SECRET` (token-service).
    pub const ENV_VARS: &'static [&'static str] = &[
        "AUTH_PROVIDER",
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "AUTH_JWKS_URL",
        "AUTH_LEEWAY_SECONDS",
        "AUTH_USER_ID_CLAIM",
        "AUTH_ROLE_CLAIMS",
        "AUTH_ALGORITHMS",
        "AUTH_HS_ALGORITHM",
        "AUTH_MAX_TOKEN_AGE_SECONDS",
        "AUTH_JWKS_MIN_REFETCH_SECONDS",
        "CLERK_FRONTEND_API_URL",
        "CLERK_AUTHORIZED_PARTIES",
        "CLERK_REJECT_PENDING_SESSIONS",
        "SUPABASE_URL",
        "SUPABASE_ALLOW_ANONYMOUS",
        "SUPABASE_REQUIRED_AAL",
        "FIREBASE_PROJECT_ID",
        "AUTH0_DOMAIN",
        "AUTH0_ALLOW_M2M",
        "COGNITO_USER_POOL_ID",
        "COGNITO_CLIENT_ID",
        "COGNITO_REGION",
        "COGNITO_TOKEN_USE",
        "OIDC_TOKEN_TYPE",
    ];

    /// Reads [`AuthConfig::ENV_VARS`] through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let require = |k: &str, why: &str| {
            var(k).ok_or_else(|| ConfigError::new(format!("{k} is required {why}")))
        };
        let provider_name = require(
            "AUTH_PROVIDER",
            "(clerk, supabase, firebase, auth0, cognito, oidc, jwks or hs256)",
        )?;
        let provider = match provider_name.to_ascii_lowercase().as_str() {
            "clerk" => ProviderKind::Clerk,
            "supabase" => ProviderKind::Supabase,
            "firebase" => ProviderKind::Firebase,
            "auth0" => ProviderKind::Auth0,
            "cognito" => ProviderKind::Cognito,
            "oidc" => ProviderKind::Oidc,
            "jwks" => ProviderKind::Jwks,
            "hs256" => ProviderKind::Hs256,
            other => {
                return Err(ConfigError::new(format!(
                    "AUTH_PROVIDER={other:?} is not one of clerk, supabase, firebase, auth0, cognito, oidc, jwks, hs256"
                )))
            }
        };
        let issuer_override = var("AUTH_ISSUER");
        // A preset's key set at `{base}/.well-known/jwks.json` (`var` names it in the error).
        let well_known_jwks = |var: &str, base: &str| {
            parse_url(var, &format!("{base}/.well-known/jwks.json"))
                .map(|u| Some(JwksSource::Url(u)))
        };
        let mut c = match provider {
            ProviderKind::Clerk => {
                let iss = match var("CLERK_FRONTEND_API_URL").or_else(|| issuer_override.clone()) {
                    Some(v) => trim_slash(&v).to_string(),
                    None => {
                        return Err(ConfigError::new(
                            "CLERK_FRONTEND_API_URL (or AUTH_ISSUER) is required for clerk",
                        ))
                    }
                };
                let mut c = Self::base(provider, iss.clone());
                c.jwks = well_known_jwks("CLERK_FRONTEND_API_URL", &iss)?;
                c.jwks_algorithms = vec![Algorithm::RS256];
                c.rules.authorized_parties = var("CLERK_AUTHORIZED_PARTIES")
                    .map(|v| split_list(&v))
                    .unwrap_or_default();
                c.rules.require_sid = true;
                c.rules.clerk_version = true;
                c
            }
            ProviderKind::Supabase => {
                let base = require("SUPABASE_URL", "for supabase")?;
                let base = trim_slash(&base).to_string();
                let iss = format!("{base}/auth/v1");
                let mut c = Self::base(provider, iss.clone());
                c.jwks = well_known_jwks("SUPABASE_URL", &iss)?;
                c.jwks_algorithms = vec![Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];
                c.audiences = vec!["authenticated".to_string()];
                c.rules.required_role = Some("authenticated".to_string());
                c
            }
            ProviderKind::Firebase => {
                let project = require("FIREBASE_PROJECT_ID", "for firebase")?;
                if !project
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(ConfigError::new(
                        "FIREBASE_PROJECT_ID: letters, digits and '-' only",
                    ));
                }
                let mut c = Self::base(
                    provider,
                    format!("https://securetoken.google.com/{project}"),
                );
                c.jwks = Some(JwksSource::Url(parse_url(
                    "FIREBASE_PROJECT_ID",
                    FIREBASE_JWKS_URL,
                )?));
                c.jwks_algorithms = vec![Algorithm::RS256];
                c.audiences = vec![project];
                c.rules.require_auth_time = true;
                c
            }
            ProviderKind::Auth0 => {
                let domain = require("AUTH0_DOMAIN", "for auth0")?;
                let domain = domain
                    .trim_start_matches("https://")
                    .trim_end_matches('/')
                    .to_string();
                if domain.is_empty() || domain.contains('/') {
                    return Err(ConfigError::new(
                        "AUTH0_DOMAIN: a host name such as tenant.eu.auth0.com",
                    ));
                }
                let mut c = Self::base(provider, format!("https://{domain}/"));
                c.jwks = well_known_jwks("AUTH0_DOMAIN", &format!("https://{domain}"))?;
                c.jwks_algorithms = vec![Algorithm::RS256];
                c
            }
            ProviderKind::Cognito => {
                let pool = require("COGNITO_USER_POOL_ID", "for cognito")?;
                let (pool_region, pool_rest) = pool.split_once('_').ok_or_else(|| {
                    ConfigError::new("COGNITO_USER_POOL_ID: expected <region>_<id>")
                })?;
                let ok_part = |s: &str| {
                    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                };
                if !ok_part(pool_region) || !ok_part(pool_rest) {
                    return Err(ConfigError::new(
                        "COGNITO_USER_POOL_ID: expected <region>_<id>",
                    ));
                }
                let region = var("COGNITO_REGION").unwrap_or_else(|| pool_region.to_string());
                if !ok_part(&region) {
                    return Err(ConfigError::new("COGNITO_REGION: not a region name"));
                }
                let clients = split_list(&require("COGNITO_CLIENT_ID", "for cognito")?);
                let token_use = match var("COGNITO_TOKEN_USE").as_deref().unwrap_or("access") {
                    "access" => CognitoTokenUse::Access,
                    "id" => CognitoTokenUse::Id,
                    other => {
                        return Err(ConfigError::new(format!(
                            "COGNITO_TOKEN_USE={other:?}: expected access or id"
                        )))
                    }
                };
                let iss = format!("https://cognito-idp.{region}.amazonaws.com/{pool}");
                let mut c = Self::base(provider, iss.clone());
                c.jwks = well_known_jwks("COGNITO_USER_POOL_ID", &iss)?;
                c.jwks_algorithms = vec![Algorithm::RS256];
                if token_use == CognitoTokenUse::Id {
                    c.audiences = clients.clone();
                }
                c.rules.cognito = Some((token_use, clients));
                c.role_claims = vec!["cognito:groups".to_string()];
                c
            }
            ProviderKind::Oidc => {
                let iss = require("AUTH_ISSUER", "for oidc")?;
                let discovery = format!("{}/.well-known/openid-configuration", trim_slash(&iss));
                let mut c = Self::base(provider, iss);
                c.jwks = Some(JwksSource::Discovery(parse_url("AUTH_ISSUER", &discovery)?));
                c
            }
            ProviderKind::Jwks => {
                let iss = require("AUTH_ISSUER", "for jwks")?;
                let url = require("AUTH_JWKS_URL", "for jwks")?;
                let mut c = Self::base(provider, iss);
                c.jwks = Some(JwksSource::Url(parse_url("AUTH_JWKS_URL", &url)?));
                c
            }
            ProviderKind::Hs256 => {
                let iss = require("AUTH_ISSUER", "for hs256")?;
                Self::base(provider, iss)
            }
        };

        if provider != ProviderKind::Oidc
            && provider != ProviderKind::Jwks
            && provider != ProviderKind::Hs256
        {
            if let Some(iss) = issuer_override {
                c.issuer = iss;
            }
        }
        if let Some(url) = var("AUTH_JWKS_URL") {
            if provider == ProviderKind::Hs256 {
                return Err(ConfigError::new(
                    "AUTH_JWKS_URL is not used with AUTH_PROVIDER=hs256; use jwks",
                ));
            }
            c.jwks = Some(JwksSource::Url(parse_url("AUTH_JWKS_URL", &url)?));
        }
        if let Some(aud) = var("AUTH_AUDIENCE") {
            let auds = split_list(&aud);
            if provider == ProviderKind::Cognito {
                return Err(ConfigError::new(
                    "AUTH_AUDIENCE is not used with cognito; set COGNITO_CLIENT_ID",
                ));
            }
            c.audiences = auds;
        }
        if provider == ProviderKind::Auth0 && c.audiences.is_empty() {
            return Err(ConfigError::new(
                "AUTH_AUDIENCE (the API identifier) is required for auth0",
            ));
        }
        if let Some(v) = var("AUTH_LEEWAY_SECONDS") {
            c.leeway_seconds = v.parse().map_err(|_| {
                ConfigError::new("AUTH_LEEWAY_SECONDS: not a whole number of seconds")
            })?;
        }
        if let Some(v) = var("AUTH_USER_ID_CLAIM") {
            c.user_id_claim = v;
        }
        if let Some(v) = var("AUTH_ROLE_CLAIMS") {
            c.role_claims = split_list(&v);
        }
        if let Some(v) = var("AUTH_ALGORITHMS") {
            let mut algs = Vec::new();
            for name in split_list(&v) {
                let alg = algorithm_from_name(&name)
                    .filter(|a| ASYMMETRIC_ALGORITHMS.contains(a))
                    .ok_or_else(|| {
                        ConfigError::new(format!(
                            "AUTH_ALGORITHMS: {name:?} is not a supported JWKS algorithm"
                        ))
                    })?;
                algs.push(alg);
            }
            c.jwks_algorithms = algs;
        }
        if let Some(v) = var("AUTH_HS_ALGORITHM") {
            c.hs_algorithm = algorithm_from_name(&v)
                .filter(|a| a.family() == AlgorithmFamily::Hmac)
                .ok_or_else(|| {
                    ConfigError::new(format!(
                        "AUTH_HS_ALGORITHM={v:?}: expected HS256, HS384 or HS512"
                    ))
                })?;
        }
        let flag = |k: &str, default: bool| -> Result<bool, ConfigError> {
            match var(k).map(|v| v.to_ascii_lowercase()).as_deref() {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(other) => Err(ConfigError::new(format!(
                    "{k}={other:?}: expected true or false"
                ))),
            }
        };
        let only_for = |k: &str, kind: ProviderKind| -> Result<(), ConfigError> {
            if var(k).is_some() && provider != kind {
                return Err(ConfigError::new(format!(
                    "{k} applies to AUTH_PROVIDER={} only",
                    kind.as_str()
                )));
            }
            Ok(())
        };
        only_for("CLERK_REJECT_PENDING_SESSIONS", ProviderKind::Clerk)?;
        only_for("AUTH0_ALLOW_M2M", ProviderKind::Auth0)?;
        only_for("SUPABASE_ALLOW_ANONYMOUS", ProviderKind::Supabase)?;
        only_for("SUPABASE_REQUIRED_AAL", ProviderKind::Supabase)?;
        only_for("OIDC_TOKEN_TYPE", ProviderKind::Oidc)?;
        c.rules.reject_pending_sessions = flag("CLERK_REJECT_PENDING_SESSIONS", false)?;
        c.rules.reject_machine_tokens =
            provider == ProviderKind::Auth0 && !flag("AUTH0_ALLOW_M2M", false)?;
        c.rules.reject_anonymous = !flag("SUPABASE_ALLOW_ANONYMOUS", true)?;
        if let Some(v) = var("SUPABASE_REQUIRED_AAL") {
            if v != "aal1" && v != "aal2" && v != "aal3" {
                return Err(ConfigError::new(format!(
                    "SUPABASE_REQUIRED_AAL={v:?}: expected aal1, aal2 or aal3"
                )));
            }
            c.rules.required_aal = Some(v);
        }
        c.rules.require_access_token_type = match var("OIDC_TOKEN_TYPE").as_deref() {
            None | Some("any") => false,
            Some("access") => true,
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "OIDC_TOKEN_TYPE={other:?}: expected access or any"
                )))
            }
        };
        if let Some(v) = var("AUTH_MAX_TOKEN_AGE_SECONDS") {
            let secs: u64 = v.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                ConfigError::new("AUTH_MAX_TOKEN_AGE_SECONDS: a positive whole number of seconds")
            })?;
            c.rules.max_token_age_seconds = Some(secs);
        }
        if let Some(v) = var("AUTH_JWKS_MIN_REFETCH_SECONDS") {
            let secs: u64 = v.parse().map_err(|_| {
                ConfigError::new("AUTH_JWKS_MIN_REFETCH_SECONDS: not a whole number of seconds")
            })?;
            c.min_refetch_interval = Duration::from_secs(secs);
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the invariants (also run by [`crate::Authenticator::new`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::new("issuer is empty"));
        }
        if self.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(ConfigError::new(format!(
                "AUTH_LEEWAY_SECONDS: at most {MAX_LEEWAY_SECONDS}"
            )));
        }
        if self.user_id_claim.is_empty() {
            return Err(ConfigError::new("AUTH_USER_ID_CLAIM is empty"));
        }
        if !matches!(
            self.hs_algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(ConfigError::new(
                "the shared-secret algorithm must be HS256, HS384 or HS512",
            ));
        }
        if self
            .jwks_algorithms
            .iter()
            .any(|a| !ASYMMETRIC_ALGORITHMS.contains(a))
        {
            return Err(ConfigError::new(
                "JWKS algorithms must be asymmetric (RS*, PS256, ES256, ES384, EdDSA)",
            ));
        }
        if self.jwks.is_some() && self.jwks_algorithms.is_empty() {
            return Err(ConfigError::new("AUTH_ALGORITHMS is empty"));
        }
        if let Some(JwksSource::Url(u) | JwksSource::Discovery(u)) = &self.jwks {
            check_fetch_url(u).map_err(|e| ConfigError::new(format!("JWKS URL: {e}")))?;
        }
        if self.provider == ProviderKind::Hs256 && self.jwks.is_some() {
            return Err(ConfigError::new(
                "hs256 takes no JWKS; use AUTH_PROVIDER=jwks",
            ));
        }
        if self.provider != ProviderKind::Hs256 && self.jwks.is_none() {
            return Err(ConfigError::new("no JWKS configured for this provider"));
        }
        if self.min_refetch_interval < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "the minimum JWKS refetch interval must be at least 1 s",
            ));
        }
        if let Some((_, clients)) = &self.rules.cognito {
            if clients.is_empty() {
                return Err(ConfigError::new("COGNITO_CLIENT_ID is empty"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_vars_lists_every_variable_from_env_reads() {
        // Every preset with a valid value for every variable it takes: together they read exactly
        // the listed variables.
        let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
        for provider in [
            "clerk", "supabase", "firebase", "auth0", "cognito", "oidc", "jwks", "hs256",
        ] {
            let get = |k: &str| {
                read.borrow_mut().insert(k.to_owned());
                let only = |p: &str, v: &str| (provider == p).then(|| v.to_owned());
                match k {
                    "AUTH_PROVIDER" => Some(provider.to_owned()),
                    "CLERK_REJECT_PENDING_SESSIONS" => only("clerk", "true"),
                    "AUTH0_ALLOW_M2M" => only("auth0", "true"),
                    "SUPABASE_ALLOW_ANONYMOUS" => only("supabase", "false"),
                    "SUPABASE_REQUIRED_AAL" => only("supabase", "aal2"),
                    "OIDC_TOKEN_TYPE" => only("oidc", "access"),
                    "AUTH_AUDIENCE" => (provider != "cognito").then(|| "api".to_owned()),
                    "AUTH_JWKS_URL" if provider == "hs256" => None,
                    "AUTH_ALGORITHMS" if provider == "hs256" => None,
                    "AUTH_ALGORITHMS" => Some("RS256".to_owned()),
                    "AUTH_HS_ALGORITHM" => Some("HS256".to_owned()),
                    "AUTH_USER_ID_CLAIM" | "AUTH_ROLE_CLAIMS" => Some("sub".to_owned()),
                    "COGNITO_USER_POOL_ID" => Some("us-east-1_abc".to_owned()),
                    "COGNITO_REGION" => Some("us-east-1".to_owned()),
                    "COGNITO_TOKEN_USE" => Some("access".to_owned()),
                    "AUTH0_DOMAIN" => Some("tenant.example.com".to_owned()),
                    k if k.ends_with("_SECONDS") => Some("30".to_owned()),
                    k if k.ends_with("_URL") || k == "AUTH_ISSUER" => {
                        Some("https://issuer.example.com".to_owned())
                    }
                    _ => Some("x".to_owned()),
                }
            };
            if let Err(e) = AuthConfig::from_env(&get) {
                panic!("{provider}: {e}");
            }
        }
        let read = read.into_inner();
        let listed: std::collections::BTreeSet<String> =
            AuthConfig::ENV_VARS.iter().map(|s| s.to_string()).collect();
        assert_eq!(read, listed);
    }

    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthConfig::from_env(&|k| map.get(k).cloned())
    }

    fn url_of(c: &AuthConfig) -> String {
        match c.jwks.as_ref().expect("jwks") {
            JwksSource::Url(u) | JwksSource::Discovery(u) => u.to_string(),
        }
    }

    #[test]
    fn clerk_preset() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "clerk"),
            ("CLERK_FRONTEND_API_URL", "https://clerk.example.com/"),
            (
                "CLERK_AUTHORIZED_PARTIES",
                "https://app.example.com, https://www.example.com",
            ),
        ])
        .unwrap();
        assert_eq!(c.issuer, "https://clerk.example.com");
        assert_eq!(
            url_of(&c),
            "https://clerk.example.com/.well-known/jwks.json"
        );
        assert_eq!(
            c.rules.authorized_parties,
            vec!["https://app.example.com", "https://www.example.com"]
        );
        assert!(c.rules.require_sid);
        assert!(c.audiences.is_empty());
    }

    #[test]
    fn supabase_preset() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "supabase"),
            ("SUPABASE_URL", "https://abc.supabase.co"),
        ])
        .unwrap();
        assert_eq!(c.issuer, "https://abc.supabase.co/auth/v1");
        assert_eq!(
            url_of(&c),
            "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
        );
        assert_eq!(c.audiences, vec!["authenticated"]);
        assert_eq!(c.rules.required_role.as_deref(), Some("authenticated"));
    }

    #[test]
    fn firebase_preset() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "firebase"),
            ("FIREBASE_PROJECT_ID", "my-app"),
        ])
        .unwrap();
        assert_eq!(c.issuer, "https://securetoken.google.com/my-app");
        assert_eq!(c.audiences, vec!["my-app"]);
        assert_eq!(url_of(&c), FIREBASE_JWKS_URL);
        assert!(cfg(&[
            ("AUTH_PROVIDER", "firebase"),
            ("FIREBASE_PROJECT_ID", "a/b")
        ])
        .is_err());
    }

    #[test]
    fn auth0_preset_has_trailing_slash_and_needs_audience() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "auth0"),
            ("AUTH0_DOMAIN", "tenant.eu.auth0.com"),
            ("AUTH_AUDIENCE", "https://api.example.com"),
        ])
        .unwrap();
        assert_eq!(c.issuer, "https://tenant.eu.auth0.com/");
        assert_eq!(
            url_of(&c),
            "https://tenant.eu.auth0.com/.well-known/jwks.json"
        );
        let e = cfg(&[("AUTH_PROVIDER", "auth0"), ("AUTH0_DOMAIN", "t.auth0.com")]).unwrap_err();
        assert!(e.0.contains("AUTH_AUDIENCE"));
    }

    #[test]
    fn cognito_preset() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "cognito"),
            ("COGNITO_USER_POOL_ID", "eu-west-1_AbCdEf123"),
            ("COGNITO_CLIENT_ID", "client1"),
        ])
        .unwrap();
        assert_eq!(
            c.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
        );
        assert_eq!(
            url_of(&c),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json"
        );
        assert_eq!(
            c.rules.cognito,
            Some((CognitoTokenUse::Access, vec!["client1".to_string()]))
        );
        assert!(c.audiences.is_empty());
        let c = cfg(&[
            ("AUTH_PROVIDER", "cognito"),
            ("COGNITO_USER_POOL_ID", "eu-west-1_AbCdEf123"),
            ("COGNITO_CLIENT_ID", "client1"),
            ("COGNITO_TOKEN_USE", "id"),
        ])
        .unwrap();
        assert_eq!(c.audiences, vec!["client1"]);
        assert!(cfg(&[
            ("AUTH_PROVIDER", "cognito"),
            ("COGNITO_USER_POOL_ID", "nounderscore"),
            ("COGNITO_CLIENT_ID", "c")
        ])
        .is_err());
    }

    #[test]
    fn oidc_uses_discovery_unless_jwks_url_given() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "oidc"),
            ("AUTH_ISSUER", "https://id.example.com/"),
        ])
        .unwrap();
        assert_eq!(
            c.jwks,
            Some(JwksSource::Discovery(
                Url::parse("https://id.example.com/.well-known/openid-configuration").unwrap()
            ))
        );
        assert_eq!(c.issuer, "https://id.example.com/");
        let c = cfg(&[
            ("AUTH_PROVIDER", "oidc"),
            ("AUTH_ISSUER", "https://id.example.com"),
            ("AUTH_JWKS_URL", "https://id.example.com/keys"),
        ])
        .unwrap();
        assert_eq!(url_of(&c), "https://id.example.com/keys");
    }

    #[test]
    fn http_only_on_loopback() {
        assert!(cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "http://127.0.0.1:9/jwks")
        ])
        .is_ok());
        assert!(cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "http://[::1]:9/jwks")
        ])
        .is_ok());
        let e = cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "http://example.com/jwks"),
        ])
        .unwrap_err();
        assert!(e.0.contains("AUTH_JWKS_URL"), "{e}");
        assert!(cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "ftp://127.0.0.1/jwks")
        ])
        .is_err());
        assert!(cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "https://u:p@example.com/jwks")
        ])
        .is_err());
    }

    #[test]
    fn common_variables() {
        let c = cfg(&[
            ("AUTH_PROVIDER", "HS256"),
            ("AUTH_ISSUER", "dev"),
            ("AUTH_AUDIENCE", "rtc"),
            ("AUTH_LEEWAY_SECONDS", "5"),
            ("AUTH_USER_ID_CLAIM", "uid"),
            (
                "AUTH_ROLE_CLAIMS",
                "roles, app_metadata.roles ,cognito:groups",
            ),
            ("AUTH_HS_ALGORITHM", "HS512"),
        ])
        .unwrap();
        assert_eq!(c.provider, ProviderKind::Hs256);
        assert_eq!(c.audiences, vec!["rtc"]);
        assert_eq!(c.leeway_seconds, 5);
        assert_eq!(c.user_id_claim, "uid");
        assert_eq!(
            c.role_claims,
            vec!["roles", "app_metadata.roles", "cognito:groups"]
        );
        assert_eq!(c.hs_algorithm, Algorithm::HS512);
        assert!(cfg(&[
            ("AUTH_PROVIDER", "hs256"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_LEEWAY_SECONDS", "999")
        ])
        .is_err());
        assert!(cfg(&[
            ("AUTH_PROVIDER", "hs256"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_HS_ALGORITHM", "RS256")
        ])
        .is_err());
        assert!(cfg(&[
            ("AUTH_PROVIDER", "jwks"),
            ("AUTH_ISSUER", "x"),
            ("AUTH_JWKS_URL", "https://a/j"),
            ("AUTH_ALGORITHMS", "HS256")
        ])
        .is_err());
        assert!(cfg(&[("AUTH_PROVIDER", "nope")]).is_err());
        assert!(cfg(&[]).unwrap_err().0.contains("AUTH_PROVIDER"));
    }
}
