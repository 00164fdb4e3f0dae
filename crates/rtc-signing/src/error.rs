//! One boxed error with a `#[non_exhaustive]` kind (the `jsonwebtoken` style).

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// An error from building, parsing or verifying a token. Never contains a secret or a token.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An input breaks a provider's documented rule (field name, rule).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The input's name.
        field: &'static str,
        /// The rule it breaks.
        reason: String,
    },
    /// The token text or bytes are not a well-formed token of the expected kind.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The signature does not match the key.
    #[error("invalid signature")]
    InvalidSignature,
    /// The token has expired (at the given unix time).
    #[error("token expired at {expired_at}")]
    Expired {
        /// The expiry (unix seconds).
        expired_at: u64,
    },
    /// The token is not valid yet (`nbf` / `iat` in the future).
    #[error("token not yet valid")]
    NotYetValid,
    /// A signed claim is missing or not acceptable (e.g. `iss` is not the expected API key).
    #[error("invalid claim {claim}: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// Why it is not acceptable.
        reason: String,
    },
}

impl Error {
    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }
    /// Shorthand for an [`ErrorKind::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ErrorKind::InvalidInput {
            field,
            reason: reason.into(),
        }
        .into()
    }
    /// Shorthand for an [`ErrorKind::Malformed`].
    pub fn malformed(reason: impl Into<String>) -> Self {
        ErrorKind::Malformed(reason.into()).into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}
