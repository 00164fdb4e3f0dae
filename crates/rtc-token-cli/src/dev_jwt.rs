//! `rtc-token dev-jwt`: mints a DEVELOPMENT caller JWT that `rtc-token serve` accepts on its
//! embedded defaults (HS256, issuer `rtc-token-dev`, audience `rtc-tokens-local`, roles in the
//! `roles` claim, the development key of [`crate::dev_defaults`]).
//!
//! Such a token is worthless anywhere else: the Lambda functions have no development issuer.

use crate::dev_defaults::{DEV_AUDIENCE, DEV_CALLER_SECRET, DEV_ISSUER};
use serde_json::{Map, Value};

/// Longest lifetime accepted by `--ttl` (30 days).
const MAX_TTL: u64 = 30 * 24 * 3600;

/// Arguments.
#[derive(clap::Args)]
#[command(
    after_help = "Example: JWT=$(rtc-token dev-jwt --sub alice --claims '{\"roles\":[\"guide\"]}')\n\
                  Check one with: rtc-token inspect \"$JWT\""
)]
pub struct DevJwtArgs {
    /// The caller's user id (`sub`).
    #[arg(long, value_name = "USER_ID")]
    pub sub: String,
    /// Extra claims as a JSON object, e.g. '{"roles":["guide"]}' (the caller's roles, which the
    /// policy's `role_map` and `caller_roles` read). They override the defaults (`iss`, `aud`,
    /// `iat`, `nbf`, `exp`), which lets you mint expired or foreign tokens for testing.
    #[arg(long, value_name = "JSON")]
    pub claims: Option<String>,
    /// Lifetime in seconds (1..=2592000).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub ttl: u64,
}

/// Runs the command; returns the process exit code.
pub fn run(args: DevJwtArgs) -> u8 {
    let now = crate::cli_util::now_unix();
    match mint(&args.sub, args.claims.as_deref(), args.ttl, now) {
        Ok(token) => {
            println!("{token}");
            0
        }
        Err(msg) => {
            eprintln!("rtc-token dev-jwt: {msg}");
            2
        }
    }
}

/// The claims of a development caller token.
pub fn claims(
    sub: &str,
    extra: Option<&str>,
    ttl: u64,
    now: u64,
) -> Result<Map<String, Value>, String> {
    if sub.trim().is_empty() {
        return Err("--sub must not be empty".into());
    }
    if sub.len() > 255 {
        return Err("--sub is longer than 255 bytes".into());
    }
    if ttl == 0 || ttl > MAX_TTL {
        return Err(format!("--ttl must be between 1 and {MAX_TTL} seconds"));
    }
    let mut out = Map::new();
    out.insert("iss".into(), DEV_ISSUER.into());
    out.insert("aud".into(), DEV_AUDIENCE.into());
    out.insert("sub".into(), sub.into());
    out.insert("iat".into(), now.into());
    out.insert("nbf".into(), now.into());
    out.insert("exp".into(), (now + ttl).into());
    if let Some(text) = extra {
        let parsed: Value =
            serde_json::from_str(text).map_err(|e| format!("--claims is not JSON: {e}"))?;
        let Value::Object(map) = parsed else {
            return Err("--claims must be a JSON object".into());
        };
        if map.contains_key("sub") {
            return Err("--claims must not set sub; use --sub".into());
        }
        out.extend(map);
    }
    Ok(out)
}

/// Mints the development caller JWT (HS256, header `{"alg":"HS256","typ":"JWT"}`).
pub fn mint(sub: &str, extra: Option<&str>, ttl: u64, now: u64) -> Result<String, String> {
    let claims = claims(sub, extra, ttl, now)?;
    caller_auth::init_crypto();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(DEV_CALLER_SECRET.as_bytes());
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("cannot sign: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};

    fn verify(token: &str, now_leeway_ok: bool) -> Map<String, Value> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[DEV_ISSUER]);
        v.set_audience(&[DEV_AUDIENCE]);
        v.validate_exp = now_leeway_ok;
        decode::<Map<String, Value>>(
            token,
            &DecodingKey::from_secret(DEV_CALLER_SECRET.as_bytes()),
            &v,
        )
        .unwrap()
        .claims
    }

    #[test]
    fn token_verifies_with_the_dev_key_and_carries_the_claims() {
        let now = crate::cli_util::now_unix();
        let t = mint(
            "alice",
            Some(r#"{"role":"host","roles":["guide"]}"#),
            600,
            now,
        )
        .unwrap();
        let c = verify(&t, true);
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["iss"], DEV_ISSUER);
        assert_eq!(c["exp"], now + 600);
        assert_eq!(c["iat"], now);
        assert_eq!(c["role"], "host");
        assert_eq!(c["roles"][0], "guide");
    }

    #[test]
    fn extra_claims_override_defaults() {
        let t = mint("bob", Some(r#"{"exp":5,"iss":"someone-else"}"#), 60, 1_000).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.validate_aud = false;
        let c = decode::<Map<String, Value>>(
            &t,
            &DecodingKey::from_secret(DEV_CALLER_SECRET.as_bytes()),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(c["exp"], 5);
        assert_eq!(c["iss"], "someone-else");
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(mint("", None, 60, 0).is_err());
        assert!(mint("a", None, 0, 0).is_err());
        assert!(mint("a", None, MAX_TTL + 1, 0).is_err());
        assert!(mint("a", Some("[1]"), 60, 0).is_err());
        assert!(mint("a", Some("{"), 60, 0).is_err());
        assert!(mint("a", Some(r#"{"sub":"b"}"#), 60, 0).is_err());
    }

    #[test]
    fn signed_with_a_different_key_fails() {
        let t = mint("alice", None, 60, 0).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.validate_aud = false;
        assert!(decode::<Map<String, Value>>(&t, &DecodingKey::from_secret(b"other"), &v).is_err());
    }
}
