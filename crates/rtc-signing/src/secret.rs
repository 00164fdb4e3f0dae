//! A string that must never be printed.

/// A secret value (certificate, API secret, shared key). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is used for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// Validates an API key + secret pair (both non-empty), as LiveKit and Stream keys need; the secret
/// comes back wrapped so it cannot be printed.
pub(crate) fn api_key_pair(api_key: String, api_secret: String) -> crate::Result<(String, Secret)> {
    if api_key.is_empty() {
        return Err(crate::Error::invalid("api_key", "must not be empty"));
    }
    if api_secret.is_empty() {
        return Err(crate::Error::invalid("api_secret", "must not be empty"));
    }
    Ok((api_key, Secret(api_secret)))
}
