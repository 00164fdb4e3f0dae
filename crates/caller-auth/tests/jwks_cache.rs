//! JWKS cache behaviour against a real server on 127.0.0.1, with a manual cache clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use caller_auth::{AuthErrorClass, Authenticator, ManualClock};
use common::*;
use serde_json::Value;

const ISS: &str = "https://issuer.example";

async fn setup(reply: Reply) -> (Arc<Authenticator>, Arc<ManualClock>, JwksServer) {
    let srv = JwksServer::start(reply).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let (auth, clock) = authenticator(cfg, &[]).await;
    (Arc::new(auth), clock, srv)
}

fn token(key: &TestKey) -> String {
    key.sign(&claims(ISS, None, "user-1"))
}

fn with_kid(key: &TestKey, kid: &str) -> String {
    let mut k = key.clone();
    k.kid = kid.to_string();
    k.sign(&claims(ISS, None, "user-1"))
}

async fn check(auth: &Authenticator, t: &str) -> Result<String, (AuthErrorClass, &'static str)> {
    auth.authenticate(Some(&bearer(t)), NOW)
        .await
        .map(|c| c.subject)
        .map_err(|e| (e.class(), e.reason()))
}

fn keys(ks: &[&TestKey]) -> Reply {
    Reply::ok(jwks_of(&ks.iter().map(|k| k.jwk()).collect::<Vec<Value>>()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_at_init_and_cached() {
    let k1 = TestKey::rsa1();
    let (auth, _clock, srv) = setup(keys(&[&k1])).await;
    assert_eq!(srv.jwks_hits(), 1, "fetched during new()");
    for _ in 0..20 {
        assert!(check(&auth, &token(&k1)).await.is_ok());
    }
    assert_eq!(srv.jwks_hits(), 1, "warm verifies do no I/O");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_new_kid_is_picked_up() {
    let k1 = TestKey::rsa1();
    let k2 = TestKey::rsa2();
    let (auth, clock, srv) = setup(keys(&[&k1])).await;
    srv.set_jwks(keys(&[&k1, &k2]));
    // Within the cooldown right after the start-up fetch: refused without a fetch.
    assert_eq!(
        check(&auth, &token(&k2)).await,
        Err((AuthErrorClass::InvalidToken, "unknown_kid"))
    );
    assert_eq!(srv.jwks_hits(), 1);
    clock.advance(31);
    assert_eq!(check(&auth, &token(&k2)).await, Ok("user-1".into()));
    assert_eq!(srv.jwks_hits(), 2);
    assert!(check(&auth, &token(&k1)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_storm_is_bounded() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(keys(&[&k1])).await;
    clock.advance(31);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let auth = auth.clone();
        let t = with_kid(&k1, &format!("random-{i}"));
        tasks.push(tokio::spawn(async move { check(&auth, &t).await }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            Err((AuthErrorClass::InvalidToken, "unknown_kid"))
        );
    }
    assert!(
        srv.jwks_hits() <= 2,
        "1 at start + at most 1 for the storm, got {}",
        srv.jwks_hits()
    );
    // A second storm inside the cooldown window causes no fetch at all.
    let before = srv.jwks_hits();
    clock.advance(10);
    for i in 0..100 {
        assert!(check(&auth, &with_kid(&k1, &format!("again-{i}")))
            .await
            .is_err());
    }
    assert_eq!(srv.jwks_hits(), before);
    // Valid callers were never affected.
    assert!(check(&auth, &token(&k1)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_after_success_keeps_valid_callers_working() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(keys(&[&k1])).await;
    srv.set_jwks(Reply {
        status: 500,
        ..Reply::ok("oops".into())
    });
    // Past the 10 min default TTL: refresh fails, stale keys still served (D8).
    clock.advance(11 * 60);
    assert_eq!(check(&auth, &token(&k1)).await, Ok("user-1".into()));
    assert_eq!(srv.jwks_hits(), 2);
    // Failed refreshes are throttled by the refetch interval.
    for _ in 0..10 {
        assert!(check(&auth, &token(&k1)).await.is_ok());
    }
    assert_eq!(srv.jwks_hits(), 2);
    // Up to 24 h after the last success.
    clock.advance(23 * 3600);
    assert!(check(&auth, &token(&k1)).await.is_ok());
    clock.advance(3600);
    assert_eq!(
        check(&auth, &token(&k1)).await,
        Err((AuthErrorClass::KeysUnavailable, "keys_unavailable"))
    );
    // Recovery.
    srv.set_jwks(keys(&[&k1]));
    clock.advance(31);
    assert!(check(&auth, &token(&k1)).await.is_ok());
    let stats = auth.jwks_stats().unwrap();
    assert!(stats.refresh_failures >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_outage_is_503_then_recovers() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(Reply {
        status: 503,
        ..Reply::ok(String::new())
    })
    .await;
    assert_eq!(
        check(&auth, &token(&k1)).await,
        Err((AuthErrorClass::KeysUnavailable, "keys_unavailable"))
    );
    srv.set_jwks(keys(&[&k1]));
    assert_eq!(
        check(&auth, &token(&k1)).await.unwrap_err().0,
        AuthErrorClass::KeysUnavailable,
        "throttled"
    );
    clock.advance(30);
    assert!(check(&auth, &token(&k1)).await.is_ok());
}

/// Keys that failed at INIT are retried with backoff (1 s, 2 s, 4 s ...), not once per request:
/// requests in between are told when to come back (503 + the seconds left), without a fetch; a
/// bad token is still 401 in that state when it can be told apart without keys (an HMAC token
/// here); and the keys are picked up by the same process once the endpoint answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_init_is_retried_with_backoff_and_503_until_keys_arrive() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(Reply {
        status: 500,
        ..Reply::ok(String::new())
    })
    .await;
    assert_eq!(srv.jwks_hits(), 1, "INIT tried once");
    let unavailable = |auth: Arc<Authenticator>| async move {
        let e = auth
            .authenticate(Some(&bearer(&token(&TestKey::rsa1()))), NOW)
            .await
            .unwrap_err();
        assert_eq!(e.class(), AuthErrorClass::KeysUnavailable, "{e}");
        assert_eq!(e.http_status(), 503);
        e.retry_after().expect("a retry time")
    };
    // Within the first second: no fetch, come back in 1 s, whatever the number of requests.
    for _ in 0..20 {
        assert_eq!(unavailable(auth.clone()).await, 1);
    }
    assert_eq!(srv.jwks_hits(), 1);
    // A token that is wrong whatever the keys are is still 401 in this state.
    let hs = TestKey::hs(HS_SECRET).with(jsonwebtoken::Algorithm::HS256, "");
    assert_eq!(
        check(&auth, &hs.sign(&claims(ISS, None, "user-1"))).await,
        Err((AuthErrorClass::InvalidToken, "bad_alg"))
    );
    assert_eq!(
        check(&auth, "not-a-jwt").await.unwrap_err().0,
        AuthErrorClass::InvalidToken
    );
    // The backoff doubles: the attempt at +1 s fails, the next is 2 s later, then 4 s.
    clock.advance(1);
    assert_eq!(unavailable(auth.clone()).await, 2);
    assert_eq!(srv.jwks_hits(), 2);
    clock.advance(1);
    assert_eq!(unavailable(auth.clone()).await, 1, "one second left");
    assert_eq!(srv.jwks_hits(), 2);
    clock.advance(1);
    assert_eq!(unavailable(auth.clone()).await, 4);
    assert_eq!(srv.jwks_hits(), 3);
    // The endpoint comes back: the next attempt (not a new cold start) picks the keys up.
    srv.set_jwks(keys(&[&k1]));
    clock.advance(3);
    assert_eq!(unavailable(auth.clone()).await, 1);
    assert_eq!(srv.jwks_hits(), 3);
    clock.advance(1);
    assert_eq!(check(&auth, &token(&k1)).await, Ok("user-1".into()));
    assert_eq!(srv.jwks_hits(), 4);
    // Then warm: no I/O, and a wrong signature is 401 again.
    assert_eq!(
        check(
            &auth,
            &TestKey::rsa_attacker().sign(&claims(ISS, None, "user-1"))
        )
        .await,
        Err((AuthErrorClass::InvalidToken, "bad_signature"))
    );
    assert_eq!(srv.jwks_hits(), 4);
}

#[test]
fn backoff_doubles_up_to_a_minute() {
    let steps: Vec<u64> = (1..=9).map(caller_auth::jwks::backoff_secs).collect();
    assert_eq!(steps, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
}

/// A request waits for a refetch at most `REQUEST_WAIT` (the fetch goes on as its own task); a
/// slow endpoint at INIT holds INIT at most `INIT_WAIT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_are_bounded_at_init_and_per_request() {
    let k1 = TestKey::rsa1();
    let srv = JwksServer::start(Reply {
        delay: Some(Duration::from_secs(30)),
        ..keys(&[&k1])
    })
    .await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let started = std::time::Instant::now();
    let (auth, clock) = authenticator(cfg, &[]).await;
    let init = started.elapsed();
    assert!(
        init <= caller_auth::jwks::INIT_WAIT + Duration::from_millis(500),
        "INIT took {init:?}"
    );
    clock.advance(3600);
    let started = std::time::Instant::now();
    let e = auth
        .authenticate(Some(&bearer(&token(&k1))), NOW)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.class(), AuthErrorClass::KeysUnavailable);
    assert!(
        took <= caller_auth::jwks::REQUEST_WAIT + Duration::from_millis(500),
        "the request waited {took:?}"
    );
}

/// A shared secret that is expected but not loaded yet (its store did not answer at INIT): HMAC
/// tokens are "cannot check now" (503) until it is set, then checked as usual.
#[tokio::test]
async fn awaited_shared_secret_is_unavailable_until_set() {
    let cfg = caller_auth::AuthConfig::hs256(ISS, None);
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = Authenticator::build(cfg, clock).unwrap();
    let good = TestKey::hs(HS_SECRET).with(jsonwebtoken::Algorithm::HS256, "");
    let t = good.sign(&claims(ISS, None, "user-1"));
    let e = auth.authenticate(Some(&bearer(&t)), NOW).await.unwrap_err();
    assert_eq!(e.class(), AuthErrorClass::KeysUnavailable, "{e}");
    assert_eq!(e.http_status(), 503);
    auth.set_shared_secrets([HS_SECRET]);
    assert_eq!(check(&auth, &t).await, Ok("user-1".into()));
    let wrong = TestKey::hs(HS_SECRET_2).with(jsonwebtoken::Algorithm::HS256, "");
    assert_eq!(
        check(&auth, &wrong.sign(&claims(ISS, None, "user-1"))).await,
        Err((AuthErrorClass::InvalidToken, "bad_signature"))
    );
    // A JWKS preset with a migration secret: awaited only when the caller says so.
    let srv = JwksServer::start(keys(&[&TestKey::rsa1()])).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let auth = Authenticator::build(cfg, Arc::new(ManualClock::new(NOW)))
        .unwrap()
        .awaiting_shared_secrets();
    auth.prefetch().await.unwrap();
    assert_eq!(
        check(&auth, &t).await.unwrap_err().0,
        AuthErrorClass::KeysUnavailable
    );
    assert_eq!(
        check(&auth, &token(&TestKey::rsa1())).await,
        Ok("user-1".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_key_stops_working_after_ttl_and_max_age_is_honoured() {
    let k1 = TestKey::rsa1();
    let k2 = TestKey::rsa2();
    let (auth, clock, srv) = setup(Reply {
        cache_control: Some("public, max-age=600".into()),
        ..keys(&[&k1, &k2])
    })
    .await;
    srv.set_jwks(keys(&[&k2]));
    clock.advance(599);
    assert!(check(&auth, &token(&k1)).await.is_ok(), "still fresh");
    assert_eq!(srv.jwks_hits(), 1);
    clock.advance(1);
    // D7: after the TTL the set is replaced; the revoked key is gone.
    assert_eq!(
        check(&auth, &token(&k1)).await,
        Err((AuthErrorClass::InvalidToken, "unknown_kid"))
    );
    assert_eq!(srv.jwks_hits(), 2);
    assert!(check(&auth, &token(&k2)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_is_clamped_to_five_minutes() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(Reply {
        cache_control: Some("max-age=5".into()),
        ..keys(&[&k1])
    })
    .await;
    clock.advance(299);
    assert!(check(&auth, &token(&k1)).await.is_ok());
    assert_eq!(srv.jwks_hits(), 1);
    clock.advance(1);
    assert!(check(&auth, &token(&k1)).await.is_ok());
    assert_eq!(srv.jwks_hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_endpoints_fail_fast_and_keep_old_keys() {
    let k1 = TestKey::rsa1();
    let (auth, clock, srv) = setup(keys(&[&k1])).await;
    let k2 = TestKey::rsa2();
    let huge_with_k2 = {
        let mut v: Vec<Value> = vec![k2.jwk()];
        v.extend((0..200).map(|i| {
            let mut j = TestKey::rsa1().jwk();
            j["kid"] = serde_json::json!(format!("pad-{i}"));
            j
        }));
        jwks_of(&v)
    };
    assert!(huge_with_k2.len() > 64 * 1024);
    let bad_replies = [
        Reply::ok(huge_with_k2), // F3: > 64 KiB
        Reply {
            status: 301,
            location: Some(format!("{}/other/jwks", srv.base())),
            ..Reply::ok(String::new())
        }, // F4
        Reply::ok("not json".into()),
        Reply {
            status: 404,
            ..keys(&[&k2])
        },
    ];
    for reply in bad_replies {
        srv.set_jwks(reply);
        clock.advance(31);
        assert_eq!(
            check(&auth, &token(&k2)).await,
            Err((AuthErrorClass::InvalidToken, "unknown_kid"))
        );
        assert!(check(&auth, &token(&k1)).await.is_ok());
    }
    // A slow endpoint is cut off by the 3 s timeout.
    srv.set_jwks(Reply {
        delay: Some(Duration::from_secs(10)),
        ..keys(&[&k2])
    });
    clock.advance(31);
    let started = std::time::Instant::now();
    assert!(check(&auth, &token(&k2)).await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(check(&auth, &token(&k1)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oct_keys_in_remote_set_are_ignored() {
    let k1 = TestKey::rsa1();
    let oct =
        serde_json::json!({"kty":"oct","kid":"hmac","k":b64(HS_SECRET.as_bytes()),"alg":"HS256"});
    let (auth, _clock, _srv) = setup(Reply::ok(jwks_of(&[k1.jwk(), oct]))).await;
    let forged = TestKey::hs(HS_SECRET).with(jsonwebtoken::Algorithm::HS256, "hmac");
    assert_eq!(
        check(&auth, &token(&forged)).await,
        Err((AuthErrorClass::InvalidToken, "bad_alg"))
    );
    assert_eq!(auth.jwks_stats().unwrap().keys, 1);
}

#[test]
fn plain_http_only_to_loopback() {
    let e = caller_auth::AuthConfig::jwks(ISS, "http://10.0.0.1/jwks").unwrap_err();
    assert!(e.to_string().contains("loopback"));
    assert!(caller_auth::AuthConfig::jwks(ISS, "http://127.0.0.1:8080/jwks").is_ok());
    assert!(caller_auth::AuthConfig::jwks(ISS, "https://idp.example/jwks").is_ok());
}
