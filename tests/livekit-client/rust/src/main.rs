//! Drives LiveKit's Rust client token source (`livekit_token_source::endpoint` with an
//! `Authorization` header, and its `.cached()` wrapper) against a running `rtc-token serve`.
//!
//! Usage: livekit-token-source-check URL CALLER_JWT
//! Prints one JSON object per line: {"check": name, "ok": bool, "why"?: text, "token"?: jwt}; the
//! tokens are verified by the official server SDKs in ../conformance.mjs.

use base64::Engine as _;
use livekit_token_source::{
    endpoint, TokenSourceConfigurable, TokenSourceError, TokenSourceFetchOptions,
};
use serde_json::{json, Value};

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn report(check: &str, result: Result<Option<String>, String>) {
    let line = match result {
        Ok(token) => json!({"check": check, "ok": true, "token": token}),
        Err(why) => json!({"check": check, "ok": false, "why": why}),
    };
    println!("{line}");
}

fn status(e: &TokenSourceError) -> Option<u16> {
    match e {
        TokenSourceError::Server { status, .. } => Some(*status),
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(jwt)) = (args.next(), args.next()) else {
        eprintln!("usage: livekit-token-source-check URL CALLER_JWT");
        std::process::exit(2);
    };
    let source = || endpoint(url.clone()).with_header("Authorization", format!("Bearer {jwt}"));

    let agent = TokenSourceFetchOptions::new()
        .with_room_name("tour-rome")
        .with_agent_name("guide-bot")
        .with_agent_metadata("{\"tour\":\"rome\"}");
    report(
        "rust: agent dispatch by name with metadata",
        match source().fetch(&agent).await {
            Ok(r) => {
                let p = payload(&r.participant_token);
                let a = &p["roomConfig"]["agents"];
                if p["video"]["room"] == "tour-rome"
                    && a[0]["agentName"] == "guide-bot"
                    && a[0]["metadata"] == "{\"tour\":\"rome\"}"
                {
                    Ok(Some(r.participant_token))
                } else {
                    Err(format!("claims {p}"))
                }
            }
            Err(e) => Err(e.to_string()),
        },
    );

    let outside = TokenSourceFetchOptions::new()
        .with_room_name("tour-rome")
        .with_agent_name("admin-bot");
    report(
        "rust: an agent outside the allow-list is a 403 Server error",
        match source().fetch(&outside).await {
            Err(e)
                if status(&e) == Some(403) && e.to_string().contains("room_config_not_allowed") =>
            {
                Ok(None)
            }
            other => Err(format!("{other:?}")),
        },
    );

    let fresh = TokenSourceFetchOptions::new().with_agent_name("guide-bot");
    let cached = source().cached();
    report(
        "rust: fresh room without a room name; the cached source reuses it, a new source gets another",
        async {
            let a = cached.fetch(&fresh).await.map_err(|e| e.to_string())?;
            let b = cached.fetch(&fresh).await.map_err(|e| e.to_string())?;
            let c = source().fetch(&fresh).await.map_err(|e| e.to_string())?;
            let room = |t: &str| payload(t)["video"]["room"].as_str().unwrap_or("").to_owned();
            let ra = room(&a.participant_token);
            if !ra.starts_with("session-alice-") || ra.len() != "session-alice-".len() + 24 {
                return Err(format!("room {ra:?}"));
            }
            if room(&b.participant_token) != ra || b.participant_token != a.participant_token {
                return Err("the cached source fetched again".to_owned());
            }
            if room(&c.participant_token) == ra {
                return Err("two sessions got the same room".to_owned());
            }
            if !a.has_valid_token() {
                return Err("nbf/exp not valid for the client".to_owned());
            }
            Ok(Some(a.participant_token))
        }
        .await,
    );

    let bad = endpoint(url.clone()).with_header("Authorization", "Bearer not-a-jwt");
    report(
        "rust: 401 surfaced as a Server error",
        match bad
            .fetch(&TokenSourceFetchOptions::new().with_room_name("tour-rome"))
            .await
        {
            Err(e) if status(&e) == Some(401) => Ok(None),
            other => Err(format!("{other:?}")),
        },
    );
}
