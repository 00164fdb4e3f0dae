//! Hostile-input checks before any cryptography: the `Authorization` header, the compact JWS shape
//! and the JOSE header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::config::algorithm_from_name;
use crate::error::{loggable, AuthError, AuthErrorClass};
use crate::validate::parse_object;

/// Largest token accepted (bytes), checked before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest encoded JOSE header segment (about 1.5 KiB decoded).
pub const MAX_HEADER_SEGMENT: usize = 2048;
/// Largest `kid` accepted.
pub const MAX_KID_BYTES: usize = 128;

/// Extracts the bearer token from one `Authorization` value (RFC 6750 §2.1).
///
/// Accepts any casing of `Bearer`, one or more spaces, and surrounding whitespace. A `,` (two
/// headers joined by API Gateway payload 2.0) or an empty token is `InvalidRequest`; no header or
/// another scheme is `MissingCredentials`.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let Some(value) = authorization else {
        return Err(AuthError::new(
            AuthErrorClass::MissingCredentials,
            "no_credentials",
            "no Authorization header",
        ));
    };
    if value.len() > MAX_TOKEN_BYTES + 64 {
        return Err(AuthError::token(
            "too_large",
            format!("Authorization value of {} bytes", value.len()),
        ));
    }
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if value.contains(',') {
        return Err(AuthError::new(
            AuthErrorClass::InvalidRequest,
            "multiple_credentials",
            "Authorization holds several values",
        ));
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::new(
            AuthErrorClass::MissingCredentials,
            "unsupported_scheme",
            "Authorization scheme is not Bearer",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::new(
            AuthErrorClass::InvalidRequest,
            "empty_token",
            "Bearer without a token",
        ));
    }
    Ok(token)
}

/// Picks the single `Authorization` value from request headers: more than one value is
/// `InvalidRequest`, a non-UTF-8 value `InvalidToken`, none `Ok(None)`.
pub fn authorization_from_headers(headers: &http::HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(
            AuthErrorClass::InvalidRequest,
            "multiple_credentials",
            "several Authorization headers",
        ));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::token("malformed", "Authorization is not visible ASCII"))
}

/// The three segments of a compact JWS, checked for shape only.
pub(crate) struct Segments<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`, the signing input.
    pub signing_input: &'a str,
}

fn is_b64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Size cap, exactly three non-empty base64url segments (no padding, no other characters).
pub(crate) fn split_token(token: &str) -> Result<Segments<'_>, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::token(
            "too_large",
            format!("token of {} bytes (cap {MAX_TOKEN_BYTES})", token.len()),
        ));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let n = token.bytes().filter(|b| *b == b'.').count() + 1;
        return Err(AuthError::token(
            "malformed",
            format!("{n} segments, expected 3"),
        ));
    };
    // The header and the payload are base64url-decoded before the signature is checked (strict
    // alphabet, no padding, no stray bits: see [`b64`]), which is the alphabet check for them.
    if h.is_empty() || p.is_empty() {
        return Err(AuthError::token("malformed", "header or payload is empty"));
    }
    if !is_b64url(s) {
        return Err(AuthError::token(
            "malformed",
            "signature missing or not base64url",
        ));
    }
    if h.len() > MAX_HEADER_SEGMENT {
        return Err(AuthError::token(
            "malformed",
            format!("header segment of {} bytes", h.len()),
        ));
    }
    Ok(Segments {
        header: h,
        payload: p,
        signature: s,
        signing_input: &token[..h.len() + 1 + p.len()],
    })
}

/// Decodes one base64url segment.
pub(crate) fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::token("malformed", format!("{what} is not valid base64url")))
}

/// Header parameters refused whatever their value (even `null`).
const FORBIDDEN: [&str; 9] = [
    "crit", "jku", "x5u", "jwk", "x5c", "b64", "cty", "enc", "zip",
];

/// A checked JOSE header.
#[derive(Debug)]
pub(crate) struct JoseHeader {
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// `typ` is `at+jwt` (RFC 9068 JWT access token).
    pub access_token_type: bool,
}

/// Parses and checks the JOSE header: supported `alg` (never `none`), no `crit`, `jku`, `x5u`,
/// `jwk`, `x5c`, `b64`, `cty` (nested tokens) or JWE parameters, `typ` absent or a JWT type, and a
/// `kid` (when present) of at most 128 bytes from a safe charset.
pub(crate) fn parse_header(segment: &str) -> Result<JoseHeader, AuthError> {
    let header = parse_object(&b64(segment, "header")?, "header")?;
    let text = |name: &str| match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(AuthError::token(
            "malformed",
            format!("header: {name} is not a string"),
        )),
    };
    let (alg, kid, typ) = (text("alg")?, text("kid")?, text("typ")?);
    let alg = alg.ok_or_else(|| AuthError::token("malformed", "header: no alg"))?;
    if let Some(name) = FORBIDDEN.iter().find(|name| header.contains_key(**name)) {
        return Err(AuthError::token(
            "forbidden_header",
            format!("header parameter {name} is not accepted"),
        ));
    }
    let mut access_token_type = false;
    if let Some(typ) = typ {
        let t = match typ.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        };
        access_token_type = t.eq_ignore_ascii_case("at+jwt");
        if !t.eq_ignore_ascii_case("jwt") && !access_token_type {
            return Err(AuthError::token(
                "bad_typ",
                format!("typ {}", loggable(typ)),
            ));
        }
    }
    let alg = algorithm_from_name(alg).ok_or_else(|| {
        AuthError::token("bad_alg", format!("alg {} is not accepted", loggable(alg)))
    })?;
    if let Some(kid) = kid {
        if !valid_kid(kid) {
            return Err(AuthError::token(
                "bad_kid",
                format!("kid {}", loggable(kid)),
            ));
        }
    }
    Ok(JoseHeader {
        alg,
        kid: kid.map(str::to_owned),
        access_token_type,
    })
}

/// `kid`: 1..=128 bytes of `[A-Za-z0-9._~+/=:-]`.
pub(crate) fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_BYTES
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~+/=:-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("BEARER abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("Bearer   abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("  Bearer abc \t")).unwrap(), "abc");
        let c = |v: Option<&str>| bearer_token(v).unwrap_err().class();
        assert_eq!(c(None), AuthErrorClass::MissingCredentials);
        assert_eq!(
            c(Some("Basic dXNlcjpwYXNz")),
            AuthErrorClass::MissingCredentials
        );
        assert_eq!(c(Some("Bearer\tabc")), AuthErrorClass::MissingCredentials);
        assert_eq!(c(Some("Bearerabc")), AuthErrorClass::MissingCredentials);
        assert_eq!(c(Some("Bearer:")), AuthErrorClass::MissingCredentials);
        assert_eq!(c(Some("Bearer")), AuthErrorClass::InvalidRequest);
        assert_eq!(c(Some("Bearer ")), AuthErrorClass::InvalidRequest);
        assert_eq!(
            c(Some("Bearer a.b.c, Bearer d.e.f")),
            AuthErrorClass::InvalidRequest
        );
    }

    #[test]
    fn headers_must_be_single() {
        let mut h = http::HeaderMap::new();
        assert_eq!(authorization_from_headers(&h).unwrap(), None);
        h.append(http::header::AUTHORIZATION, "Bearer a".parse().unwrap());
        assert_eq!(authorization_from_headers(&h).unwrap(), Some("Bearer a"));
        h.append(http::header::AUTHORIZATION, "Bearer b".parse().unwrap());
        assert_eq!(
            authorization_from_headers(&h).unwrap_err().class(),
            AuthErrorClass::InvalidRequest
        );
    }

    #[test]
    fn shape_checks() {
        assert!(split_token("a.b.c").is_ok());
        for bad in [
            "a.b",
            "a",
            "a.b.c.d",
            "a.b.c.d.e",
            "a.b.",
            ".b.c",
            "a..c",
            "a.b.c\n",
            "a.b.c=",
        ] {
            assert!(split_token(bad).is_err(), "{bad:?}");
        }
        // The header and payload alphabets are checked by their (strict) decode, which runs before
        // any signature check.
        for bad in ["b=", "b+", "b/", "a ", "QQ==", "QR"] {
            assert!(b64(bad, "payload").is_err(), "{bad:?}");
        }
        assert_eq!(b64("QQ", "payload").unwrap(), b"A");
        let big = format!("{}.b.c", "a".repeat(MAX_TOKEN_BYTES));
        assert_eq!(
            split_token(&big).err().map(|e| e.reason()),
            Some("too_large")
        );
        let s = split_token("hh.pp.ss").unwrap();
        assert_eq!(
            (s.header, s.payload, s.signature, s.signing_input),
            ("hh", "pp", "ss", "hh.pp")
        );
    }

    #[test]
    fn header_checks() {
        let h = parse_header(&enc(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#)).unwrap();
        assert_eq!(h.alg, Algorithm::RS256);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert!(parse_header(&enc(r#"{"alg":"ES256","typ":"at+jwt"}"#)).is_ok());
        for bad in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"NONE"}"#,
            r#"{"alg":"rs256"}"#,
            r#"{"alg":"ES512"}"#,
            r#"{"alg":1}"#,
            r#"{"kid":"k"}"#,
            r#"{"alg":"RS256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"RS256","crit":[]}"#,
            r#"{"alg":"RS256","crit":null}"#,
            r#"{"alg":"RS256","jku":"https://evil/jwks"}"#,
            r#"{"alg":"RS256","x5u":"https://evil/c.pem"}"#,
            r#"{"alg":"RS256","jwk":{"kty":"RSA","n":"x","e":"AQAB"}}"#,
            r#"{"alg":"RS256","x5c":["MII"]}"#,
            r#"{"alg":"RS256","cty":"JWT"}"#,
            r#"{"alg":"RS256","enc":"A256GCM"}"#,
            r#"{"alg":"RS256","typ":"JWE"}"#,
            r#"{"alg":"HS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","kid":1}"#,
            r#"{"alg":"RS256","kid":{}}"#,
            r#"{"alg":"RS256","kid":"' OR 1=1--"}"#,
            r#"{"alg":"RS256","kid":"a\u0000"}"#,
            r#"{"alg":"RS256","kid":""}"#,
            r#"[1,2]"#,
            r#"not json"#,
        ] {
            assert!(parse_header(&enc(bad)).is_err(), "{bad}");
        }
        let long_kid = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "a".repeat(200));
        assert_eq!(
            parse_header(&enc(&long_kid)).unwrap_err().reason(),
            "bad_kid"
        );
    }
}
