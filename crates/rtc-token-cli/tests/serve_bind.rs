//! The local server never exposes development material beyond loopback.

mod serve_support;

use serve_support::*;

const REAL_PROVIDERS: &[(&str, &str)] = &[
    ("AGORA_APP_ID", "fedcba9876543210fedcba9876543210"),
    ("AGORA_APP_CERTIFICATE", "0123456789abcdef0123456789abcdef"),
    ("LIVEKIT_API_KEY", "APIabc"),
    (
        "LIVEKIT_API_SECRET",
        "a-livekit-secret-that-is-long-enough-0123",
    ),
    ("LIVEKIT_URL", "wss://example.livekit.cloud"),
    ("STREAM_API_KEY", "streamkey"),
    ("STREAM_API_SECRET", "a-stream-secret-0123456789"),
];

#[test]
fn refuses_all_interfaces_on_development_defaults() {
    let Err((code, err)) = Server::start_at("0.0.0.0:0", &[]) else {
        panic!("bound 0.0.0.0 with dev credentials")
    };
    assert_eq!(code, Some(2));
    assert!(
        err.contains("refusing to listen on non-loopback address 0.0.0.0:0"),
        "{err}"
    );
    assert!(
        err.contains("development credentials for agora, livekit, stream"),
        "{err}"
    );
    assert!(err.contains("development caller issuer"), "{err}");
    assert!(
        !err.contains("DEVELOPMENT-ONLY"),
        "no secret value in the message: {err}"
    );
}

#[test]
fn refuses_with_real_credentials_but_the_dev_issuer() {
    let Err((code, err)) = Server::start_at("0.0.0.0:0", REAL_PROVIDERS) else {
        panic!("bound with the dev issuer")
    };
    assert_eq!(code, Some(2));
    assert!(
        err.contains("development caller issuer") && !err.contains("credentials for"),
        "{err}"
    );
}

#[test]
fn refuses_with_a_real_issuer_but_one_dev_credential() {
    let mut env: Vec<(&str, &str)> = REAL_PROVIDERS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "STREAM_API_SECRET")
        .collect();
    env.extend([
        ("AUTH_PROVIDER", "hs256"),
        ("AUTH_ISSUER", "https://b.example.com"),
        ("AUTH_HS256_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"),
    ]);
    let Err((code, err)) = Server::start_at("0.0.0.0:0", &env) else {
        panic!("bound with a dev Stream secret")
    };
    assert_eq!(code, Some(2));
    assert!(err.contains("development credentials for stream"), "{err}");
}

#[test]
fn binds_all_interfaces_when_nothing_is_development() {
    let mut env: Vec<(&str, &str)> = REAL_PROVIDERS.to_vec();
    env.extend([
        ("AUTH_PROVIDER", "hs256"),
        ("AUTH_ISSUER", "https://b.example.com"),
        ("AUTH_HS256_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"),
    ]);
    let server =
        Server::start_at("0.0.0.0:0", &env).unwrap_or_else(|(c, e)| panic!("exit {c:?}: {e}"));
    assert!(
        server
            .banner
            .contains("provider credentials from the environment"),
        "{}",
        server.banner
    );
    assert!(server.interrupt() == Some(0));
}
