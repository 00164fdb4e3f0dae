//! Compact JWS with HMAC-SHA256 (shared by LiveKit and Stream), hand-rolled for speed.
//!
//! Minting writes the header `{"alg":"HS256","typ":"JWT"}` (the bytes Go, PyJWT and Stream's SDKs
//! write). Verifying accepts any header that is a JSON object with `"alg":"HS256"` (LiveKit's Node SDK
//! omits `typ`, the Rust SDK orders the keys differently), refuses every other `alg` (including
//! `none`), refuses `crit`, and compares the signature in constant time before the payload is parsed.

use crate::{Error, ErrorKind, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `base64url({"alg":"HS256","typ":"JWT"})`.
pub const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
/// The longest token [`verify`] accepts.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The longest header segment [`verify`] accepts.
const MAX_HEADER_B64_LEN: usize = 512;

fn mac(secret: &[u8]) -> Result<HmacSha256> {
    if secret.is_empty() {
        return Err(Error::invalid("secret", "must not be empty"));
    }
    <HmacSha256 as Mac>::new_from_slice(secret)
        .map_err(|_| Error::invalid("secret", "unusable as an HMAC key"))
}

/// Signs a JSON payload: `HEADER_B64 . base64url(payload) . base64url(HMAC-SHA256(secret, signing input))`.
pub fn sign(payload_json: &[u8], secret: &[u8]) -> Result<String> {
    let mut m = mac(secret)?;
    let payload_len = payload_json.len().div_ceil(3) * 4;
    let mut out = String::with_capacity(HEADER_B64.len() + payload_len + 2 + 43);
    out.push_str(HEADER_B64);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload_json, &mut out);
    m.update(out.as_bytes());
    let sig = m.finalize().into_bytes();
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut out);
    Ok(out)
}

/// Verifies an HS256 compact JWS and returns the decoded payload bytes (JSON, not yet parsed).
///
/// Errors: [`ErrorKind::Malformed`] for anything that is not a three-segment base64url JWS with a
/// JSON-object header, [`ErrorKind::InvalidInput`] for an `alg` other than HS256 or a `crit` header,
/// [`ErrorKind::InvalidSignature`] when the signature is not the 32-byte HMAC of the signing input
/// (unsigned tokens such as Stream's `…devtoken` land here).
pub fn verify(token: &str, secret: &[u8]) -> Result<Vec<u8>> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::malformed("token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(
            "a JWS has exactly three dot-separated segments",
        ));
    };
    if h.is_empty() || h.len() > MAX_HEADER_B64_LEN {
        return Err(Error::malformed("header segment is empty or too long"));
    }
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| Error::malformed("header is not base64url"))?;
    check_header(&header)?;
    let mut m = mac(secret)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ErrorKind::InvalidSignature)?;
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    // `verify_slice` compares in constant time (and fails on a length mismatch).
    m.verify_slice(&sig)
        .map_err(|_| Error::from(ErrorKind::InvalidSignature))?;
    URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| Error::malformed("payload is not base64url"))
}

#[derive(serde::Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Option<std::borrow::Cow<'a, str>>,
    crit: Option<serde::de::IgnoredAny>,
}

fn check_header(header: &[u8]) -> Result<()> {
    let h: Header<'_> = serde_json::from_slice(header)
        .map_err(|_| Error::malformed("header is not a JSON object"))?;
    if h.crit.is_some() {
        return Err(Error::invalid(
            "alg",
            "critical header extensions are not supported",
        ));
    }
    match h.alg.as_deref() {
        Some("HS256") => Ok(()),
        Some(_) => Err(Error::invalid("alg", "only HS256 is accepted")),
        None => Err(Error::malformed("header has no alg")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn forge(header: &str, payload: &str, secret: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let mut m = mac(secret).unwrap();
        m.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
        )
    }

    #[test]
    fn header_constant_is_the_standard_header() {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(HEADER_B64).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let t = sign(br#"{"a":1}"#, b"k").unwrap();
        assert_eq!(verify(&t, b"k").unwrap(), br#"{"a":1}"#);
        assert_eq!(
            verify(&t, b"other").unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
        assert!(sign(b"{}", b"").is_err());
        assert!(verify(&t, b"").is_err());
    }

    #[test]
    fn matches_a_known_pyjwt_token() {
        // PyJWT.encode({"server": True}, "stream-vector-secret-0123456789abcdef0123", "HS256")
        let t = sign(
            br#"{"server":true}"#,
            b"stream-vector-secret-0123456789abcdef0123",
        )
        .unwrap();
        assert_eq!(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.q8kn7FMLBj9Gj-eOkBbbEGMjrrHXpIMl_qkKysmsp1E");
    }

    #[test]
    fn accepts_other_hs256_headers() {
        verify(&forge(r#"{"alg":"HS256"}"#, "{}", b"k"), b"k").unwrap();
        verify(&forge(r#"{"typ":"JWT","alg":"HS256"}"#, "{}", b"k"), b"k").unwrap();
    }

    #[test]
    fn rejects_other_algs_and_shapes() {
        for h in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS512"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"hs256"}"#,
        ] {
            assert!(
                matches!(
                    verify(&forge(h, "{}", b"k"), b"k").unwrap_err().kind(),
                    ErrorKind::InvalidInput { .. }
                ),
                "{h}"
            );
        }
        assert!(verify(
            &forge(r#"{"alg":"HS256","crit":["b64"]}"#, "{}", b"k"),
            b"k"
        )
        .is_err());
        assert!(verify(&forge("[]", "{}", b"k"), b"k").is_err());
        assert!(verify(&forge("{}", "{}", b"k"), b"k").is_err());
        let t = sign(b"{}", b"k").unwrap();
        for bad in [
            format!("{t}."),
            format!("{t}.x"),
            t.replacen('.', "", 1),
            format!("{t}A"),
            format!(".{t}"),
            "".into(),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(verify(&bad, b"k").is_err(), "{bad}");
        }
        let unsigned = format!("{}.{}.", HEADER_B64, b64("{}"));
        assert_eq!(
            verify(&unsigned, b"k").unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
    }
}
