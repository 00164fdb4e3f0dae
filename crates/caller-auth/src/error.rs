//! Errors: one [`AuthError`] for every refusal, with a stable reason code for logs and metrics.

use std::fmt;

/// How the HTTP layer should answer a refusal (RFC 6750 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorClass {
    /// No `Authorization` header, or a scheme other than `Bearer`: 401 with a bare
    /// `WWW-Authenticate: Bearer` (no error code).
    MissingCredentials,
    /// Malformed or ambiguous credentials (empty token, several `Authorization` values):
    /// 400 `invalid_request`.
    InvalidRequest,
    /// The token was presented and is not acceptable: 401 `invalid_token`.
    InvalidToken,
    /// The token cannot be checked now: the issuer's keys were never fetched or are older than the
    /// stale window and the endpoint fails, or the shared secret has not been loaded yet. 503 with
    /// `Retry-After` ([`AuthError::retry_after`]): the caller's token may be fine, so the client
    /// retries instead of signing the user out.
    KeysUnavailable,
}

impl AuthErrorClass {
    /// The HTTP status the class maps to (401, 400 or 503).
    pub fn http_status(self) -> u16 {
        match self {
            AuthErrorClass::MissingCredentials | AuthErrorClass::InvalidToken => 401,
            AuthErrorClass::InvalidRequest => 400,
            AuthErrorClass::KeysUnavailable => 503,
        }
    }

    /// The RFC 6750 `error` code for `WWW-Authenticate`, if any.
    pub fn bearer_error(self) -> Option<&'static str> {
        match self {
            AuthErrorClass::MissingCredentials => None,
            AuthErrorClass::InvalidRequest => Some("invalid_request"),
            AuthErrorClass::InvalidToken => Some("invalid_token"),
            AuthErrorClass::KeysUnavailable => None,
        }
    }
}

/// Why a caller was refused.
///
/// `Display` is the precise reason for the log (`reason: detail`); it never contains the token,
/// a signature or a secret. The client only ever sees the generic answer of [`AuthError::class`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    class: AuthErrorClass,
    reason: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

impl AuthError {
    pub(crate) fn new(
        class: AuthErrorClass,
        reason: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        AuthError {
            class,
            reason,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The caller cannot be checked now ([`AuthErrorClass::KeysUnavailable`]); `retry_after` is the
    /// seconds until the next fetch attempt, when known.
    pub(crate) fn unavailable(
        reason: &'static str,
        detail: impl Into<String>,
        retry_after: Option<u64>,
    ) -> Self {
        AuthError {
            retry_after,
            ..Self::new(AuthErrorClass::KeysUnavailable, reason, detail)
        }
    }

    /// A refusal of a presented token (401 `invalid_token`).
    pub(crate) fn token(reason: &'static str, detail: impl Into<String>) -> Self {
        Self::new(AuthErrorClass::InvalidToken, reason, detail)
    }

    /// How the HTTP layer should answer.
    pub fn class(&self) -> AuthErrorClass {
        self.class
    }

    /// A stable snake_case code (e.g. `expired`, `bad_signature`, `unknown_kid`) for logs and
    /// metrics labels.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// Free-text detail for the log (claim names, expected issuer, a sanitised `kid`; never the token).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// For [`AuthErrorClass::KeysUnavailable`]: seconds until the keys are fetched again (at least 1),
    /// when the cache knows; the HTTP layer sends it as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Shorthand for `self.class().http_status()`.
    pub fn http_status(&self) -> u16 {
        self.class.http_status()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.reason)
        } else {
            write!(f, "{}: {}", self.reason, self.detail)
        }
    }
}

impl std::error::Error for AuthError {}

/// A configuration that cannot work; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("caller-auth configuration: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}

/// Makes a value safe to put in a log line: at most 64 characters from a conservative charset;
/// anything else is replaced by a short description.
pub(crate) fn loggable(value: &str) -> String {
    let ok = value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=~@".contains(&b));
    if ok {
        value.to_string()
    } else {
        format!("<{} bytes, not shown>", value.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_reason_and_detail() {
        let e = AuthError::token("expired", "exp 10 <= now 20");
        assert_eq!(e.to_string(), "expired: exp 10 <= now 20");
        assert_eq!(e.http_status(), 401);
        assert_eq!(e.class().bearer_error(), Some("invalid_token"));
        let e = AuthError::new(AuthErrorClass::MissingCredentials, "no_credentials", "");
        assert_eq!(e.to_string(), "no_credentials");
        assert_eq!(e.class().bearer_error(), None);
    }

    #[test]
    fn loggable_hides_odd_values() {
        assert_eq!(loggable("key-1"), "key-1");
        assert_eq!(loggable("../../etc/passwd\n"), "<17 bytes, not shown>");
        assert!(!loggable(&"a".repeat(100)).contains('a'));
    }
}
