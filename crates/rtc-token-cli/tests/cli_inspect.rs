//! `rtc-token inspect`: every copied vector (Agora 007/006, LiveKit, Stream) decoded with the right
//! fields and verdicts, exit codes 0/1/2, and the troubleshooting checks (channel/uid, expiry).

mod cli_support;

use cli_support::*;
use serde_json::Value;

fn inspect(args: &[&str]) -> Out {
    let mut v = vec!["inspect"];
    v.extend_from_slice(args);
    run(&v)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn agora_007_official_vectors_decode_and_verify() {
    let v = vectors("agora.json");
    let mut checked = 0;
    for section in ["access_token2", "access_token2_historical"] {
        for t in v[section].as_array().expect(section) {
            let id = t["id"].as_str().unwrap();
            let token = t["expected_token"].as_str().unwrap();
            let inputs = &t["inputs"];
            let at = s(&inputs["issue_ts"]);
            let out = match inputs["app_certificate"].as_str() {
                Some(cert) => inspect(&[token, "--certificate", cert, "--at", &at]),
                None => inspect(&[token, "--at", &at]),
            };
            let j = out.json();
            assert_eq!(j["kind"], "agora-007", "{id}");
            assert_eq!(j["app_id"], inputs["app_id"], "{id}");
            assert_eq!(j["issued_at"]["unix"], inputs["issue_ts"], "{id}");
            assert_eq!(j["expire_seconds"], inputs["expire"], "{id}");
            assert_eq!(j["salt"], inputs["salt"], "{id}");
            assert_eq!(j["expired"], false, "{id}");
            let want: Vec<&Value> = inputs["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| &s["type"])
                .collect();
            let got: Vec<&Value> = j["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| &s["type"])
                .collect();
            assert_eq!(got, want, "{id}: service types in token order");
            for (g, w) in j["services"]
                .as_array()
                .unwrap()
                .iter()
                .zip(inputs["services"].as_array().unwrap())
            {
                for field in [
                    "channel_name",
                    "uid",
                    "user_id",
                    "account",
                    "room_uuid",
                    "user_uuid",
                    "role",
                ] {
                    if let Some(x) = w.get(field) {
                        assert_eq!(s(&g[field]), s(x), "{id}: {field}");
                    }
                }
                let privs: std::collections::BTreeMap<String, Value> = g["privileges"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|p| (p["id"].to_string(), p["seconds"].clone()))
                    .collect();
                let want: std::collections::BTreeMap<String, Value> = w["privileges"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(privs, want, "{id}: privileges");
            }
            if inputs["app_certificate"].is_string() {
                let valid = t["signature_valid_with_certificate"].as_bool().unwrap();
                assert_eq!(out.code, if valid { 0 } else { 1 }, "{id}: {out:?}");
                assert_eq!(
                    j["signature"],
                    if valid { "valid" } else { "invalid" },
                    "{id}"
                );
                if let Some(h) = t.get("signature_hex").and_then(Value::as_str) {
                    assert_eq!(j["signature_hex"], h, "{id}");
                }
                // Any valid vector with a wrong certificate: exit 1, signature invalid.
                let wrong = inspect(&[token, "--certificate", WRONG_CERT, "--at", &at]);
                assert_eq!(wrong.code, 1, "{id}");
                assert_eq!(wrong.json()["signature"], "invalid", "{id}");
            } else {
                assert_eq!(out.code, 0, "{id}: {out:?}");
                assert_eq!(j["signature"], "not checked", "{id}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 42, "35 official + 7 historical vectors");
}

#[test]
fn agora_invalid_vectors_are_malformed_exit_1() {
    let v = vectors("agora.json");
    let mut n = 0;
    for t in v["access_token2_invalid"].as_array().unwrap() {
        let Some(token) = t["token"].as_str() else {
            continue;
        };
        let out = inspect(&[token, "--certificate", CERT]);
        assert_eq!(out.code, 1, "{token}: {out:?}");
        let j = out.json();
        assert_eq!(j["valid"], false);
        assert!(
            j["verdict"].as_str().unwrap().starts_with("malformed"),
            "{token}: {j}"
        );
        n += 1;
    }
    assert!(n >= 3);
    for junk in [
        "007",
        "007!!!!",
        "hello",
        "008eJxT",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.e30",
    ] {
        let out = inspect(&[junk]);
        assert_eq!(out.code, 1, "{junk}: {out:?}");
        assert!(
            out.json()["verdict"]
                .as_str()
                .unwrap()
                .starts_with("malformed"),
            "{junk}"
        );
    }
}

#[test]
fn agora_006_vectors_verify_with_channel_and_uid() {
    let v = vectors("agora.json");
    for t in v["access_token_006"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let token = t["expected_token"].as_str().unwrap();
        let i = &t["inputs"];
        let (cert, channel, uid) = (
            i["app_certificate"].as_str().unwrap(),
            i["channel_name"].as_str().unwrap(),
            s(&i["uid"]),
        );
        let out = inspect(&[
            token,
            "--certificate",
            cert,
            "--channel",
            channel,
            "--uid",
            &uid,
            "--at",
            "1111111",
        ]);
        assert_eq!(out.code, 0, "{id}: {out:?}");
        let j = out.json();
        assert_eq!(j["kind"], "agora-006");
        assert_eq!(j["signature"], "valid", "{id}");
        assert_eq!(j["salt"], i["salt"], "{id}");
        assert_eq!(j["ts"]["unix"], i["ts"], "{id}");
        assert_eq!(j["crc_channel_name"], t["crc_channel_name"], "{id}");
        assert_eq!(j["uid_signed_as"], i["uid_text_signed"], "{id}");
        // Another uid or channel: the signature does not cover it.
        let other = inspect(&[
            token,
            "--certificate",
            cert,
            "--channel",
            channel,
            "--uid",
            "12345",
            "--at",
            "1111111",
        ]);
        assert_eq!(other.code, 1, "{id}");
        // Without the channel and uid a 006 signature cannot be checked: usage error.
        assert_usage_error(&inspect(&[token, "--certificate", cert]), id);
        // Decoding alone works, and expiry is absolute.
        let plain = inspect(&[token, "--at", "1111111"]);
        assert_eq!(plain.code, 0, "{id}");
        let late = inspect(&[token, "--at", "1446455472"]);
        assert_eq!(late.code, 1, "{id}: expired");
        assert_eq!(late.json()["expired"], true);
    }
}

#[test]
fn livekit_vectors_verify_with_the_secret() {
    let v = vectors("livekit-stream.json");
    let key = v["conventions"]["livekit"]["api_key"].as_str().unwrap();
    let secret = v["conventions"]["livekit"]["api_secret"].as_str().unwrap();
    let at = s(&v["conventions"]["verify_at_for_short_lived"]);
    let mut n = 0;
    for case in v["livekit"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let tokens: Vec<(String, &str, &str, Value)> = match case.get("tokens") {
            Some(t) => t
                .as_object()
                .unwrap()
                .iter()
                .map(|(minter, t)| {
                    (
                        format!("{id} {minter}"),
                        t["token"].as_str().unwrap(),
                        key,
                        serde_json::from_str(t["payload_json"].as_str().unwrap()).unwrap(),
                    )
                })
                .collect(),
            None => vec![(
                id.to_string(),
                case["token"].as_str().unwrap(),
                case["api_key"].as_str().unwrap(),
                serde_json::from_str(case["payload_json"].as_str().unwrap()).unwrap(),
            )],
        };
        let secret = case
            .get("api_secret")
            .and_then(Value::as_str)
            .unwrap_or(secret);
        for (name, token, key, payload) in tokens {
            // The upstream token's nbf is 2025: check it after that.
            let at = match payload["nbf"].as_u64() {
                Some(nbf) if nbf > at.parse::<u64>().unwrap() => (nbf + 1).to_string(),
                _ => at.clone(),
            };
            let out = inspect(&[token, "--secret", secret, "--api-key", key, "--at", &at]);
            let j = out.json();
            assert_eq!(j["kind"], "livekit", "{name}");
            assert_eq!(j["signature"], "valid", "{name}: {j}");
            assert_eq!(j["claims"], payload, "{name}: every claim decoded");
            assert_eq!(j["api_key"], key, "{name}");
            assert_eq!(out.code, 0, "{name}: {j}");
            let wrong = inspect(&[token, "--secret", "wrong-secret", "--at", &at]);
            assert_eq!(wrong.code, 1, "{name}");
            assert_eq!(wrong.json()["signature"], "invalid", "{name}");
            let other_key = inspect(&[
                token,
                "--secret",
                secret,
                "--api-key",
                "APIother",
                "--at",
                &at,
            ]);
            assert_eq!(other_key.code, 1, "{name}: issuer mismatch");
            n += 1;
        }
    }
    assert!(n >= 19, "{n}");
}

#[test]
fn stream_vectors_verify_and_dev_tokens_fail() {
    let v = vectors("livekit-stream.json");
    let secret = v["conventions"]["stream"]["api_secret"].as_str().unwrap();
    let mut n = 0;
    for case in v["stream"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let at = case["verify_at"]
            .as_u64()
            .unwrap_or(1_700_000_100)
            .to_string();
        for (minter, t) in case["tokens"].as_object().unwrap() {
            let name = format!("{id} {minter}");
            let token = t["token"].as_str().unwrap();
            let payload: Value = serde_json::from_str(t["payload_json"].as_str().unwrap()).unwrap();
            let out = inspect(&[token, "--secret", secret, "--at", &at]);
            let j = out.json();
            assert_eq!(j["kind"], "stream", "{name}");
            assert_eq!(j["claims"], payload, "{name}");
            if id == "st-dev-token" {
                assert_eq!(out.code, 1, "{name}: developer tokens are unsigned");
                assert_eq!(j["signature"], "invalid");
            } else {
                assert_eq!(out.code, 0, "{name}: {j}");
                assert_eq!(j["signature"], "valid", "{name}");
                let wrong = inspect(&[token, "--secret", "wrong-secret", "--at", &at]);
                assert_eq!(wrong.code, 1, "{name}");
            }
            n += 1;
        }
    }
    assert!(n >= 13, "{n}");
}

#[test]
fn usage_errors_exit_2() {
    let token = token_of(&run_agora(&["agora", "rtm", "--user-id", "u"]));
    assert_usage_error(&inspect(&[]), "no token");
    assert_usage_error(&inspect(&[""]), "empty token");
    assert_usage_error(
        &inspect(&[&token, "--certificate", CERT, "--secret", "s"]),
        "two secrets",
    );
    assert_usage_error(
        &inspect(&[&token, "--certificate", "not-hex"]),
        "bad certificate",
    );
    assert_usage_error(&inspect(&[&token, "--at", "yesterday"]), "bad --at");
}

#[test]
fn troubleshooting_channel_uid_and_expiry() {
    let t = token_of(&run_agora(&[
        "agora",
        "rtc",
        "--channel",
        "room-1",
        "--uid",
        "42",
        "--ttl",
        "600",
        "--issued-at",
        "1700000000",
    ]));
    let ok = inspect(&[
        &t,
        "--certificate",
        CERT,
        "--channel",
        "room-1",
        "--uid",
        "42",
        "--at",
        "1700000100",
    ]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.json()["verdict"], "valid");

    let wrong_uid = inspect(&[
        &t,
        "--certificate",
        CERT,
        "--uid",
        "0",
        "--at",
        "1700000100",
    ]);
    assert_eq!(wrong_uid.code, 1);
    assert!(wrong_uid.json()["verdict"]
        .as_str()
        .unwrap()
        .contains("uid mismatch"));

    let wrong_channel = inspect(&[&t, "--channel", "room-2", "--at", "1700000100"]);
    assert_eq!(wrong_channel.code, 1);
    assert!(wrong_channel.json()["verdict"]
        .as_str()
        .unwrap()
        .contains("channel mismatch"));

    let expired = inspect(&[&t, "--certificate", CERT, "--at", "1700000601"]);
    assert_eq!(expired.code, 1);
    let j = expired.json();
    assert_eq!(j["expired"], true);
    assert_eq!(
        j["signature"], "valid",
        "expiry is reported apart from the signature"
    );
    assert_eq!(j["checked_at"]["utc"], "2023-11-14T22:23:21Z");
    assert!(j["verdict"]
        .as_str()
        .unwrap()
        .contains("expired at 2023-11-14T22:23:20Z"));

    // A uid-0 token admits any uid.
    let any = token_of(&run_agora(&[
        "agora",
        "rtc",
        "--channel",
        "room-1",
        "--uid",
        "0",
    ]));
    let j = inspect(&[&any, "--uid", "99", "--channel", "room-1"]);
    assert_eq!(j.code, 0, "{j:?}");
    assert_eq!(j.json()["services"][0]["uid"], "");

    // The token can come from stdin; without a secret the signature is "not checked".
    let piped = run_with(&["inspect", "-"], &[], Some(&format!("{t}\n")));
    assert_eq!(piped.code, 1, "expired now (issued 2023, 10 minutes)");
    assert_eq!(piped.json()["signature"], "not checked");
    let piped = run_with(&["inspect", "-", "--at", "1700000001"], &[], Some(&t));
    assert_eq!(piped.code, 0, "{piped:?}");
}

fn hs256(claims: Value, secret: &str) -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[test]
fn jwt_rules_beyond_the_signature() {
    let secret = "a-test-secret";
    // LiveKit: a signed token whose grant has the wrong type is refused by the provider's rules.
    let bad_grant = hs256(
        serde_json::json!({"iss": "K", "sub": "a", "exp": 2_000_000_000u64, "video": "all"}),
        secret,
    );
    let out = inspect(&[&bad_grant, "--secret", secret, "--at", "1700000000"]);
    assert_eq!(out.code, 1, "{out:?}");
    let j = out.json();
    assert_eq!(j["signature"], "valid");
    assert_eq!(j["provider_rules"]["accepted"], false);
    assert!(
        j["verdict"]
            .as_str()
            .unwrap()
            .starts_with("refused by the provider's rules"),
        "{j}"
    );

    // LiveKit: 30 s after exp, the plain check says expired; the server's 60 s leeway still accepts.
    let lk = hs256(
        serde_json::json!({"iss": "K", "sub": "a", "nbf": 1_700_000_000u64, "exp": 1_700_000_600u64, "video": {"roomJoin": true, "room": "r"}}),
        secret,
    );
    let out = inspect(&[&lk, "--secret", secret, "--at", "1700000630"]);
    assert_eq!(out.code, 1);
    let j = out.json();
    assert_eq!(j["expired"], true);
    assert_eq!(j["provider_rules"]["accepted"], true);
    // roomJoin without identity is refused at join.
    let anon = hs256(
        serde_json::json!({"iss": "K", "exp": 2_000_000_000u64, "video": {"roomJoin": true, "room": "r"}}),
        secret,
    );
    let out = inspect(&[&anon, "--at", "1700000000"]);
    assert_eq!(out.code, 1);
    assert!(out.json()["verdict"]
        .as_str()
        .unwrap()
        .contains("without identity"));

    // Stream: iat in the future ("token used before issue at"), and a non-HS256 algorithm.
    let future = hs256(
        serde_json::json!({"user_id": "u", "iat": 1_700_000_100u64}),
        secret,
    );
    let out = inspect(&[&future, "--secret", secret, "--at", "1700000000"]);
    assert_eq!(out.code, 1);
    assert!(out.json()["verdict"]
        .as_str()
        .unwrap()
        .contains("issued in the future"));
    let hs384 = {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        encode(
            &Header::new(Algorithm::HS384),
            &serde_json::json!({"user_id": "u"}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let out = inspect(&[&hs384, "--secret", secret]);
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["signature"], "invalid", "HS256 only");
    // A Stream token with no exp never expires: valid, with a hint.
    let forever = hs256(
        serde_json::json!({"user_id": "u", "iat": 1_600_000_000u64}),
        secret,
    );
    let out = inspect(&[&forever, "--secret", secret]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["expires_at"], Value::Null);
    assert!(out.stdout.contains("never expires"));
}
