//! Replays every `events/*.json` (the API Gateway HTTP API 2.0 events used with
//! `cargo lambda invoke --data-file`) through `lambda_http::request::from_str` and the real handler,
//! configured exactly as `events/README.md` tells `cargo lambda watch` (`events/events.env`, secrets
//! from `events/secrets.json`), and asserts the answer documented in `events/manifest.json`.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use rtc_signing::Secret;
use serde_json::Value;
use token_service::clock::{random_salt, ManualClock};
use token_service::config::Config;
use token_service::secrets::StaticSource;
use token_service::telemetry::{null_sink, Telemetry};
use token_service::{Provider, Service, ServiceParts};

fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn env_file() -> HashMap<String, String> {
    let text = std::fs::read_to_string(events_dir().join("events.env")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            // dotenv quoting, as `cargo lambda watch --env-file` reads it: 'value' or "value".
            let v = [('\'', '\''), ('"', '"')]
                .iter()
                .find_map(|(a, b)| v.strip_prefix(*a)?.strip_suffix(*b))
                .unwrap_or(v);
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

async fn service(provider: Provider, now: u64) -> Service {
    let env = env_file();
    let get = common::getter(env.clone());
    let config = Config::from_env(provider, &get).unwrap();
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("secrets.json")).unwrap())
            .unwrap();
    let mut source = StaticSource::new();
    for (id, v) in secrets.as_object().unwrap() {
        source = source.with(id.clone(), v.to_string());
    }
    Service::from_parts(ServiceParts {
        provider,
        auth: config.auth,
        source: Arc::new(source),
        secret_id: config.secret_id,
        auth_hs256_secret_id: None,
        auth_hs_secrets: vec![Secret::new(env["AUTH_HS256_SECRET"].clone())],
        secret_refresh_seconds: config.secret_refresh_seconds,
        policy: config.policy,
        access: token_service::access::AccessChecker::disabled(),
        clock: Arc::new(ManualClock::new(now)),
        salt: random_salt(),
        telemetry: Telemetry::new(
            "RtcTokens",
            format!("{}-token", provider.name()),
            null_sink(),
        ),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn every_event_answers_as_documented() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("manifest.json")).unwrap())
            .unwrap();
    let entries = manifest["events"].as_array().unwrap();
    // Every event file is in the manifest, and every manifest entry has its file.
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "manifest.json" && n != "secrets.json")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);

    let now = common::unix_now();
    let mut services = HashMap::new();
    for p in Provider::ALL {
        services.insert(p.name(), service(p, now).await);
    }
    for e in entries {
        let file = e["file"].as_str().unwrap();
        let text = std::fs::read_to_string(events_dir().join(file)).unwrap();
        let req =
            lambda_http::request::from_str(&text).unwrap_or_else(|err| panic!("{file}: {err}"));
        let svc = &services[e["function"].as_str().unwrap()];
        let a = common::call(svc, req).await;
        assert_eq!(
            a.status,
            e["status"].as_u64().unwrap() as u16,
            "{file}: {:?}",
            a.body
        );
        assert_eq!(a.headers["cache-control"], "no-store", "{file}");
        if let Some(code) = e["error"].as_str() {
            assert_eq!(a.code(), code, "{file}");
        }
        if let Some(expected) = e["body"].as_object() {
            for (k, v) in expected {
                assert_eq!(&a.body[k], v, "{file}: field {k}");
            }
            let token = a
                .body
                .get("token")
                .or_else(|| a.body.get("participant_token"));
            assert!(
                token.and_then(Value::as_str).is_some_and(|t| t.len() > 20),
                "{file}: a token"
            );
        }
        if let Some(ttl) = e["ttl"].as_u64() {
            assert_eq!(a.body["expiresAt"].as_u64().unwrap(), now + ttl, "{file}");
        }
    }
}
