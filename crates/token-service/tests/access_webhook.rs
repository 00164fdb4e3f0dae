//! The authorization webhook against a real hyper HTTP server on loopback that verifies the
//! `X-RTC-Signature` header itself.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpListener;

use token_service::access::{
    AccessChecker, AccessDecision, AccessError, AccessRequest, DenyCode, WebhookChecker,
    WebhookConfig,
};

const SECRET: &str = "test-webhook-secret-0123456789";
const NOW: u64 = 1_800_000_000;

/// What the test server does with a verified request: (status, body, delay).
type Behaviour = Arc<dyn Fn(&serde_json::Value) -> (u16, String, Duration) + Send + Sync>;

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    last: Arc<Mutex<Option<serde_json::Value>>>,
}

/// Verifies `t=<t>,v1=<hex>` = HMAC-SHA256(key, "<t>.<body>"), as an app's webhook would.
fn verify(key: &[u8], header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(sig) = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(v1.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok() && t.parse::<u64>() == Ok(NOW)
}

async fn serve(key: &'static str, behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/authz", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(None));
    let (h, l) = (hits.clone(), last.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (b, h, l) = (behaviour.clone(), h.clone(), l.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (b, h, l) = (b.clone(), h.clone(), l.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let sig = req
                            .headers()
                            .get("x-rtc-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let ct_ok = req
                            .headers()
                            .get("content-type")
                            .is_some_and(|v| v == "application/json");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let resp = |s: u16, text: String| {
                            Response::builder()
                                .status(StatusCode::from_u16(s).unwrap())
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(text)))
                                .unwrap()
                        };
                        if !ct_ok || !verify(key.as_bytes(), &sig, &body) {
                            return Ok::<_, Infallible>(resp(401, "{}".into()));
                        }
                        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        let (status, text, delay) = b(&json);
                        *l.lock().unwrap() = Some(json);
                        tokio::time::sleep(delay).await;
                        Ok(resp(status, text))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Server { url, hits, last }
}

fn fixed(status: u16, body: &'static str) -> Behaviour {
    Arc::new(move |_| (status, body.to_owned(), Duration::ZERO))
}

fn checker(url: &str, secret: &str, fail_open: bool, cache_seconds: u64) -> AccessChecker {
    let mut cfg = WebhookConfig::new(url, secret.as_bytes().to_vec());
    cfg.fail_open = fail_open;
    cfg.cache_seconds = cache_seconds;
    cfg.timeout = Duration::from_millis(300);
    AccessChecker::webhook(WebhookChecker::new(cfg).unwrap())
}

fn roles() -> Vec<String> {
    vec!["member".into(), "creator".into()]
}

fn req<'a>(roles: &'a [String], room: &'a str, role: &'a str) -> AccessRequest<'a> {
    AccessRequest::new("livekit", "user-1", Some(room), role, NOW)
        .publishing(true)
        .ttl(600)
        .caller(Some("https://issuer.example"), roles)
}

#[tokio::test]
async fn allow_sends_the_documented_body() {
    let s = serve(SECRET, fixed(200, r#"{"allow":true}"#)).await;
    let c = checker(&s.url, SECRET, false, 0);
    let r = roles();
    assert_eq!(
        c.check(&req(&r, "room-a", "host")).await.unwrap(),
        AccessDecision::ALLOW
    );
    let body = s.last.lock().unwrap().clone().unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "caller": {"subject": "user-1", "issuer": "https://issuer.example", "roles": ["member", "creator"]},
            "provider": "livekit",
            "request": {"room": "room-a", "role": "host", "ttl": 600}
        })
    );
}

#[tokio::test]
async fn deny_with_and_without_a_code() {
    let s = serve(
        SECRET,
        Arc::new(|b| {
            let code = if b["request"]["room"] == "stage" {
                r#"{"allow":false,"code":"room_not_live"}"#
            } else {
                r#"{"allow":false}"#
            };
            (200, code.to_owned(), Duration::ZERO)
        }),
    )
    .await;
    let c = checker(&s.url, SECRET, false, 0);
    let r = roles();
    assert_eq!(
        c.check(&req(&r, "stage", "host")).await.unwrap(),
        AccessDecision::Deny(DenyCode::RoomNotLive)
    );
    assert_eq!(
        c.check(&req(&r, "other", "host")).await.unwrap(),
        AccessDecision::Deny(DenyCode::Denied)
    );
}

#[tokio::test]
async fn narrowed_role_and_ttl() {
    let s = serve(
        SECRET,
        fixed(200, r#"{"allow":true,"role":"listener","ttl":120}"#),
    )
    .await;
    let c = checker(&s.url, SECRET, false, 0);
    let r = roles();
    assert_eq!(
        c.check(&req(&r, "tour", "host")).await.unwrap(),
        AccessDecision::Allow {
            role: Some("listener".into()),
            max_ttl: Some(120)
        }
    );
}

#[tokio::test]
async fn a_bad_signature_is_rejected_by_the_server_and_denied_even_when_failing_open() {
    let s = serve(SECRET, fixed(200, r#"{"allow":true}"#)).await;
    let r = roles();
    // Signed with the wrong key: the server answers 401.
    for fail_open in [false, true] {
        let c = checker(&s.url, "a-different-secret-987654321", fail_open, 5);
        assert_eq!(
            c.check(&req(&r, "room-a", "host")).await.unwrap(),
            AccessDecision::Deny(DenyCode::Denied)
        );
    }
    assert!(
        s.last.lock().unwrap().is_none(),
        "the server never accepted a request"
    );
    // The right key passes the same server.
    let c = checker(&s.url, SECRET, false, 5);
    assert_eq!(
        c.check(&req(&r, "room-a", "host")).await.unwrap(),
        AccessDecision::ALLOW
    );
}

#[tokio::test]
async fn timeout_and_5xx_fail_closed_then_open_when_configured() {
    let slow = serve(
        SECRET,
        Arc::new(|_| (200, r#"{"allow":true}"#.to_owned(), Duration::from_secs(3))),
    )
    .await;
    let broken = serve(SECRET, fixed(502, "{}")).await;
    let garbage = serve(SECRET, fixed(200, "<html>")).await;
    let r = roles();
    for s in [&slow, &broken, &garbage] {
        let closed = checker(&s.url, SECRET, false, 5);
        let t = std::time::Instant::now();
        let err = closed.check(&req(&r, "room-a", "host")).await.unwrap_err();
        assert!(matches!(err, AccessError::Webhook(_)), "{err:?}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "the timeout bounds the wait"
        );
        let open = checker(&s.url, SECRET, true, 5);
        assert_eq!(
            open.check(&req(&r, "room-a", "host")).await.unwrap(),
            AccessDecision::ALLOW
        );
    }
    // Failures are not cached: the fail-closed and the fail-open check each called the server.
    assert_eq!(broken.hits.load(Ordering::SeqCst), 2);
    // Nothing listening at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = checker(&format!("http://127.0.0.1:{port}/x"), SECRET, false, 5);
    assert!(c.check(&req(&r, "room-a", "host")).await.is_err());
}

#[tokio::test]
async fn answers_are_cached_per_caller_room_and_role_for_a_few_seconds() {
    let s = serve(SECRET, fixed(200, r#"{"allow":true,"ttl":300}"#)).await;
    let c = checker(&s.url, SECRET, false, 5);
    let r = roles();
    let want = AccessDecision::Allow {
        role: None,
        max_ttl: Some(300),
    };
    assert_eq!(c.check(&req(&r, "a", "host")).await.unwrap(), want);
    assert_eq!(c.check(&req(&r, "a", "host")).await.unwrap(), want);
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        1,
        "second check hit the cache"
    );
    // Another room or role is another entry.
    c.check(&req(&r, "b", "host")).await.unwrap();
    c.check(&req(&r, "a", "guest")).await.unwrap();
    assert_eq!(s.hits.load(Ordering::SeqCst), 3);
    // Within the window (now + 4) still cached; at now + 5 it expires.
    let at = |now| {
        AccessRequest::new("livekit", "user-1", Some("a"), "host", now)
            .caller(Some("https://issuer.example"), &r)
    };
    c.check(&at(NOW + 4)).await.unwrap();
    assert_eq!(s.hits.load(Ordering::SeqCst), 3);
    // (The server checks t == NOW, so the fresh call at NOW + 5 is refused: a 401 deny.)
    assert_eq!(
        c.check(&at(NOW + 5)).await.unwrap(),
        AccessDecision::Deny(DenyCode::Denied)
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn configuration_is_validated() {
    assert!(WebhookChecker::new(WebhookConfig::new("http://authz.example.com/x", SECRET)).is_err());
    assert!(
        WebhookChecker::new(WebhookConfig::new("https://authz.example.com/x", "short")).is_err()
    );
    let secrets = token_service::secrets::StaticSource::new()
        .with("authz", format!(r#"{{"secret":"{SECRET}"}}"#));
    let vars = |k: &str| match k {
        "AUTHZ_WEBHOOK_URL" => Some("https://authz.example.com/check".to_owned()),
        "AUTHZ_WEBHOOK_SECRET_ID" => Some("authz".to_owned()),
        "AUTHZ_WEBHOOK_TIMEOUT_MS" => Some("800".to_owned()),
        "AUTHZ_WEBHOOK_FAIL_OPEN" => Some("true".to_owned()),
        _ => None,
    };
    let cfg = WebhookConfig::from_env(&vars, &secrets).await.unwrap();
    assert_eq!(cfg.secret, SECRET.as_bytes());
    assert!(cfg.fail_open);
    assert_eq!(cfg.timeout, Duration::from_millis(800));
    assert_eq!(cfg.cache_seconds, 5);
    let missing = |k: &str| (k == "AUTHZ_WEBHOOK_URL").then(|| "https://a.example/x".to_owned());
    assert!(WebhookConfig::from_env(&missing, &secrets).await.is_err());
}
