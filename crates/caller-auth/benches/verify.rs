//! Warm verify (cached key) through `Authenticator::authenticate`, including our own checks.
//! Run: `cargo bench -p caller-auth --bench verify -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use caller_auth::Authenticator;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};

const ISS: &str = "https://issuer.example";

/// Polls `fut` once and returns its output when it is ready at once (a warm verify never waits: the key
/// is cached), so the figure is the verify and not the executor; otherwise runs it on `rt`.
fn ready<F: std::future::Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => rt.block_on(fut),
    }
}

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
    let _context = local.enter();
    for (name, auth, header) in &tokens {
        assert!(
            ready(&local, auth.authenticate(Some(header), NOW)).is_ok(),
            "{name}"
        );
        c.bench_function(&format!("warm_verify_{name}"), |b| {
            b.iter(|| ready(&local, auth.authenticate(Some(black_box(header)), NOW)))
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

/// A base64url field of a JWK (`n`, `e`, `x`, `y`), decoded.
fn jwk_bytes(jwk: &serde_json::Value, field: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk[field].as_str().expect("jwk field"))
        .expect("b64")
}

/// A token signed by `key`: its signing input and its decoded signature.
fn signed(key: &TestKey) -> (String, Vec<u8>) {
    use base64::Engine as _;
    let token = key.sign(&claims(ISS, Some("rtc"), "user"));
    let (input, sig) = token.rsplit_once('.').expect("token");
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("sig");
    (input.to_owned(), sig)
}

/// Where an ES256 verify goes: aws-lc-rs (jsonwebtoken's backend) parsing the public key on every
/// verify, as jsonwebtoken does, versus a key parsed once.
fn es256_key_parsing(c: &mut Criterion) {
    use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
    let es = TestKey::ec256();
    let jwk = es.jwk();
    let mut point = vec![4u8];
    point.extend(jwk_bytes(&jwk, "x"));
    point.extend(jwk_bytes(&jwk, "y"));
    let (input, sig) = signed(&es);
    let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("key");
    assert!(parsed.verify_sig(input.as_bytes(), &sig).is_ok());
    c.bench_function("es256_aws_lc_unparsed_key", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&point))
                .verify(input.as_bytes(), &sig)
        })
    });
    c.bench_function("es256_aws_lc_parsed_key", |b| {
        b.iter(|| parsed.verify_sig(black_box(input.as_bytes()), &sig))
    });
}

/// DER `RSAPublicKey` (PKCS#1): SEQUENCE { INTEGER n, INTEGER e }.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, l: usize) {
        if l < 0x80 {
            out.push(l as u8);
        } else {
            let b = l.to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count();
            out.push(0x80 | (b.len() - skip) as u8);
            out.extend(&b[skip..]);
        }
    }
    fn int(out: &mut Vec<u8>, v: &[u8]) {
        let v = &v[v.iter().take_while(|x| **x == 0).count()..];
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        out.push(0x02);
        len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend(v);
    }
    let mut body = Vec::new();
    int(&mut body, n);
    int(&mut body, e);
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend(body);
    out
}

/// Where an RS256 verify goes: the key rebuilt from (n, e) on every verify, as jsonwebtoken does,
/// versus a key parsed once.
fn rs256_key_parsing(c: &mut Criterion) {
    use aws_lc_rs::signature::{
        ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256,
    };
    let rs = TestKey::rsa1();
    let jwk = rs.jwk();
    let (n, e) = (jwk_bytes(&jwk, "n"), jwk_bytes(&jwk, "e"));
    let (input, sig) = signed(&rs);
    let parsed =
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public_key_der(&n, &e)).expect("key");
    assert!(parsed.verify_sig(input.as_bytes(), &sig).is_ok());
    let components = RsaPublicKeyComponents { n: &n, e: &e };
    assert!(components
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
        .is_ok());
    c.bench_function("rs256_aws_lc_components_each_time", |b| {
        b.iter(|| {
            black_box(&components).verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
        })
    });
    c.bench_function("rs256_aws_lc_parsed_key", |b| {
        b.iter(|| parsed.verify_sig(black_box(input.as_bytes()), &sig))
    });
}

criterion_group!(benches, bench, es256_key_parsing, rs256_key_parsing);
criterion_main!(benches);
