//! The policy: one JSON document per function (`POLICY_JSON` or the secret `POLICY_SECRET_ID`) that
//! decides, for a verified caller and a request, the identity, room, role and lifetime of the token,
//! or refuses with a 403 and a clear code.
//!
//! ```json
//! {
//!   "ttl": {"default": 3600, "max": 86400},
//!   "deny_subjects": ["user_banned_forever"],
//!   "role_map": [{"caller_role": "staff", "role": "host"}],
//!   "default_role": "listener",
//!   "rooms": [
//!     {"pattern": "live-{sub}", "roles": ["publisher", "subscriber"]},
//!     {"pattern": "live-*", "roles": ["subscriber"]},
//!     {"pattern": "tour-*", "roles": ["guide"], "caller_roles": ["guide"]},
//!     {"pattern": "tour-*", "roles": ["listener"], "max_ttl": 1800}
//!   ],
//!   "agora": {"identity": "account", "allow_client_identity": false, "allow_uid_zero": false},
//!   "livekit": {"profiles": {"host": {"can_publish": true, "can_subscribe": true, "can_publish_data": true}}},
//!   "stream": {"types": ["chat", "video"]}
//! }
//! ```
//!
//! Rules, in the order the handler applies them:
//! 1. `deny_subjects`: a caller whose subject is listed gets 403 `subject_denied`.
//! 2. Role: the body's `role` if given; otherwise the first `role_map` entry whose `caller_role` the
//!    caller holds (caller roles come from caller-auth's role claims); otherwise `default_role`
//!    (per provider when unset: LiveKit `host`, Agora none, so the body must say). No role: 400.
//! 3. Rooms (`rooms`; absent = every room and role allowed): a pattern is matched against the whole
//!    channel/room name; `*` matches any run of characters and `{sub}` exactly the caller's subject
//!    (a subject containing `*` is matched literally). No rule matches the room: 403
//!    `room_not_allowed`. Rules match but none whose `caller_roles` (any of; empty = every caller)
//!    the caller satisfies lists the role (`*` = any): 403 `role_not_allowed`. The first rule that
//!    allows it wins and its `max_ttl` caps the lifetime.
//! 4. TTL: the body's `ttl` or `ttl.default`, capped at `ttl.max` and the room rule's `max_ttl`;
//!    `ttl` 0 is a 400. Defaults per provider: Agora 1 h / 24 h, LiveKit 15 min / 24 h, Stream 1 h / 24 h.
//!
//! LiveKit room configuration (`livekit.room_config`, `livekit.room_template`): see
//! [`crate::livekit_room`] and [`RoomConfigPolicy`]. Without a `room_config` section any `room_config`
//! in the body is 403 `room_config_not_allowed`; `"allow_room_config": true` (its predecessor) fails
//! at start with what to write instead.
//!
//! Agora identity (`agora.identity`): `account` (default) = a string user account equal to the
//! caller's subject; `uid_claim` = the numeric uid in the caller claim `agora.uid_claim` (a number or a
//! decimal string in `0..=4294967295`; missing: 403 `uid_claim_missing`); `uid_hash` = a uid derived
//! stably from the subject: the first four bytes of SHA-256(subject) read big-endian, masked to 31
//! bits (so it is positive in the signed `int` of the Android/iOS SDKs), and 1 if that gives 0. A
//! `uid`/`account` in the body is accepted only when it equals the derived identity or
//! `agora.allow_client_identity` is true (else 403 `identity_not_allowed`); uid 0 (Agora's wildcard)
//! only with `agora.allow_uid_zero` (else 403 `uid_zero_not_allowed`).

use std::collections::BTreeMap;

use caller_auth::Caller;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::Provider;

/// LiveKit's default profiles when the policy names none: `host` publishes (any source), subscribes
/// and sends data; `guide` the same with the microphone only; `listener` subscribes.
static DEFAULT_PROFILES: std::sync::LazyLock<BTreeMap<String, Profile>> =
    std::sync::LazyLock::new(|| {
        let host = Profile {
            can_publish: true,
            can_subscribe: true,
            can_publish_data: true,
            ..Profile::default()
        };
        let guide = Profile {
            can_publish_sources: vec!["microphone".to_owned()],
            ..host.clone()
        };
        let listener = Profile {
            can_subscribe: true,
            ..Profile::default()
        };
        BTreeMap::from([
            ("host".to_owned(), host),
            ("guide".to_owned(), guide),
            ("listener".to_owned(), listener),
        ])
    });

/// The policy document. Every field is optional; see the module documentation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Default and maximum token lifetime in seconds.
    pub ttl: Option<TtlRule>,
    /// Subjects that never get a token.
    pub deny_subjects: Vec<String>,
    /// Caller role -> token role, first match wins (used when the body has no `role`).
    pub role_map: Vec<RoleMapping>,
    /// The role when neither the body nor `role_map` gives one.
    pub default_role: Option<String>,
    /// Channel/room rules; `None` allows every room and role.
    pub rooms: Option<Vec<RoomRule>>,
    /// Agora-only settings.
    pub agora: AgoraPolicy,
    /// LiveKit-only settings.
    pub livekit: LiveKitPolicy,
    /// Stream-only settings.
    pub stream: StreamPolicy,
}

/// Token lifetime bounds, seconds.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TtlRule {
    /// Used when the body has no `ttl`.
    pub default: u32,
    /// Longer requests are capped to this.
    pub max: u32,
}

/// One `role_map` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    /// A role the caller holds (from caller-auth's role claims).
    pub caller_role: String,
    /// The token role or LiveKit profile it gives.
    pub role: String,
}

/// One channel/room rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomRule {
    /// The room name pattern (`*` any run of characters, `{sub}` the caller's subject).
    pub pattern: String,
    /// The token roles allowed (`*` = any).
    pub roles: Vec<String>,
    /// The caller must hold one of these roles (empty = every caller).
    #[serde(default)]
    pub caller_roles: Vec<String>,
    /// A tighter lifetime cap for this rule, seconds.
    pub max_ttl: Option<u32>,
}

/// How the Agora identity is chosen.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AgoraIdentity {
    /// A string user account equal to the caller's subject.
    #[default]
    Account,
    /// A numeric uid from the claim named by `uid_claim`.
    UidClaim,
    /// A numeric uid derived from the subject ([`derive_uid`]).
    UidHash,
}

/// Agora-only policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgoraPolicy {
    /// Identity mode.
    pub identity: AgoraIdentity,
    /// The claim holding the uid (for `uid_claim`).
    pub uid_claim: Option<String>,
    /// Accept a different `uid`/`account` from the body.
    pub allow_client_identity: bool,
    /// Allow uid 0 (Agora's "any uid" wildcard).
    pub allow_uid_zero: bool,
    /// Token types allowed (`rtc`, `rtm`, `chat`); empty = all.
    pub types: Vec<String>,
}

/// A LiveKit grant profile.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// May publish tracks.
    pub can_publish: bool,
    /// May subscribe.
    pub can_subscribe: bool,
    /// May publish data messages.
    pub can_publish_data: bool,
    /// Track sources allowed (`camera`, `microphone`, `screen_share`, `screen_share_audio`); empty = all.
    pub can_publish_sources: Vec<String>,
    /// May update its own name/metadata/attributes.
    pub can_update_own_metadata: bool,
    /// Hidden from other participants.
    pub hidden: bool,
    /// Room administration.
    pub room_admin: bool,
}

/// LiveKit-only policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveKitPolicy {
    /// Profiles by name; absent = the defaults `host`, `guide`, `listener`.
    pub profiles: Option<BTreeMap<String, Profile>>,
    /// Replaced by `room_config`: `true` fails at start saying what to write; `false` means nothing.
    pub allow_room_config: Option<bool>,
    /// What a caller may put in `room_config` and the agents the service dispatches itself; absent:
    /// a `room_config` in the body is 403 `room_config_not_allowed`.
    pub room_config: Option<RoomConfigPolicy>,
    /// The room of a request without `room_name`: `{sub}` = the caller, `{random}` = 96 random bits
    /// (required). Default `{sub}-{random}`. The room must pass the `rooms` rules.
    pub room_template: Option<String>,
}

/// `livekit.room_config`: the policy of the body's `room_config` (LiveKit's `RoomConfiguration`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomConfigPolicy {
    /// Agent names a caller may dispatch (`*` and `{sub}` patterns); empty: none. The unnamed
    /// (automatic-dispatch) agent is the name `""`, matched only by a pattern such as `*`.
    pub agents: Vec<String>,
    /// Agent deployments a caller may name (patterns); empty: none (the default deployment only).
    pub deployments: Vec<String>,
    /// Cap on `max_participants`: more is 403; a configuration without a limit (0) gets this one.
    pub max_participants: Option<u32>,
    /// Cap on `empty_timeout`, seconds: more is 403.
    pub empty_timeout: Option<u32>,
    /// Cap on `departure_timeout`, seconds: more is 403.
    pub departure_timeout: Option<u32>,
    /// Allow auto-egress (`egress`); storage credentials in it are refused all the same (400).
    pub egress: bool,
    /// Cap on the room's `metadata` and on each agent's `metadata`, bytes.
    pub max_metadata_bytes: Option<usize>,
    /// Cap on each agent's `attributes` and on the room's `tags`, keys and values summed, bytes.
    pub max_attributes_bytes: Option<usize>,
    /// Agents the service dispatches to rooms matching a pattern, whatever the client asks.
    pub dispatch: Vec<DispatchRule>,
}

/// One `livekit.room_config.dispatch` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRule {
    /// Rooms this agent is dispatched to (`*` and `{sub}` patterns).
    pub pattern: String,
    /// The agent.
    pub agent_name: String,
    /// Metadata handed to the agent.
    #[serde(default)]
    pub metadata: String,
    /// The agent deployment (empty: the default).
    #[serde(default)]
    pub deployment: String,
    /// Attributes for the agent.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Stream-only policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamPolicy {
    /// Token types allowed (`chat`, `video`); empty = both.
    pub types: Vec<String>,
}

/// What the policy decided: the handler mints exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The token role or profile (empty when the token kind has none).
    pub role: String,
    /// Lifetime, seconds.
    pub ttl: u32,
}

/// The Agora identity the token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgoraUser {
    /// Numeric uid.
    Uid(u32),
    /// String user account.
    Account(String),
}

/// The stable uid derivation of `uid_hash` (see the module documentation).
pub fn derive_uid(subject: &str) -> u32 {
    let digest = Sha256::digest(subject.as_bytes());
    let uid = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff;
    if uid == 0 {
        1
    } else {
        uid
    }
}

/// Matches `room` against `pattern` with `*` and `{sub}` (see the module documentation).
pub fn pattern_matches(pattern: &str, subject: &str, room: &str) -> bool {
    // Split into literal pieces, `*` and `{sub}`, then match recursively (patterns are short).
    #[derive(Debug)]
    enum Seg<'a> {
        Lit(&'a str),
        Star,
    }
    let mut segs: Vec<Seg<'_>> = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('*') {
            segs.push(Seg::Star);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("{sub}") {
            segs.push(Seg::Lit(subject));
            rest = r;
        } else {
            let end = rest
                .char_indices()
                .skip(1)
                .find(|(i, c)| *c == '*' || rest[*i..].starts_with("{sub}"))
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            segs.push(Seg::Lit(&rest[..end]));
            rest = &rest[end..];
        }
    }
    fn go(segs: &[Seg<'_>], s: &str) -> bool {
        match segs.split_first() {
            None => s.is_empty(),
            Some((Seg::Lit(l), tail)) => s.strip_prefix(l).is_some_and(|r| go(tail, r)),
            Some((Seg::Star, tail)) => (0..=s.len())
                .filter(|i| s.is_char_boundary(*i))
                .any(|i| go(tail, &s[i..])),
        }
    }
    go(&segs, room)
}

impl Policy {
    /// Parses and validates a policy document. The error says what is wrong (never echoes values).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let policy: Policy = serde_json::from_str(text).map_err(|e| format!("policy JSON: {e}"))?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(t) = self.ttl {
            if t.default == 0 || t.max == 0 || t.default > t.max {
                return Err("policy ttl: need 0 < default <= max".to_owned());
            }
        }
        if self.agora.identity == AgoraIdentity::UidClaim && self.agora.uid_claim.is_none() {
            return Err(
                "policy agora.identity is uid_claim but agora.uid_claim is not set".to_owned(),
            );
        }
        for t in &self.agora.types {
            if !["rtc", "rtm", "chat"].contains(&t.as_str()) {
                return Err(format!("policy agora.types: unknown type {t:?}"));
            }
        }
        for t in &self.stream.types {
            if !["chat", "video"].contains(&t.as_str()) {
                return Err(format!("policy stream.types: unknown type {t:?}"));
            }
        }
        for r in self.rooms.iter().flatten() {
            if r.pattern.is_empty() || r.roles.is_empty() {
                return Err("policy rooms: each rule needs a pattern and roles".to_owned());
            }
        }
        self.validate_livekit()
    }

    fn validate_livekit(&self) -> Result<(), String> {
        let lk = &self.livekit;
        if lk.allow_room_config == Some(true) {
            return Err(
                "policy livekit.allow_room_config was replaced by livekit.room_config: write \
                 \"room_config\": {\"agents\": [\"my-agent\"]} with the agent names callers may \
                 dispatch (\"*\" for any), plus \"egress\": true if they may start auto-egress"
                    .to_owned(),
            );
        }
        if let Some(t) = &lk.room_template {
            crate::livekit_room::validate_template(t)?;
        }
        if let Some(rc) = &lk.room_config {
            if rc
                .agents
                .iter()
                .chain(&rc.deployments)
                .any(String::is_empty)
            {
                return Err(
                    "policy livekit.room_config: agents and deployments patterns must not be empty \
                     (\"*\" matches any name)"
                        .to_owned(),
                );
            }
            if rc
                .dispatch
                .iter()
                .any(|d| d.pattern.is_empty() || d.agent_name.is_empty())
            {
                return Err(
                    "policy livekit.room_config.dispatch: each entry needs a pattern and an agent_name"
                        .to_owned(),
                );
            }
        }
        Ok(())
    }

    /// Whether a rule depends on the caller's roles (`role_map`, a room rule's `caller_roles`).
    pub fn uses_caller_roles(&self) -> bool {
        !self.role_map.is_empty()
            || self
                .rooms
                .iter()
                .flatten()
                .any(|r| !r.caller_roles.is_empty())
    }

    /// Refuses a policy that refers to caller roles when no role claim is configured: every caller
    /// would silently have none (a guide would get a listener's token).
    pub fn check_role_claims(&self, role_claims_configured: bool) -> Result<(), String> {
        if self.uses_caller_roles() && !role_claims_configured {
            return Err(
                "the policy refers to caller roles (role_map or rooms[].caller_roles) but no \
                 role claim is configured: set AUTH_ROLE_CLAIMS to the claim paths that carry them \
                 (e.g. AUTH_ROLE_CLAIMS=roles)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The TTL bounds for `provider` (the document's, or the defaults: 24 h at most, 1 h by default
    /// and 15 min for LiveKit).
    pub fn ttl_rule(&self, provider: Provider) -> TtlRule {
        let default = if provider == Provider::LiveKit {
            900
        } else {
            3600
        };
        self.ttl.unwrap_or(TtlRule {
            default,
            max: 86400,
        })
    }

    /// The LiveKit profiles (the document's or the defaults host/guide/listener), borrowed: the
    /// defaults are built once per process, not per request.
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        self.livekit
            .profiles
            .as_ref()
            .unwrap_or_else(|| &DEFAULT_PROFILES)
    }

    /// Rule 1: the subject deny list.
    pub fn check_subject(&self, caller: &Caller) -> Result<(), ApiError> {
        if self.deny_subjects.iter().any(|s| s == &caller.subject) {
            return Err(ApiError::forbidden(
                "subject_denied",
                "this caller may not get tokens",
            ));
        }
        Ok(())
    }

    /// Rule 2: the role (body, then `role_map`, then `default_role`, then `provider_default`).
    pub fn choose_role(
        &self,
        caller: &Caller,
        requested: Option<&str>,
        provider_default: Option<&str>,
    ) -> Option<String> {
        if let Some(r) = requested {
            return Some(r.to_owned());
        }
        self.role_map
            .iter()
            .find(|m| caller.roles.iter().any(|r| r == &m.caller_role))
            .map(|m| m.role.clone())
            .or_else(|| self.default_role.clone())
            .or_else(|| provider_default.map(str::to_owned))
    }

    /// Rule 3 for one room: returns the matching rule's TTL cap.
    pub fn check_room(
        &self,
        caller: &Caller,
        room: &str,
        role: &str,
    ) -> Result<Option<u32>, ApiError> {
        let Some(rules) = &self.rooms else {
            return Ok(None);
        };
        let mut room_matched = false;
        for rule in rules {
            if !pattern_matches(&rule.pattern, &caller.subject, room) {
                continue;
            }
            room_matched = true;
            let caller_ok = rule.caller_roles.is_empty()
                || rule.caller_roles.iter().any(|r| caller.roles.contains(r));
            let role_ok = rule.roles.iter().any(|r| r == "*" || r == role);
            if caller_ok && role_ok {
                return Ok(rule.max_ttl);
            }
        }
        if room_matched {
            Err(ApiError::forbidden(
                "role_not_allowed",
                format!("role {role:?} is not allowed in {room:?} for this caller"),
            ))
        } else {
            Err(ApiError::forbidden(
                "room_not_allowed",
                format!("{room:?} is not allowed for this caller"),
            ))
        }
    }

    /// Rule 4: the lifetime from the request and the caps.
    pub fn choose_ttl(
        &self,
        provider: Provider,
        requested: Option<u32>,
        caps: &[Option<u32>],
    ) -> Result<u32, ApiError> {
        let rule = self.ttl_rule(provider);
        let mut ttl = match requested {
            Some(0) => {
                return Err(ApiError::BadRequest(
                    "ttl must be at least 1 second".to_owned(),
                ))
            }
            Some(t) => t,
            None => rule.default,
        };
        ttl = ttl.min(rule.max);
        for cap in caps.iter().flatten() {
            ttl = ttl.min(*cap);
        }
        Ok(ttl.max(1))
    }

    /// The Agora identity for `caller`, honouring a body `uid`/`account` only as the policy allows.
    pub fn agora_user(
        &self,
        caller: &Caller,
        body_uid: Option<u32>,
        body_account: Option<&str>,
    ) -> Result<AgoraUser, ApiError> {
        let a = &self.agora;
        let derived = match a.identity {
            AgoraIdentity::Account => AgoraUser::Account(caller.subject.clone()),
            AgoraIdentity::UidHash => AgoraUser::Uid(derive_uid(&caller.subject)),
            AgoraIdentity::UidClaim => {
                let claim = a.uid_claim.as_deref().unwrap_or("uid");
                let uid = caller.claims.get(claim).and_then(|v| match v {
                    serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    serde_json::Value::String(s) => s.parse::<u32>().ok(),
                    _ => None,
                });
                match uid {
                    Some(u) => AgoraUser::Uid(u),
                    None => {
                        return Err(ApiError::forbidden(
                            "uid_claim_missing",
                            format!("the caller token has no numeric {claim:?} claim"),
                        ))
                    }
                }
            }
        };
        let requested = match (body_uid, body_account) {
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "give uid or account, not both".to_owned(),
                ));
            }
            (Some(u), None) => Some(AgoraUser::Uid(u)),
            (None, Some(s)) => Some(AgoraUser::Account(s.to_owned())),
            (None, None) => None,
        };
        let user = match requested {
            Some(r) if r != derived && !a.allow_client_identity => {
                return Err(ApiError::forbidden(
                    "identity_not_allowed",
                    "the uid/account must be the caller's own; policy does not allow choosing it",
                ));
            }
            Some(r) => r,
            None => derived,
        };
        if user == AgoraUser::Uid(0) && !a.allow_uid_zero {
            return Err(ApiError::forbidden(
                "uid_zero_not_allowed",
                "uid 0 (any user) is not allowed",
            ));
        }
        Ok(user)
    }

    /// Whether an Agora token type is allowed.
    pub fn agora_type_allowed(&self, kind: &str) -> bool {
        self.agora.types.is_empty() || self.agora.types.iter().any(|t| t == kind)
    }

    /// Whether a Stream token type is allowed.
    pub fn stream_type_allowed(&self, kind: &str) -> bool {
        self.stream.types.is_empty() || self.stream.types.iter().any(|t| t == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn caller(sub: &str, roles: &[&str], claims: serde_json::Value) -> Caller {
        Caller {
            subject: sub.to_owned(),
            issuer: "https://issuer.test".to_owned(),
            provider: caller_auth::ProviderKind::Hs256,
            roles: roles.iter().map(|s| (*s).to_owned()).collect(),
            claims: caller_auth::Claims::from_map(claims.as_object().cloned().unwrap_or_default()),
            expires_at: 0,
        }
    }

    fn code(e: ApiError) -> &'static str {
        e.code()
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("live-{sub}", "alice", "live-alice"));
        assert!(!pattern_matches("live-{sub}", "alice", "live-bob"));
        assert!(!pattern_matches("live-{sub}", "alice", "live-alice2"));
        assert!(pattern_matches("live-*", "alice", "live-"));
        assert!(pattern_matches("*", "alice", "anything"));
        assert!(pattern_matches("a*b*c", "x", "aXXbYYc"));
        assert!(!pattern_matches("a*b*c", "x", "aXXbYY"));
        // A subject containing `*` is literal, not a wildcard.
        assert!(!pattern_matches("live-{sub}", "*", "live-bob"));
        assert!(pattern_matches("live-{sub}", "*", "live-*"));
        assert!(pattern_matches("{sub}-room", "é", "é-room"));
    }

    #[test]
    fn owner_only_publishing() {
        let p = Policy::from_json(
            r#"{"rooms":[{"pattern":"live-{sub}","roles":["publisher","subscriber"]},{"pattern":"live-*","roles":["subscriber"]}]}"#,
        )
        .unwrap();
        let alice = caller("alice", &[], serde_json::json!({}));
        assert!(p.check_room(&alice, "live-alice", "publisher").is_ok());
        assert!(p.check_room(&alice, "live-bob", "subscriber").is_ok());
        assert_eq!(
            code(p.check_room(&alice, "live-bob", "publisher").unwrap_err()),
            "role_not_allowed"
        );
        assert_eq!(
            code(p.check_room(&alice, "other", "subscriber").unwrap_err()),
            "room_not_allowed"
        );
    }

    #[test]
    fn caller_roles_and_rule_ttl() {
        let p = Policy::from_json(
            r#"{"rooms":[{"pattern":"tour-*","roles":["guide"],"caller_roles":["guide"]},{"pattern":"tour-*","roles":["listener"],"max_ttl":60}]}"#,
        )
        .unwrap();
        let guide = caller("g", &["guide"], serde_json::json!({}));
        let guest = caller("u", &[], serde_json::json!({}));
        assert_eq!(p.check_room(&guide, "tour-1", "guide").unwrap(), None);
        assert_eq!(
            code(p.check_room(&guest, "tour-1", "guide").unwrap_err()),
            "role_not_allowed"
        );
        assert_eq!(
            p.check_room(&guest, "tour-1", "listener").unwrap(),
            Some(60)
        );
        assert_eq!(
            p.choose_ttl(Provider::LiveKit, None, &[Some(60)]).unwrap(),
            60
        );
    }

    #[test]
    fn no_rooms_allows_everything() {
        let p = Policy::default();
        let c = caller("a", &[], serde_json::json!({}));
        assert_eq!(p.check_room(&c, "x", "publisher").unwrap(), None);
    }

    #[test]
    fn deny_list() {
        let p = Policy::from_json(r#"{"deny_subjects":["mallory"]}"#).unwrap();
        assert_eq!(
            code(
                p.check_subject(&caller("mallory", &[], serde_json::json!({})))
                    .unwrap_err()
            ),
            "subject_denied"
        );
        assert!(p
            .check_subject(&caller("alice", &[], serde_json::json!({})))
            .is_ok());
    }

    #[test]
    fn role_choice_order() {
        let p = Policy::from_json(
            r#"{"role_map":[{"caller_role":"staff","role":"host"}],"default_role":"listener"}"#,
        )
        .unwrap();
        let staff = caller("s", &["staff"], serde_json::json!({}));
        let user = caller("u", &[], serde_json::json!({}));
        assert_eq!(
            p.choose_role(&staff, None, Some("x")).as_deref(),
            Some("host")
        );
        assert_eq!(
            p.choose_role(&user, None, Some("x")).as_deref(),
            Some("listener")
        );
        assert_eq!(
            p.choose_role(&user, Some("guide"), None).as_deref(),
            Some("guide")
        );
        assert_eq!(
            Policy::default()
                .choose_role(&user, None, Some("host"))
                .as_deref(),
            Some("host")
        );
        assert_eq!(Policy::default().choose_role(&user, None, None), None);
    }

    #[test]
    fn ttl_defaults_caps_and_zero() {
        let p = Policy::default();
        assert_eq!(p.choose_ttl(Provider::Agora, None, &[]).unwrap(), 3600);
        assert_eq!(p.choose_ttl(Provider::LiveKit, None, &[]).unwrap(), 900);
        assert_eq!(p.choose_ttl(Provider::Stream, None, &[]).unwrap(), 3600);
        assert_eq!(
            p.choose_ttl(Provider::Agora, Some(999_999), &[]).unwrap(),
            86400
        );
        assert_eq!(
            p.choose_ttl(Provider::Agora, Some(100), &[Some(50), None])
                .unwrap(),
            50
        );
        assert_eq!(
            code(p.choose_ttl(Provider::Agora, Some(0), &[]).unwrap_err()),
            "bad_request"
        );
        let p = Policy::from_json(r#"{"ttl":{"default":60,"max":120}}"#).unwrap();
        assert_eq!(p.choose_ttl(Provider::Stream, Some(500), &[]).unwrap(), 120);
        assert!(Policy::from_json(r#"{"ttl":{"default":600,"max":120}}"#).is_err());
    }

    #[test]
    fn invalid_documents_are_refused() {
        assert!(Policy::from_json(r#"{"nope":1}"#)
            .unwrap_err()
            .contains("nope"));
        assert!(Policy::from_json(r#"{"agora":{"identity":"uid_claim"}}"#)
            .unwrap_err()
            .contains("uid_claim"));
        assert!(Policy::from_json(r#"{"agora":{"types":["video"]}}"#).is_err());
        assert!(Policy::from_json(r#"{"stream":{"types":["rtc"]}}"#).is_err());
        assert!(Policy::from_json(r#"{"rooms":[{"pattern":"","roles":["a"]}]}"#).is_err());
    }

    #[test]
    fn policies_on_caller_roles_need_a_role_claim() {
        let by_map =
            Policy::from_json(r#"{"role_map":[{"caller_role":"guide","role":"guide"}]}"#).unwrap();
        let by_room = Policy::from_json(
            r#"{"rooms":[{"pattern":"tour-*","roles":["guide"],"caller_roles":["guide"]}]}"#,
        )
        .unwrap();
        for p in [&by_map, &by_room] {
            assert!(p.uses_caller_roles());
            assert!(p
                .check_role_claims(false)
                .unwrap_err()
                .contains("AUTH_ROLE_CLAIMS"));
            assert!(p.check_role_claims(true).is_ok());
        }
        let plain = Policy::from_json(r#"{"rooms":[{"pattern":"*","roles":["*"]}]}"#).unwrap();
        assert!(!plain.uses_caller_roles() && plain.check_role_claims(false).is_ok());
    }

    #[test]
    fn uid_derivation_is_stable_positive_and_documented() {
        // SHA-256("alice") = 2bd806c9..., 0x2bd806c9 & 0x7fffffff = 735577801.
        assert_eq!(derive_uid("alice"), 0x2bd8_06c9);
        assert_eq!(derive_uid("alice"), derive_uid("alice"));
        assert_ne!(derive_uid("alice"), derive_uid("bob"));
        for s in ["a", "b", "c", "user_2abc", ""] {
            let u = derive_uid(s);
            assert!(u > 0 && u <= 0x7fff_ffff);
        }
    }

    #[test]
    fn agora_identity_modes() {
        let alice = caller(
            "alice",
            &[],
            serde_json::json!({"agora_uid": 42, "s": "7", "z": 0}),
        );
        let p = Policy::default();
        assert_eq!(
            p.agora_user(&alice, None, None).unwrap(),
            AgoraUser::Account("alice".into())
        );
        assert_eq!(
            p.agora_user(&alice, None, Some("alice")).unwrap(),
            AgoraUser::Account("alice".into())
        );
        assert_eq!(
            code(p.agora_user(&alice, None, Some("bob")).unwrap_err()),
            "identity_not_allowed"
        );
        assert_eq!(
            code(p.agora_user(&alice, Some(5), None).unwrap_err()),
            "identity_not_allowed"
        );
        assert_eq!(
            code(p.agora_user(&alice, Some(5), Some("x")).unwrap_err()),
            "bad_request"
        );

        let p = Policy::from_json(r#"{"agora":{"identity":"uid_claim","uid_claim":"agora_uid"}}"#)
            .unwrap();
        assert_eq!(
            p.agora_user(&alice, None, None).unwrap(),
            AgoraUser::Uid(42)
        );
        let p = Policy::from_json(r#"{"agora":{"identity":"uid_claim","uid_claim":"s"}}"#).unwrap();
        assert_eq!(p.agora_user(&alice, None, None).unwrap(), AgoraUser::Uid(7));
        let p = Policy::from_json(r#"{"agora":{"identity":"uid_claim","uid_claim":"missing"}}"#)
            .unwrap();
        assert_eq!(
            code(p.agora_user(&alice, None, None).unwrap_err()),
            "uid_claim_missing"
        );
        let p = Policy::from_json(r#"{"agora":{"identity":"uid_claim","uid_claim":"z"}}"#).unwrap();
        assert_eq!(
            code(p.agora_user(&alice, None, None).unwrap_err()),
            "uid_zero_not_allowed"
        );
        let p = Policy::from_json(
            r#"{"agora":{"identity":"uid_claim","uid_claim":"z","allow_uid_zero":true}}"#,
        )
        .unwrap();
        assert_eq!(p.agora_user(&alice, None, None).unwrap(), AgoraUser::Uid(0));

        let p = Policy::from_json(r#"{"agora":{"identity":"uid_hash"}}"#).unwrap();
        assert_eq!(
            p.agora_user(&alice, None, None).unwrap(),
            AgoraUser::Uid(derive_uid("alice"))
        );
        let p = Policy::from_json(r#"{"agora":{"allow_client_identity":true}}"#).unwrap();
        assert_eq!(
            p.agora_user(&alice, Some(9), None).unwrap(),
            AgoraUser::Uid(9)
        );
        assert_eq!(
            code(p.agora_user(&alice, Some(0), None).unwrap_err()),
            "uid_zero_not_allowed"
        );
    }

    #[test]
    fn profiles_default_and_types() {
        let p = Policy::default();
        let prof = p.profiles();
        assert!(prof["host"].can_publish && prof["host"].can_subscribe);
        assert_eq!(
            prof["guide"].can_publish_sources,
            vec!["microphone".to_owned()]
        );
        assert!(!prof["listener"].can_publish && prof["listener"].can_subscribe);
        assert!(p.agora_type_allowed("rtm"));
        let p = Policy::from_json(r#"{"agora":{"types":["rtc"]},"stream":{"types":["chat"]}}"#)
            .unwrap();
        assert!(p.agora_type_allowed("rtc") && !p.agora_type_allowed("chat"));
        assert!(p.stream_type_allowed("chat") && !p.stream_type_allowed("video"));
    }
}
