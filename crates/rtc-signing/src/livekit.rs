//! LiveKit access tokens (HS256 JWT): a pure builder with validation in `to_jwt`, and a verifier.
//!
//! Used by token-service and the CLI: [`LiveKitKey`], [`VideoGrants`], [`SipGrants`],
//! [`RoomConfiguration`], [`AccessToken`] (builder), [`Claims`], [`verify`].
//!
//! Wire format (livekit/protocol `auth/grants.go`): `iss` = API key, `sub` = identity, integer `nbf`
//! (= now) and `exp`, then the grant claims in camelCase; unset fields are omitted. Keys are written
//! in the Go SDK's order; `attributes` is a `BTreeMap`, so the bytes are stable.

use crate::{jws, Error, ErrorKind, Result, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default token lifetime of every official SDK: 6 h.
pub const DEFAULT_TTL_SECS: u64 = 6 * 3600;
/// The server's default `max_participant_identity_length` / `max_room_name_length`.
pub const MAX_NAME_BYTES: usize = 256;
/// The server's JWT leeway (60 s).
pub const SERVER_LEEWAY_SECS: u64 = 60;
/// Track sources `canPublishSources` may name.
pub const TRACK_SOURCES: [&str; 4] = ["camera", "microphone", "screen_share", "screen_share_audio"];
/// Participant kinds (`kind` claim).
pub const PARTICIPANT_KINDS: [&str; 7] = [
    "standard",
    "ingress",
    "egress",
    "sip",
    "agent",
    "connector",
    "bridge",
];

/// LiveKit API key + secret. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct LiveKitKey {
    /// The API key (`iss`).
    pub api_key: String,
    /// The API secret (HMAC key).
    pub api_secret: Secret,
}

impl LiveKitKey {
    /// Both values must be non-empty.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Result<Self> {
        let (api_key, api_secret) = crate::secret::api_key_pair(api_key.into(), api_secret.into())?;
        Ok(LiveKitKey {
            api_key,
            api_secret,
        })
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `video` grant (camelCase on the wire, unset = omitted). `Option<bool>` fields are tri-state:
/// absent means the server default (`canPublish`/`canSubscribe` true, `canPublishData` = canPublish,
/// the others false).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrants {
    /// Create and delete rooms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_create: bool,
    /// List rooms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_list: bool,
    /// Egress (recording) APIs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_record: bool,
    /// Moderate the room named in `room`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_admin: bool,
    /// Join the room named in `room`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_join: bool,
    /// Room name (required for `roomJoin`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub room: String,
    /// Publish tracks (absent = true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
    /// Subscribe (absent = true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe: Option<bool>,
    /// Publish data packets (absent = canPublish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish_data: Option<bool>,
    /// Allowed sources (see [`TRACK_SOURCES`]); empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_publish_sources: Vec<String>,
    /// May change its own name/metadata/attributes (absent = false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_update_own_metadata: Option<bool>,
    /// Ingress APIs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ingress_admin: bool,
    /// Invisible to other participants.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Marks a recorder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recorder: bool,
    /// May register as an Agents worker.
    #[serde(default, skip_serializing_if = "is_false")]
    pub agent: bool,
    /// Receive metrics (absent = false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe_metrics: Option<bool>,
    /// Control an agent session (absent = false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_agent_session: Option<bool>,
    /// With `roomAdmin`, the room this participant may be moved to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination_room: String,
}

/// The `sip` grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SipGrants {
    /// Manage SIP resources.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
    /// Make outbound calls.
    #[serde(default, skip_serializing_if = "is_false")]
    pub call: bool,
}

/// The top-level `agent` grant (Cloud Agents).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentGrants {
    /// Manage agents.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
    /// Run simulations.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulation_admin: bool,
    /// Manage agent databases.
    #[serde(default, skip_serializing_if = "is_false")]
    pub database_admin: bool,
}

/// The `inference` grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceGrants {
    /// Perform inference.
    #[serde(default, skip_serializing_if = "is_false")]
    pub perform: bool,
}

/// The `observability` grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservabilityGrants {
    /// Write observability data.
    #[serde(default, skip_serializing_if = "is_false")]
    pub write: bool,
}

/// One agent dispatch in `roomConfig.agents` (`livekit.RoomAgentDispatch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomAgentDispatch {
    /// The agent to dispatch.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_name: String,
    /// Metadata handed to the agent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Restart policy enum name (e.g. `JRP_ON_FAILURE`); omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Deployment name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deployment: String,
    /// Attributes for the agent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// `roomConfig`: protojson of `livekit.RoomConfiguration`, defaults omitted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomConfiguration {
    /// Room name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Seconds to keep an empty room.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub empty_timeout: u32,
    /// Seconds to keep the room after the last participant leaves.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub departure_timeout: u32,
    /// Participant limit (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_participants: u32,
    /// Room metadata.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Auto-egress (`livekit.RoomEgress`), passed through; must not carry storage credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<serde_json::Value>,
    /// Minimum playout delay (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_playout_delay: u32,
    /// Maximum playout delay (ms).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_playout_delay: u32,
    /// Synchronise streams.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sync_streams: bool,
    /// Agents dispatched when the room is created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<RoomAgentDispatch>,
    /// Room tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The LiveKit-specific claims (everything except the registered `iss`/`sub`/`exp`/`nbf`/`iat`/`jti`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimGrants {
    /// Identity as written by the Go SDK (the server overwrites it from `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Participant kind (see [`PARTICIPANT_KINDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Kind details (e.g. `cloud_agent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind_details: Vec<String>,
    /// Video grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoGrants>,
    /// SIP grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipGrants>,
    /// Agent grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentGrants>,
    /// Inference grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceGrants>,
    /// Observability grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityGrants>,
    /// Room configuration used if this join creates the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_config: Option<RoomConfiguration>,
    /// Cloud room preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_preset: Option<String>,
    /// Body hash (webhooks / signed requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Participant metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Participant attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A verified LiveKit claim set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// API key.
    pub iss: String,
    /// Identity (the Python SDK writes `""` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry (unix seconds).
    pub exp: u64,
    /// Not before (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at (Go SDK only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// JWT id (JS 1.x wrote the identity here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The LiveKit claims.
    #[serde(flatten)]
    pub grants: ClaimGrants,
}

impl Claims {
    /// The identity as the server derives it: `sub`, or `jti` when `sub` is empty.
    pub fn identity(&self) -> Option<&str> {
        match self.sub.as_deref() {
            Some(s) if !s.is_empty() => Some(s),
            _ => self.jti.as_deref().filter(|j| !j.is_empty()),
        }
    }
}

/// A pure token builder: `AccessToken::new(&key).with_identity("alice").with_grants(g).to_jwt(now)`.
#[derive(Clone)]
pub struct AccessToken<'k> {
    key: &'k LiveKitKey,
    identity: Option<String>,
    ttl: u64,
    grants: ClaimGrants,
}

impl std::fmt::Debug for AccessToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("key", self.key)
            .field("identity", &self.identity)
            .field("ttl", &self.ttl)
            .field("grants", &self.grants)
            .finish()
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    exp: u64,
    nbf: u64,
    #[serde(flatten)]
    grants: &'a ClaimGrants,
}

impl<'k> AccessToken<'k> {
    /// A token for `key` with the default TTL (6 h) and no grants.
    pub fn new(key: &'k LiveKitKey) -> Self {
        AccessToken {
            key,
            identity: None,
            ttl: DEFAULT_TTL_SECS,
            grants: ClaimGrants::default(),
        }
    }
    /// Participant identity (`sub`).
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }
    /// Lifetime in seconds (must be > 0).
    pub fn with_ttl(mut self, ttl_secs: u64) -> Self {
        self.ttl = ttl_secs;
        self
    }
    /// Display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.grants.name = Some(name.into());
        self
    }
    /// Participant metadata.
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.grants.metadata = Some(metadata.into());
        self
    }
    /// Replaces all attributes.
    pub fn with_attributes(mut self, attributes: BTreeMap<String, String>) -> Self {
        self.grants.attributes = attributes;
        self
    }
    /// Adds one attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.grants.attributes.insert(key.into(), value.into());
        self
    }
    /// Participant kind, lowercase (see [`PARTICIPANT_KINDS`]).
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.grants.kind = Some(kind.into());
        self
    }
    /// Kind details.
    pub fn with_kind_details(mut self, details: Vec<String>) -> Self {
        self.grants.kind_details = details;
        self
    }
    /// The video grant.
    pub fn with_grants(mut self, grants: VideoGrants) -> Self {
        self.grants.video = Some(grants);
        self
    }
    /// The SIP grant.
    pub fn with_sip_grants(mut self, grants: SipGrants) -> Self {
        self.grants.sip = Some(grants);
        self
    }
    /// The agent grant.
    pub fn with_agent_grants(mut self, grants: AgentGrants) -> Self {
        self.grants.agent = Some(grants);
        self
    }
    /// The inference grant.
    pub fn with_inference_grants(mut self, grants: InferenceGrants) -> Self {
        self.grants.inference = Some(grants);
        self
    }
    /// The observability grant.
    pub fn with_observability_grants(mut self, grants: ObservabilityGrants) -> Self {
        self.grants.observability = Some(grants);
        self
    }
    /// Body hash.
    pub fn with_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.grants.sha256 = Some(sha256.into());
        self
    }
    /// Cloud room preset.
    pub fn with_room_preset(mut self, preset: impl Into<String>) -> Self {
        self.grants.room_preset = Some(preset.into());
        self
    }
    /// Room configuration (incl. agent dispatch).
    pub fn with_room_config(mut self, config: RoomConfiguration) -> Self {
        self.grants.room_config = Some(config);
        self
    }

    /// Checks what the server would refuse at join, then signs. `now` is unix seconds;
    /// `nbf` = now, `exp` = now + ttl.
    pub fn to_jwt(&self, now: u64) -> Result<String> {
        self.validate()?;
        let exp = now
            .checked_add(self.ttl)
            .ok_or_else(|| Error::invalid("ttl", "now + ttl overflows"))?;
        let wire = Wire {
            iss: &self.key.api_key,
            sub: self.identity.as_deref(),
            exp,
            nbf: now,
            grants: &self.grants,
        };
        // Sized for the usual claims (grants, a name, short metadata) so the buffer rarely grows.
        let mut json = Vec::with_capacity(512);
        serde_json::to_writer(&mut json, &wire)
            .map_err(|_| Error::invalid("claims", "cannot be encoded as JSON"))?;
        jws::sign(&json, self.key.api_secret.expose().as_bytes())
    }

    fn validate(&self) -> Result<()> {
        if self.key.api_key.is_empty() {
            return Err(Error::invalid("api_key", "must not be empty"));
        }
        if self.ttl == 0 {
            return Err(Error::invalid("ttl", "must be greater than 0"));
        }
        let identity = self.identity.as_deref().unwrap_or("");
        max_len("identity", identity)?;
        max_len("name", self.grants.name.as_deref().unwrap_or(""))?;
        if let Some(kind) = &self.grants.kind {
            if !PARTICIPANT_KINDS.contains(&kind.as_str()) {
                return Err(Error::invalid(
                    "kind",
                    "must be one of standard, ingress, egress, sip, agent, connector, bridge",
                ));
            }
        }
        if let Some(v) = &self.grants.video {
            max_len("room", &v.room)?;
            max_len("destination_room", &v.destination_room)?;
            if v.room_join {
                if identity.is_empty() {
                    return Err(Error::invalid("identity", "is required for roomJoin"));
                }
                if v.room.is_empty() {
                    return Err(Error::invalid("room", "is required for roomJoin"));
                }
            }
            if v.can_publish_sources
                .iter()
                .any(|s| !TRACK_SOURCES.contains(&s.as_str()))
            {
                return Err(Error::invalid(
                    "can_publish_sources",
                    "each must be camera, microphone, screen_share or screen_share_audio",
                ));
            }
        }
        if let Some(rc) = &self.grants.room_config {
            max_len("room_config.name", &rc.name)?;
            if rc.egress.as_ref().is_some_and(carries_credentials) {
                return Err(Error::invalid(
                    "room_config.egress",
                    "must not carry storage credentials",
                ));
            }
        }
        Ok(())
    }
}

fn max_len(field: &'static str, v: &str) -> Result<()> {
    if v.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(field, "must be at most 256 bytes"));
    }
    Ok(())
}

/// True when a JSON value has a key that looks like a storage credential (Go `CheckCredentials`).
fn carries_credentials(v: &serde_json::Value) -> bool {
    const WORDS: [&str; 6] = [
        "secret",
        "credential",
        "accesskey",
        "accountkey",
        "sessiontoken",
        "password",
    ];
    match v {
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| {
            let k = k.to_ascii_lowercase().replace('_', "");
            WORDS.iter().any(|w| k.contains(w)) || carries_credentials(v)
        }),
        serde_json::Value::Array(a) => a.iter().any(carries_credentials),
        _ => false,
    }
}

/// Verifies a LiveKit token: HS256 signature with `key.api_secret`, `iss` == `key.api_key`, `exp`
/// required and not passed, `nbf` (if any) reached, both with `leeway` seconds (the server uses 60).
pub fn verify(token: &str, key: &LiveKitKey, now: u64, leeway: u64) -> Result<Claims> {
    let payload = jws::verify(token, key.api_secret.expose().as_bytes())?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|e| {
        Error::malformed(format!(
            "claims do not match the LiveKit schema: {}",
            json_error_kind(&e)
        ))
    })?;
    if claims.iss != key.api_key {
        return Err(ErrorKind::InvalidClaim {
            claim: "iss",
            reason: "not the expected API key".into(),
        }
        .into());
    }
    if now > claims.exp.saturating_add(leeway) {
        return Err(ErrorKind::Expired {
            expired_at: claims.exp,
        }
        .into());
    }
    if claims
        .nbf
        .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
    {
        return Err(ErrorKind::NotYetValid.into());
    }
    Ok(claims)
}

/// A short, value-free description of a claims error (serde messages may quote token content).
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "i/o",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "wrong claim types or missing iss/exp",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LiveKitKey {
        LiveKitKey::new("APIkey", "secret-secret").unwrap()
    }

    fn join(room: &str) -> VideoGrants {
        VideoGrants {
            room_join: true,
            room: room.into(),
            ..Default::default()
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = key();
        assert!(!format!("{k:?}").contains("secret-secret"));
        assert!(!format!("{:?}", AccessToken::new(&k)).contains("secret-secret"));
    }

    #[test]
    fn minimal_join_token_has_exactly_the_expected_claims() {
        let k = key();
        let t = AccessToken::new(&k)
            .with_identity("alice")
            .with_grants(join("r"))
            .with_ttl(60)
            .to_jwt(1000)
            .unwrap();
        let payload = jws::verify(&t, b"secret-secret").unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            r#"{"iss":"APIkey","sub":"alice","exp":1060,"nbf":1000,"video":{"roomJoin":true,"room":"r"}}"#
        );
        let c = verify(&t, &k, 1000, 0).unwrap();
        assert_eq!(c.identity(), Some("alice"));
        assert_eq!(c.grants.video, Some(join("r")));
    }

    #[test]
    fn to_jwt_validates() {
        let k = key();
        let e = |t: AccessToken<'_>| match t.to_jwt(1).unwrap_err().kind() {
            ErrorKind::InvalidInput { field, .. } => *field,
            other => panic!("{other:?}"),
        };
        assert_eq!(e(AccessToken::new(&k).with_grants(join("r"))), "identity");
        assert_eq!(
            e(AccessToken::new(&k)
                .with_identity("a")
                .with_grants(join(""))),
            "room"
        );
        assert_eq!(
            e(AccessToken::new(&k)
                .with_identity("a".repeat(257))
                .with_grants(join("r"))),
            "identity"
        );
        assert_eq!(
            e(AccessToken::new(&k)
                .with_identity("a")
                .with_grants(join(&"r".repeat(257)))),
            "room"
        );
        assert_eq!(
            e(AccessToken::new(&k)
                .with_identity("a")
                .with_name("n".repeat(257))),
            "name"
        );
        assert_eq!(
            e(AccessToken::new(&k).with_identity("a").with_ttl(0)),
            "ttl"
        );
        assert_eq!(e(AccessToken::new(&k).with_kind("robot")), "kind");
        let bad_sources = VideoGrants {
            can_publish_sources: vec!["webcam".into()],
            ..join("r")
        };
        assert_eq!(
            e(AccessToken::new(&k)
                .with_identity("a")
                .with_grants(bad_sources)),
            "can_publish_sources"
        );
        let creds = RoomConfiguration {
            egress: Some(serde_json::json!({"room": {"s3": {"access_key": "x"}}})),
            ..Default::default()
        };
        assert_eq!(
            e(AccessToken::new(&k).with_room_config(creds)),
            "room_config.egress"
        );
        // exactly 256 bytes is fine; an admin token needs no identity
        AccessToken::new(&k)
            .with_identity("a".repeat(256))
            .with_grants(join(&"r".repeat(256)))
            .to_jwt(1)
            .unwrap();
        AccessToken::new(&k)
            .with_grants(VideoGrants {
                room_admin: true,
                room: "r".into(),
                ..Default::default()
            })
            .to_jwt(1)
            .unwrap();
    }

    #[test]
    fn verify_checks_iss_expiry_and_nbf() {
        let k = key();
        let t = AccessToken::new(&k)
            .with_identity("a")
            .with_ttl(100)
            .to_jwt(1000)
            .unwrap();
        assert!(verify(&t, &k, 1100, 0).is_ok());
        assert_eq!(
            verify(&t, &k, 1101, 0).unwrap_err().kind(),
            &ErrorKind::Expired { expired_at: 1100 }
        );
        assert!(verify(&t, &k, 1160, 60).is_ok());
        assert_eq!(
            verify(&t, &k, 900, 0).unwrap_err().kind(),
            &ErrorKind::NotYetValid
        );
        assert!(verify(&t, &k, 940, 60).is_ok());
        let other_iss = LiveKitKey::new("other", "secret-secret").unwrap();
        assert!(matches!(
            verify(&t, &other_iss, 1000, 0).unwrap_err().kind(),
            ErrorKind::InvalidClaim { claim: "iss", .. }
        ));
        let other_secret = LiveKitKey::new("APIkey", "nope").unwrap();
        assert_eq!(
            verify(&t, &other_secret, 1000, 0).unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
    }

    #[test]
    fn verify_requires_integer_exp() {
        let k = key();
        for payload in [
            r#"{"iss":"APIkey"}"#,
            r#"{"iss":"APIkey","exp":1.5}"#,
            r#"{"iss":"APIkey","exp":"9"}"#,
        ] {
            let t = jws::sign(payload.as_bytes(), b"secret-secret").unwrap();
            assert!(
                matches!(
                    verify(&t, &k, 0, 0).unwrap_err().kind(),
                    ErrorKind::Malformed(_)
                ),
                "{payload}"
            );
        }
    }
}
