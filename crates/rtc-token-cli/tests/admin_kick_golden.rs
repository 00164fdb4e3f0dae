//! `admin ban|unban --kick`: each request our CLI sends, compared with the one the official server SDK
//! sends for the same action (captured by `interop/bans/golden.mjs` on loopback): livekit-server-sdk
//! RoomServiceClient `removeParticipant` (with `revokeTokenTs`) and `listRooms`, stream-chat
//! `revokeUserToken(user, before)` and `(user, null)`; Agora against its documented REST body
//! (`interop/bans/agora-kicking-rule.json`, source noted there). The auth of our requests is checked
//! by the official verifiers (livekit-server-sdk `TokenVerifier` + `roomAdmin` for the room; the
//! Stream server token with jsonwebtoken, stream-chat's JWT library). Needs `node` and
//! `interop/node_modules` (scripts/setup-tools).

mod kick_support;

use base64::Engine;
use kick_support::*;
use serde_json::{json, Value};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn node(mode: &str, input: &Value) -> Value {
    let out = std::process::Command::new("node")
        .arg(root().join("interop/bans/golden.mjs"))
        .arg(mode)
        .arg(input.to_string())
        .output()
        .expect("run node (scripts/setup-tools installs interop/node_modules)");
    assert!(
        out.status.success(),
        "golden.mjs {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("golden.mjs prints JSON")
}

/// The request as the comparison sees it: method, path, query, the headers that matter (the
/// Authorization value replaced by its scheme: tokens differ in their times), JSON body.
fn shape(method: &str, path: &str, query: Value, headers: &Value, body: &Value) -> Value {
    let auth = headers["authorization"].as_str().unwrap_or("");
    let scheme = if auth.starts_with("Bearer ") {
        "Bearer JWT"
    } else if auth.starts_with("Basic ") {
        "Basic"
    } else if auth.split('.').count() == 3 {
        "bare JWT"
    } else {
        "none"
    };
    json!({
        "method": method, "path": path, "query": query,
        "content-type": headers["content-type"], "stream-auth-type": headers["stream-auth-type"],
        "auth": scheme, "body": body,
    })
}

fn ours(s: &Seen) -> Value {
    let headers: serde_json::Map<String, Value> = s
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    shape(
        &s.method,
        &s.path,
        json!(s.query),
        &Value::Object(headers),
        &s.body,
    )
}

fn sdk(v: &Value) -> Value {
    shape(
        v["method"].as_str().unwrap(),
        v["path"].as_str().unwrap(),
        v["query"].clone(),
        &v["headers"],
        &v["body"],
    )
}

fn token_of(s: &Seen) -> String {
    let a = &s.headers["authorization"];
    a.strip_prefix("Bearer ").unwrap_or(a).to_owned()
}

#[test]
fn our_requests_match_the_official_sdks_and_their_auth_verifies() {
    let fake = Fake::start();
    let env = Env::start(&fake.base.replace("http://", "ws://"));
    fake.join("tour-7", "mallory");
    fake.join("lobby", "mallory");
    fake.join("lobby", "alice");

    // LiveKit, one room.
    let r = env.admin(
        &[
            "ban",
            "--subject",
            "mallory",
            "--provider",
            "livekit",
            "--room",
            "tour-7",
            "--kick",
        ],
        &[("LIVEKIT_SECRET_ID", "lk")],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.result("livekit").0, "kicked", "{r:?}");
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let remove = seen[0].clone();

    // LiveKit, every room (global ban; only LiveKit configured).
    let r = env.admin(
        &["ban", "--subject", "mallory", "--kick"],
        &[("LIVEKIT_SECRET_ID", "lk")],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.result("livekit").0, "kicked", "{r:?}");
    assert!(r.result("livekit").1.contains("lobby"), "{r:?}");
    assert_eq!(r.result("agora").0, "skipped");
    assert_eq!(r.result("stream").0, "skipped");
    assert!(!fake.in_room("lobby", "mallory") && fake.in_room("lobby", "alice"));
    let seen = fake.take_seen();
    let list = seen[0].clone();
    assert_eq!(list.path, "/twirp/livekit.RoomService/ListRooms");
    // One RemoveParticipant per active room (lobby, tour-7: mallory is no longer in tour-7).
    assert_eq!(seen.len(), 3, "{seen:?}");

    // Stream: revoke, then unban clears it.
    let r = env.admin(
        &["ban", "--subject", "mallory", "--kick"],
        &[("STREAM_SECRET_ID", "st"), ("STREAM_API_URL", &fake.base)],
    );
    assert_eq!(
        (r.code, r.result("stream").0.as_str()),
        (0, "kicked"),
        "{r:?}"
    );
    let revoke = fake.take_seen().remove(0);
    let r = env.admin(
        &["unban", "--subject", "mallory", "--kick"],
        &[("STREAM_SECRET_ID", "st"), ("STREAM_API_URL", &fake.base)],
    );
    assert_eq!(
        (r.code, r.result("stream").0.as_str()),
        (0, "cleared"),
        "{r:?}"
    );
    let clear = fake.take_seen().remove(0);

    // The official SDKs, same actions, same inputs (our revokeTokenTs and revocation time).
    let ts: u64 = remove.body["revokeTokenTs"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let before = revoke.body["users"][0]["set"]["revoke_tokens_issued_before"]
        .as_str()
        .unwrap()
        .to_owned();
    let golden = node(
        "capture",
        &json!({
            "livekit": {"key": LK_KEY, "secret": LK_SECRET, "room": "tour-7", "identity": "mallory", "ts": ts},
            "stream": {"key": ST_KEY, "secret": ST_SECRET, "user": "mallory", "before": before},
        }),
    );
    assert_eq!(ours(&remove), sdk(&golden["livekit_remove"]));
    assert_eq!(ours(&list), sdk(&golden["livekit_list_rooms"]));
    assert_eq!(ours(&revoke), sdk(&golden["stream_revoke"]));
    assert_eq!(ours(&clear), sdk(&golden["stream_clear"]));
    // revokeTokenTs is the ban time; the revocation time is that second in ISO form.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts <= now && now - ts < 120, "{ts} vs {now}");

    // Our auth, checked by the official verifiers.
    let verdict = node(
        "verify",
        &json!({
            "livekit": [
                {"token": token_of(&remove), "key": LK_KEY, "secret": LK_SECRET, "room": "tour-7"},
                {"token": token_of(&seen[1]), "key": LK_KEY, "secret": LK_SECRET, "room": seen[1].body["room"]},
                {"token": token_of(&list), "key": LK_KEY, "secret": LK_SECRET},
            ],
            "stream": [{"token": token_of(&revoke), "secret": ST_SECRET}, {"token": token_of(&clear), "secret": ST_SECRET}],
        }),
    );
    assert_eq!(verdict, json!({"ok": true}));
    // ... and the verifiers do refuse: a token for another room, a wrong secret.
    let verdict = node(
        "verify",
        &json!({
            "livekit": [{"token": token_of(&remove), "key": LK_KEY, "secret": LK_SECRET, "room": "other"}],
            "stream": [{"token": token_of(&revoke), "secret": "not-the-secret"}],
        }),
    );
    assert_eq!(verdict["ok"], json!(false), "{verdict}");
    assert_eq!(verdict["why"].as_array().unwrap().len(), 2, "{verdict}");
}

#[test]
fn agora_request_matches_the_documented_kicking_rule() {
    let fake = Fake::start();
    let env = Env::start("wss://unused.livekit.cloud");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("interop/bans/agora-kicking-rule.json")).unwrap(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let until = (now + 600).to_string();
    let r = env.admin(
        &[
            "ban",
            "--subject",
            "mallory",
            "--provider",
            "agora",
            "--room",
            "channel1",
            "--until",
            &until,
            "--kick",
            "--agora-uid",
            "589517928",
        ],
        &[("AGORA_SECRET_ID", "ag"), ("AGORA_API_URL", &fake.base)],
    );
    assert_eq!(
        (r.code, r.result("agora").0.as_str()),
        (0, "kicked"),
        "{r:?}"
    );
    assert!(r.result("agora").1.contains("1953"), "{r:?}");
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, doc["method"]);
    assert_eq!(s.path, doc["path"]);
    assert_eq!(s.headers["content-type"], doc["headers"]["content-type"]);
    assert_eq!(s.headers["accept"], doc["headers"]["accept"]);
    let basic = s.headers["authorization"]
        .strip_prefix("Basic ")
        .expect("Basic auth");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .unwrap();
    assert_eq!(decoded, format!("{AG_CID}:{AG_CSECRET}").as_bytes());
    // Every field we send is a documented one of the documented JSON type; the documented example's
    // privileges; our values.
    let body = s.body.as_object().unwrap();
    for (k, v) in body {
        let ty = doc["types"][k]
            .as_str()
            .unwrap_or_else(|| panic!("undocumented field {k}"));
        let actual = match v {
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Array(_) => "array",
            _ => "other",
        };
        assert_eq!(actual, ty, "field {k}");
    }
    assert_eq!(s.body["privileges"], doc["body"]["privileges"]);
    assert_eq!(
        s.body,
        json!({"appid": AG_APP, "cname": "channel1", "uid": 589517928, "time": 10, "privileges": ["join_channel"]})
    );
}
