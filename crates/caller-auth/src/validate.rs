//! Strict claim checks with the injected clock (`now`, unix seconds).

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{AuthConfig, CognitoTokenUse};
use crate::error::{loggable, AuthError};
use crate::Caller;

/// Largest `sub` (and user id) accepted, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 255;
/// Most roles kept from the role claims.
pub const MAX_ROLES: usize = 64;
/// Time claims above this (year 2286) are treated as malformed.
const MAX_TIME: f64 = 1.0e10;

/// A JSON object whose member names are unique (RFC 7515 §4 and RFC 7519 §4: duplicates rejected,
/// where a plain map would keep the last).
struct UniqueNames(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueNames;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueNames, A::Error> {
                let mut members = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if members.insert(name, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate name"));
                    }
                }
                Ok(UniqueNames(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses a JOSE header or a payload (`what`): a JSON object without duplicate member names. The
/// error names the cause without echoing input.
pub(crate) fn parse_object(json: &[u8], what: &str) -> Result<Map<String, Value>, AuthError> {
    use serde_json::error::Category;
    serde_json::from_slice::<UniqueNames>(json)
        .map(|UniqueNames(members)| members)
        .map_err(|e| {
            let why = match e.classify() {
                Category::Syntax | Category::Eof | Category::Io => "not JSON",
                Category::Data if e.to_string().starts_with("duplicate name") => "duplicate name",
                Category::Data => "unexpected JSON structure",
            };
            AuthError::token("malformed", format!("{what}: {why}"))
        })
}

/// Parses the payload: a JSON object without duplicate members.
pub(crate) fn parse_claims(payload: &[u8]) -> Result<ClaimSet, AuthError> {
    parse_object(payload, "payload")
}

/// A payload's claims by name.
type ClaimSet = Map<String, Value>;

/// A NumericDate: a finite, non-negative JSON number (fractions truncated); anything else is an error.
fn numeric_date(claims: &ClaimSet, name: &'static str) -> Result<Option<u64>, AuthError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let bad = || AuthError::token("bad_claim", format!("{name} is not a NumericDate"));
    let Value::Number(n) = value else {
        return Err(bad());
    };
    if let Some(u) = n.as_u64() {
        if (u as f64) < MAX_TIME {
            return Ok(Some(u));
        }
        return Err(bad());
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && (0.0..MAX_TIME).contains(&f) => Ok(Some(f as u64)),
        _ => Err(bad()),
    }
}

fn string_claim<'a>(
    claims: &'a ClaimSet,
    name: &'static str,
) -> Result<Option<&'a str>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AuthError::token(
            "bad_claim",
            format!("{name} is not a string"),
        )),
    }
}

/// An identifier usable downstream: 1..=255 bytes, no control characters.
fn check_identifier(value: &str, name: &str) -> Result<(), AuthError> {
    if value.is_empty() {
        return Err(AuthError::token(
            "bad_subject",
            format!("{} is empty", loggable(name)),
        ));
    }
    if value.len() > MAX_SUBJECT_BYTES {
        return Err(AuthError::token(
            "bad_subject",
            format!(
                "{} is {} bytes (max {MAX_SUBJECT_BYTES})",
                loggable(name),
                value.len()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AuthError::token(
            "bad_subject",
            format!("{} contains control characters", loggable(name)),
        ));
    }
    Ok(())
}

/// Looks up a dot-separated path (`app_metadata.roles`); a top-level name containing a dot is
/// tried first as a whole.
fn claim_path<'a>(claims: &'a ClaimSet, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn collect_roles(claims: &ClaimSet, paths: &[String]) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if roles.len() < MAX_ROLES
            && !s.is_empty()
            && s.len() <= MAX_SUBJECT_BYTES
            && !roles.iter().any(|r| r == s)
        {
            roles.push(s.to_string());
        }
    };
    for path in paths {
        match claim_path(claims, path) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::String(s) = item {
                        push(s);
                    }
                }
            }
            _ => {}
        }
    }
    roles
}

/// Runs every claim check and builds the [`Caller`].
pub(crate) fn check_claims(
    config: &AuthConfig,
    claims: &ClaimSet,
    now: u64,
) -> Result<Caller, AuthError> {
    let leeway = config.leeway_seconds;

    // Time: exp required; reject when now >= exp + leeway; nbf/iat may be up to leeway ahead.
    let exp = numeric_date(claims, "exp")?
        .ok_or_else(|| AuthError::token("missing_claim", "exp is required"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::token(
            "expired",
            format!("exp {exp} + leeway {leeway} <= now {now}"),
        ));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(AuthError::token(
                "not_yet_valid",
                format!("nbf {nbf} > now {now} + leeway {leeway}"),
            ));
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > now.saturating_add(leeway) {
            return Err(AuthError::token(
                "issued_in_future",
                format!("iat {iat} > now {now} + leeway {leeway}"),
            ));
        }
    }

    // Issuer: a plain string, exactly equal.
    let iss = string_claim(claims, "iss")?
        .ok_or_else(|| AuthError::token("missing_claim", "iss is required"))?;
    if *iss != *config.issuer {
        return Err(AuthError::token(
            "bad_issuer",
            format!(
                "iss {} is not the configured issuer {}",
                loggable(iss),
                loggable(&config.issuer)
            ),
        ));
    }

    // Audience: required and matching when configured; refused when none is expected.
    match claims.get("aud") {
        None if config.audiences.is_empty() => {}
        None => return Err(AuthError::token("missing_claim", "aud is required")),
        Some(_) if config.audiences.is_empty() => {
            return Err(AuthError::token(
                "bad_audience",
                "token carries aud but no audience is configured",
            ))
        }
        Some(Value::String(a)) => {
            if !config.audiences.contains(a) {
                return Err(AuthError::token(
                    "bad_audience",
                    format!("aud {} not accepted", loggable(a)),
                ));
            }
        }
        Some(Value::Array(items)) if items.iter().any(|a| !a.is_string()) => {
            return Err(AuthError::token(
                "bad_claim",
                "aud array holds a non-string",
            ))
        }
        Some(Value::Array(items)) => {
            if !items
                .iter()
                .any(|a| config.audiences.iter().any(|c| a == c))
            {
                return Err(AuthError::token("bad_audience", "no aud value is accepted"));
            }
        }
        Some(_) => {
            return Err(AuthError::token(
                "bad_claim",
                "aud is not a string or array",
            ))
        }
    }

    // Subject.
    let sub = string_claim(claims, "sub")?
        .ok_or_else(|| AuthError::token("missing_claim", "sub is required"))?;
    check_identifier(sub, "sub")?;

    provider_rules(config, claims, now)?;

    let subject = if config.user_id_claim == "sub" {
        sub.to_owned()
    } else {
        match claim_path(claims, &config.user_id_claim) {
            Some(Value::String(s)) => {
                check_identifier(s, &config.user_id_claim)?;
                s.clone()
            }
            Some(_) => {
                return Err(AuthError::token(
                    "bad_claim",
                    format!("{} is not a string", loggable(&config.user_id_claim)),
                ))
            }
            None => {
                return Err(AuthError::token(
                    "missing_claim",
                    format!("{} is required", loggable(&config.user_id_claim)),
                ))
            }
        }
    };
    let roles = collect_roles(claims, &config.role_claims);
    Ok(Caller {
        subject,
        issuer: iss.to_owned(),
        provider: config.provider,
        roles,
        expires_at: exp,
        // Filled in by the caller of this function, which owns the claims.
        claims: crate::Claims::default(),
    })
}

fn provider_rules(config: &AuthConfig, claims: &ClaimSet, now: u64) -> Result<(), AuthError> {
    let rules = &config.rules;
    if !rules.authorized_parties.is_empty() {
        match string_claim(claims, "azp")? {
            Some(azp) if rules.authorized_parties.iter().any(|p| **p == *azp) => {}
            Some(azp) => {
                return Err(AuthError::token(
                    "bad_azp",
                    format!("azp {} not authorized", loggable(azp)),
                ))
            }
            None => return Err(AuthError::token("bad_azp", "azp is required")),
        }
    }
    if rules.require_sid && string_claim(claims, "sid")?.is_none_or(str::is_empty) {
        return Err(AuthError::token(
            "missing_claim",
            "sid is required (session token)",
        ));
    }
    if rules.clerk_version && claims.get("v").is_some_and(|v| v.as_u64() != Some(2)) {
        return Err(AuthError::token("bad_claim", "v is not 2"));
    }
    if let Some(required) = &rules.required_role {
        match string_claim(claims, "role")? {
            Some(r) if *r == **required => {}
            Some(r) => {
                return Err(AuthError::token(
                    "bad_role",
                    format!("role {} is not {required}", loggable(r)),
                ))
            }
            None => return Err(AuthError::token("bad_role", "role is required")),
        }
    }
    if rules.require_auth_time {
        let t = numeric_date(claims, "auth_time")?
            .ok_or_else(|| AuthError::token("missing_claim", "auth_time is required"))?;
        if t > now.saturating_add(config.leeway_seconds) {
            return Err(AuthError::token(
                "issued_in_future",
                format!("auth_time {t} is in the future"),
            ));
        }
    }
    if rules.reject_pending_sessions && string_claim(claims, "sts")? == Some("pending") {
        return Err(AuthError::token(
            "pending_session",
            "the session is pending (sts)",
        ));
    }
    if rules.reject_machine_tokens && string_claim(claims, "gty")? == Some("client-credentials") {
        return Err(AuthError::token(
            "machine_token",
            "machine-to-machine tokens (gty client-credentials) are not accepted",
        ));
    }
    if rules.reject_anonymous && claims.get("is_anonymous") == Some(&Value::Bool(true)) {
        return Err(AuthError::token(
            "anonymous_user",
            "anonymous users are not accepted",
        ));
    }
    if let Some(required) = &rules.required_aal {
        // `aal1` < `aal2` < `aal3`; anything else is below every requirement.
        let level = |s: &str| {
            s.strip_prefix("aal")
                .filter(|n| n.len() == 1)
                .and_then(|n| n.parse::<u8>().ok())
        };
        match string_claim(claims, "aal")? {
            Some(aal) if level(aal).is_some() && level(aal) >= level(required) => {}
            Some(aal) => {
                return Err(AuthError::token(
                    "insufficient_aal",
                    format!("aal {} is below {required}", loggable(aal)),
                ))
            }
            None => return Err(AuthError::token("missing_claim", "aal is required")),
        }
    }
    if let Some(max_age) = rules.max_token_age_seconds {
        let iat = numeric_date(claims, "iat")?
            .ok_or_else(|| AuthError::token("missing_claim", "iat is required (max token age)"))?;
        if now
            > iat
                .saturating_add(max_age)
                .saturating_add(config.leeway_seconds)
        {
            return Err(AuthError::token(
                "too_old",
                format!("iat {iat} is more than {max_age} s before now {now}"),
            ));
        }
    }
    if let Some((token_use, clients)) = &rules.cognito {
        let got = string_claim(claims, "token_use")?
            .ok_or_else(|| AuthError::token("missing_claim", "token_use is required"))?;
        if *got != *token_use.as_str() {
            return Err(AuthError::token(
                "bad_token_use",
                format!("token_use {} is not {}", loggable(got), token_use.as_str()),
            ));
        }
        if *token_use == CognitoTokenUse::Access {
            let cid = string_claim(claims, "client_id")?
                .ok_or_else(|| AuthError::token("missing_claim", "client_id is required"))?;
            if !clients.iter().any(|c| **c == *cid) {
                return Err(AuthError::token(
                    "bad_client",
                    format!("client_id {} not accepted", loggable(cid)),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn cfg() -> AuthConfig {
        AuthConfig::hs256("https://issuer.example", Some("rtc")).with_leeway(30)
    }

    fn base() -> Value {
        json!({"iss":"https://issuer.example","aud":"rtc","sub":"user-1","exp":NOW+60,"iat":NOW,"nbf":NOW})
    }

    fn check(c: &AuthConfig, v: Value) -> Result<Caller, AuthError> {
        let bytes = serde_json::to_vec(&v).unwrap();
        check_claims(c, &parse_claims(&bytes)?, NOW)
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = base();
        v[key] = value;
        v
    }

    fn without(key: &str) -> Value {
        let mut v = base();
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn valid_claims_pass() {
        let caller = check(&cfg(), base()).unwrap();
        assert_eq!(caller.subject, "user-1");
        assert_eq!(caller.issuer, "https://issuer.example");
        assert_eq!(caller.expires_at, NOW + 60);
    }

    #[test]
    fn time_boundaries() {
        let c = cfg();
        let r = |k: &str, v: u64| {
            check(&c, with(k, json!(v)))
                .map(|_| ())
                .map_err(|e| e.reason())
        };
        // exp: accept iff now < exp + L
        assert_eq!(r("exp", NOW + 1), Ok(()));
        assert_eq!(r("exp", NOW - 29), Ok(()));
        assert_eq!(r("exp", NOW - 30), Err("expired"));
        assert_eq!(r("exp", NOW - 31), Err("expired"));
        // nbf / iat: accept iff value <= now + L
        assert_eq!(r("nbf", NOW + 30), Ok(()));
        assert_eq!(r("nbf", NOW + 31), Err("not_yet_valid"));
        assert_eq!(r("iat", NOW + 30), Ok(()));
        assert_eq!(r("iat", NOW + 31), Err("issued_in_future"));
        assert_eq!(r("iat", NOW + 10 * 365 * 86400), Err("issued_in_future"));
        // zero leeway: exp == now is refused
        let z = cfg().with_leeway(0);
        assert_eq!(
            check(&z, with("exp", json!(NOW))).unwrap_err().reason(),
            "expired"
        );
        assert!(check(&z, with("exp", json!(NOW + 1))).is_ok());
    }

    #[test]
    fn malformed_time_claims() {
        let c = cfg();
        for v in [
            json!("9999999999"),
            json!(null),
            json!(true),
            json!(-1),
            json!(1e300),
            json!([1]),
            json!({}),
        ] {
            assert!(check(&c, with("exp", v.clone())).is_err(), "exp {v}");
            assert!(check(&c, with("nbf", v.clone())).is_err(), "nbf {v}");
            assert!(check(&c, with("iat", v.clone())).is_err(), "iat {v}");
        }
        assert_eq!(
            check(&c, without("exp")).unwrap_err().reason(),
            "missing_claim"
        );
        assert!(check(&c, with("exp", json!((NOW + 60) as f64 + 0.5))).is_ok());
    }

    #[test]
    fn issuer_rules() {
        let c = cfg();
        for v in [
            json!("https://issuer.example/"),
            json!("http://issuer.example"),
            json!("https://ISSUER.example"),
            json!(["evil", "https://issuer.example"]),
            json!(123),
            json!({}),
            json!(null),
        ] {
            assert!(check(&c, with("iss", v.clone())).is_err(), "iss {v}");
        }
        assert_eq!(
            check(&c, without("iss")).unwrap_err().reason(),
            "missing_claim"
        );
    }

    #[test]
    fn audience_rules() {
        let c = cfg();
        assert!(check(&c, with("aud", json!(["other", "rtc"]))).is_ok());
        for v in [
            json!("other"),
            json!(["other"]),
            json!([]),
            json!(123),
            json!({}),
            json!(["rtc", 1]),
            json!(null),
        ] {
            assert!(check(&c, with("aud", v.clone())).is_err(), "aud {v}");
        }
        assert_eq!(
            check(&c, without("aud")).unwrap_err().reason(),
            "missing_claim"
        );
        let none = AuthConfig::hs256("https://issuer.example", None);
        assert!(check(&none, without("aud")).is_ok());
        assert_eq!(check(&none, base()).unwrap_err().reason(), "bad_audience");
    }

    #[test]
    fn subject_rules() {
        let c = cfg();
        for v in [
            json!(""),
            json!(42),
            json!("a".repeat(256)),
            json!("a\u{0}b"),
            json!("a\nb"),
            json!(null),
        ] {
            assert!(check(&c, with("sub", v.clone())).is_err(), "sub {v}");
        }
        assert!(check(&c, with("sub", json!("a".repeat(255)))).is_ok());
        assert_eq!(
            check(&c, without("sub")).unwrap_err().reason(),
            "missing_claim"
        );
    }

    /// Claims are read from the raw payload text: escaped strings decode to the same values a full
    /// parse gives, and the kept payload gives every claim back.
    #[test]
    fn escaped_and_nested_claims_read_as_a_full_parse_would() {
        let mut c = cfg();
        c.role_claims = vec!["app_metadata.roles".to_owned(), "role".to_owned()];
        let raw = format!(
            r#"{{"iss":"https:\/\/issuer.example","aud":["x","rtc"],"sub":"\u00e9l\u00e8ve","exp":{},"iat":{NOW}.5,"role":"guide","app_metadata":{{"roles":["host","guide",7]}},"uid":42}}"#,
            NOW + 60
        );
        let claims = parse_claims(raw.as_bytes()).unwrap();
        let caller = check_claims(&c, &claims, NOW).unwrap();
        assert_eq!(caller.issuer, "https://issuer.example");
        assert_eq!(caller.subject, "\u{e9}l\u{e8}ve");
        assert_eq!(caller.roles, ["host", "guide"]);
        let full: Map<String, Value> = serde_json::from_str(&raw).unwrap();
        assert_eq!(claims, full);
        assert_eq!(claims.get("uid"), Some(&serde_json::json!(42)));
        assert_eq!(claims.get("missing"), None);
        // A string where a number belongs, and a number where a string belongs, are refused.
        for (k, v) in [
            ("exp", json!("1800000060")),
            ("iss", json!(1)),
            ("sub", json!(["a"])),
        ] {
            assert_eq!(check(&c, with(k, v)).unwrap_err().reason(), "bad_claim");
        }
    }

    #[test]
    fn duplicate_claims_rejected() {
        let c = cfg();
        let raw = format!(
            r#"{{"iss":"https://issuer.example","aud":"rtc","sub":"a","sub":"b","exp":{}}}"#,
            NOW + 60
        );
        assert_eq!(
            parse_claims(raw.as_bytes()).unwrap_err().reason(),
            "malformed"
        );
        let raw = format!(
            r#"{{"iss":"https://issuer.example","aud":"rtc","sub":"a","x":1,"x":2,"exp":{}}}"#,
            NOW + 60
        );
        assert!(parse_claims(raw.as_bytes()).is_err());
        for bad in ["[1,2]", "\"str\"", "null", "{", "{\"a\":\"\\ud800\"}"] {
            assert!(parse_claims(bad.as_bytes()).is_err(), "{bad}");
        }
        let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let raw = format!(r#"{{"x":{nested}}}"#);
        assert!(parse_claims(raw.as_bytes()).is_err());
        let _ = c;
    }

    #[test]
    fn user_id_and_roles() {
        let c = cfg().with_user_id_claim("uid").with_role_claims(&[
            "roles",
            "app_metadata.roles",
            "cognito:groups",
        ]);
        let mut v = base();
        v["uid"] = json!("u-42");
        v["roles"] = json!("admin");
        v["app_metadata"] = json!({"roles": ["host", "admin", 7]});
        v["cognito:groups"] = json!(["viewers"]);
        let caller = check(&c, v.clone()).unwrap();
        assert_eq!(caller.subject, "u-42");
        assert_eq!(caller.roles, vec!["admin", "host", "viewers"]);
        v.as_object_mut().unwrap().remove("uid");
        assert_eq!(check(&c, v).unwrap_err().reason(), "missing_claim");
    }

    #[test]
    fn provider_specific_rules() {
        // Clerk: azp allow-list, sid required, v == 2.
        let mut clerk = cfg()
            .with_audience(&[])
            .with_authorized_parties(&["https://app.example"]);
        clerk.rules.require_sid = true;
        clerk.rules.clerk_version = true;
        let mut ok = without("aud");
        ok["azp"] = json!("https://app.example");
        ok["sid"] = json!("sess_1");
        ok["v"] = json!(2);
        assert!(check(&clerk, ok.clone()).is_ok());
        let mut t = ok.clone();
        t["azp"] = json!("https://evil.example");
        assert_eq!(check(&clerk, t).unwrap_err().reason(), "bad_azp");
        let mut t = ok.clone();
        t.as_object_mut().unwrap().remove("azp");
        assert_eq!(check(&clerk, t).unwrap_err().reason(), "bad_azp");
        let mut t = ok.clone();
        t.as_object_mut().unwrap().remove("sid");
        assert_eq!(check(&clerk, t).unwrap_err().reason(), "missing_claim");
        let mut t = ok.clone();
        t["v"] = json!(1);
        assert!(check(&clerk, t).is_err());
        let mut t = ok.clone();
        t["aud"] = json!("template");
        assert_eq!(check(&clerk, t).unwrap_err().reason(), "bad_audience");

        // Supabase: role must be authenticated.
        let mut supa = cfg().with_audience(&["authenticated"]);
        supa.rules.required_role = Some("authenticated".into());
        let mut ok = with("aud", json!("authenticated"));
        ok["role"] = json!("authenticated");
        assert!(check(&supa, ok.clone()).is_ok());
        for role in ["anon", "service_role"] {
            let mut t = ok.clone();
            t["role"] = json!(role);
            assert_eq!(check(&supa, t).unwrap_err().reason(), "bad_role");
        }
        let anon_key = json!({"iss":"supabase","ref":"abc","role":"anon","iat":NOW,"exp":NOW+1000});
        assert!(check(&supa, anon_key).is_err());

        // Firebase: auth_time required and not in the future.
        let mut fb = cfg();
        fb.rules.require_auth_time = true;
        assert_eq!(check(&fb, base()).unwrap_err().reason(), "missing_claim");
        assert!(check(&fb, with("auth_time", json!(NOW - 100))).is_ok());
        assert!(check(&fb, with("auth_time", json!(NOW + 100))).is_err());

        // Cognito access: token_use and client_id, no aud.
        let mut cog = cfg().with_audience(&[]);
        cog.rules.cognito = Some((CognitoTokenUse::Access, vec!["client1".into()]));
        let mut ok = without("aud");
        ok["token_use"] = json!("access");
        ok["client_id"] = json!("client1");
        assert!(check(&cog, ok.clone()).is_ok());
        let mut t = ok.clone();
        t["token_use"] = json!("id");
        assert_eq!(check(&cog, t).unwrap_err().reason(), "bad_token_use");
        let mut t = ok.clone();
        t["client_id"] = json!("client2");
        assert_eq!(check(&cog, t).unwrap_err().reason(), "bad_client");
        let mut t = ok.clone();
        t["aud"] = json!("client1");
        assert!(check(&cog, t).is_err());
    }
}
