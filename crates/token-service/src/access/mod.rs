//! Live access checks: "may this caller still do this, right now?", asked on every mint, refreshes
//! included, after the static policy and before signing.
//!
//! Two back ends, chosen by configuration (at most one):
//! - `ACCESS_TABLE`: access state in one DynamoDB table (rooms, bans, quota counters), see [`dynamo`].
//! - `AUTHZ_WEBHOOK_URL`: the app's own authorizer, called with a signed POST, see [`webhook`].
//!
//! With neither, [`AccessChecker::disabled`] allows everything (the static policy still applies).
//! The design, the rules and the webhook contract are documented in `docs/access.md`.

pub mod dynamo;
pub mod webhook;

use std::fmt;
use std::time::Duration;

use crate::secrets::SecretSource;

pub use dynamo::{
    AccessStore, BanScope, DynamoRules, QuotaWindow, RoomItem, RoomStatus, StoreError,
};
pub use webhook::{WebhookChecker, WebhookConfig};

/// What the handler asks: one mint, described after the policy granted it.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// `"agora"`, `"livekit"` or `"stream"`.
    pub provider: &'static str,
    /// The verified caller's subject (the identity the token is minted for).
    pub subject: &'a str,
    /// The room / channel / call, if the token is scoped to one.
    pub room: Option<&'a str>,
    /// The role or profile the policy granted (e.g. `publisher`, `host`, `guest`, `listener`).
    pub role: &'a str,
    /// Whether the granted token may publish media (the "publisher must be the owner" and "room
    /// must be live" rules apply to publishing grants).
    pub publishing: bool,
    /// The requested token lifetime in seconds (sent to the webhook; 0 when unknown).
    pub ttl: u32,
    /// The caller JWT's issuer, when known (sent to the webhook).
    pub issuer: Option<&'a str>,
    /// The caller's roles from their JWT (sent to the webhook).
    pub caller_roles: &'a [String],
    /// Unix seconds now (the service's clock).
    pub now: u64,
}

impl<'a> AccessRequest<'a> {
    /// A request with the required fields; `publishing` is false, `ttl` 0, no issuer or roles.
    pub fn new(
        provider: &'static str,
        subject: &'a str,
        room: Option<&'a str>,
        role: &'a str,
        now: u64,
    ) -> Self {
        AccessRequest {
            provider,
            subject,
            room,
            role,
            publishing: false,
            ttl: 0,
            issuer: None,
            caller_roles: &[],
            now,
        }
    }

    /// Sets whether the grant publishes media.
    pub fn publishing(mut self, publishing: bool) -> Self {
        self.publishing = publishing;
        self
    }

    /// Sets the requested TTL in seconds.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the caller's issuer and JWT roles.
    pub fn caller(mut self, issuer: Option<&'a str>, roles: &'a [String]) -> Self {
        self.issuer = issuer;
        self.caller_roles = roles;
        self
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessDecision {
    /// Mint. `role`: a narrower role to mint instead (webhook only; the handler must accept it only
    /// if the policy allows it for this caller). `max_ttl`: cap the token lifetime to this many seconds.
    Allow {
        /// Narrower role, if any.
        role: Option<String>,
        /// Lifetime cap in seconds, if any.
        max_ttl: Option<u32>,
    },
    /// 403 with [`DenyCode::code`].
    Deny(DenyCode),
    /// 429 `rate_limited` with `Retry-After: retry_after`.
    Quota {
        /// Seconds until the caller's quota window ends.
        retry_after: u64,
    },
}

impl AccessDecision {
    /// Allow with no narrowing.
    pub const ALLOW: AccessDecision = AccessDecision::Allow {
        role: None,
        max_ttl: None,
    };
}

/// Why access was denied (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyCode {
    /// `banned`: the subject is banned (globally or from this room). Nothing about the reason.
    Banned,
    /// `room_not_live`: the room is scheduled or ended and this grant needs it live.
    RoomNotLive,
    /// `not_owner`: publishing to a room the caller does not own.
    NotOwner,
    /// `room_not_found`: the room does not exist and rooms are required.
    RoomNotFound,
    /// `access_denied`: any other refusal (role not admitted, webhook said no).
    Denied,
}

impl DenyCode {
    /// The stable error code clients see.
    pub fn code(self) -> &'static str {
        match self {
            DenyCode::Banned => "banned",
            DenyCode::RoomNotLive => "room_not_live",
            DenyCode::NotOwner => "not_owner",
            DenyCode::RoomNotFound => "room_not_found",
            DenyCode::Denied => "access_denied",
        }
    }

    /// A short message for the client (deliberately says nothing about a ban's reason).
    pub fn message(self) -> &'static str {
        match self {
            DenyCode::Banned => "access is not allowed for this caller",
            DenyCode::RoomNotLive => "the room is not live",
            DenyCode::NotOwner => "only the room's owner may publish",
            DenyCode::RoomNotFound => "the room does not exist",
            DenyCode::Denied => "access denied",
        }
    }

    /// Parses a code (as a webhook may return it); unknown codes become [`DenyCode::Denied`].
    pub fn from_code(code: &str) -> DenyCode {
        match code {
            "banned" => DenyCode::Banned,
            "room_not_live" => DenyCode::RoomNotLive,
            "not_owner" => DenyCode::NotOwner,
            "room_not_found" => DenyCode::RoomNotFound,
            _ => DenyCode::Denied,
        }
    }
}

/// The access back end could not answer (the handler answers 503 with `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// DynamoDB failed or timed out.
    #[error("access state unavailable: {0}")]
    Store(String),
    /// The authorization webhook failed, timed out or answered garbage (and fail-open is off).
    #[error("authorization webhook unavailable: {0}")]
    Webhook(String),
}

impl AccessError {
    /// Seconds a client should wait before retrying.
    pub fn retry_after(&self) -> u64 {
        1
    }
}

/// Configuration problems found at INIT.
#[derive(Debug, thiserror::Error)]
pub enum AccessConfigError {
    /// A variable has an invalid value.
    #[error("{name}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The webhook secret could not be loaded.
    #[error("AUTHZ_WEBHOOK_SECRET_ID: {0}")]
    Secret(String),
}

enum Backend {
    Disabled,
    Dynamo(dynamo::DynamoChecker),
    Webhook(WebhookChecker),
}

/// The live access checker held in the service state. Cheap to share (`&self` everywhere).
pub struct AccessChecker {
    backend: Backend,
}

impl fmt::Debug for AccessChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.backend {
            Backend::Disabled => "disabled",
            Backend::Dynamo(_) => "dynamodb",
            Backend::Webhook(_) => "webhook",
        };
        f.debug_struct("AccessChecker")
            .field("backend", &kind)
            .finish()
    }
}

impl AccessChecker {
    /// No live checks: every request is allowed.
    pub fn disabled() -> Self {
        AccessChecker {
            backend: Backend::Disabled,
        }
    }

    /// The DynamoDB back end over a ready client (tests use this to add interceptors).
    pub fn dynamo(store: AccessStore, rules: DynamoRules) -> Self {
        AccessChecker {
            backend: Backend::Dynamo(dynamo::DynamoChecker::new(store, rules)),
        }
    }

    /// The webhook back end.
    pub fn webhook(checker: WebhookChecker) -> Self {
        AccessChecker {
            backend: Backend::Webhook(checker),
        }
    }

    /// Reads the configuration (see `docs/access.md`): `ACCESS_TABLE`, `ACCESS_QUOTA_PER_MINUTE`,
    /// `ACCESS_REQUIRE_ROOM`, or `AUTHZ_WEBHOOK_URL`, `AUTHZ_WEBHOOK_SECRET_ID`,
    /// `AUTHZ_WEBHOOK_FAIL_OPEN`, `AUTHZ_WEBHOOK_TIMEOUT_MS`, `AUTHZ_WEBHOOK_CACHE_SECONDS`.
    /// Setting both `ACCESS_TABLE` and `AUTHZ_WEBHOOK_URL` is an error. The DynamoDB client uses
    /// `aws`'s configuration (waited for only when `ACCESS_TABLE` is set); the webhook secret is read
    /// once from Secrets Manager through `aws`.
    pub async fn from_env(
        get: &dyn Fn(&str) -> Option<String>,
        aws: &crate::aws::Aws,
    ) -> Result<Self, AccessConfigError> {
        Self::from_env_with_secrets(get, aws, aws).await
    }

    /// As [`AccessChecker::from_env`], reading the webhook secret from `secrets` (for the local
    /// server's embedded secrets and for tests).
    pub async fn from_env_with_secrets(
        get: &dyn Fn(&str) -> Option<String>,
        aws: &crate::aws::Aws,
        secrets: &dyn SecretSource,
    ) -> Result<Self, AccessConfigError> {
        let nonempty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        match (nonempty("ACCESS_TABLE"), nonempty("AUTHZ_WEBHOOK_URL")) {
            (None, None) => Ok(AccessChecker::disabled()),
            (Some(_), Some(_)) => Err(AccessConfigError::Invalid {
                name: "AUTHZ_WEBHOOK_URL",
                reason: "set either ACCESS_TABLE or AUTHZ_WEBHOOK_URL, not both".into(),
            }),
            (Some(table), None) => {
                let rules = DynamoRules::from_env(get)?;
                let sdk = aws.sdk_config().await;
                let store = AccessStore::new(aws_sdk_dynamodb::Client::new(sdk), table);
                Ok(AccessChecker::dynamo(store, rules))
            }
            (None, Some(_)) => {
                let config = WebhookConfig::from_env(get, secrets).await?;
                let checker =
                    WebhookChecker::new(config).map_err(|reason| AccessConfigError::Invalid {
                        name: "AUTHZ_WEBHOOK_URL",
                        reason,
                    })?;
                Ok(AccessChecker::webhook(checker))
            }
        }
    }

    /// Whether any live check is configured.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.backend, Backend::Disabled)
    }

    /// Checks one mint. `Err` means the back end could not answer (503).
    pub async fn check(&self, req: &AccessRequest<'_>) -> Result<AccessDecision, AccessError> {
        match &self.backend {
            Backend::Disabled => Ok(AccessDecision::ALLOW),
            // Boxed: the SDK and HTTP client futures are large, and unboxed they would sit inside
            // every request's future (moved and copied even when no backend is configured); one
            // allocation is nothing beside the network call they make.
            Backend::Dynamo(d) => Box::pin(d.check(req)).await,
            Backend::Webhook(w) => Box::pin(w.check(req)).await,
        }
    }
}

/// Parses a boolean environment value (`true/false/1/0/yes/no`, case-insensitive).
pub(crate) fn parse_bool(name: &'static str, v: &str) -> Result<bool, AccessConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(AccessConfigError::Invalid {
            name,
            reason: "expected true or false".into(),
        }),
    }
}

/// Parses an unsigned environment value.
pub(crate) fn parse_u64(name: &'static str, v: &str) -> Result<u64, AccessConfigError> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| AccessConfigError::Invalid {
            name,
            reason: "expected a non-negative integer".into(),
        })
}

/// Parses a timeout in milliseconds, 50..=10000.
pub(crate) fn parse_timeout_ms(name: &'static str, v: &str) -> Result<Duration, AccessConfigError> {
    match parse_u64(name, v)? {
        ms @ 50..=10_000 => Ok(Duration::from_millis(ms)),
        _ => Err(AccessConfigError::Invalid {
            name,
            reason: "expected 50..=10000".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_codes_round_trip() {
        for c in [
            DenyCode::Banned,
            DenyCode::RoomNotLive,
            DenyCode::NotOwner,
            DenyCode::RoomNotFound,
            DenyCode::Denied,
        ] {
            assert_eq!(DenyCode::from_code(c.code()), c);
        }
        assert_eq!(DenyCode::from_code("whatever"), DenyCode::Denied);
    }

    #[test]
    fn ban_message_says_nothing_about_a_reason() {
        let m = DenyCode::Banned.message();
        assert!(!m.contains("ban") && !m.contains("reason"));
    }

    #[test]
    fn bools_and_numbers_parse_strictly() {
        assert!(parse_bool("X", "TRUE").unwrap());
        assert!(!parse_bool("X", "0").unwrap());
        assert!(parse_bool("X", "maybe").is_err());
        assert_eq!(parse_u64("X", " 10 ").unwrap(), 10);
        assert!(parse_u64("X", "-1").is_err());
    }

    #[tokio::test]
    async fn disabled_allows_everything() {
        let c = AccessChecker::disabled();
        let r = AccessRequest::new("agora", "u1", Some("r"), "publisher", 1).publishing(true);
        assert_eq!(c.check(&r).await.unwrap(), AccessDecision::ALLOW);
        assert!(!c.is_enabled());
    }
}
