//! `POST /livekit/token` with `room_config` and without `room_name`, through the real handler: the
//! protojson room configuration in both spellings lands in the token's `roomConfig` claim, the
//! `livekit.room_config` policy decides what may, fresh rooms come from `livekit.room_template`, and
//! (property) arbitrary JSON in `room_config` never panics and never reaches a token without passing
//! the policy.

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use rtc_signing::livekit::{verify, Claims, LiveKitKey};
use rtc_signing::Secret;
use serde_json::{json, Value};
use token_service::clock::{random_salt, ManualClock};
use token_service::config::PolicySource;
use token_service::policy::Policy;
use token_service::secrets::StaticSource;
use token_service::telemetry::{null_sink, Telemetry};
use token_service::{Provider, Service, ServiceParts};

use common::{call, claims, hs256_jwt, post, unix_now, HS_SECRET, LIVEKIT_KEY, LIVEKIT_SECRET};

async fn service(policy: Value, now: u64) -> Service {
    let auth = caller_auth::AuthConfig::from_env(&|k: &str| match k {
        "AUTH_PROVIDER" => Some("hs256".to_owned()),
        "AUTH_ISSUER" => Some(common::ISSUER.to_owned()),
        "AUTH_AUDIENCE" => Some(common::AUDIENCE.to_owned()),
        "AUTH_ROLE_CLAIMS" => Some("roles".to_owned()),
        _ => None,
    })
    .unwrap();
    Service::from_parts(ServiceParts {
        provider: Provider::LiveKit,
        auth,
        source: Arc::new(StaticSource::new().with("lk", common::livekit_secret())),
        secret_id: "lk".to_owned(),
        auth_hs256_secret_id: None,
        auth_hs_secrets: vec![Secret::new(HS_SECRET)],
        secret_refresh_seconds: 300,
        policy: PolicySource::Inline(Box::new(Policy::from_json(&policy.to_string()).unwrap())),
        access: token_service::access::AccessChecker::disabled(),
        clock: Arc::new(ManualClock::new(now)),
        salt: random_salt(),
        telemetry: Telemetry::new("RtcTokens", "livekit-token", null_sink()),
    })
    .await
    .unwrap()
}

fn key() -> LiveKitKey {
    LiveKitKey::new(LIVEKIT_KEY, LIVEKIT_SECRET).unwrap()
}

/// The token's payload as JSON, as it was signed (the `roomConfig` claim byte for byte).
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

struct Client {
    svc: Service,
    jwt: String,
    now: u64,
}

impl Client {
    async fn new(policy: Value) -> Client {
        let now = unix_now();
        Client {
            svc: service(policy, now).await,
            jwt: hs256_jwt(&claims("alice", now, json!({})), HS_SECRET),
            now,
        }
    }
    async fn post(&self, body: Value) -> common::Answer {
        call(&self.svc, post("/livekit/token", &self.jwt, &body)).await
    }
    async fn token(&self, body: Value) -> (Claims, Value) {
        let a = self.post(body).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        let t = a.body["participant_token"].as_str().unwrap();
        (verify(t, &key(), self.now, 0).unwrap(), payload(t))
    }
}

#[tokio::test]
async fn room_config_round_trips_into_the_token_in_both_spellings() {
    let c = Client::new(
        json!({"livekit": {"room_config": {"agents": ["*"], "deployments": ["*"],
        "egress": true}}}),
    )
    .await;
    // (sent with proto field names, sent in lowerCamelCase, the token's roomConfig)
    let rows = [
        (
            json!({"agents": [{"agent_name": "guide-bot", "metadata": "{\"tour\":\"rome\"}",
                "restart_policy": "JRP_NEVER", "deployment": "staging", "attributes": {"lang": "it"}}]}),
            json!({"agents": [{"agentName": "guide-bot", "metadata": "{\"tour\":\"rome\"}",
                "restartPolicy": 1, "deployment": "staging", "attributes": {"lang": "it"}}]}),
            json!({"agents": [{"agentName": "guide-bot", "metadata": "{\"tour\":\"rome\"}",
                "restartPolicy": "JRP_NEVER", "deployment": "staging", "attributes": {"lang": "it"}}]}),
        ),
        (
            json!({"name": "room-1", "empty_timeout": 300, "departure_timeout": "20", "max_participants": 4,
                "metadata": "m", "min_playout_delay": 100, "max_playout_delay": 2000, "sync_streams": true,
                "tags": {"t": "1"}}),
            json!({"name": "room-1", "emptyTimeout": "300", "departureTimeout": 20, "maxParticipants": 4,
                "metadata": "m", "minPlayoutDelay": 100, "maxPlayoutDelay": 2000, "syncStreams": true,
                "tags": {"t": "1"}}),
            json!({"name": "room-1", "emptyTimeout": 300, "departureTimeout": 20, "maxParticipants": 4,
                "metadata": "m", "minPlayoutDelay": 100, "maxPlayoutDelay": 2000, "syncStreams": true,
                "tags": {"t": "1"}}),
        ),
        (
            json!({"egress": {"room": {"room_name": "room-1", "audio_only": true,
                "segment_outputs": [{"filename_prefix": "hls/x", "segment_duration": 6}]}}}),
            json!({"egress": {"room": {"roomName": "room-1", "audioOnly": true,
                "segmentOutputs": [{"filenamePrefix": "hls/x", "segmentDuration": 6}]}}}),
            json!({"egress": {"room": {"roomName": "room-1", "audioOnly": true,
                "segmentOutputs": [{"filenamePrefix": "hls/x", "segmentDuration": 6}]}}}),
        ),
    ];
    for (proto, camel, want) in rows {
        for sent in [proto.clone(), camel] {
            let (claims, raw) = c
                .token(json!({"room_name": "room-1", "room_config": sent}))
                .await;
            assert_eq!(raw["roomConfig"], want);
            assert!(claims.grants.room_config.is_some());
        }
    }
    // storage credentials in egress are refused even when egress is allowed
    let a = c
        .post(json!({"room_name": "room-1", "room_config": {"egress": {"tracks": {"s3": {"access_key": "AKIA", "bucket": "b"}}}}}))
        .await;
    assert_eq!((a.status, a.code()), (400, "bad_request"), "{:?}", a.body);
    // an unknown field is named, not dropped
    let a = c
        .post(json!({"room_name": "room-1", "room_config": {"agents": [{"agent_name": "x", "agent": "y"}]}}))
        .await;
    assert_eq!((a.status, a.code()), (400, "bad_request"));
    assert!(a.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("room_config.agents[0].agent"));
}

#[tokio::test]
async fn agent_policy_through_the_handler() {
    let c = Client::new(
        json!({"livekit": {"room_config": {"agents": ["guide-*"], "max_participants": 8,
        "dispatch": [{"pattern": "support-*", "agent_name": "support-agent"}]}}}),
    )
    .await;
    let (_, raw) = c
        .token(json!({"room_name": "tour-1", "room_config": {"agents": [{"agent_name": "guide-bot"}]}}))
        .await;
    assert_eq!(
        raw["roomConfig"],
        json!({"maxParticipants": 8, "agents": [{"agentName": "guide-bot"}]})
    );
    let a = c
        .post(
            json!({"room_name": "tour-1", "room_config": {"agents": [{"agent_name": "root-bot"}]}}),
        )
        .await;
    assert_eq!((a.status, a.code()), (403, "room_config_not_allowed"));
    let a = c
        .post(json!({"room_name": "tour-1", "room_config": {"max_participants": 9}}))
        .await;
    assert_eq!((a.status, a.code()), (403, "room_config_not_allowed"));
    let a = c
        .post(json!({"room_name": "tour-1", "room_config": {"egress": {"tracks": {"filepath": "x"}}}}))
        .await;
    assert_eq!((a.status, a.code()), (403, "room_config_not_allowed"));
    // the service's own dispatch, with no room_config asked
    let (_, raw) = c.token(json!({"room_name": "support-7"})).await;
    assert_eq!(
        raw["roomConfig"],
        json!({"maxParticipants": 8, "agents": [{"agentName": "support-agent"}]})
    );
    // no section at all: any room_config is refused, none is fine
    let c = Client::new(json!({})).await;
    let a = c
        .post(json!({"room_name": "r", "room_config": {"agents": [{"agent_name": "a"}]}}))
        .await;
    assert_eq!((a.status, a.code()), (403, "room_config_not_allowed"));
    let (claims, raw) = c.token(json!({"room_name": "r"})).await;
    assert!(raw.get("roomConfig").is_none() && claims.grants.room_config.is_none());
}

#[tokio::test]
async fn fresh_rooms_without_room_name() {
    // the built-in policy: `{}` works, each time a new room of the caller
    let c = Client::new(json!({})).await;
    let (a, _) = c.token(json!({})).await;
    let (b, _) = c.token(json!({"room_name": ""})).await;
    let ra = a.grants.video.unwrap().room;
    let rb = b.grants.video.unwrap().room;
    assert!(
        ra.starts_with("alice-") && ra.len() == "alice-".len() + 24,
        "{ra}"
    );
    assert_ne!(ra, rb);
    // a template, and the rooms rules apply to the room it gives
    let c = Client::new(json!({"livekit": {"room_template": "agent-{sub}-{random}"},
        "rooms": [{"pattern": "agent-{sub}-*", "roles": ["*"]}]}))
    .await;
    let (a, _) = c.token(json!({})).await;
    assert!(a.grants.video.unwrap().room.starts_with("agent-alice-"));
    let c = Client::new(json!({"rooms": [{"pattern": "live-*", "roles": ["*"]}]})).await;
    let a = c.post(json!({})).await;
    assert_eq!((a.status, a.code()), (403, "room_not_allowed"));
}

// ------------------------------------------------------------------ property

const POLICY: &str = r#"{"livekit": {"room_config": {"agents": ["guide-*"], "max_participants": 5,
    "empty_timeout": 60, "max_metadata_bytes": 16, "max_attributes_bytes": 16,
    "dispatch": [{"pattern": "support-*", "agent_name": "support-agent"}]}}}"#;

/// Keys the generator mixes in: real field names in both spellings and near misses.
const KEYS: &[&str] = &[
    "agents",
    "agent_name",
    "agentName",
    "metadata",
    "deployment",
    "attributes",
    "restart_policy",
    "restartPolicy",
    "max_participants",
    "maxParticipants",
    "empty_timeout",
    "emptyTimeout",
    "departure_timeout",
    "egress",
    "tags",
    "name",
    "sync_streams",
    "room",
    "tracks",
    "filepath",
    "s3",
    "preset",
    "advanced",
    "width",
    "agnet_name",
    "",
    "__proto__",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u32..20).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z*{}\\-_]{0,20}".prop_map(Value::from),
        prop::sample::select(vec![
            "guide-bot",
            "guide-",
            "root",
            "support-agent",
            "JRP_NEVER",
            "7"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..5).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
        ]
    })
}

/// Well-formed configurations around the policy's edges (names, caps, sizes).
fn near_valid() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec![
        "guide-bot",
        "guide-",
        "guide",
        "support-agent",
        "",
        "x",
    ]);
    let agent = (
        name,
        "[a-z]{0,20}",
        prop::option::of(prop::sample::select(vec!["", "prod"])),
        prop::sample::select(vec!["agent_name", "agentName"]),
    )
        .prop_map(|(n, m, d, key)| {
            let mut a = json!({ key: n, "metadata": m });
            if let Some(d) = d {
                a["deployment"] = json!(d);
            }
            a
        });
    (
        prop::collection::vec(agent, 0..3),
        0u32..8,
        0u32..90,
        "[a-z]{0,20}",
        any::<bool>(),
    )
        .prop_map(|(agents, mp, et, md, egress)| {
            let mut rc = json!({"agents": agents, "max_participants": mp, "emptyTimeout": et, "metadata": md});
            if egress {
                rc["egress"] = json!({"tracks": {"filepath": "x"}});
            }
            rc
        })
}

fn check_token(raw: &Value, room: &str) {
    let Some(rc) = raw.get("roomConfig") else {
        assert!(
            !room.starts_with("support-"),
            "support rooms always get their agent"
        );
        return;
    };
    let agents = rc["agents"].as_array().cloned().unwrap_or_default();
    for a in &agents {
        let name = a["agentName"].as_str().unwrap_or("");
        assert!(
            name.starts_with("guide-") || (name == "support-agent" && room.starts_with("support-")),
            "agent {name:?} passed the policy"
        );
        assert!(a.get("deployment").is_none(), "no deployment is allowed");
        assert!(a["metadata"].as_str().unwrap_or("").len() <= 16);
    }
    let mp = rc["maxParticipants"].as_u64().unwrap();
    assert!((1..=5).contains(&mp), "maxParticipants {mp}");
    assert!(rc["emptyTimeout"].as_u64().unwrap_or(0) <= 60);
    assert!(rc.get("egress").is_none(), "egress is not allowed");
    assert!(rc["metadata"].as_str().unwrap_or("").len() <= 16);
    // what the token carries is canonical: reading it again gives it back unchanged
    let again = token_service::livekit_room::parse(rc).unwrap().unwrap();
    assert_eq!(&serde_json::to_value(again).unwrap(), rc);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_room_config_never_panics_nor_passes_the_policy_by(
        rc in prop_oneof![any_json(), near_valid(), any_json().prop_map(|a| json!({"agents": [a]})),
            any_json().prop_map(|a| json!({"agents": a, "max_participants": 3}))],
        support in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let c = Client::new(serde_json::from_str(POLICY).unwrap()).await;
            let room = if support { "support-1" } else { "tour-1" };
            let a = c.post(json!({"room_name": room, "room_config": rc})).await;
            match a.status {
                201 => {
                    let t = a.body["participant_token"].as_str().unwrap();
                    verify(t, &key(), c.now, 0).unwrap();
                    check_token(&payload(t), room);
                }
                400 => assert_eq!(a.code(), "bad_request", "{:?}", a.body),
                403 => assert_eq!(a.code(), "room_config_not_allowed", "{:?}", a.body),
                s => panic!("status {s}: {:?}", a.body),
            }
        });
    }
}

#[tokio::test]
async fn a_policy_on_caller_roles_without_a_role_claim_fails_at_start() {
    let auth = caller_auth::AuthConfig::from_env(&|k: &str| match k {
        "AUTH_PROVIDER" => Some("hs256".to_owned()),
        "AUTH_ISSUER" => Some(common::ISSUER.to_owned()),
        _ => None,
    })
    .unwrap();
    let tour = r#"{"role_map":[{"caller_role":"guide","role":"guide"}],"default_role":"listener"}"#;
    for policy in [
        PolicySource::Inline(Box::new(Policy::from_json(tour).unwrap())),
        PolicySource::Secret("policy".to_owned()),
    ] {
        let r = Service::from_parts(ServiceParts {
            provider: Provider::LiveKit,
            auth: auth.clone(),
            source: Arc::new(
                StaticSource::new()
                    .with("lk", common::livekit_secret())
                    .with("policy", tour),
            ),
            secret_id: "lk".to_owned(),
            auth_hs256_secret_id: None,
            auth_hs_secrets: vec![Secret::new(HS_SECRET)],
            secret_refresh_seconds: 300,
            policy,
            access: token_service::access::AccessChecker::disabled(),
            clock: Arc::new(ManualClock::new(unix_now())),
            salt: random_salt(),
            telemetry: Telemetry::new("RtcTokens", "livekit-token", null_sink()),
        })
        .await;
        let Err(e) = r else { panic!("INIT must fail") };
        let e = e.to_string();
        assert!(e.contains("AUTH_ROLE_CLAIMS"), "{e}");
    }
    // with the role claim configured the same policy gives a guide a guide's token
    let c = Client::new(serde_json::from_str(tour).unwrap()).await;
    let jwt = hs256_jwt(&claims("g", c.now, json!({"roles": ["guide"]})), HS_SECRET);
    let a = call(
        &c.svc,
        post("/livekit/token", &jwt, &json!({"room_name": "tour-1"})),
    )
    .await;
    let t = a.body["participant_token"].as_str().unwrap();
    let v = verify(t, &key(), c.now, 0).unwrap().grants.video.unwrap();
    assert_eq!(v.can_publish_sources, ["microphone"], "the guide profile");
}
