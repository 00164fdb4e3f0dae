//! INIT exactly as a Lambda function's `main` runs it: `Service::from_env` reading the process
//! environment, on a current-thread runtime (`#[tokio::main(flavor = "current_thread")]` in each
//! function), with the AWS SDK's configuration loaded on a blocking thread (`Aws::start_from_env`)
//! while the caller's keys are fetched. Secrets Manager and the JWKS are stand-ins answering late,
//! as they do on AWS.
//!
//! One test in its own binary: it sets the process environment, which no other test may share.

mod faults_support;

use std::time::{Duration, Instant};

use faults_support::*;
use token_service::{Provider, Service};

const P: Provider = Provider::Agora;

#[tokio::test(flavor = "current_thread")]
async fn lambda_init_loads_the_sdk_beside_the_caller_keys() {
    let sm_delay = Duration::from_millis(400);
    let idp_delay = Duration::from_millis(600);
    let sm = FaultServer::start(default_store().behaviour()).await;
    sm.set_delay(sm_delay);
    let jwks = jwks_stand_in(idp_delay).await;

    let mut env = jwks_env(P, &format!("{}/jwks", jwks.url()));
    env.insert("AWS_ENDPOINT_URL".into(), sm.url());
    env.insert("AWS_REGION".into(), "us-east-1".into());
    env.insert("AWS_ACCESS_KEY_ID".into(), "test".into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "test".into());
    // No profile files or instance metadata: only what the environment says, as on Lambda.
    env.insert("AWS_CONFIG_FILE".into(), "/nonexistent".into());
    env.insert("AWS_SHARED_CREDENTIALS_FILE".into(), "/nonexistent".into());
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    for (k, v) in &env {
        std::env::set_var(k, v);
    }

    let started = Instant::now();
    let svc = tokio::time::timeout(INIT_BUDGET, Service::from_env(P))
        .await
        .expect("INIT hung past Lambda's INIT budget")
        .expect("INIT");
    let took = started.elapsed();

    // The provider secret (through the SDK loaded on the blocking thread) and the JWKS were read
    // at once: INIT is the slower of the two, not their sum.
    assert_eq!(sm.hits(), 1, "the provider secret, once");
    assert_eq!(jwks.hits(), 1, "the JWKS, once");
    assert!(took >= idp_delay, "INIT {took:?} shorter than the JWKS?");
    assert!(
        took < idp_delay + sm_delay,
        "INIT took {took:?}: the JWKS takes {idp_delay:?}, with the secret after it {:?}",
        idp_delay + sm_delay
    );

    // Everything was loaded at INIT: an RS256 caller is served without another round trip.
    let a = call(&svc, request(P, &rs256_jwt(1, "alice"), &body_for(P))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.elapsed < sm_delay, "a warm request took {:?}", a.elapsed);
    assert_eq!((sm.hits(), jwks.hits()), (1, 1));
}
