//! INIT with every source a network round trip away (stand-ins answering after a delay, as Secrets
//! Manager and an identity provider do on AWS): the caller keys (OIDC discovery, then the JWKS), the
//! caller-auth shared secret, the provider secret and the policy secret are loaded at once, so INIT
//! takes about as long as the slowest chain, not the sum; and a source that fails delays nothing but
//! itself: the other callers are served while it is missing.

mod faults_support;

use std::sync::Arc;
use std::time::Duration;

use faults_support::*;
use serde_json::json;
use token_service::clock::ManualClock;
use token_service::Provider;

const P: Provider = Provider::Agora;
const POLICY: &str = r#"{"ttl": {"default": 600, "max": 3600}}"#;

/// Secrets Manager holding the caller secret, the provider secret and a policy, `sm_delay` away.
async fn secrets_manager(sm_delay: Duration) -> Arc<FaultServer> {
    let store = default_store();
    store.put("policy", POLICY);
    let sm = FaultServer::start(store.behaviour()).await;
    sm.set_delay(sm_delay);
    sm
}

/// An OIDC issuer on loopback: discovery at `/.well-known/openid-configuration` naming
/// `/jwks` on the same server, each answer `delay` late.
async fn oidc_issuer(delay: Duration) -> Arc<FaultServer> {
    let srv = FaultServer::start(fixed(Mode::Close)).await;
    let base = srv.url();
    let jwks = jwks_doc(1);
    srv.set(Arc::new(move |path, _, _| {
        if path.ends_with("/openid-configuration") {
            Mode::json(
                200,
                &json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}),
            )
        } else {
            Mode::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: jwks.clone(),
            }
        }
    }));
    srv.set_delay(delay);
    srv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_takes_the_slowest_chain_not_the_sum() {
    let sm_delay = Duration::from_millis(500);
    let idp_delay = Duration::from_millis(700);
    let sm = secrets_manager(sm_delay).await;
    let idp = oidc_issuer(idp_delay).await;
    let mut env = jwks_env(P, "http://127.0.0.1:9/unused");
    env.remove("AUTH_JWKS_URL");
    env.insert("AUTH_PROVIDER".into(), "oidc".into());
    env.insert("AUTH_ISSUER".into(), idp.url());
    env.insert("AUTH_HS256_SECRET_ID".into(), "caller-hs256".into());
    env.insert("POLICY_SECRET_ID".into(), "policy".into());
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &env, &sm.url(), &clock).await;
    let svc = svc.expect("INIT");

    // Chains: discovery + JWKS (2 x 700 ms); three secrets (500 ms each). One after the other they
    // would take 2.9 s; at once, the identity provider's chain.
    let slowest = idp_delay * 2;
    let sum = idp_delay * 2 + sm_delay * 3;
    assert!(
        took >= slowest,
        "INIT {took:?} shorter than the slowest chain?"
    );
    assert!(
        took < slowest + Duration::from_millis(600),
        "INIT took {took:?}: the slowest chain is {slowest:?}, the sum {sum:?}"
    );
    assert_eq!(sm.hits(), 3, "caller secret, provider secret, policy");
    assert_eq!(idp.hits(), 2, "discovery, JWKS");

    // Everything was loaded: the first request does no I/O at all.
    let a = call(
        &svc,
        request(P, &rs256_jwt_from(1, "alice", &idp.url()), &body_for(P)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let now = unix_now();
    let a = call(
        &svc,
        request(
            P,
            &hs256_jwt_from("bob", now, now + 600, &idp.url()),
            &body_for(P),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.elapsed < sm_delay, "a warm request took {:?}", a.elapsed);
    assert_eq!((sm.hits(), idp.hits()), (3, 2));
}

/// The access checks' set-up reads the webhook's secret from Secrets Manager: beside the caller's
/// keys, not before them; and the checker it builds is the one requests go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_secret_is_read_beside_the_caller_keys() {
    let sm_delay = Duration::from_millis(500);
    let idp_delay = Duration::from_millis(700);
    let store = default_store();
    store.put(
        "authz",
        r#"{"secret": "faults-webhook-secret-faults-webhook-0"}"#,
    );
    let sm = FaultServer::start(store.behaviour()).await;
    sm.set_delay(sm_delay);
    let jwks = jwks_stand_in(idp_delay).await;
    let webhook = FaultServer::start(fixed(Mode::json(
        200,
        &json!({"allow": false, "code": "banned"}),
    )))
    .await;
    let mut env = jwks_env(P, &format!("{}/jwks", jwks.url()));
    env.insert(
        "AUTHZ_WEBHOOK_URL".into(),
        format!("{}/check", webhook.url()),
    );
    env.insert("AUTHZ_WEBHOOK_SECRET_ID".into(), "authz".into());
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &env, &sm.url(), &clock).await;
    let svc = svc.expect("INIT");

    // One after the other: the webhook secret (500 ms), then the JWKS (700 ms) = 1.2 s.
    assert!(took >= idp_delay, "INIT {took:?} shorter than the JWKS?");
    assert!(
        took < idp_delay + sm_delay - Duration::from_millis(100),
        "INIT took {took:?}: the JWKS takes {idp_delay:?}, the webhook secret before it {:?}",
        idp_delay + sm_delay
    );
    assert_eq!(sm.hits(), 2, "webhook secret, provider secret");
    assert_eq!(jwks.hits(), 1);

    // The webhook configured at INIT decides: it says no.
    let a = call(&svc, request(P, &rs256_jwt(1, "alice"), &body_for(P))).await;
    assert_error(&a, 403, "banned");
    assert_eq!(webhook.hits(), 1);
}

/// The caller-auth shared secret's store fails at INIT: HMAC callers get 503 + Retry-After (their
/// token may be fine) while JWKS callers are served, and once the store answers (the secret is
/// re-read on a request after its backoff pause) HMAC callers are served too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_delays_nothing_but_itself() {
    let store = default_store();
    let inner = store.behaviour();
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = failing.clone();
    let sm = FaultServer::start(Arc::new(move |path, headers, body| {
        let wants_caller_secret = String::from_utf8_lossy(body).contains("caller-hs256");
        if wants_caller_secret && f.load(std::sync::atomic::Ordering::SeqCst) {
            Mode::json(
                500,
                &json!({"__type": "InternalServiceError", "message": "down"}),
            )
        } else {
            inner(path, headers, body)
        }
    }))
    .await;
    let jwks = jwks_stand_in(Duration::ZERO).await;
    let mut env = jwks_env(P, &format!("{}/jwks", jwks.url()));
    env.insert("AUTH_HS256_SECRET_ID".into(), "caller-hs256".into());
    env.insert("SECRET_REFRESH_SECONDS".into(), "300".into());
    let clock = ManualClock::new(unix_now());
    let (svc, took) = init(P, &env, &sm.url(), &clock).await;
    let svc = svc.expect("an unavailable caller secret must not stop INIT");
    assert!(took < INIT_BUDGET, "INIT took {took:?}");

    let now = unix_now();
    let hmac = hs256_jwt("bob", now, now + 600);
    let a = call(&svc, request(P, &hmac, &body_for(P))).await;
    assert_error(&a, 503, "service_unavailable");
    let a = call(&svc, request(P, &rs256_jwt(1, "alice"), &body_for(P))).await;
    assert_eq!(a.status, 200, "JWKS callers are not held up: {}", a.body);
    // A wrong RS256 token is still 401.
    let a = call(&svc, request(P, &rs256_jwt(2, "mallory"), &body_for(P))).await;
    assert_error(&a, 401, "unauthorized");

    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(1); // the secret's first backoff pause after INIT's failure
    let a = call(&svc, request(P, &hmac, &body_for(P))).await;
    assert_eq!(a.status, 200, "once the store answers: {}", a.body);
}

/// The whole-request budget follows the invocation's deadline: with Lambda's deadline 500 ms away
/// and the JWKS refetch hanging, the request ends as a 503 + `Retry-After` well before it, not as a
/// Lambda timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_budget_follows_lambdas_deadline() {
    let sm = FaultServer::start(default_store().behaviour()).await;
    let jwks = jwks_stand_in(Duration::ZERO).await;
    let env = jwks_env(P, &format!("{}/jwks", jwks.url()));
    let clock = ManualClock::new(unix_now());
    let (svc, _) = init(P, &env, &sm.url(), &clock).await;
    let svc = svc.expect("INIT");
    let jwt = rs256_jwt(1, "alice");
    assert_eq!(call(&svc, request(P, &jwt, &body_for(P))).await.status, 200);

    // The set expires (default lifetime 10 min) and its endpoint now hangs: without the budget the
    // refetch would hold the request 1 s, then serve the old keys.
    jwks.set(fixed(Mode::Hang));
    clock.advance(601);
    let mut req = request(P, &jwt, &body_for(P));
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 500;
    req.extensions_mut()
        .insert(token_service::routes::Deadline(deadline));
    let a = call(&svc, req).await;
    assert_error(&a, 503, "service_unavailable");
    assert!(
        a.elapsed < Duration::from_millis(450),
        "answered after {:?}, Lambda's deadline was 500 ms away",
        a.elapsed
    );
}
