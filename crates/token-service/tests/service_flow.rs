//! Whole flows with the real AWS SDK against moto_server and caller JWTs from a loopback JWKS:
//! secrets at INIT, rotation after the refresh interval, Secrets Manager down (503 + Retry-After, then
//! recovery), malformed secrets, every route end to end with the token verified, and no secret,
//! token or caller JWT in any log or metric line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use rtc_signing::agora::AccessToken2;
use serde_json::json;
use token_service::clock::ManualClock;
use token_service::{Provider, Service};

async fn init(
    provider: Provider,
    env: std::collections::HashMap<String, String>,
    moto: &Moto,
    clock: &ManualClock,
) -> Result<Service, token_service::InitError> {
    let get = getter(env);
    Service::from_env_with(provider, &get, moto.aws().await, Arc::new(clock.clone())).await
}

fn agora_body() -> serde_json::Value {
    json!({"type": "rtc", "channel": "live-alice", "role": "publisher", "ttl": 600})
}

#[tokio::test]
async fn secrets_load_at_init_rotate_survive_outage_and_recover() {
    let mut moto = Moto::start();
    moto.put_secret("caller-hs256", &json!({"secret": HS_SECRET}).to_string())
        .await;
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT))
        .await;
    let now = unix_now();
    let clock = ManualClock::new(now);
    let mut env = hs256_env(Provider::Agora);
    env.insert("SECRET_REFRESH_SECONDS".into(), "60".into());
    let svc = init(Provider::Agora, env.clone(), &moto, &clock)
        .await
        .unwrap();
    let jwt = hs256_jwt(&claims("alice", now, json!({})), HS_SECRET);

    // Loaded at INIT: the token verifies with the first certificate.
    let a = call(&svc, post("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let parsed = AccessToken2::parse(a.body["token"].as_str().unwrap()).unwrap();
    parsed.verify_with_certificate(AGORA_CERT).unwrap();
    assert_eq!(parsed.token.app_id, AGORA_APP_ID);
    assert_eq!(parsed.token.issued_at as u64, now);

    // Rotated: still the old one inside the interval, the new one after it.
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT_2))
        .await;
    clock.advance(30);
    let a = call(&svc, post("/agora/token", &jwt, &agora_body())).await;
    AccessToken2::parse(a.body["token"].as_str().unwrap())
        .unwrap()
        .verify_with_certificate(AGORA_CERT)
        .unwrap();
    clock.advance(31);
    let a = call(&svc, post("/agora/token", &jwt, &agora_body())).await;
    let parsed = AccessToken2::parse(a.body["token"].as_str().unwrap()).unwrap();
    parsed.verify_with_certificate(AGORA_CERT_2).unwrap();
    assert!(parsed.verify_with_certificate(AGORA_CERT).is_err());

    // Secrets Manager down: a due re-read fails and the old value keeps serving.
    moto.stop();
    clock.advance(61);
    let a = call(&svc, post("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    // A fresh INIT with Secrets Manager down still starts, answers 503 + Retry-After...
    let svc2 = init(Provider::Agora, env.clone(), &moto, &clock)
        .await
        .expect("INIT survives an unreachable store");
    let a = call(&svc2, post("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.code(), "service_unavailable");
    assert!(a.headers["retry-after"].parse::<u64>().unwrap() >= 1);
    // ...and recovers on the first request after the backoff pause (1 s) once it is back.
    moto.restart();
    moto.put_secret("caller-hs256", &json!({"secret": HS_SECRET}).to_string())
        .await;
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT))
        .await;
    clock.advance(1);
    let a = call(&svc2, post("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    // Malformed secret JSON: INIT stops with a message naming the secret and the field, not the value.
    moto.put_secret(
        "agora-secret",
        &format!("{{\"app_id\":\"{AGORA_APP_ID}\",\"app_certificate\":\"{AGORA_CERT}\""),
    )
    .await;
    let e = init(Provider::Agora, env.clone(), &moto, &clock)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("agora-secret") && e.contains("not JSON") && !e.contains(AGORA_CERT),
        "{e}"
    );
    moto.put_secret("agora-secret", &json!({"app_id": AGORA_APP_ID}).to_string())
        .await;
    let e = init(Provider::Agora, env.clone(), &moto, &clock)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("app_certificate") && e.contains("missing"),
        "{e}"
    );
    // A malformed rotation keeps the good value.
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT))
        .await;
    let svc3 = init(Provider::Agora, env, &moto, &clock).await.unwrap();
    moto.put_secret("agora-secret", "garbage").await;
    clock.advance(61);
    let a = call(&svc3, post("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 200);
    AccessToken2::parse(a.body["token"].as_str().unwrap())
        .unwrap()
        .verify_with_certificate(AGORA_CERT)
        .unwrap();
}

/// The harness's readiness check: a port counts as moto's only when moto itself answers on it, so a
/// test never talks to another listener that happens to hold the port, and a moto that cannot bind
/// is reported, not waited for.
#[test]
fn moto_is_ready_only_when_moto_itself_answers() {
    let moto = Moto::start();
    assert!(common::moto::moto_answers(moto.addr()));
    // Another listener on a port: it accepts the connection but is not moto.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = other.local_addr().unwrap();
    assert!(!common::moto::moto_answers(taken));
    // moto cannot bind a port another listener holds: the start fails instead of "succeeding".
    assert!(Moto::start_on(taken.port(), false).is_none());
    drop(other);
}

/// API Gateway's request id of the end-to-end test's requests.
const E2E_REQUEST_ID: &str = "req-e2e";

/// A JSON `POST` of the end-to-end test, with its own request id.
fn post_e2e(path: &str, jwt: &str, body: &serde_json::Value) -> lambda_http::Request {
    post_with_id(path, jwt, body, E2E_REQUEST_ID)
}

/// Captures every log line (tracing) written to it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn end_to_end_with_jwks_callers_and_clean_logs() {
    let logs = Capture::default();
    let l2 = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || l2.clone())
        .finish();
    // Global (not scoped): callsites first hit by the concurrent test would otherwise cache "no interest".
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only global subscriber of this binary");

    let moto = Moto::start();
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT))
        .await;
    moto.put_secret("livekit-secret", &livekit_secret()).await;
    moto.put_secret("stream-secret", &stream_secret()).await;
    let jwks = JwksServer::start().await;
    let now = unix_now();
    let clock = ManualClock::new(now);
    let policy = json!({
        "rooms": [
            {"pattern": "live-{sub}", "roles": ["*"]},
            {"pattern": "tour-*", "roles": ["guide"], "caller_roles": ["guide"]},
            {"pattern": "tour-*", "roles": ["listener"]},
            {"pattern": "default:{sub}-*", "roles": ["*"]}
        ],
        "role_map": [{"caller_role": "guide", "role": "guide"}],
        "default_role": "listener"
    })
    .to_string();
    let mut tokens = Vec::new();
    let mut jwts = Vec::new();

    // Agora.
    let mut env = jwks_env(Provider::Agora, &jwks.url);
    env.insert("POLICY_JSON".into(), policy.clone());
    let svc = init(Provider::Agora, env, &moto, &clock).await.unwrap();
    let jwt = rs256_jwt(&claims("alice", now, json!({})));
    let a = call(&svc, post_e2e("/agora/token", &jwt, &agora_body())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["account"], "alice");
    assert_eq!(a.body["expiresAt"].as_u64().unwrap(), now + 600);
    assert_eq!(a.body["refreshAfter"].as_u64().unwrap(), now + 480);
    let parsed = AccessToken2::parse(a.body["token"].as_str().unwrap()).unwrap();
    parsed.verify_with_certificate(AGORA_CERT).unwrap();
    let services = format!("{:?}", parsed.token.services);
    assert!(
        services.contains("live-alice") && services.contains("alice"),
        "{services}"
    );
    tokens.push(a.body["token"].as_str().unwrap().to_owned());
    jwts.push(jwt.clone());
    // Another's channel: subscriber only is not even allowed here (no rule) -> 403.
    let a = call(
        &svc,
        post_e2e(
            "/agora/token",
            &jwt,
            &json!({"channel": "live-bob", "role": "subscriber"}),
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (403, "room_not_allowed"));
    assert!(jwks.hits() >= 1);

    // LiveKit: a guide by claim gets the guide profile; a guest gets listener.
    let mut env = jwks_env(Provider::LiveKit, &jwks.url);
    env.insert("POLICY_JSON".into(), policy.clone());
    let svc = init(Provider::LiveKit, env, &moto, &clock).await.unwrap();
    let guide_jwt = rs256_jwt(&claims("gina", now, json!({"roles": ["guide"]})));
    let a = call(
        &svc,
        post_e2e(
            "/livekit/token",
            &guide_jwt,
            &json!({"room_name": "tour-1", "participant_name": "Gina"}),
        ),
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["server_url"], LIVEKIT_URL);
    let tok = a.body["participant_token"].as_str().unwrap().to_owned();
    let key = rtc_signing::livekit::LiveKitKey::new(LIVEKIT_KEY, LIVEKIT_SECRET).unwrap();
    let c = rtc_signing::livekit::verify(&tok, &key, now, 0).unwrap();
    assert_eq!(c.identity(), Some("gina"));
    assert_eq!(c.exp, now + 900);
    let v = c.grants.video.unwrap();
    assert!(v.room_join && v.room == "tour-1" && v.can_publish == Some(true));
    assert_eq!(v.can_publish_sources, vec!["microphone".to_owned()]);
    tokens.push(tok);
    jwts.push(guide_jwt);
    let guest_jwt = rs256_jwt(&claims("gus", now, json!({})));
    let a = call(
        &svc,
        post_e2e(
            "/livekit/token",
            &guest_jwt,
            &json!({"room_name": "tour-1"}),
        ),
    )
    .await;
    let c =
        rtc_signing::livekit::verify(a.body["participant_token"].as_str().unwrap(), &key, now, 0)
            .unwrap();
    let v = c.grants.video.unwrap();
    assert_eq!((v.can_publish, v.can_subscribe), (Some(false), Some(true)));
    let a = call(
        &svc,
        post_e2e(
            "/livekit/token",
            &guest_jwt,
            &json!({"room_name": "tour-1", "role": "guide"}),
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (403, "role_not_allowed"));

    // Stream video for the caller's own call.
    let mut env = jwks_env(Provider::Stream, &jwks.url);
    env.insert("POLICY_JSON".into(), policy);
    let svc = init(Provider::Stream, env, &moto, &clock).await.unwrap();
    let jwt = rs256_jwt(&claims("alice", now, json!({})));
    let a = call(
        &svc,
        post_e2e(
            "/stream/token",
            &jwt,
            &json!({"call_cids": ["default:alice-1"], "role": "admin"}),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["userId"], "alice");
    let tok = a.body["token"].as_str().unwrap().to_owned();
    let c = rtc_signing::stream::verify(&tok, &rtc_signing::Secret::new(STREAM_SECRET), now, 0)
        .unwrap();
    assert_eq!(c.user_id.as_deref(), Some("alice"));
    assert_eq!(c.call_cids, vec!["default:alice-1".to_owned()]);
    assert_eq!(c.role.as_deref(), Some("admin"));
    assert_eq!(c.exp, Some(now + 3600));
    tokens.push(tok);
    jwts.push(jwt);

    // No log line holds a secret, a minted token or a caller JWT; each request logged once.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The subscriber is global: the concurrent test's lines are there too, so count this test's
    // own request id (six requests above).
    let request_lines = text
        .lines()
        .filter(|l| {
            l.contains("\"request\"")
                && l.contains("latency_us")
                && l.contains(&format!("\"request_id\":\"{E2E_REQUEST_ID}\""))
        })
        .count();
    assert_eq!(request_lines, 6, "{request_lines} request lines:\n{text}");
    for needle in [AGORA_CERT, LIVEKIT_SECRET, STREAM_SECRET]
        .iter()
        .map(|s| s.to_string())
        .chain(tokens)
        .chain(jwts)
    {
        assert!(
            !text.contains(&needle),
            "a log line leaks {}...",
            &needle[..8]
        );
        // Nor a large part of it (e.g. a JWT's signature alone).
        let tail = &needle[needle.len() - 20..];
        assert!(!text.contains(tail));
    }
    assert!(text.contains("\"subject\":\"alice\"") && text.contains("\"outcome\":\"issued\""));
}
