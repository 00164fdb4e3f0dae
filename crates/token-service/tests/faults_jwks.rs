//! Fault injection on the caller's JWKS endpoint: down, slow past the timeout, garbage, a 10 MB
//! body, and rotating keys. While no usable key set is held, a caller cannot be checked: 503
//! `service_unavailable` with `Retry-After` (the token may be fine), while a token that is wrong
//! whatever the keys (an HMAC token with no shared secret configured) is still 401 — every answer
//! within the Lambda timeout. The keys are retried with backoff on the injected clock and picked up
//! by the same process (no new cold start) once the endpoint answers. No real-time sleeps: the tests
//! move the service's clock by the `Retry-After` they are given.

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

async fn setup(jwks: &FaultServer) -> (Service, ManualClock, Duration, FaultServerGuard) {
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let env = jwks_env(P, &format!("{}/.well-known/jwks.json", jwks.url()));
    let (svc, took) = init(P, &env, &sm.url(), &clock).await;
    (
        svc.expect("a failing JWKS endpoint must not stop INIT"),
        clock,
        took,
        FaultServerGuard(sm),
    )
}

/// Keeps the fake Secrets Manager alive for the test's duration.
struct FaultServerGuard(#[allow(dead_code)] std::sync::Arc<FaultServer>);

/// The `Retry-After` seconds of a 503.
fn retry_after(a: &Answer) -> u64 {
    a.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

/// While the keys are missing: 503 + Retry-After for a well-formed caller, 401 for a token that is
/// wrong whatever the keys are.
async fn assert_keys_missing(svc: &Service, jwt: &str) -> u64 {
    let a = call(svc, request(P, jwt, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");
    assert!(a.elapsed < LAMBDA_TIMEOUT, "took {:?}", a.elapsed);
    let now = unix_now();
    let hmac = hs256_jwt("alice", now, now + 600);
    assert_error(
        &call(svc, request(P, &hmac, &body_for(P))).await,
        401,
        "unauthorized",
    );
    assert_error(
        &call(svc, request(P, "not.a-jwt.at-all", &body_for(P))).await,
        401,
        "unauthorized",
    );
    retry_after(&a)
}

/// Calls, moving the clock by each 503's `Retry-After`, until the answer is 200; fails after
/// `tries` answers.
async fn until_ok(svc: &Service, clock: &ManualClock, jwt: &str, tries: usize) -> Answer {
    let mut a = call(svc, request(P, jwt, &body_for(P))).await;
    for _ in 0..tries {
        if a.status == 200 {
            break;
        }
        assert_error(&a, 503, "service_unavailable");
        clock.advance(retry_after(&a));
        a = call(svc, request(P, jwt, &body_for(P))).await;
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_is_503_with_retry_after_401_for_bad_tokens_then_200() {
    let jwks = FaultServer::down(fixed(jwks_ok(1))).await;
    let (svc, clock, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    assert_eq!(assert_keys_missing(&svc, &jwt).await, 1);
    // Requests inside the backoff do not fetch (the endpoint is not hammered once per request).
    jwks.restart().await;
    let hits = jwks.hits();
    for _ in 0..10 {
        assert_keys_missing(&svc, &jwt).await;
    }
    assert_eq!(jwks.hits(), hits);
    // Once the backoff has passed, the same process picks the keys up.
    let a = until_ok(&svc, &clock, &jwt, 3).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
    assert_eq!(jwks.hits(), hits + 1);
    assert_error(
        &call(&svc, request(P, &rs256_jwt(2, "alice"), &body_for(P))).await,
        401,
        "unauthorized",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_past_the_timeout_is_bounded_then_recovers() {
    let jwks = FaultServer::start(fixed(Mode::Hang)).await;
    let (svc, clock, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    clock.advance(1);
    // This request's attempt hangs: it waits at most the request's JWKS wait, not the client's
    // timeout, and answers 503.
    let started = Instant::now();
    assert_keys_missing(&svc, &jwt).await;
    assert!(
        started.elapsed() < LAMBDA_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );

    jwks.set(fixed(jwks_ok(1)));
    let a = until_ok(&svc, &clock, &jwt, 8).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_503_then_recovers() {
    for garbage in [
        b"<html>502 Bad Gateway</html>".to_vec(),
        b"{\"keys\": \"not a list\"}".to_vec(),
        vec![0xff, 0x00, 0xfe, 0x7b],
    ] {
        let jwks = FaultServer::start(fixed(Mode::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: garbage,
        }))
        .await;
        let (svc, clock, _, _sm) = setup(&jwks).await;
        let jwt = rs256_jwt(1, "alice");
        assert_keys_missing(&svc, &jwt).await;

        jwks.set(fixed(jwks_ok(1)));
        let a = until_ok(&svc, &clock, &jwt, 3).await;
        assert_eq!(a.status, 200, "after recovery: {}", a.body);
    }
}

/// A set whose only entry is unusable is a set without the caller's key: the token's `kid` is
/// unknown (401), and the next refetch (after the refetch interval) brings the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_keys_are_401_until_the_set_holds_the_key() {
    let jwks = FaultServer::start(fixed(Mode::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: b"{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"fault-key-1\", \"n\": \"!!\", \"e\": \"AQAB\"}]}".to_vec(),
    }))
    .await;
    let (svc, clock, _, _sm) = setup(&jwks).await;
    let jwt = rs256_jwt(1, "alice");
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");
    jwks.set(fixed(jwks_ok(1)));
    clock.advance(1);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_eq!(a.status, 200, "after the refetch: {}", a.body);
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
    let (svc, clock, took, _sm) = setup(&jwks).await;
    assert!(took < INIT_BUDGET, "INIT took {took:?}");
    let jwt = rs256_jwt(1, "alice");
    clock.advance(1);
    assert_keys_missing(&svc, &jwt).await;

    jwks.set(fixed(jwks_ok(1)));
    let a = until_ok(&svc, &clock, &jwt, 3).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_keys_are_picked_up_and_unknown_kids_cannot_force_fetches() {
    let jwks = FaultServer::start(fixed(jwks_ok(1))).await;
    let (svc, clock, _, _sm) = setup(&jwks).await;
    let old = rs256_jwt(1, "alice");
    let new = rs256_jwt(2, "alice");
    assert_eq!(call(&svc, request(P, &old, &body_for(P))).await.status, 200);

    // The issuer rotates: the JWKS now holds only key 2.
    jwks.set(fixed(jwks_ok(2)));
    // Within the refetch interval (1 s here) an unknown kid is refused without a fetch ...
    let a = call(&svc, request(P, &new, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");
    // ... after it, the set is refetched and the new key is known.
    clock.advance(1);
    let a = call(&svc, request(P, &new, &body_for(P))).await;
    assert_eq!(a.status, 200, "a token signed with the new key: {}", a.body);
    // The retired key is gone with the refetched set.
    let a = call(&svc, request(P, &old, &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");

    // A flood of tokens with unknown kids: at most one refetch per interval (1 s here); the
    // clock moves 1 s every 10 requests, so 50 requests may cause at most 5 fetches.
    let hits_before = jwks.hits();
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
        if i % 10 == 9 {
            clock.advance(1);
        }
    }
    let fetches = jwks.hits() - hits_before;
    assert!(
        fetches <= 5,
        "{fetches} JWKS fetches for 50 unknown kids over 5 s"
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
