//! Warm verify (cached key) through `Authenticator::authenticate`, including our own checks.
//! Run: `cargo bench -p caller-auth --bench verify -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use caller_auth::Authenticator;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};

const ISS: &str = "https://issuer.example";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let rs = TestKey::rsa1();
    let es = TestKey::ec256();
    let (jwks_auth, _srv): (Authenticator, JwksServer) = rt.block_on(async {
        let srv = JwksServer::start(Reply::ok(jwks_of(&[rs.jwk(), es.jwk()]))).await;
        let cfg = config(&[
            ("AUTH_PROVIDER", "jwks".into()),
            ("AUTH_ISSUER", ISS.into()),
            ("AUTH_AUDIENCE", "rtc".into()),
            ("AUTH_JWKS_URL", srv.jwks_url()),
        ]);
        let (auth, _) = authenticator(cfg, &[]).await;
        (auth, srv)
    });
    let hs_auth = rt.block_on(async {
        let (auth, _) = authenticator(
            caller_auth::AuthConfig::hs256(ISS, Some("rtc")),
            &[HS_SECRET],
        )
        .await;
        auth
    });
    let mut claims = claims(ISS, Some("rtc"), "user_2abcdefghijklmnop");
    claims["sid"] = serde_json::json!("sess_2abcdefghijklmnop");
    claims["azp"] = serde_json::json!("https://app.example.com");
    let tokens = [
        ("RS256", &jwks_auth, bearer(&rs.sign(&claims))),
        ("ES256", &jwks_auth, bearer(&es.sign(&claims))),
        (
            "HS256",
            &hs_auth,
            bearer(&TestKey::hs(HS_SECRET).sign(&claims)),
        ),
    ];
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for (name, auth, header) in &tokens {
        assert!(
            local.block_on(auth.authenticate(Some(header), NOW)).is_ok(),
            "{name}"
        );
        c.bench_function(&format!("warm_verify_{name}"), |b| {
            b.iter(|| local.block_on(auth.authenticate(Some(black_box(header)), NOW)))
        });
    }
    // Baseline: jsonwebtoken's signature check alone (same key types), to separate our overhead
    // from the crypto on a shared, noisy machine.
    let raw = [
        (
            "RS256",
            jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(rs.jwk()).expect("jwk"))
                .expect("key"),
            rs.sign(&claims),
        ),
        (
            "ES256",
            jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(es.jwk()).expect("jwk"))
                .expect("key"),
            es.sign(&claims),
        ),
        (
            "HS256",
            jsonwebtoken::DecodingKey::from_secret(HS_SECRET.as_bytes()),
            TestKey::hs(HS_SECRET).sign(&claims),
        ),
    ];
    for (name, key, token) in &raw {
        let (input, sig) = token.rsplit_once('.').expect("token");
        let alg = match *name {
            "RS256" => jsonwebtoken::Algorithm::RS256,
            "ES256" => jsonwebtoken::Algorithm::ES256,
            _ => jsonwebtoken::Algorithm::HS256,
        };
        assert!(jsonwebtoken::crypto::verify(sig, input.as_bytes(), key, alg).expect("verify"));
        c.bench_function(&format!("signature_only_{name}"), |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(black_box(sig), black_box(input.as_bytes()), key, alg)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
