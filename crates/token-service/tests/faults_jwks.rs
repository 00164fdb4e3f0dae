//! Fault injection on the caller's JWKS endpoint: down, slow past the timeout, garbage, a 10 MB
//! body, and rotating keys. Caller auth answers the documented uniform 401 while it has no usable
//! key, within the Lambda timeout, and recovers once the endpoint does (the refetch interval is
//! set to 1 s for the test).

mod faults_support;

use std::time::{Duration, Instant};

use faults_support::*;
use token_service::clock::ManualClock;
use token_service::{Provider, Service};

const P: Provider = Provider::Agora;

fn jwks_ok(n: u8) -> Mode {
    Mode::Respond {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), "max-age=300".into()),
        ],
        body: jwks_doc(n),
    }
}

async fn setup(jwks: &FaultServer) -> (Service, Duration, FaultServerGuard) {
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let env = jwks_env(P, &format!("{}/.well-known/jwks.json", jwks.url()));
    let (svc, took) = init(P, &env, &sm.url(), &clock).await;
    (
        svc.expect("a failing JWKS endpoint must not stop INIT"),
        took,
        FaultServerGuard(sm),
    )
}

/// Keeps the fake Secrets Manager alive for the test's duration.
struct FaultServerGuard(#[allow(dead_code)] std::sync::Arc<FaultServer>);

/// Calls until the answer is 200 (the refetch interval must pass first); fails after `limit`.
async fn until_ok(svc: &Service, jwt: &str, limit: Duration) -> Answer {
    let started = Instant::now();
    loop {
        let a = call(svc, request(P, jwt, &body_for(P))).await;
        if a.status == 200 || started.elapsed() > limit {
            return a;
        }
        assert_error(&a, 401, "unauthorized");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_is_401_then_recovers() {
    let jwks = FaultServer::down(fixed(jwks_ok(1))).await;
    let (svc, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");

    jwks.restart().await;
    let a = until_ok(&svc, &jwt, Duration::from_secs(5)).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_past_the_timeout_is_bounded_then_recovers() {
    let jwks = FaultServer::start(fixed(Mode::Hang)).await;
    let (svc, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    tokio::time::sleep(Duration::from_millis(1100)).await; // let a refetch be allowed
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");
    assert!(a.elapsed < LAMBDA_TIMEOUT, "took {:?}", a.elapsed);

    jwks.set(fixed(jwks_ok(1)));
    let a = until_ok(&svc, &jwt, Duration::from_secs(8)).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_401_then_recovers() {
    for garbage in [
        b"<html>502 Bad Gateway</html>".to_vec(),
        b"{\"keys\": \"not a list\"}".to_vec(),
        b"{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"fault-key-1\", \"n\": \"!!\", \"e\": \"AQAB\"}]}".to_vec(),
        vec![0xff, 0x00, 0xfe, 0x7b],
    ] {
        let jwks = FaultServer::start(fixed(Mode::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: garbage,
        }))
        .await;
        let (svc, _, _sm) = setup(&jwks).await;
        let jwt = rs256_jwt(1, "alice");
        let a = call(&svc, request(P, &jwt, &body_for(P))).await;
        assert_error(&a, 401, "unauthorized");

        jwks.set(fixed(jwks_ok(1)));
        let a = until_ok(&svc, &jwt, Duration::from_secs(5)).await;
        assert_eq!(a.status, 200, "after recovery: {}", a.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabyte_body_is_refused_quickly_then_recovers() {
    let mut big = b"{\"keys\": [".to_vec();
    big.resize(10 * 1024 * 1024, b' ');
    let jwks = FaultServer::start(fixed(Mode::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: big,
    }))
    .await;
    let (svc, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");
    assert!(a.elapsed < LAMBDA_TIMEOUT, "took {:?}", a.elapsed);

    jwks.set(fixed(jwks_ok(1)));
    let a = until_ok(&svc, &jwt, Duration::from_secs(5)).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_keys_are_picked_up_and_unknown_kids_cannot_force_fetches() {
    let jwks = FaultServer::start(fixed(jwks_ok(1))).await;
    let (svc, _, _sm) = setup(&jwks).await;
    let old = rs256_jwt(1, "alice");
    let new = rs256_jwt(2, "alice");
    assert_eq!(call(&svc, request(P, &old, &body_for(P))).await.status, 200);

    // The issuer rotates: the JWKS now holds only key 2.
    jwks.set(fixed(jwks_ok(2)));
    let a = until_ok(&svc, &new, Duration::from_secs(5)).await;
    assert_eq!(a.status, 200, "a token signed with the new key: {}", a.body);
    // The retired key is gone with the refetched set.
    let a = call(&svc, request(P, &old, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");

    // A flood of tokens with unknown kids: at most one refetch per interval (1 s here).
    let hits_before = jwks.hits();
    let started = Instant::now();
    for i in 0..50 {
        let mut jwt = rs256_jwt(2, &format!("mallory-{i}"));
        // Re-sign is not needed: the kid lookup fails first. Swap the header for an unknown kid.
        let header = base64_url(&format!(
            "{{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"unknown-{i}\"}}"
        ));
        let rest = jwt.split_once('.').unwrap().1.to_owned();
        jwt = format!("{header}.{rest}");
        let a = call(&svc, request(P, &jwt, &body_for(P))).await;
        assert_error(&a, 401, "unauthorized");
    }
    let secs = started.elapsed().as_secs() + 2;
    let fetches = jwks.hits() - hits_before;
    assert!(
        fetches <= secs,
        "{fetches} JWKS fetches in ~{secs} s for 50 unknown kids"
    );
}

fn base64_url(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..(c.len() + 1) {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
