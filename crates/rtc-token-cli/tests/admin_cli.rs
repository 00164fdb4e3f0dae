//! `rtc-token admin` end to end: the real binary against `moto_server`'s DynamoDB (the shared
//! launcher of token-service's tests).

#[path = "../../token-service/tests/common/moto.rs"]
#[allow(dead_code)]
mod moto;

use std::process::Command;

/// Runs `rtc-token admin ARGS`; returns (exit code, stdout JSON or Null, stderr).
fn admin(endpoint: &str, table: Option<&str>, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtc-token"));
    cmd.arg("admin")
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("ACCESS_TABLE");
    if let Some(t) = table {
        cmd.env("ACCESS_TABLE", t);
    }
    let out = cmd.output().expect("run rtc-token");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn admin_commands_write_and_read_the_table() {
    let m = moto::Moto::start();
    let ep = m.endpoint.as_str();
    let t = Some("rtc-access");
    let run = |args: &[&str]| admin(ep, t, args);

    assert_eq!(run(&["table", "create"]).0, 0);
    let room = ["--provider", "livekit", "--room", "tour-7"];
    let (code, json, err) = run(&[
        &["room", "create"][..],
        &room[..],
        &["--owner", "guide", "--roles", "guide,listener"][..],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["created"]["status"], "scheduled");
    // Creating it again fails (exit 1), without touching the existing room.
    let (code, _, err) = run(&[&["room", "create"][..], &room, &["--owner", "x"][..]].concat());
    assert_eq!(code, 1);
    assert!(err.contains("exists"), "{err}");

    assert_eq!(run(&[&["room", "start"][..], &room[..]].concat()).0, 0);
    let (_, shown, _) = run(&[&["room", "show"][..], &room[..]].concat());
    assert_eq!(shown["status"], "live");
    assert_eq!(shown["owner"], "guide");
    assert_eq!(shown["roles"], serde_json::json!(["guide", "listener"]));
    assert_eq!(run(&[&["room", "end"][..], &room[..]].concat()).0, 0);
    assert_eq!(
        run(&[&["room", "show"][..], &room[..]].concat()).1["status"],
        "ended"
    );
    assert_eq!(
        run(&["room", "start", "--provider", "livekit", "--room", "nope"]).0,
        1
    );

    let (code, json, err) = run(&[
        &["ban", "--subject", "troll", "--until", "4000000000"][..],
        &room[..],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["scope"]["room"], "tour-7");
    assert_eq!(run(&["ban", "--subject", "troll"]).1["scope"], "global");
    assert_eq!(
        run(&[&["unban", "--subject", "troll"][..], &room[..]].concat()).0,
        0
    );
    // A ban ending in the past is an input error.
    assert_eq!(run(&["ban", "--subject", "troll", "--until", "1"]).0, 2);

    let (code, q, _) = run(&["quota", "show", "--subject", "troll"]);
    assert_eq!(code, 0);
    assert_eq!(q["count"], 0);
    assert!(q["resets_in"].as_u64().unwrap() <= 60);

    // No table: usage error; an unknown provider: usage error.
    assert_eq!(admin(ep, None, &["quota", "show", "--subject", "x"]).0, 2);
    assert_eq!(
        run(&["room", "show", "--provider", "zoom", "--room", "r"]).0,
        2
    );
}
