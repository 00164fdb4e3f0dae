//! A caller whose clock is skewed either side of the leeway (`AUTH_LEEWAY_SECONDS=30`): inside the
//! leeway the token is accepted, outside it is the uniform 401, in both directions (an `exp` just
//! past, an `iat`/`nbf` in the future).

mod faults_support;

use faults_support::*;
use token_service::clock::ManualClock;
use token_service::Provider;

const P: Provider = Provider::Agora;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skew_inside_the_leeway_is_accepted_outside_is_401() {
    let store = default_store();
    let sm = FaultServer::start(store.behaviour()).await;
    let now = unix_now();
    let clock = ManualClock::new(now);
    let (svc, _) = init(P, &hs256_env(P), &sm.url(), &clock).await;
    let svc = svc.expect("INIT");

    // (issued_at, expires_at, accepted): the caller's clock runs behind (token already expired
    // by our clock) or ahead (token not yet valid by our clock).
    let cases = [
        (now - 600, now - 10, true),  // expired 10 s ago: inside the 30 s leeway
        (now - 600, now - 29, true),  // expired 29 s ago: inside
        (now - 600, now - 31, false), // expired 31 s ago: outside
        (now - 600, now - 300, false),
        (now + 10, now + 600, true),  // issued 10 s in the future: inside
        (now + 29, now + 600, true),  // inside
        (now + 31, now + 600, false), // outside
        (now + 300, now + 900, false),
    ];
    for (iat, exp, accepted) in cases {
        let jwt = hs256_jwt("alice", iat, exp);
        let a = call(&svc, request(P, &jwt, &body_for(P))).await;
        if accepted {
            assert_eq!(
                a.status,
                200,
                "iat {} exp {}: {}",
                iat as i64 - now as i64,
                exp as i64 - now as i64,
                a.body
            );
        } else {
            assert_error(&a, 401, "unauthorized");
        }
    }
}
