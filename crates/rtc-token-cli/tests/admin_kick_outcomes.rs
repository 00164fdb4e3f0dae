//! `admin ban|unban --kick` against a fake of the providers' APIs on loopback (tests/kick_support):
//! every outcome — kicked, not connected, cleared, skipped, and failed on bad credentials, 429,
//! 5xx, a refused connection, a timeout, missing REST credentials or uid — with bounded retries,
//! the exit code, and no secret or token in any output (with `RUST_LOG=trace`).

mod kick_support;

use base64::Engine;
use kick_support::*;
use serde_json::json;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn the_fake_providers_drive_every_outcome() {
    let fake = Fake::start();
    let lk_url = fake.base.replace("http://", "ws://");
    let env = Env::start(&lk_url);
    let base = fake.base.clone();
    let mut outputs = String::new();
    let mut run = |args: &[&str], envs: &[(&str, &str)]| {
        let r = env.admin(args, envs);
        outputs.push_str(&r.stdout);
        outputs.push_str(&r.stderr);
        r
    };
    let lk = [("LIVEKIT_SECRET_ID", "lk")];
    let room = ["--provider", "livekit", "--room", "tour-7"];

    // Not connected: the participant is not in the room (Twirp not_found); exit 0; ban recorded.
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &lk,
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.record["banned"], json!("eve"));
    assert_eq!(r.result("livekit").0, "not_connected", "{r:?}");
    assert_eq!(
        r.providers.len(),
        1,
        "a room ban acts on its provider only: {r:?}"
    );

    // Kicked after two 503s (bounded retries: three attempts).
    fake.join("tour-7", "eve");
    fake.take_seen();
    fake.force(
        "/twirp/",
        2,
        503,
        json!({"code": "unavailable", "msg": "try again"}),
        0,
    );
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &lk,
    );
    assert_eq!(
        (r.code, r.result("livekit").0.as_str()),
        (0, "kicked"),
        "{r:?}"
    );
    assert_eq!(fake.take_seen().len(), 3);
    assert!(!fake.in_room("tour-7", "eve"));

    // Bad credentials: the LiveKit secret's api_secret is wrong -> 401, not retried, exit 1.
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &[("LIVEKIT_SECRET_ID", "lk-wrong")],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let (res, why) = r.result("livekit");
    assert_eq!(res, "failed");
    assert!(
        why.contains("HTTP 401") && why.contains("bad credentials"),
        "{why}"
    );
    assert_eq!(fake.take_seen().len(), 1, "4xx is not retried");
    assert_eq!(
        r.record["banned"],
        json!("eve"),
        "the ban is recorded regardless"
    );

    // 5xx on every attempt: failed after 3.
    fake.force(
        "/twirp/",
        3,
        500,
        json!({"code": "internal", "msg": "boom"}),
        0,
    );
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &lk,
    );
    assert_eq!(r.code, 1);
    let why = r.result("livekit").1;
    assert!(
        why.contains("HTTP 500") && why.contains("after retries") && why.contains("boom"),
        "{why}"
    );
    assert_eq!(fake.take_seen().len(), 3);

    // Stream: 429 on every attempt (Retry-After absent) -> failed after 3; then bad credentials.
    let st = [
        ("STREAM_SECRET_ID", "st"),
        ("STREAM_API_URL", base.as_str()),
    ];
    fake.force(
        "/users",
        3,
        429,
        json!({"code": 9, "message": "Too many requests", "StatusCode": 429}),
        0,
    );
    let r = run(&["ban", "--subject", "eve", "--kick"], &st);
    assert_eq!(r.code, 1);
    let (res, why) = r.result("stream");
    assert_eq!(res, "failed");
    assert!(
        why.contains("HTTP 429") && why.contains("rate limited"),
        "{why}"
    );
    assert_eq!(fake.take_seen().len(), 3);
    let r = run(
        &["ban", "--subject", "eve", "--kick"],
        &[
            ("STREAM_SECRET_ID", "st-wrong"),
            ("STREAM_API_URL", base.as_str()),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.result("stream").1.contains("HTTP 401"), "{r:?}");
    fake.take_seen();

    // Stream: a slow answer past --kick-timeout-ms on every attempt -> timed out.
    fake.force("/users", 3, 200, json!({"users": {}}), 1500);
    let r = run(
        &[
            "ban",
            "--subject",
            "eve",
            "--kick",
            "--kick-timeout-ms",
            "300",
        ],
        &st,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.result("stream"),
        ("failed".into(), "timed out (3 attempts)".into())
    );
    std::thread::sleep(std::time::Duration::from_millis(1600));
    fake.take_seen();

    // Agora: created rule (kicked), then unban deletes it (cleared).
    let ag = [("AGORA_SECRET_ID", "ag"), ("AGORA_API_URL", base.as_str())];
    let agroom = ["--provider", "agora", "--room", "ch-9"];
    let until = (now() + 3600).to_string();
    let r = run(
        &[
            &[
                "ban",
                "--subject",
                "eve",
                "--kick",
                "--agora-uid",
                "42",
                "--until",
                &until,
            ][..],
            &agroom,
        ]
        .concat(),
        &ag,
    );
    assert_eq!(
        (r.code, r.result("agora").0.as_str()),
        (0, "kicked"),
        "{r:?}"
    );
    assert!(r.result("agora").1.contains("60 min"), "{r:?}");
    let r = run(
        &[
            &["unban", "--subject", "eve", "--kick", "--agora-uid", "42"][..],
            &agroom,
        ]
        .concat(),
        &ag,
    );
    assert_eq!(
        (r.code, r.result("agora").0.as_str()),
        (0, "cleared"),
        "{r:?}"
    );
    assert!(r.result("agora").1.contains("1953"), "{r:?}");
    assert!(fake.state.lock().unwrap().agora_rules.is_empty());
    // The uid derived as the policy's uid_hash does.
    let r = run(
        &[
            &["ban", "--subject", "eve", "--kick", "--agora-uid-hash"][..],
            &agroom,
        ]
        .concat(),
        &ag,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let uid = token_service::policy::derive_uid("eve");
    assert!(fake
        .state
        .lock()
        .unwrap()
        .agora_rules
        .values()
        .any(|b| b["uid"] == json!(uid)));
    fake.take_seen();

    // Agora failures: wrong customer secret (401); no REST credentials; no uid; refused connection.
    let r = run(
        &[
            &["ban", "--subject", "eve", "--kick", "--agora-uid", "42"][..],
            &agroom,
        ]
        .concat(),
        &[
            ("AGORA_SECRET_ID", "ag-wrong"),
            ("AGORA_API_URL", base.as_str()),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.result("agora").1.contains("HTTP 401"), "{r:?}");
    let r = run(
        &[
            &["ban", "--subject", "eve", "--kick", "--agora-uid", "42"][..],
            &agroom,
        ]
        .concat(),
        &[
            ("AGORA_SECRET_ID", "ag-norest"),
            ("AGORA_API_URL", base.as_str()),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.result("agora").1.contains("customer_id"), "{r:?}");
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &agroom].concat(),
        &ag,
    );
    assert_eq!(r.code, 1);
    assert!(r.result("agora").1.contains("--agora-uid"), "{r:?}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let r = run(
        &[
            &["ban", "--subject", "eve", "--kick", "--agora-uid", "42"][..],
            &agroom,
        ]
        .concat(),
        &[
            ("AGORA_SECRET_ID", "ag"),
            ("AGORA_API_URL", closed.as_str()),
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.result("agora"),
        ("failed".into(), "connection failed (3 attempts)".into())
    );

    // A room ban whose provider has no secret id: failed; a global ban with none: all skipped, exit 0.
    let r = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &[],
    );
    assert_eq!(
        (r.code, r.result("livekit").0.as_str()),
        (1, "failed"),
        "{r:?}"
    );
    let r = run(&["ban", "--subject", "eve", "--kick"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.providers.len(), 3);
    assert!(
        r.providers.iter().all(|l| l["result"] == json!("skipped")),
        "{r:?}"
    );
    // Unban --kick at LiveKit: nothing to undo (skipped).
    let r = run(
        &[&["unban", "--subject", "eve", "--kick"][..], &room].concat(),
        &lk,
    );
    assert_eq!(
        (r.code, r.result("livekit").0.as_str()),
        (0, "skipped"),
        "{r:?}"
    );
    // A plain-http override off loopback is refused before anything is recorded (exit 2).
    let r = run(
        &["ban", "--subject", "zed", "--kick"],
        &[
            ("STREAM_SECRET_ID", "st"),
            ("STREAM_API_URL", "http://stream.example"),
        ],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty());
    // Without --kick nothing reaches a provider (the ban as before).
    fake.take_seen();
    let r = run(&[&["ban", "--subject", "eve"][..], &room].concat(), &lk);
    assert_eq!((r.code, r.providers.len()), (0, 0));
    assert!(fake.take_seen().is_empty());

    // No secret or token anywhere in what the CLI printed: the provider secrets, Agora's Basic
    // credential, and every Authorization value the fake received over the whole test.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{AG_CID}:{AG_CSECRET}"));
    let mut forbidden = vec![
        LK_SECRET.to_owned(),
        ST_SECRET.to_owned(),
        AG_CERT.to_owned(),
        AG_CSECRET.to_owned(),
        basic,
        "not-the-livekit-secret".to_owned(),
        "not-the-customer-secret".to_owned(),
    ];
    // The tokens and credentials of one more call of each kind, as the fake received them.
    fake.join("tour-7", "eve");
    let r1 = run(
        &[&["ban", "--subject", "eve", "--kick"][..], &room].concat(),
        &lk,
    );
    let r2 = run(&["ban", "--subject", "eve", "--kick"], &st);
    let r3 = run(
        &[
            &["ban", "--subject", "eve", "--kick", "--agora-uid", "42"][..],
            &agroom,
        ]
        .concat(),
        &ag,
    );
    assert_eq!(
        (r1.code, r2.code, r3.code),
        (0, 0, 0),
        "{r1:?} {r2:?} {r3:?}"
    );
    for s in fake.take_seen() {
        let a = &s.headers["authorization"];
        forbidden.push(a.clone());
        forbidden.push(
            a.trim_start_matches("Bearer ")
                .trim_start_matches("Basic ")
                .to_owned(),
        );
    }
    for f in &forbidden {
        assert!(
            !outputs.contains(f.as_str()),
            "output contains a secret or token: {f}"
        );
    }
    assert!(forbidden.len() > 7);
}
