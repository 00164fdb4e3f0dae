//! Every Agora vector from the official implementations (tests/data/agora.json, see SOURCE.md).

use rtc_signing::agora::{
    self, AccessToken006, AccessToken2, AgoraKey, MintAt, RtcPrivileges, RtcRole, RtcUser,
    Rtm2Permissions, Service, ServiceBody,
};
use rtc_signing::ErrorKind;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/agora.json")).expect("agora.json parses")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} is a string in {v}"))
        .to_string()
}

fn n(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is an unsigned integer"))
}

fn service_from(v: &Value) -> Service {
    let body = match n(&v["type"]) {
        1 => ServiceBody::Rtc {
            channel: s(v, "channel_name"),
            uid: s(v, "uid"),
        },
        2 => ServiceBody::Rtm {
            user_id: s(v, "user_id"),
        },
        3 => ServiceBody::Streaming {
            channel: s(v, "channel_name"),
            account: s(v, "account"),
        },
        4 => ServiceBody::Fpa,
        5 => ServiceBody::Chat {
            user_id: s(v, "user_id"),
        },
        6 => ServiceBody::Fcdn {
            channel: s(v, "channel_name"),
            account: s(v, "account"),
        },
        7 => ServiceBody::Apaas {
            room_uuid: s(v, "room_uuid"),
            user_uuid: s(v, "user_uuid"),
            role: v["role"].as_i64().map(|r| r as i16).expect("role"),
        },
        8 => {
            let mut permissions = Rtm2Permissions::new();
            for (rt, perms) in v["permissions"].as_object().expect("permissions") {
                let entry = permissions
                    .entry(rt.parse().expect("resource type"))
                    .or_default();
                for (pt, items) in perms.as_object().expect("perm map") {
                    entry.insert(
                        pt.parse().expect("permission type"),
                        items
                            .as_array()
                            .expect("items")
                            .iter()
                            .map(|i| i.as_str().expect("item").to_string())
                            .collect(),
                    );
                }
            }
            ServiceBody::Rtm2 {
                user_id: s(v, "user_id"),
                permissions,
            }
        }
        9 => ServiceBody::ConvoAi,
        10 => ServiceBody::Stt,
        other => panic!("unexpected type {other}"),
    };
    let mut service = Service::new(body);
    for (id, exp) in v["privileges"].as_object().expect("privileges") {
        service = service.with_privilege(id.parse().expect("privilege id"), n(exp) as u32);
    }
    service
}

fn token_from(inputs: &Value) -> AccessToken2 {
    let mut t = AccessToken2::new(
        s(inputs, "app_id"),
        n(&inputs["issue_ts"]) as u32,
        n(&inputs["expire"]) as u32,
        n(&inputs["salt"]) as u32,
    );
    for sv in inputs["services"].as_array().expect("services") {
        t = t.with_service(service_from(sv));
    }
    t
}

fn cert(d: &Value) -> String {
    s(&d["meta"], "test_app_certificate")
}

#[test]
fn every_access_token2_vector_rebuilds_its_payload_and_parses() {
    let d = vectors();
    let mut payloads = 0;
    let mut strings = 0;
    for v in d["access_token2"].as_array().expect("list") {
        let id = s(v, "id");
        let inputs = &v["inputs"];
        let built = token_from(inputs);
        // Every vector parses to its inputs, whatever deflate produced it.
        let parsed =
            AccessToken2::parse(&s(v, "expected_token")).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.token, built, "{id}: parsed content");
        let Some(c) = inputs["app_certificate"].as_str() else {
            continue; // at2-21: certificate not published, parse-only
        };
        assert_eq!(
            hex(&built.payload(c).expect("payload")),
            s(v, "payload_hex"),
            "{id}: payload"
        );
        payloads += 1;
        assert_eq!(
            parsed.verify_with_certificate(c).is_ok(),
            v["signature_valid_with_certificate"] == true,
            "{id}"
        );
        assert_eq!(
            hex(&parsed.signature),
            s(v, "signature_hex"),
            "{id}: signature"
        );
        if s(v, "producer").starts_with("stock zlib") {
            assert_eq!(
                built.build_with_certificate(c).expect("build"),
                s(v, "expected_token"),
                "{id}: token string"
            );
            strings += 1;
        }
        // The note at the end of access_token2_invalid: wrong certificates never verify.
        for wrong in [
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "invalid",
        ] {
            assert!(
                parsed.verify_with_certificate(wrong).is_err(),
                "{id} with {wrong}"
            );
        }
    }
    assert_eq!(
        payloads, 34,
        "every vector with a known certificate is checked"
    );
    assert_eq!(
        strings, 17,
        "stock-zlib vectors with a known certificate (at2-21 has none)"
    );
}

#[test]
fn invalid_vectors_fail_to_parse() {
    let d = vectors();
    let mut checked = 0;
    for v in d["access_token2_invalid"].as_array().expect("list") {
        let Some(token) = v["token"].as_str() else {
            continue;
        };
        let err = AccessToken2::parse(token).expect_err(token);
        assert!(
            matches!(err.kind(), ErrorKind::Malformed(_)),
            "{token}: {err}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn historical_vectors_verify() {
    let d = vectors();
    for v in d["access_token2_historical"].as_array().expect("list") {
        let id = s(v, "id");
        let parsed =
            AccessToken2::parse(&s(v, "expected_token")).unwrap_or_else(|e| panic!("{id}: {e}"));
        let c = s(&v["inputs"], "app_certificate");
        assert_eq!(
            parsed.verify_with_certificate(&c).is_ok(),
            v["signature_valid_with_certificate"] == true,
            "{id}"
        );
        // services are kept in token order, even when unsorted (hist-02: 7, 2, 5)
        let want: Vec<u64> = v["inputs"]["services"]
            .as_array()
            .expect("services")
            .iter()
            .map(|x| n(&x["type"]))
            .collect();
        let got: Vec<u64> = parsed
            .token
            .services
            .iter()
            .map(|x| u64::from(x.service_type()))
            .collect();
        assert_eq!(got, want, "{id}: service order");
        let mut payload = hex(&32u16.to_le_bytes());
        payload.push_str(&hex(&parsed.signature));
        payload.push_str(&hex(&parsed.signing_info));
        assert_eq!(payload, s(v, "payload_hex"), "{id}");
    }
}

#[test]
fn legacy_006_vectors_decode_and_verify() {
    let d = vectors();
    for v in d["access_token_006"].as_array().expect("list") {
        let id = s(v, "id");
        let i = &v["inputs"];
        let t =
            AccessToken006::parse(&s(v, "expected_token")).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(u64::from(t.crc_channel), n(&v["crc_channel_name"]), "{id}");
        assert_eq!(u64::from(t.crc_uid), n(&v["crc_uid"]), "{id}");
        assert_eq!(u64::from(t.salt), n(&i["salt"]));
        assert_eq!(u64::from(t.ts), n(&i["ts"]));
        for (pid, exp) in i["privileges"].as_object().expect("privileges") {
            assert_eq!(
                u64::from(t.privileges[&pid.parse::<u16>().expect("id")]),
                n(exp),
                "{id}"
            );
        }
        let channel = s(i, "channel_name");
        let uid = s(i, "uid_text_signed");
        let key = AgoraKey::new(s(i, "app_id"), s(i, "app_certificate")).expect("key");
        t.verify(&key, &channel, &uid)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            t.verify(&key, &channel, "12345").is_err(),
            "{id}: wrong uid"
        );
        assert!(
            t.verify_with_certificate(&"b".repeat(32), &channel, &uid)
                .is_err(),
            "{id}: wrong cert"
        );
    }
}

fn arg_u32(a: &Value) -> u32 {
    n(a) as u32
}

fn role(a: &Value) -> RtcRole {
    if n(a) == 1 {
        RtcRole::Publisher
    } else {
        RtcRole::Subscriber
    }
}

/// Calls our task-level function for a builder vector's Node call, when we have one.
fn contract_call(
    key: &AgoraKey,
    call: &str,
    a: &[Value],
    at: MintAt,
) -> Option<rtc_signing::Result<String>> {
    let uid_user = |v: &Value| RtcUser::Uid(arg_u32(v));
    let account = |v: &Value| RtcUser::Account(v.as_str().expect("account").to_string());
    let ch = |v: &Value| v.as_str().expect("channel").to_string();
    let opt = |i: usize| a.get(i).map(arg_u32).unwrap_or(0);
    Some(match call {
        "RtcTokenBuilder.buildTokenWithUid" => agora::rtc_token(
            key,
            &ch(&a[0]),
            &uid_user(&a[1]),
            role(&a[2]),
            arg_u32(&a[3]),
            opt(4),
            at,
        ),
        "RtcTokenBuilder.buildTokenWithUserAccount" => agora::rtc_token(
            key,
            &ch(&a[0]),
            &account(&a[1]),
            role(&a[2]),
            arg_u32(&a[3]),
            opt(4),
            at,
        ),
        "RtcTokenBuilder.buildTokenWithUidAndPrivilege"
        | "RtcTokenBuilder.BuildTokenWithUserAccountAndPrivilege" => {
            let user = if a[1].is_string() {
                account(&a[1])
            } else {
                uid_user(&a[1])
            };
            let p = RtcPrivileges {
                join: opt(3),
                audio: opt(4),
                video: opt(5),
                data: opt(6),
            };
            agora::rtc_token_with_privileges(key, &ch(&a[0]), &user, arg_u32(&a[2]), p, at)
        }
        "RtcTokenBuilder.buildTokenWithRtm" => agora::rtc_rtm_token(
            key,
            &ch(&a[0]),
            &account(&a[1]),
            role(&a[2]),
            arg_u32(&a[3]),
            opt(4),
            at,
        ),
        "RtmTokenBuilder.buildToken" => {
            agora::rtm_token(key, a[0].as_str().expect("user"), arg_u32(&a[1]), at)
        }
        "ChatTokenBuilder.buildUserToken" => {
            agora::chat_user_token(key, a[0].as_str().expect("user"), arg_u32(&a[1]), at)
        }
        "ChatTokenBuilder.buildAppToken" => agora::chat_app_token(key, arg_u32(&a[0]), at),
        _ => return None,
    })
}

#[test]
fn builder_vectors_match_payload_and_stock_zlib_string() {
    let d = vectors();
    let c = cert(&d);
    let mut contract_hits = 0;
    for v in d["builder_vectors"].as_array().expect("list") {
        let id = s(v, "id");
        let built = token_from(&v["decoded_inputs"]);
        assert_eq!(
            hex(&built.payload(&c).expect("payload")),
            s(v, "payload_hex"),
            "{id}: payload"
        );
        let stock = s(v, "stock_zlib_token");
        assert_eq!(
            built.build_with_certificate(&c).expect("build"),
            stock,
            "{id}: stock string"
        );
        if let Some(py) = v["token_python_agoraiotools_0_3_4_stock_zlib"].as_str() {
            if v["payload_identical"] == true {
                assert_eq!(py, stock, "{id}: python string");
            }
            AccessToken2::parse(py)
                .expect("python token parses")
                .verify_with_certificate(&c)
                .expect("verifies");
        }
        let node =
            AccessToken2::parse(&s(v, "token_node_agora_token_2_0_6")).expect("node token parses");
        node.verify_with_certificate(&c)
            .expect("node token verifies");
        assert_eq!(node.token, built, "{id}: node token content");

        let args: Vec<Value> = v["node_call"]["args"].as_array().expect("args")[2..].to_vec();
        let key = AgoraKey::new(s(&v["decoded_inputs"], "app_id"), c.clone()).expect("key");
        let at = MintAt {
            issued_at: n(&v["issue_ts"]) as u32,
            salt: n(&v["salt"]) as u32,
        };
        let call = s(&v["node_call"], "call");
        match contract_call(&key, &call, &args, at) {
            None => {}
            Some(Ok(token)) => {
                assert_eq!(token, stock, "{id}: {call}");
                contract_hits += 1;
            }
            Some(Err(e)) => {
                // Only Agora's documented identifier rules may refuse a call the SDK accepts.
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::InvalidInput {
                            field: "channel",
                            ..
                        }
                    ),
                    "{id}: {call}: {e}"
                );
                assert!(
                    !args[0].as_str().unwrap_or("").is_ascii(),
                    "{id}: only non-ASCII channels are refused"
                );
            }
        }
    }
    assert!(
        contract_hits >= 17,
        "contract functions matched {contract_hits} builder vectors"
    );
}

#[test]
fn contract_functions_reproduce_the_official_test_vectors() {
    let d = vectors();
    let c = cert(&d);
    let key = AgoraKey::new(s(&d["meta"], "test_app_id"), c).expect("key");
    let at = MintAt {
        issued_at: 1_111_111,
        salt: 1,
    };
    let by_id = |id: &str| {
        d["access_token2"]
            .as_array()
            .expect("list")
            .iter()
            .find(|v| v["id"] == id)
            .map(|v| s(v, "expected_token"))
            .expect("vector present")
    };
    let ch = "7d72365eb983485397e3e3f9d460bdda";
    // at2-01 is both buildTokenWithUid(2882341273) and buildTokenWithUserAccount("2882341273")
    // (subscriber, token 600, join 600).
    assert_eq!(
        agora::rtc_token(
            &key,
            ch,
            &RtcUser::Uid(2_882_341_273),
            RtcRole::Subscriber,
            600,
            600,
            at
        )
        .unwrap(),
        by_id("at2-01")
    );
    assert_eq!(
        agora::rtc_token(
            &key,
            ch,
            &RtcUser::Account("2882341273".into()),
            RtcRole::Subscriber,
            600,
            600,
            at
        )
        .unwrap(),
        by_id("at2-01")
    );
    assert_eq!(
        agora::rtc_token(
            &key,
            ch,
            &RtcUser::Uid(0),
            RtcRole::Subscriber,
            600,
            600,
            at
        )
        .unwrap(),
        by_id("at2-02")
    );
    assert_eq!(
        agora::rtm_token(&key, "2882341273", 600, at).unwrap(),
        by_id("at2-03")
    );
    assert_eq!(
        agora::chat_user_token(&key, "2882341273", 600, at).unwrap(),
        by_id("at2-04")
    );
    assert_eq!(
        agora::chat_app_token(&key, 600, at).unwrap(),
        by_id("at2-05")
    );
    assert_eq!(
        agora::rtm_token(&key, "test_user", 600, at).unwrap(),
        by_id("at2-17")
    );
}
