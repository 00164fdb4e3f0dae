//! The attack catalogue's minimal test matrix (caller-auth-attacks.md), through the public API.
//! Hostile tokens are signed with the real key wherever possible, so only the rule under test
//! stops them.

mod common;

use std::time::Instant;

use caller_auth::{AuthError, AuthErrorClass, Authenticator};
use common::*;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

const ISS: &str = "https://issuer.example";
const AUD: &str = "rtc";

async fn setup(secrets: &[&str]) -> (Authenticator, JwksServer) {
    let srv = JwksServer::start(Reply::ok(jwks_of(&[
        TestKey::rsa1().jwk(),
        TestKey::ec256().jwk(),
    ])))
    .await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_AUDIENCE", AUD.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let (auth, _) = authenticator(cfg, secrets).await;
    (auth, srv)
}

fn good() -> Value {
    claims(ISS, Some(AUD), "user-1")
}

async fn reject(auth: &Authenticator, header: &str) -> AuthError {
    match auth.authenticate(Some(header), NOW).await {
        Ok(c) => panic!("accepted {header:.40}... as {}", c.subject),
        Err(e) => {
            assert!(
                !e.to_string()
                    .contains(header.trim_start_matches("Bearer ").trim())
                    || header.len() < 12
            );
            e
        }
    }
}

async fn reject_token(auth: &Authenticator, token: &str) -> AuthError {
    reject(auth, &bearer(token)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport() {
    let (auth, _srv) = setup(&[]).await;
    let token = TestKey::rsa1().sign(&good());
    // A1, A2
    assert_eq!(
        auth.authenticate(None, NOW).await.unwrap_err().class(),
        AuthErrorClass::MissingCredentials
    );
    assert_eq!(
        reject(&auth, &format!("Basic {token}")).await.class(),
        AuthErrorClass::MissingCredentials
    );
    assert_eq!(
        reject(&auth, &format!("JWT {token}")).await.class(),
        AuthErrorClass::MissingCredentials
    );
    // A3, A4, A7: accepted
    for h in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer   {token}"),
        format!("  Bearer {token} "),
    ] {
        assert!(auth.authenticate(Some(&h), NOW).await.is_ok(), "{h:.20}");
    }
    // A5, A6, A8
    for h in [
        format!("Bearer\t{token}"),
        format!("Bearer{token}"),
        format!("Bearer: {token}"),
    ] {
        assert_eq!(
            reject(&auth, &h).await.class(),
            AuthErrorClass::MissingCredentials
        );
    }
    assert_eq!(
        reject(&auth, "Bearer").await.class(),
        AuthErrorClass::InvalidRequest
    );
    assert_eq!(
        reject(&auth, "Bearer ").await.class(),
        AuthErrorClass::InvalidRequest
    );
    assert_eq!(
        reject(&auth, &format!("Bearer \"{token}\"")).await.class(),
        AuthErrorClass::InvalidToken
    );
    // A9: comma-joined duplicates (API Gateway 2.0) and the multi-value form.
    assert_eq!(
        reject(&auth, &format!("Bearer {token}, Bearer {token}"))
            .await
            .class(),
        AuthErrorClass::InvalidRequest
    );
    let mut headers = http::HeaderMap::new();
    headers.append(http::header::AUTHORIZATION, bearer(&token).parse().unwrap());
    headers.append(http::header::AUTHORIZATION, bearer(&token).parse().unwrap());
    assert_eq!(
        caller_auth::authorization_from_headers(&headers)
            .unwrap_err()
            .class(),
        AuthErrorClass::InvalidRequest
    );
    // A12 / F1: oversized values, refused in O(1).
    let huge = format!("Bearer {}", "a".repeat(5 * 1024 * 1024));
    let t = Instant::now();
    assert_eq!(reject(&auth, &huge).await.reason(), "too_large");
    let big_token = format!("{}.{}.{}", "a".repeat(100 * 1024), "b", "c");
    assert_eq!(reject_token(&auth, &big_token).await.reason(), "too_large");
    assert!(t.elapsed().as_millis() < 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_structure() {
    let (auth, _srv) = setup(&[]).await;
    let token = TestKey::rsa1().sign(&good());
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let cases = [
        format!("{h}.{p}"),             // B1
        h.to_string(),                  // B1
        format!("{h}.{p}.{s}.{s}"),     // B2: 4 segments
        format!("{h}.{p}.{s}.{s}.{s}"), // B2: 5 segments (JWE shape)
        format!("{h}.{p}*.{s}"),        // B3
        format!("{h}.{p}+/.{s}"),       // B3: standard alphabet
        format!("{h}=.{p}.{s}"),        // B4: padding
        format!("{h}.{p}.{s}=="),       // B4
        format!("{h}.{p}.{s}\n"),       // B3: newline
    ];
    for t in &cases {
        assert_eq!(
            reject_token(&auth, t).await.reason(),
            "malformed",
            "{t:.30}"
        );
    }
    // B5/B6/B7/B9: signed but not JSON objects.
    let key = TestKey::rsa1();
    let hdr = r#"{"alg":"RS256","kid":"rsa-1"}"#;
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
    for payload in ["not json", "[1,2]", "\"str\"", "null", &deep] {
        assert_eq!(
            reject_token(&auth, &key.sign_raw(hdr, payload))
                .await
                .reason(),
            "malformed",
            "{payload:.20}"
        );
    }
    let input = format!("{}.{}", b64(hdr.as_bytes()), b64(b"{\"sub\":\"\xff\xfe\"}"));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.key, Algorithm::RS256).unwrap();
    assert_eq!(
        reject_token(&auth, &format!("{input}.{sig}"))
            .await
            .reason(),
        "malformed"
    );
    // B8: JWS JSON serialization.
    let json_form =
        json!({"payload": p, "signatures": [{"protected": h, "signature": s}]}).to_string();
    let e = reject_token(&auth, &json_form).await;
    assert_ne!(e.class(), AuthErrorClass::KeysUnavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_header_attacks() {
    let (auth, srv) = setup(&[]).await;
    let key = TestKey::rsa1();
    let attacker = TestKey::rsa_attacker();
    let payload = good().to_string();

    // C1: alg none, any casing, empty or any signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let t = format!(
            "{}.{}.",
            b64(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes()),
            b64(payload.as_bytes())
        );
        assert_eq!(reject_token(&auth, &t).await.reason(), "malformed");
        let t = format!("{t}AAAA");
        assert_eq!(reject_token(&auth, &t).await.reason(), "bad_alg");
    }

    // C2: HS256 with the RSA public key as HMAC secret (n, the JWK JSON, and DER bytes).
    let jwk = key.jwk();
    let candidates: Vec<Vec<u8>> = vec![
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
        include_bytes!("fixtures/rsa1.der").to_vec(),
    ];
    for secret in &candidates {
        let forged = TestKey::new(
            Algorithm::HS256,
            "rsa-1",
            jsonwebtoken::EncodingKey::from_secret(secret),
        );
        let t = forged.sign(&good());
        assert_eq!(reject_token(&auth, &t).await.reason(), "bad_alg");
    }
    // ...and when a shared secret is configured too, the forged token still fails its signature.
    let (both, _srv2) = setup(&[HS_SECRET]).await;
    for secret in &candidates {
        let forged = TestKey::new(
            Algorithm::HS256,
            "rsa-1",
            jsonwebtoken::EncodingKey::from_secret(secret),
        );
        assert_eq!(
            reject_token(&both, &forged.sign(&good())).await.reason(),
            "bad_signature"
        );
    }

    // C5: same RSA key, genuinely signed with RS512 / PS256, but the JWK says RS256.
    for alg in [Algorithm::RS512, Algorithm::PS256, Algorithm::RS384] {
        let t = key.with(alg, "rsa-1").sign(&good());
        assert_eq!(reject_token(&auth, &t).await.reason(), "alg_mismatch");
    }
    // C6: ES256 header against the RSA kid; RS256 header against the EC kid.
    assert_eq!(
        reject_token(
            &auth,
            &TestKey::ec256()
                .with(Algorithm::ES256, "rsa-1")
                .sign(&good())
        )
        .await
        .reason(),
        "alg_mismatch"
    );
    assert_eq!(
        reject_token(&auth, &key.with(Algorithm::RS256, "ec-256").sign(&good()))
            .await
            .reason(),
        "alg_mismatch"
    );

    // C7: kid missing.
    assert_eq!(
        reject_token(&auth, &key.with(Algorithm::RS256, "").sign(&good()))
            .await
            .reason(),
        "missing_kid"
    );

    // C10: kid injection.
    for kid in [
        json!("../../dev/null"),
        json!("/proc/sys/kernel/randomize_va_space"),
        json!("' OR 1=1--"),
        json!("a\u{0}"),
        json!("k".repeat(10_000).as_str()),
        json!(1),
        json!({}),
    ] {
        let h = json!({"alg": "RS256", "kid": kid}).to_string();
        let t = key.sign_raw(&h, &payload);
        let e = reject_token(&auth, &t).await;
        assert!(
            ["bad_kid", "unknown_kid", "malformed", "too_large"].contains(&e.reason()),
            "{kid:.30}: {e}"
        );
        // Only kids from the safe charset are ever echoed to the log.
        assert!(!e.to_string().contains("OR 1=1") && !e.to_string().contains('\0'));
    }

    // C11-C15, C17, C18: header parameters we refuse, on otherwise valid tokens.
    let forbidden = [
        json!({"alg":"RS256","kid":"rsa-1","jku":format!("{}/jwks", srv.base())}),
        json!({"alg":"RS256","kid":"rsa-1","x5u":"https://attacker.example/cert.pem"}),
        json!({"alg":"RS256","kid":"rsa-1","jwk":attacker.jwk()}),
        json!({"alg":"RS256","kid":"rsa-1","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
        json!({"alg":"RS256","kid":"rsa-1","crit":["b64"],"b64":false}),
        json!({"alg":"RS256","kid":"rsa-1","crit":["exp"]}),
        json!({"alg":"RS256","kid":"rsa-1","crit":[]}),
        json!({"alg":"RS256","kid":"rsa-1","cty":"JWT"}),
    ];
    for h in &forbidden {
        let t = key.sign_raw(&h.to_string(), &payload);
        assert_eq!(
            reject_token(&auth, &t).await.reason(),
            "forbidden_header",
            "{h}"
        );
    }
    // C13 with the attacker's own key and embedded jwk.
    let t = attacker.sign_raw(
        &json!({"alg":"RS256","kid":"rsa-1","jwk":attacker.jwk()}).to_string(),
        &payload,
    );
    reject_token(&auth, &t).await;
    // C17: nested JWT as payload string.
    let inner = key.sign(&good());
    let t = key.sign_raw(
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        &json!(inner).to_string(),
    );
    assert_eq!(reject_token(&auth, &t).await.reason(), "malformed");
    // C18: duplicate alg.
    let t = key.sign_raw(r#"{"alg":"HS256","alg":"RS256","kid":"rsa-1"}"#, &payload);
    assert_eq!(reject_token(&auth, &t).await.reason(), "malformed");
    // C16: typ JWE.
    let t = key.sign_raw(r#"{"alg":"RS256","kid":"rsa-1","typ":"JWE"}"#, &payload);
    assert_eq!(reject_token(&auth, &t).await.reason(), "bad_typ");
    // C19: oversized header.
    let h = json!({"alg":"RS256","kid":"rsa-1","junk":"x".repeat(3000)}).to_string();
    assert_eq!(
        reject_token(&auth, &key.sign_raw(&h, &payload))
            .await
            .reason(),
        "malformed"
    );
    // None of the above fetched anything but the start-up JWKS.
    assert_eq!(srv.jwks_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_signature() {
    let (auth, _srv) = setup(&[]).await;
    let key = TestKey::rsa1();
    let a = key.sign(&good());
    let mut other = good();
    other["sub"] = json!("admin");
    let b = key.sign(&other);
    let pa: Vec<&str> = a.split('.').collect();
    let pb: Vec<&str> = b.split('.').collect();
    // D1: stripped signature.
    assert_eq!(
        reject_token(&auth, &format!("{}.{}.", pa[0], pa[1]))
            .await
            .reason(),
        "malformed"
    );
    // D2: signature of A on payload of B.
    assert_eq!(
        reject_token(&auth, &format!("{}.{}.{}", pa[0], pb[1], pa[2]))
            .await
            .reason(),
        "bad_signature"
    );
    // D3: truncated / extended.
    assert_eq!(
        reject_token(
            &auth,
            &format!("{}.{}.{}", pa[0], pa[1], &pa[2][..pa[2].len() - 4])
        )
        .await
        .reason(),
        "bad_signature"
    );
    assert_eq!(
        reject_token(&auth, &format!("{}AAAA", a)).await.reason(),
        "bad_signature"
    );
    // D4: ES256 all-zero signature (psychic signatures), and DER-shaped garbage (D5).
    let ec = TestKey::ec256().sign(&good());
    let pe: Vec<&str> = ec.split('.').collect();
    assert_eq!(
        reject_token(&auth, &format!("{}.{}.{}", pe[0], pe[1], b64(&[0u8; 64])))
            .await
            .reason(),
        "bad_signature"
    );
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend([1u8; 32]);
    der.extend([0x02, 0x20]);
    der.extend([1u8; 32]);
    assert_eq!(
        reject_token(&auth, &format!("{}.{}.{}", pe[0], pe[1], b64(&der)))
            .await
            .reason(),
        "bad_signature"
    );
    // D6: other key, same kid (another tenant / attacker).
    assert_eq!(
        reject_token(&auth, &TestKey::rsa_attacker().sign(&good()))
            .await
            .reason(),
        "bad_signature"
    );
    // Sanity: the genuine tokens pass.
    assert!(auth.authenticate(Some(&bearer(&a)), NOW).await.is_ok());
    assert!(auth.authenticate(Some(&bearer(&ec)), NOW).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_claims() {
    let (auth, _srv) = setup(&[]).await;
    let key = TestKey::rsa1();
    let set = |k: &str, v: Value| {
        let mut c = good();
        c[k] = v;
        c
    };
    let del = |k: &str| {
        let mut c = good();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("E1", set("exp", json!(NOW - 31)), "expired"),
        ("E2", del("exp"), "missing_claim"),
        ("E3", set("exp", json!("9999999999")), "bad_claim"),
        ("E3", set("exp", json!(null)), "bad_claim"),
        ("E3", set("exp", json!(true)), "bad_claim"),
        ("E5", set("nbf", json!(NOW + 31)), "not_yet_valid"),
        ("E6", set("nbf", json!("0")), "bad_claim"),
        (
            "E7",
            set("iat", json!(NOW + 10 * 365 * 86400)),
            "issued_in_future",
        ),
        (
            "E10",
            set("iss", json!("https://issuer.example/")),
            "bad_issuer",
        ),
        (
            "E10",
            set("iss", json!("http://issuer.example")),
            "bad_issuer",
        ),
        (
            "E10",
            set("iss", json!("https://ISSUER.example")),
            "bad_issuer",
        ),
        (
            "E10",
            set("iss", json!("https://issuer.examp\u{13f}e")),
            "bad_issuer",
        ),
        ("E11", del("iss"), "missing_claim"),
        ("E12", set("iss", json!(["evil", ISS])), "bad_claim"),
        ("E13", set("iss", json!(123)), "bad_claim"),
        ("E13", set("aud", json!(123)), "bad_claim"),
        ("E13", set("aud", json!({})), "bad_claim"),
        ("E14", set("aud", json!("other-api")), "bad_audience"),
        ("E16", del("aud"), "missing_claim"),
        ("E18", del("sub"), "missing_claim"),
        ("E19", set("sub", json!("")), "bad_subject"),
        ("E20", set("sub", json!(42)), "bad_claim"),
        ("E20", set("sub", json!("a".repeat(256))), "bad_subject"),
        ("E20", set("sub", json!("a\u{0}b")), "bad_subject"),
        ("E20", set("sub", json!("a\nb")), "bad_subject"),
        ("B10", set("exp", json!(1e300)), "bad_claim"),
        ("B10", set("exp", json!(-5)), "bad_claim"),
    ];
    for (id, c, reason) in cases {
        let e = reject_token(&auth, &key.sign(&c)).await;
        assert_eq!(e.reason(), reason, "{id}: {e}");
    }
    // E15: array aud containing ours is accepted.
    assert!(auth
        .authenticate(
            Some(&bearer(&key.sign(&set("aud", json!(["x", AUD]))))),
            NOW
        )
        .await
        .is_ok());
    // E21: duplicate sub / exp.
    let p = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"a","sub":"admin","exp":{}}}"#,
        NOW + 60
    );
    assert_eq!(
        reject_token(&auth, &key.sign_raw(r#"{"alg":"RS256","kid":"rsa-1"}"#, &p))
            .await
            .reason(),
        "malformed"
    );
    let p = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"a","exp":1,"exp":{}}}"#,
        NOW + 60
    );
    assert_eq!(
        reject_token(&auth, &key.sign_raw(r#"{"alg":"RS256","kid":"rsa-1"}"#, &p))
            .await
            .reason(),
        "malformed"
    );

    // E17: a token with aud where none is configured.
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let (no_aud, _) = authenticator(cfg, &[]).await;
    assert_eq!(
        reject_token(&no_aud, &key.sign(&good())).await.reason(),
        "bad_audience"
    );
    assert!(no_aud
        .authenticate(Some(&bearer(&key.sign(&del("aud")))), NOW)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_clock_skew_either_side_of_the_leeway() {
    let (auth, _srv) = setup(&[]).await; // leeway 30 s (default)
    let key = TestKey::rsa1();
    let at = |k: &str, v: u64| {
        let mut c = good();
        c[k] = json!(v);
        key.sign(&c)
    };
    let ok = |t: String| {
        let auth = &auth;
        async move {
            auth.authenticate(Some(&bearer(&t)), NOW)
                .await
                .map(|_| ())
                .map_err(|e| e.reason())
        }
    };
    assert_eq!(ok(at("exp", NOW + 1)).await, Ok(())); // G1
    assert_eq!(ok(at("exp", NOW)).await, Ok(())); // within leeway
    assert_eq!(ok(at("exp", NOW - 29)).await, Ok(()));
    assert_eq!(ok(at("exp", NOW - 30)).await, Err("expired")); // G3 (strict)
    assert_eq!(ok(at("exp", NOW - 31)).await, Err("expired")); // G4
    assert_eq!(ok(at("nbf", NOW + 30)).await, Ok(())); // G5
    assert_eq!(ok(at("nbf", NOW + 31)).await, Err("not_yet_valid")); // G6
    assert_eq!(ok(at("iat", NOW + 30)).await, Ok(())); // G7
    assert_eq!(ok(at("iat", NOW + 31)).await, Err("issued_in_future"));

    // G2: zero leeway, exp == now is refused.
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", "jwks".into()),
        ("AUTH_ISSUER", ISS.into()),
        ("AUTH_AUDIENCE", AUD.into()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
        ("AUTH_LEEWAY_SECONDS", "0".into()),
    ]);
    let (strict, _) = authenticator(cfg, &[]).await;
    assert_eq!(
        strict
            .authenticate(Some(&bearer(&at("exp", NOW))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "expired"
    );
    assert!(strict
        .authenticate(Some(&bearer(&at("exp", NOW + 1))), NOW)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_contain_the_token() {
    let (auth, _srv) = setup(&[HS_SECRET]).await;
    let key = TestKey::rsa1();
    let mut c = good();
    c["exp"] = json!(NOW - 1000);
    let t = key.sign(&c);
    let e = reject_token(&auth, &t).await;
    for part in t.split('.') {
        assert!(!e.to_string().contains(part));
        assert!(!format!("{e:?}").contains(part));
    }
    assert!(!format!("{auth:?}").contains(HS_SECRET));
}
