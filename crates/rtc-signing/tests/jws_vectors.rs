//! LiveKit and Stream vectors from the official SDKs (tests/data/livekit-stream.json, see SOURCE.md).

use rtc_signing::livekit::{
    self, AccessToken, LiveKitKey, RoomConfiguration, SipGrants, VideoGrants,
};
use rtc_signing::{stream, ErrorKind, Secret};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/livekit-stream.json")).expect("vectors parse")
}

fn payload_of(token: &str) -> Value {
    use base64::Engine;
    let p = token.split('.').nth(1).expect("payload segment");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// Removes proto3 default values (protobuf-es writes them; protojson omits them) from `roomConfig`.
fn strip_defaults(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => {
            m.retain(|k, x| {
                let default_enum = k == "restartPolicy" && x == "JRP_ON_FAILURE";
                let empty = strip_defaults(x);
                !(empty || default_enum)
            });
            m.is_empty()
        }
        Value::Array(a) => {
            a.iter_mut().for_each(|x| {
                strip_defaults(x);
            });
            a.is_empty()
        }
        Value::Bool(b) => !*b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Null => true,
    }
}

fn livekit_token_from_spec(key: &LiveKitKey, spec: &Value, now: u64) -> String {
    let mut t = AccessToken::new(key);
    if let Some(i) = spec["identity"].as_str() {
        t = t.with_identity(i);
    }
    if let Some(n) = spec["name"].as_str() {
        t = t.with_name(n);
    }
    if let Some(m) = spec["metadata"].as_str() {
        t = t.with_metadata(m);
    }
    if let Some(a) = spec["attributes"].as_object() {
        for (k, v) in a {
            t = t.with_attribute(k, v.as_str().expect("attribute value"));
        }
    }
    if let Some(k) = spec["kind"].as_str() {
        t = t.with_kind(k);
    }
    if let Some(ttl) = spec["ttl_secs"].as_u64() {
        t = t.with_ttl(ttl);
    }
    if let Some(p) = spec["room_preset"].as_str() {
        t = t.with_room_preset(p);
    }
    if !spec["room_config"].is_null() {
        let rc: RoomConfiguration =
            serde_json::from_value(spec["room_config"].clone()).expect("room config");
        t = t.with_room_config(rc);
    }
    if !spec["video"].is_null() {
        let v: VideoGrants = serde_json::from_value(spec["video"].clone()).expect("video grants");
        t = t.with_grants(v);
    }
    if !spec["sip"].is_null() {
        let s: SipGrants = serde_json::from_value(spec["sip"].clone()).expect("sip grants");
        t = t.with_sip_grants(s);
    }
    t.to_jwt(now).expect("mint")
}

#[test]
fn livekit_claim_sets_equal_the_node_sdk_and_every_sdk_token_verifies() {
    let d = vectors();
    let conv = &d["conventions"];
    let key = LiveKitKey::new(
        conv["livekit"]["api_key"].as_str().expect("key"),
        conv["livekit"]["api_secret"].as_str().expect("secret"),
    )
    .expect("key");
    let mut minted = 0;
    for v in d["livekit"].as_array().expect("list") {
        let id = v["id"].as_str().expect("id");
        if v["spec"].is_null() {
            // the upstream token with its own key
            let k = LiveKitKey::new(
                v["api_key"].as_str().expect("k"),
                v["api_secret"].as_str().expect("s"),
            )
            .expect("key");
            let c = livekit::verify(v["token"].as_str().expect("token"), &k, 1_741_869_679, 60)
                .expect(id);
            assert_eq!(c.identity(), Some("identity"));
            assert_eq!(
                c.grants.room_config.expect("roomConfig").agents[0].agent_name,
                "test-agent"
            );
            assert!(
                livekit::verify(v["token"].as_str().expect("token"), &key, 1_741_869_679, 60)
                    .is_err()
            );
            continue;
        }
        let now = v["now"].as_u64().expect("now");
        let ours = livekit_token_from_spec(&key, &v["spec"], now);
        let ours_claims = payload_of(&ours);
        let mut node: Value = serde_json::from_str(
            v["tokens"]["node:livekit-server-sdk"]["payload_json"]
                .as_str()
                .expect("node"),
        )
        .expect("json");
        if let Some(rc) = node.get_mut("roomConfig") {
            strip_defaults(rc);
        }
        assert_eq!(ours_claims, node, "{id}: claim set vs the Node SDK");
        // Our own token verifies and returns typed claims matching the spec.
        let c = livekit::verify(&ours, &key, now, 0).expect(id);
        assert_eq!(c.sub.as_deref(), v["spec"]["identity"].as_str(), "{id}");
        assert_eq!(c.nbf, Some(now));
        // Every SDK's token verifies with the vector secret.
        for (minter, t) in v["tokens"].as_object().expect("tokens") {
            let token = t["token"].as_str().expect("token");
            let claims = livekit::verify(token, &key, now + 100, 60)
                .unwrap_or_else(|e| panic!("{id} {minter}: {e}"));
            let mut theirs = payload_of(token);
            // typed claims round-trip back to the same JSON (modulo protobuf-es defaults)
            let mut back = serde_json::to_value(&claims).expect("serialize");
            for x in [&mut theirs, &mut back] {
                if let Some(rc) = x.get_mut("roomConfig") {
                    strip_defaults(rc);
                }
            }
            if minter.starts_with("python") && theirs["sub"] == "" {
                assert_eq!(claims.identity(), None);
            }
            assert_eq!(back, theirs, "{id} {minter}: typed claims");
            assert_eq!(
                livekit::verify(
                    token,
                    &LiveKitKey::new("APIvectorKey01", "wrong").expect("k"),
                    now,
                    60
                )
                .unwrap_err()
                .kind(),
                &ErrorKind::InvalidSignature
            );
        }
        minted += 1;
    }
    assert_eq!(minted, 6);
}

#[test]
fn stream_vectors_verify_and_our_tokens_match_claim_sets() {
    let d = vectors();
    let conv = &d["conventions"];
    let secret = Secret::new(conv["stream"]["api_secret"].as_str().expect("secret"));
    let key = stream::StreamKey::new("streamvectorkey", secret.expose()).expect("key");
    let mut dev_rejected = 0;
    for v in d["stream"].as_array().expect("list") {
        let id = v["id"].as_str().expect("id");
        let at = v["verify_at"]
            .as_u64()
            .unwrap_or(v["now"].as_u64().expect("now"));
        for (minter, t) in v["tokens"].as_object().expect("tokens") {
            let token = t["token"].as_str().expect("token");
            let res = stream::verify(token, &secret, at, 0);
            if id == "st-dev-token" {
                assert!(res.is_err(), "{id}: dev token must be rejected");
                dev_rejected += 1;
                continue;
            }
            let claims = res.unwrap_or_else(|e| panic!("{id} {minter}: {e}"));
            let want: Value =
                serde_json::from_str(t["payload_json"].as_str().expect("payload")).expect("json");
            assert_eq!(
                serde_json::to_value(&claims).expect("ser"),
                want,
                "{id} {minter}: typed claims"
            );
            assert!(stream::verify(token, &Secret::new("wrong"), at, 0).is_err());
        }
    }
    assert_eq!(dev_rejected, 2);

    let now = 1_700_000_000;
    let tokens = |id: &str| -> Value {
        d["stream"]
            .as_array()
            .expect("list")
            .iter()
            .find(|v| v["id"] == id)
            .expect("vector")["tokens"]
            .clone()
    };
    let claims = |tokens: &Value, minter: &str| -> Value {
        serde_json::from_str(tokens[minter]["payload_json"].as_str().expect("payload"))
            .expect("json")
    };
    // getstream create_token(expiration=3600): iat = now - 5, exp = now + 3600
    let gs = tokens("st-getstream-user");
    let ours = stream::user_token(&key, "john", now, Some(now + 3600)).expect("mint");
    assert_eq!(
        payload_of(&ours),
        claims(&gs, "getstream==7.0.0 gs-create-token")
    );
    // getstream create_call_token: same claim set
    let call = tokens("st-video-call-token");
    let ours = stream::video_token(
        &key,
        "john",
        &["default:call-1", "livestream:show-9"],
        Some("admin"),
        now,
        Some(now + 3600),
    )
    .expect("mint");
    assert_eq!(
        payload_of(&ours),
        claims(&call, "getstream==7.0.0 gs-call-token")
    );
    // stream-chat createToken("john", 4102444800, 1700000000): byte-identical (same header and key order)
    let chat = tokens("st-chat-user-exp-iat");
    let ours = stream::user_token(
        &key,
        "john",
        now + stream::IAT_BACKDATE_SECS,
        Some(4_102_444_800),
    )
    .expect("mint");
    assert_eq!(
        ours,
        chat["stream-chat@9.53.0 chat-create-token"]["token"]
            .as_str()
            .expect("token")
    );
    // server token: byte-identical to stream-chat's
    let server = tokens("st-server-tokens");
    assert_eq!(
        stream::server_token(&key).expect("mint"),
        server["stream-chat@9.53.0 chat-server-token"]["token"]
            .as_str()
            .expect("t")
    );
}
