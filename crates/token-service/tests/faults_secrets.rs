//! Fault injection: Secrets Manager down, slow past the timeout, answering malformed JSON or
//! garbage, and rotating a secret under concurrent load. The real AWS SDK talks to a loopback fake
//! endpoint (`faults_support::FaultServer`) whose behaviour each test switches. Every case ends in
//! the documented status, within the Lambda timeout, without a panic, and recovers once the fault
//! clears.

mod faults_support;

use std::sync::Arc;

use faults_support::*;
use serde_json::json;
use token_service::clock::ManualClock;
use token_service::{InitError, Provider};

/// The provider of the generic cases (the rotation case uses Stream).
const P: Provider = Provider::Agora;

fn assert_minted(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("007")),
        "{}",
        a.body
    );
    assert_eq!(a.body["appId"], AGORA_APP_ID);
}

fn jwt_now(clock: &ManualClock) -> String {
    let _ = clock;
    let now = unix_now();
    hs256_jwt("alice", now, now + 3600)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_at_init_starts_anyway_answers_503_then_recovers() {
    let store = default_store();
    let sm = FaultServer::down(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("an unreachable Secrets Manager must not stop INIT");
    assert!(took < INIT_BUDGET, "INIT took {took:?}");

    let jwt = jwt_now(&clock);
    for _ in 0..2 {
        let a = call(&svc, request(P, &jwt, &body_for(P))).await;
        assert_error(&a, 503, "service_unavailable");
        assert!(a.elapsed < LAMBDA_TIMEOUT);
    }

    sm.restart().await;
    // The first pause after INIT's failure (1 s) is over: the next request tries again.
    clock.advance(1);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_minted(&a);
}

/// A store that fails at INIT is retried with backoff (1 s, 2 s, 4 s ... 60 s), not on every
/// request: in between, requests answer 503 + `Retry-After` at once without a call to the store,
/// even when the store is already back; the first request after the pause is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_at_init_is_retried_with_backoff_not_per_request() {
    let store = default_store();
    let sm = FaultServer::start(fixed(Mode::json(
        500,
        &json!({"__type": "InternalServiceError", "message": "down"}),
    )))
    .await;
    let clock = ManualClock::new(unix_now());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("a failing Secrets Manager must not stop INIT");
    let jwt = jwt_now(&clock);
    let at_init = sm.hits();
    assert!(at_init > 0, "INIT asked the store");

    let unavailable_at_once = |a: &Answer| {
        assert_error(a, 503, "service_unavailable");
        assert!(
            a.headers.contains_key(http::header::RETRY_AFTER),
            "{:?}",
            a.headers
        );
    };
    // Inside the first pause: no call to the store, however many requests.
    for _ in 0..5 {
        unavailable_at_once(&call(&svc, request(P, &jwt, &body_for(P))).await);
    }
    assert_eq!(
        sm.hits(),
        at_init,
        "requests inside the pause must not call the store"
    );

    // Pause over (1 s): one request tries, fails, and the next pause is 2 s.
    clock.advance(1);
    unavailable_at_once(&call(&svc, request(P, &jwt, &body_for(P))).await);
    let after_retry = sm.hits();
    assert!(after_retry > at_init, "the due retry calls the store");
    clock.advance(1);
    sm.set(store.behaviour());
    unavailable_at_once(&call(&svc, request(P, &jwt, &body_for(P))).await);
    assert_eq!(
        sm.hits(),
        after_retry,
        "1 s into the 2 s pause: no call, store up or not"
    );

    // The 2 s pause is over: served, and then served from the cache.
    clock.advance(1);
    assert_minted(&call(&svc, request(P, &jwt, &body_for(P))).await);
    let loaded = sm.hits();
    assert_minted(&call(&svc, request(P, &jwt, &body_for(P))).await);
    assert_eq!(sm.hits(), loaded);
}

/// A fake Secrets Manager over `store` whose answers for the ids in the returned set are 500s.
fn failing_ids(store: &SecretsStore) -> (Behaviour, Arc<std::sync::Mutex<Vec<String>>>) {
    let inner = store.behaviour();
    let failing = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let f = failing.clone();
    let behaviour: Behaviour = Arc::new(move |path, headers, body| {
        let req: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let id = req["SecretId"].as_str().unwrap_or_default();
        if f.lock().unwrap().iter().any(|x| x == id) {
            Mode::json(
                500,
                &json!({"__type": "InternalServiceError", "message": "down"}),
            )
        } else {
            inner(path, headers, body)
        }
    });
    (behaviour, failing)
}

fn retry_after(a: &Answer) -> u64 {
    assert_error(a, 503, "service_unavailable");
    a.headers[http::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// After a failed INIT, `Retry-After` is the time left until the secret's next attempt (the
/// backoff: 1, 2, 4 ... s after each failure), not a fixed figure: a client that waits exactly that
/// long arrives when the service tries again, and is served once the store is back. On the injected
/// clock, for the provider secret and for the caller-auth shared secret (HMAC callers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_the_time_left_until_the_next_attempt() {
    for id in [P.name(), "caller-hs256"] {
        let store = default_store();
        let (behaviour, failing) = failing_ids(&store);
        failing.lock().unwrap().push(id.to_owned());
        let sm = FaultServer::start(behaviour).await;
        let clock = ManualClock::new(unix_now());
        let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
        let svc = svc.expect("a failing secret must not stop INIT");
        let jwt = jwt_now(&clock);
        let ask = || call(&svc, request(P, &jwt, &body_for(P)));

        // INIT failed: the next attempt is 1 s away.
        assert_eq!(retry_after(&ask().await), 1, "{id}: right after INIT");
        // 1 s later the request tries, fails (2nd failure): 2 s to the next attempt.
        clock.advance(1);
        assert_eq!(retry_after(&ask().await), 2, "{id}: after the 2nd failure");
        clock.advance(1);
        assert_eq!(retry_after(&ask().await), 1, "{id}: 1 s into the 2 s pause");
        clock.advance(1);
        assert_eq!(retry_after(&ask().await), 4, "{id}: after the 3rd failure");
        clock.advance(3);
        // The store is back; the service does not call it before the pause ends, and says so.
        failing.lock().unwrap().clear();
        let wait = retry_after(&ask().await);
        assert_eq!(wait, 1, "{id}: 3 s into the 4 s pause");
        // A client that waited `Retry-After` is served.
        clock.advance(wait);
        assert_minted(&ask().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_beyond_the_timeout_is_bounded_then_recovers() {
    let store = default_store();
    let sm = FaultServer::start(fixed(Mode::Hang)).await;
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("a hanging Secrets Manager must not stop INIT");
    assert!(took < INIT_BUDGET, "INIT took {took:?}");

    let jwt = jwt_now(&clock);
    // After the first backoff pause (1 s) a request tries again, and the hang is bounded.
    clock.advance(1);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");
    assert!(a.elapsed < LAMBDA_TIMEOUT, "took {:?}", a.elapsed);

    sm.set(store.behaviour());
    clock.advance(2);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_when_every_secret_is_due_keeps_serving_within_the_timeout() {
    // Loaded fine at INIT; later every cached secret is due for its re-read while Secrets Manager
    // hangs. The old values must keep serving, and the request must still finish inside the
    // Lambda timeout (re-reads of several secrets must not add up past it).
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("INIT");
    let jwt = jwt_now(&clock);
    assert_minted(&call(&svc, request(P, &jwt, &body_for(P))).await);

    sm.set(fixed(Mode::Hang));
    clock.advance(301);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_eq!(
        a.status, 200,
        "a failed re-read keeps the old secret: {}",
        a.body
    );
    assert!(a.elapsed < LAMBDA_TIMEOUT, "took {:?}", a.elapsed);

    // Right after, nothing is due again (back-off): fast.
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_eq!(a.status, 200);
    assert!(a.elapsed.as_millis() < 500, "took {:?}", a.elapsed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_secret_json_stops_init_with_a_clear_error_naming_only_the_id() {
    let store = default_store();
    store.put(P.name(), "{\"app_id\": \"k\", \"app_certificate\": ");
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    assert!(took < INIT_BUDGET);
    let err = match svc {
        Ok(_) => panic!("a malformed secret must stop INIT"),
        Err(e) => e,
    };
    assert!(matches!(err, InitError::Secret(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(P.name()) && msg.contains("malformed"), "{msg}");
    assert!(
        !msg.contains("app_certificate\": "),
        "the message must not echo the secret: {msg}"
    );

    // A secret of the wrong shape (valid JSON, fields missing) is malformed too.
    store.put(P.name(), &json!({"appId": "k"}).to_string());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    assert!(matches!(svc, Err(InitError::Secret(_))));

    // Fixed secret: INIT succeeds.
    store.put(P.name(), &agora_secret());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("INIT with a good secret");
    assert_minted(&call(&svc, request(P, &jwt_now(&clock), &body_for(P))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_secret_on_reread_keeps_the_old_value() {
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("INIT");
    let jwt = jwt_now(&clock);

    let before = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_minted(&before);
    store.put(P.name(), "not json at all");
    clock.advance(301);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_minted(&a);
    assert_eq!(
        a.body["appId"], before.body["appId"],
        "the old secret keeps serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_5xx_answers_are_503_then_recover() {
    let store = default_store();
    let sm = FaultServer::start(fixed(Mode::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<html>proxy error</html>".to_vec(),
    }))
    .await;
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    assert!(took < INIT_BUDGET);
    let svc = match svc {
        Ok(s) => s,
        // A garbage 200 may also be judged a deployment error; then INIT must say so clearly.
        Err(e) => panic!(
            "garbage from Secrets Manager should be 'unavailable' (retry), got INIT error: {e}"
        ),
    };
    let jwt = jwt_now(&clock);
    // Each step waits out the backoff pause (1, 2, 4, 8 s) so that its request calls the store.
    clock.advance(1);
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");

    clock.advance(2);
    sm.set(fixed(Mode::json(
        500,
        &json!({"__type": "InternalServiceError", "message": "boom"}),
    )));
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");

    clock.advance(4);
    sm.set(fixed(Mode::Close));
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");

    clock.advance(8);
    sm.set(store.behaviour());
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert_eq!(a.status, 200, "after recovery: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_mid_load_switches_secrets_without_a_single_error() {
    // Stream: its token is an HS256 JWT of the API secret, so each token shows which secret signed it.
    const P: Provider = Provider::Stream;
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let clock = ManualClock::new(unix_now());
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = Arc::new(svc.expect("INIT"));
    let jwt = jwt_now(&clock);

    // 8 concurrent clients x 60 requests; the secret rotates (A -> B) after the first third.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        let jwt = jwt.clone();
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for _ in 0..60 {
                let a = call(&svc, request(P, &jwt, &body_for(P))).await;
                assert_eq!(a.status, 200, "{}", a.body);
                tokens.push(a.body["token"].as_str().unwrap().to_owned());
                tokio::task::yield_now().await;
            }
            tokens
        }));
        if tasks.len() == 3 {
            store.put(P.name(), &stream_secret(STREAM_SECRET_B));
            clock.advance(301);
        }
    }
    let mut with_a = 0;
    let mut with_b = 0;
    for t in tasks {
        for token in t.await.expect("no client task panicked") {
            match (
                stream_token_user(&token, STREAM_SECRET_A),
                stream_token_user(&token, STREAM_SECRET_B),
            ) {
                (Some(_), None) => with_a += 1,
                (None, Some(_)) => with_b += 1,
                other => panic!("token verifies with neither or both secrets: {other:?}"),
            }
        }
    }
    assert_eq!(with_a + with_b, 480);
    assert!(with_b > 0, "the rotated secret was never picked up");
    // After the rotation, every new token uses B.
    let a = call(&svc, request(P, &jwt, &body_for(P))).await;
    assert!(stream_token_user(a.body["token"].as_str().unwrap(), STREAM_SECRET_B).is_some());
}
