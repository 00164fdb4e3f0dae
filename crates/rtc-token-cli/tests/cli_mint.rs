//! `rtc-token agora|livekit|stream`: the built binary, good and bad input, exit codes,
//! reproducibility, and byte-for-byte equality with the official stock-zlib builder vectors.

mod cli_support;

use cli_support::*;
use serde_json::Value;

/// Maps an agoraiotools builder call of `tests/data/agora.json` to `rtc-token` arguments, or `None`
/// when the CLI has no such command (per-privilege, RTM2, FPA, APaaS builders).
fn cli_args_for(call: &str, args: &[Value]) -> Option<Vec<String>> {
    let s = |i: usize| match &args[i] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let role = |i: usize| {
        if args[i].as_i64() == Some(2) {
            "subscriber"
        } else {
            "publisher"
        }
        .to_string()
    };
    let privilege = |i: usize| args.get(i).map(|_| s(i)).unwrap_or_else(|| "0".into());
    let v: Vec<String> = match call {
        "RtcTokenBuilder.build_token_with_uid"
        | "RtcTokenBuilder.build_token_with_user_account" => {
            let who = if call.ends_with("uid") {
                "--uid"
            } else {
                "--account"
            };
            vec![
                "agora".into(),
                "rtc".into(),
                "--channel".into(),
                s(2),
                who.into(),
                s(3),
                "--role".into(),
                role(4),
                "--ttl".into(),
                s(5),
                "--privilege-ttl".into(),
                privilege(6),
            ]
        }
        "RtcTokenBuilder.build_token_with_uid_and_privilege"
        | "RtcTokenBuilder.build_token_with_user_account_and_privilege" => {
            let who = if call.contains("with_uid") {
                "--uid"
            } else {
                "--account"
            };
            vec![
                "agora".into(),
                "rtc".into(),
                "--channel".into(),
                s(2),
                who.into(),
                s(3),
                "--ttl".into(),
                s(4),
                "--join-ttl".into(),
                s(5),
                "--audio-ttl".into(),
                s(6),
                "--video-ttl".into(),
                s(7),
                "--data-ttl".into(),
                s(8),
            ]
        }
        "RtcTokenBuilder.build_token_with_rtm" => vec![
            "agora".into(),
            "rtc".into(),
            "--with-rtm".into(),
            "--channel".into(),
            s(2),
            "--account".into(),
            s(3),
            "--role".into(),
            role(4),
            "--ttl".into(),
            s(5),
            "--privilege-ttl".into(),
            privilege(6),
        ],
        "RtmTokenBuilder.build_token" => vec![
            "agora".into(),
            "rtm".into(),
            "--user-id".into(),
            s(2),
            "--ttl".into(),
            s(3),
        ],
        "ChatTokenBuilder.build_user_token" => {
            vec![
                "agora".into(),
                "chat".into(),
                "--user-id".into(),
                s(2),
                "--ttl".into(),
                s(3),
            ]
        }
        "ChatTokenBuilder.build_app_token" => vec![
            "agora".into(),
            "chat".into(),
            "--app".into(),
            "--ttl".into(),
            s(2),
        ],
        _ => return None,
    };
    Some(v)
}

#[test]
fn agora_builder_vectors_equal_byte_for_byte() {
    let v = vectors("agora.json");
    let mut equal = 0;
    let mut refused_non_ascii = 0;
    for b in v["builder_vectors"].as_array().expect("builder_vectors") {
        let id = b["id"].as_str().unwrap_or("?");
        let Some(py) = b["python_call"].as_object() else {
            continue;
        };
        let call = py["call"].as_str().expect("call");
        let args = py["args"].as_array().expect("args");
        let Some(mut cli) = cli_args_for(call, args) else {
            continue;
        };
        assert_eq!(args[0], APP_ID, "{id}");
        assert_eq!(args[1], CERT, "{id}");
        cli.extend([
            "--issued-at".into(),
            b["issue_ts"].to_string(),
            "--salt".into(),
            b["salt"].to_string(),
        ]);
        let argv: Vec<&str> = cli.iter().map(String::as_str).collect();
        let out = run_agora(&argv);
        let channel_is_ascii = b["decoded_inputs"]["services"][0]["channel_name"]
            .as_str()
            .is_none_or(|c| c.is_ascii());
        if !channel_is_ascii {
            // Agora documents an ASCII channel-name set; the SDKs do not check it, rtc-token does.
            assert_usage_error(&out, id);
            assert!(out.stderr.contains("channel"), "{id}: {out:?}");
            refused_non_ascii += 1;
            continue;
        }
        let expected = b["token_python_agoraiotools_0_3_4_stock_zlib"]
            .as_str()
            .expect("stock zlib token");
        assert_eq!(
            token_of(&out),
            expected,
            "{id} ({}): {argv:?}",
            b["description"]
        );
        equal += 1;
    }
    // Guard against a vacuous pass: the copied file has 17 CLI-expressible stock-zlib vectors.
    assert!(equal >= 17, "only {equal} vectors compared");
    assert_eq!(refused_non_ascii, 2);
}

#[test]
fn agora_official_worked_example() {
    // shared/vectors agora.json at2-01 (AgoraIO/Tools tests): subscriber, uid 2882341273, salt 1.
    let v = vectors("agora.json");
    let at2 = v["access_token2"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "at2-01")
        .expect("at2-01");
    let out = run_agora(&[
        "agora",
        "rtc",
        "--channel",
        "7d72365eb983485397e3e3f9d460bdda",
        "--uid",
        "2882341273",
        "--role",
        "subscriber",
        "--ttl",
        "600",
        "--privilege-ttl",
        "600",
        "--issued-at",
        "1111111",
        "--salt",
        "1",
    ]);
    assert_eq!(token_of(&out), at2["expected_token"].as_str().unwrap());
}

#[test]
fn agora_json_describes_the_token() {
    let base = [
        "agora",
        "rtc",
        "--channel",
        "room-1",
        "--uid",
        "42",
        "--ttl",
        "600",
        "--privilege-ttl",
        "300",
        "--issued-at",
        "1700000000",
        "--salt",
        "9",
    ];
    let bare = token_of(&run_agora(&base));
    let mut with_json = base.to_vec();
    with_json.push("--json");
    let out = run_agora(&with_json);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["token"], bare.as_str());
    assert_eq!(j["app_id"], APP_ID);
    assert_eq!(j["salt"], 9);
    assert_eq!(j["issued_at"]["utc"], "2023-11-14T22:13:20Z");
    assert_eq!(j["expires_at"]["unix"], 1_700_000_600u64);
    assert_eq!(j["expires_at"]["utc"], "2023-11-14T22:23:20Z");
    let rtc = &j["services"][0];
    assert_eq!(rtc["name"], "RTC");
    assert_eq!(rtc["channel_name"], "room-1");
    assert_eq!(rtc["uid"], "42");
    let privs = rtc["privileges"].as_object().unwrap();
    assert_eq!(privs.len(), 4, "publisher: join + audio + video + data");
    assert_eq!(privs["joinChannel"]["seconds"], 300);
    assert_eq!(
        privs["publishDataStream"]["expires_at"]["utc"],
        "2023-11-14T22:18:20Z"
    );
    assert!(!out.stdout.contains(CERT));
}

#[test]
fn agora_subscriber_rtm_and_chat_grant_what_they_say() {
    let sub = run_agora(&[
        "agora",
        "rtc",
        "--channel",
        "c",
        "--account",
        "bob",
        "--role",
        "subscriber",
        "--json",
    ])
    .json();
    assert_eq!(
        sub["services"][0]["privileges"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["joinChannel"]
    );
    assert_eq!(sub["services"][0]["uid"], "bob");
    // --privilege-ttl defaults to --ttl.
    assert_eq!(
        sub["services"][0]["privileges"]["joinChannel"]["seconds"],
        3600
    );

    let both = run_agora(&[
        "agora",
        "rtc",
        "--channel",
        "c",
        "--account",
        "bob",
        "--with-rtm",
        "--ttl",
        "900",
        "--json",
    ])
    .json();
    let names: Vec<&str> = both["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["RTC", "RTM"]);
    assert_eq!(both["services"][1]["user_id"], "bob");
    assert_eq!(both["services"][1]["privileges"]["login"]["seconds"], 900);

    let rtm = run_agora(&[
        "agora",
        "rtm",
        "--user-id",
        "carol",
        "--ttl",
        "60",
        "--json",
    ])
    .json();
    assert_eq!(rtm["services"][0]["name"], "RTM");
    assert_eq!(rtm["expire_seconds"], 60);

    let chat_user = run_agora(&["agora", "chat", "--user-id", "dave", "--json"]).json();
    assert!(chat_user["services"][0]["privileges"]["user"].is_object());
    let chat_app = run_agora(&["agora", "chat", "--app", "--json"]).json();
    assert!(chat_app["services"][0]["privileges"]["app"].is_object());
    assert_eq!(chat_app["services"][0]["user_id"], "");
}

#[test]
fn agora_reproducible_with_issued_at_and_salt_random_otherwise() {
    let args = [
        "agora",
        "rtm",
        "--user-id",
        "u",
        "--issued-at",
        "1700000000",
        "--salt",
        "5",
    ];
    assert_eq!(token_of(&run_agora(&args)), token_of(&run_agora(&args)));
    let other_salt = [
        "agora",
        "rtm",
        "--user-id",
        "u",
        "--issued-at",
        "1700000000",
        "--salt",
        "6",
    ];
    assert_ne!(
        token_of(&run_agora(&args)),
        token_of(&run_agora(&other_salt))
    );
    // Without --salt each run draws a salt in the SDKs' range.
    let a = run_agora(&[
        "agora",
        "rtm",
        "--user-id",
        "u",
        "--issued-at",
        "1700000000",
        "--json",
    ])
    .json();
    let b = run_agora(&[
        "agora",
        "rtm",
        "--user-id",
        "u",
        "--issued-at",
        "1700000000",
        "--json",
    ])
    .json();
    for j in [&a, &b] {
        let salt = j["salt"].as_u64().unwrap();
        assert!((1..=99_999_999).contains(&salt));
    }
    assert_ne!(
        a["token"], b["token"],
        "two random salts collided (1 in 10^8)"
    );
    // Without --issued-at the clock is used.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let c = run_agora(&["agora", "rtm", "--user-id", "u", "--json"]).json();
    assert!(c["issued_at"]["unix"].as_u64().unwrap().abs_diff(now) < 60);
}

#[test]
fn agora_credentials_from_flags() {
    let out = run(&[
        "agora",
        "chat",
        "--app",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--issued-at",
        "1",
        "--salt",
        "1",
    ]);
    let from_env = run_agora(&["agora", "chat", "--app", "--issued-at", "1", "--salt", "1"]);
    assert_eq!(token_of(&out), token_of(&from_env));
}

#[test]
fn agora_bad_input_is_one_line_exit_2() {
    let cases: &[(&str, &[&str])] = &[
        ("no user", &["agora", "rtc", "--channel", "c"]),
        (
            "uid and account",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--account",
                "a",
            ],
        ),
        ("no channel", &["agora", "rtc", "--uid", "1"]),
        (
            "negative uid",
            &["agora", "rtc", "--channel", "c", "--uid", "-1"],
        ),
        (
            "uid over u32",
            &["agora", "rtc", "--channel", "c", "--uid", "4294967296"],
        ),
        (
            "bad role",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--role",
                "host",
            ],
        ),
        (
            "channel charset",
            &["agora", "rtc", "--channel", "a/b", "--uid", "1"],
        ),
        (
            "channel 64 bytes",
            &["agora", "rtc", "--channel", &"c".repeat(64), "--uid", "1"],
        ),
        (
            "empty account",
            &["agora", "rtc", "--channel", "c", "--account", ""],
        ),
        (
            "account 256 bytes",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--account",
                &"a".repeat(256),
            ],
        ),
        (
            "ttl 0",
            &["agora", "rtc", "--channel", "c", "--uid", "1", "--ttl", "0"],
        ),
        (
            "ttl over 24 h",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--ttl",
                "86401",
            ],
        ),
        (
            "privilege ttl over 24 h",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--privilege-ttl",
                "86401",
            ],
        ),
        (
            "ttl not a number",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--ttl",
                "1h",
            ],
        ),
        (
            "issued-at over u32",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--issued-at",
                "4294967296",
            ],
        ),
        (
            "salt not a number",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--salt",
                "x",
            ],
        ),
        (
            "rtc+rtm wildcard uid",
            &["agora", "rtc", "--channel", "c", "--uid", "0", "--with-rtm"],
        ),
        ("rtm empty user", &["agora", "rtm", "--user-id", ""]),
        (
            "rtm user 64 bytes",
            &["agora", "rtm", "--user-id", &"u".repeat(64)],
        ),
        ("chat neither", &["agora", "chat"]),
        ("chat both", &["agora", "chat", "--app", "--user-id", "u"]),
        ("no subcommand", &["agora"]),
        (
            "unknown flag",
            &["agora", "rtm", "--user-id", "u", "--bogus"],
        ),
        (
            "three of four privileges",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--join-ttl",
                "1",
                "--audio-ttl",
                "1",
                "--video-ttl",
                "1",
            ],
        ),
        (
            "explicit privileges with a role",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--role",
                "subscriber",
                "--join-ttl",
                "1",
                "--audio-ttl",
                "1",
                "--video-ttl",
                "1",
                "--data-ttl",
                "1",
            ],
        ),
        (
            "explicit privilege over 24 h",
            &[
                "agora",
                "rtc",
                "--channel",
                "c",
                "--uid",
                "1",
                "--join-ttl",
                "86401",
                "--audio-ttl",
                "1",
                "--video-ttl",
                "1",
                "--data-ttl",
                "1",
            ],
        ),
        (
            "bad app id",
            &["agora", "rtm", "--user-id", "u", "--app-id", "xyz"],
        ),
        (
            "bad certificate",
            &["agora", "rtm", "--user-id", "u", "--app-certificate", "zz"],
        ),
    ];
    for (name, args) in cases {
        let out = run_agora(args);
        assert_usage_error(&out, name);
        assert!(!out.stderr.contains(CERT), "{name}: certificate echoed");
    }
    // Missing credentials.
    let out = run(&["agora", "rtm", "--user-id", "u"]);
    assert_usage_error(&out, "no credentials");
    assert!(
        out.stderr.contains("--app-id") || out.stderr.contains("app"),
        "{out:?}"
    );
}

#[test]
fn secrets_are_not_shown_in_help() {
    for args in [
        &["agora", "rtc", "--help"][..],
        &["livekit", "--help"],
        &["stream", "--help"],
    ] {
        let out = run_with(
            args,
            &[
                ("AGORA_APP_ID", APP_ID),
                ("AGORA_APP_CERTIFICATE", CERT),
                ("LIVEKIT_API_SECRET", "lk-secret-shown-nowhere"),
                ("STREAM_API_SECRET", "st-secret-shown-nowhere"),
            ],
            None,
        );
        assert_eq!(out.code, 0, "{out:?}");
        for secret in [CERT, "lk-secret-shown-nowhere", "st-secret-shown-nowhere"] {
            assert!(!out.stdout.contains(secret), "{args:?} shows a secret");
        }
    }
}

// ------------------------------------------------------------------ LiveKit

const LK_KEY: &str = "APIvectorKey01";
const LK_SECRET: &str = "lk-vector-secret-0123456789abcdef0123456789";

fn run_lk(args: &[&str]) -> Out {
    run_with(
        args,
        &[
            ("LIVEKIT_API_KEY", LK_KEY),
            ("LIVEKIT_API_SECRET", LK_SECRET),
        ],
        None,
    )
}

#[test]
fn livekit_json_has_every_grant() {
    let out = run_lk(&[
        "livekit",
        "--identity",
        "alice",
        "--room",
        "room-1",
        "--name",
        "Alice",
        "--metadata",
        "{\"a\":1}",
        "--attribute",
        "k=v",
        "--attribute",
        "x=y=z",
        "--sources",
        "camera,microphone",
        "--can-publish-data",
        "--no-subscribe",
        "--hidden",
        "--admin",
        "--create",
        "--ttl",
        "600",
        "--issued-at",
        "1700000000",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    let c = &j["claims"];
    assert_eq!(c["iss"], LK_KEY);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["nbf"], 1_700_000_000u64);
    assert_eq!(c["exp"], 1_700_000_600u64);
    assert_eq!(c["name"], "Alice");
    assert_eq!(c["metadata"], "{\"a\":1}");
    assert_eq!(c["attributes"]["k"], "v");
    assert_eq!(c["attributes"]["x"], "y=z");
    let v = &c["video"];
    assert_eq!(v["roomJoin"], true);
    assert_eq!(v["room"], "room-1");
    assert_eq!(
        v["canPublishSources"],
        serde_json::json!(["camera", "microphone"])
    );
    assert_eq!(v["canPublishData"], true);
    assert_eq!(v["canSubscribe"], false);
    assert_eq!(v["hidden"], true);
    assert_eq!(v["roomAdmin"], true);
    assert_eq!(v["roomCreate"], true);
    assert_eq!(j["expires_at"]["utc"], "2023-11-14T22:23:20Z");
    assert!(!out.stdout.contains(LK_SECRET));
    // Reproducible with --issued-at.
    let a = run_lk(&[
        "livekit",
        "--identity",
        "a",
        "--room",
        "r",
        "--issued-at",
        "1700000000",
    ]);
    let b = run_lk(&[
        "livekit",
        "--identity",
        "a",
        "--room",
        "r",
        "--issued-at",
        "1700000000",
    ]);
    assert_eq!(token_of(&a), token_of(&b));
}

#[test]
fn livekit_no_publish_and_defaults() {
    let j = run_lk(&[
        "livekit",
        "--identity",
        "bob",
        "--room",
        "r",
        "--no-publish",
        "--json",
    ])
    .json();
    assert_eq!(j["claims"]["video"]["canPublish"], false);
    let exp = j["claims"]["exp"].as_u64().unwrap();
    let nbf = j["claims"]["nbf"].as_u64().unwrap();
    assert_eq!(exp - nbf, 21_600, "LiveKit's default ttl is 6 h");
    let plain = run_lk(&["livekit", "--identity", "bob", "--room", "r", "--json"]).json();
    assert!(
        plain["claims"]["video"].get("canPublish").is_none(),
        "unset flags are omitted"
    );
}

#[test]
fn livekit_bad_input_is_one_line_exit_2() {
    let cases: &[(&str, &[&str])] = &[
        ("no identity", &["livekit", "--room", "r"]),
        ("no room", &["livekit", "--identity", "a"]),
        (
            "empty identity",
            &["livekit", "--identity", "", "--room", "r"],
        ),
        ("empty room", &["livekit", "--identity", "a", "--room", ""]),
        (
            "bad source",
            &[
                "livekit",
                "--identity",
                "a",
                "--room",
                "r",
                "--sources",
                "camera,radio",
            ],
        ),
        (
            "publish both ways",
            &[
                "livekit",
                "--identity",
                "a",
                "--room",
                "r",
                "--can-publish",
                "--no-publish",
            ],
        ),
        (
            "attribute without =",
            &[
                "livekit",
                "--identity",
                "a",
                "--room",
                "r",
                "--attribute",
                "novalue",
            ],
        ),
        (
            "duplicate attribute",
            &[
                "livekit",
                "--identity",
                "a",
                "--room",
                "r",
                "--attribute",
                "k=1",
                "--attribute",
                "k=2",
            ],
        ),
        (
            "identity over 256 bytes",
            &["livekit", "--identity", &"i".repeat(257), "--room", "r"],
        ),
        (
            "ttl 0",
            &["livekit", "--identity", "a", "--room", "r", "--ttl", "0"],
        ),
    ];
    for (name, args) in cases {
        let out = run_lk(args);
        assert_usage_error(&out, name);
        assert!(!out.stderr.contains(LK_SECRET), "{name}: secret echoed");
    }
    assert_usage_error(
        &run(&["livekit", "--identity", "a", "--room", "r"]),
        "no credentials",
    );
}

// ------------------------------------------------------------------ Stream

const ST_SECRET: &str = "stream-vector-secret-0123456789abcdef0123";

fn run_st(args: &[&str]) -> Out {
    run_with(
        args,
        &[
            ("STREAM_API_KEY", "streamvectorkey"),
            ("STREAM_API_SECRET", ST_SECRET),
        ],
        None,
    )
}

#[test]
fn stream_chat_and_video_tokens() {
    let out = run_st(&[
        "stream",
        "--user-id",
        "john",
        "--ttl",
        "600",
        "--issued-at",
        "1700000000",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["claims"]["user_id"], "john");
    assert_eq!(j["claims"]["exp"], 1_700_000_600u64);
    let iat = j["claims"]["iat"].as_u64().unwrap();
    assert!(
        (1_700_000_000 - 60..=1_700_000_000).contains(&iat),
        "iat backdated at most a minute: {iat}"
    );
    assert_eq!(j["token_type"], "user");
    assert_eq!(j["api_key"], "streamvectorkey");
    assert!(!out.stdout.contains(ST_SECRET));

    let v = run_st(&[
        "stream",
        "--user-id",
        "jane",
        "--call-cid",
        "default:a",
        "--call-cid",
        "livestream:b",
        "--role",
        "admin",
        "--issued-at",
        "1700000000",
        "--json",
    ])
    .json();
    assert_eq!(v["token_type"], "video");
    assert_eq!(
        v["claims"]["call_cids"],
        serde_json::json!(["default:a", "livestream:b"])
    );
    assert_eq!(v["claims"]["role"], "admin");
    assert_eq!(v["claims"]["exp"], 1_700_003_600u64);

    let a = run_st(&["stream", "--user-id", "u", "--issued-at", "1700000000"]);
    let b = run_st(&["stream", "--user-id", "u", "--issued-at", "1700000000"]);
    assert_eq!(token_of(&a), token_of(&b));
}

#[test]
fn stream_bad_input_is_one_line_exit_2() {
    let cases: &[(&str, &[&str])] = &[
        ("no user", &["stream"]),
        ("empty user", &["stream", "--user-id", ""]),
        (
            "ttl not a number",
            &["stream", "--user-id", "u", "--ttl", "soon"],
        ),
        ("ttl 0", &["stream", "--user-id", "u", "--ttl", "0"]),
        (
            "empty call cid",
            &["stream", "--user-id", "u", "--call-cid", ""],
        ),
    ];
    for (name, args) in cases {
        let out = run_st(args);
        assert_usage_error(&out, name);
        assert!(!out.stderr.contains(ST_SECRET), "{name}: secret echoed");
    }
    assert_usage_error(&run(&["stream", "--user-id", "u"]), "no credentials");
}
