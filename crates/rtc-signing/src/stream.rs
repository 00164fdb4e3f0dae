//! Stream (getstream.io) Chat and Video tokens (HS256 JWT).
//!
//! Used by token-service and the CLI: [`StreamKey`], [`user_token`], [`video_token`],
//! [`server_token`], [`verify`], [`StreamClaims`].
//!
//! User token payload: `{"user_id", "exp"?, "iat"}` (the stream-chat SDKs' key order), `iat`
//! backdated by [`IAT_BACKDATE_SECS`] so a backend clock slightly behind ours does not answer
//! "token used before issue at". Video call tokens add `call_cids` and an optional `role`.

use crate::{jws, Error, ErrorKind, Result, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seconds subtracted from `now` for `iat` (Stream refuses a future `iat` with no leeway; the official
/// SDKs backdate by 1 s (@stream-io/node-sdk) and 5 s (getstream)). We use 5 s.
pub const IAT_BACKDATE_SECS: u64 = 5;
/// The longest user id accepted (bytes).
pub const MAX_USER_ID_BYTES: usize = 255;

/// Stream API key + secret. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct StreamKey {
    /// The API key (travels beside the token, not in it).
    pub api_key: String,
    /// The API secret (HMAC key).
    pub api_secret: Secret,
}

impl StreamKey {
    /// Both values must be non-empty.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Result<Self> {
        let (api_key, api_secret) = crate::secret::api_key_pair(api_key.into(), api_secret.into())?;
        Ok(StreamKey {
            api_key,
            api_secret,
        })
    }
}

/// A verified Stream claim set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamClaims {
    /// The user (absent in server tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Expiry (unix seconds); absent = never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Video calls (`type:id`) this token makes the user a member of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_cids: Vec<String>,
    /// Call-level role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `true` in server-side tokens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub server: bool,
    /// Any other claim (e.g. node-sdk's leaked `validity_in_seconds`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl StreamClaims {
    /// A server-side token: `{"server":true}` or the empty `{}` of getstream (no `user_id`).
    pub fn is_server_token(&self) -> bool {
        self.user_id.is_none()
    }
}

#[derive(Serialize)]
struct UserWire<'a> {
    user_id: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    call_cids: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    iat: u64,
}

fn validate_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(Error::invalid("user_id", "must not be empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(Error::invalid("user_id", "must be at most 255 bytes"));
    }
    if user_id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "user_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn validate_exp(now: u64, exp: Option<u64>) -> Result<()> {
    if exp.is_some_and(|e| e <= now) {
        return Err(Error::invalid("exp", "must be later than now"));
    }
    Ok(())
}

/// Signs a user (or video call) token of checked inputs, `iat` backdated.
fn mint(
    key: &StreamKey,
    user_id: &str,
    call_cids: &[&str],
    role: Option<&str>,
    now: u64,
    exp: Option<u64>,
) -> Result<String> {
    let wire = UserWire {
        user_id,
        call_cids,
        role,
        exp,
        iat: now.saturating_sub(IAT_BACKDATE_SECS),
    };
    let json = serde_json::to_vec(&wire)
        .map_err(|_| Error::invalid("claims", "cannot be encoded as JSON"))?;
    jws::sign(&json, key.api_secret.expose().as_bytes())
}

/// Chat (and Video) user token. `now` is unix seconds; `exp` is an absolute unix time (None = never
/// expires). Payload `{"user_id","exp"?,"iat"}` with `iat = now - IAT_BACKDATE_SECS`.
pub fn user_token(key: &StreamKey, user_id: &str, now: u64, exp: Option<u64>) -> Result<String> {
    validate_user_id(user_id)?;
    validate_exp(now, exp)?;
    mint(key, user_id, &[], None, now, exp)
}

/// Video call token: a user token plus `call_cids` (each `"<call_type>:<call_id>"`, at least one) and
/// an optional call-level `role`. Payload `{"user_id","call_cids","role"?,"exp"?,"iat"}`.
pub fn video_token(
    key: &StreamKey,
    user_id: &str,
    call_cids: &[&str],
    role: Option<&str>,
    now: u64,
    exp: Option<u64>,
) -> Result<String> {
    validate_user_id(user_id)?;
    validate_exp(now, exp)?;
    if call_cids.is_empty() {
        return Err(Error::invalid(
            "call_cids",
            "at least one call id is required",
        ));
    }
    for cid in call_cids {
        match cid.split_once(':') {
            Some((ty, id))
                if !ty.is_empty() && !id.is_empty() && !cid.chars().any(char::is_control) => {}
            _ => {
                return Err(Error::invalid(
                    "call_cids",
                    "each must be \"<call_type>:<call_id>\"",
                ))
            }
        }
    }
    if role.is_some_and(|r| r.is_empty() || r.len() > MAX_USER_ID_BYTES) {
        return Err(Error::invalid("role", "must be 1..=255 bytes"));
    }
    mint(key, user_id, call_cids, role, now, exp)
}

/// The server-side token `{"server":true}` (never expires; never send it to a client).
pub fn server_token(key: &StreamKey) -> Result<String> {
    jws::sign(br#"{"server":true}"#, key.api_secret.expose().as_bytes())
}

/// Verifies a Stream token: HS256 with `secret`; `exp` (if any) not passed and `iat` (if any) not in
/// the future, both with `leeway` seconds. Unsigned developer tokens (`….devtoken`) are rejected
/// with [`ErrorKind::InvalidSignature`].
pub fn verify(token: &str, secret: &Secret, now: u64, leeway: u64) -> Result<StreamClaims> {
    let payload = jws::verify(token, secret.expose().as_bytes())?;
    let claims: StreamClaims = serde_json::from_slice(&payload)
        .map_err(|_| Error::malformed("claims do not match the Stream schema"))?;
    if let Some(exp) = claims.exp {
        if now > exp.saturating_add(leeway) {
            return Err(ErrorKind::Expired { expired_at: exp }.into());
        }
    }
    if claims
        .iat
        .is_some_and(|iat| now.saturating_add(leeway) < iat)
    {
        return Err(ErrorKind::NotYetValid.into());
    }
    if claims.user_id.as_deref() == Some("") {
        return Err(ErrorKind::InvalidClaim {
            claim: "user_id",
            reason: "is empty".into(),
        }
        .into());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "stream-vector-secret-0123456789abcdef0123";

    fn key() -> StreamKey {
        StreamKey::new("k", SECRET).unwrap()
    }

    fn payload(t: &str) -> String {
        String::from_utf8(jws::verify(t, SECRET.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn user_token_payload_order_and_backdate() {
        let t = user_token(&key(), "john", 1_700_000_000, Some(4_102_444_800)).unwrap();
        assert_eq!(
            payload(&t),
            r#"{"user_id":"john","exp":4102444800,"iat":1699999995}"#
        );
        let t = user_token(&key(), "john", 1_700_000_000, None).unwrap();
        assert_eq!(payload(&t), r#"{"user_id":"john","iat":1699999995}"#);
    }

    #[test]
    fn video_and_server_tokens() {
        let t = video_token(
            &key(),
            "john",
            &["default:call-1"],
            Some("admin"),
            100,
            Some(200),
        )
        .unwrap();
        assert_eq!(
            payload(&t),
            r#"{"user_id":"john","call_cids":["default:call-1"],"role":"admin","exp":200,"iat":95}"#
        );
        assert_eq!(
            server_token(&key()).unwrap(),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXIiOnRydWV9.q8kn7FMLBj9Gj-eOkBbbEGMjrrHXpIMl_qkKysmsp1E"
        );
    }

    #[test]
    fn input_rules() {
        let k = key();
        assert!(user_token(&k, "", 1, None).is_err());
        assert!(user_token(&k, &"u".repeat(256), 1, None).is_err());
        assert!(user_token(&k, "a\nb", 1, None).is_err());
        assert!(user_token(&k, "u", 10, Some(10)).is_err());
        assert!(video_token(&k, "u", &[], None, 1, None).is_err());
        for bad in ["nocolon", ":id", "type:", ""] {
            assert!(
                video_token(&k, "u", &[bad], None, 1, None).is_err(),
                "{bad}"
            );
        }
        assert!(video_token(&k, "u", &["a:b"], Some(""), 1, None).is_err());
        assert!(StreamKey::new("k", "").is_err());
        assert!(!format!("{:?}", k).contains(SECRET));
    }

    #[test]
    fn verify_checks_time_and_rejects_dev_tokens() {
        let k = key();
        let s = Secret::new(SECRET);
        let t = user_token(&k, "john", 1000, Some(2000)).unwrap();
        let c = verify(&t, &s, 1000, 0).unwrap();
        assert_eq!(
            (c.user_id.as_deref(), c.exp, c.iat),
            (Some("john"), Some(2000), Some(995))
        );
        assert_eq!(
            verify(&t, &s, 2001, 0).unwrap_err().kind(),
            &ErrorKind::Expired { expired_at: 2000 }
        );
        assert!(verify(&t, &s, 2001, 5).is_ok());
        assert_eq!(
            verify(&t, &s, 994, 0).unwrap_err().kind(),
            &ErrorKind::NotYetValid
        );
        assert_eq!(
            verify(&t, &Secret::new("x"), 1000, 0).unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
        let dev = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiam8ifQ==.devtoken";
        assert!(verify(dev, &s, 1000, 0).is_err());
        assert!(verify(&server_token(&k).unwrap(), &s, 1000, 0)
            .unwrap()
            .is_server_token());
    }
}
