//! For each preset: a valid token served by a real JWKS on loopback passes with the right subject,
//! and the preset's own traps are refused.

mod common;

use caller_auth::{AuthErrorClass, ProviderKind};
use common::*;
use serde_json::json;

fn s(v: &str) -> String {
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_session_token() {
    let key = TestKey::rsa1();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let issuer = srv.base();
    let cfg = config(&[
        ("AUTH_PROVIDER", s("clerk")),
        ("CLERK_FRONTEND_API_URL", issuer.clone()),
        ("CLERK_AUTHORIZED_PARTIES", s("https://app.example.com")),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    let mut c = claims(&issuer, None, "user_2abc");
    c["azp"] = json!("https://app.example.com");
    c["sid"] = json!("sess_1");
    c["v"] = json!(2);
    let caller = auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .unwrap();
    assert_eq!(caller.subject, "user_2abc");
    assert_eq!(caller.provider, ProviderKind::Clerk);
    assert_eq!(caller.issuer, issuer);

    // E25: foreign or missing azp; E26: JWT-template token (no sid, has aud).
    let mut t = c.clone();
    t["azp"] = json!("https://evil.example.com");
    assert_eq!(
        auth.authenticate(Some(&bearer(&key.sign(&t))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_azp"
    );
    let mut t = c.clone();
    t.as_object_mut().unwrap().remove("azp");
    assert_eq!(
        auth.authenticate(Some(&bearer(&key.sign(&t))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_azp"
    );
    let mut t = c.clone();
    t.as_object_mut().unwrap().remove("sid");
    t["aud"] = json!("convex");
    assert!(auth
        .authenticate(Some(&bearer(&key.sign(&t))), NOW)
        .await
        .is_err());
    // Clerk pins RS256: an ES256 key in the set is not usable.
    assert_eq!(srv.jwks_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supabase_asymmetric_and_legacy_secret() {
    let key = TestKey::ec256();
    let srv = JwksServer::start(Reply {
        cache_control: Some(s("public, max-age=600")),
        ..Reply::ok(jwks_of(&[key.jwk()]))
    })
    .await;
    let cfg = config(&[
        ("AUTH_PROVIDER", s("supabase")),
        ("SUPABASE_URL", srv.base()),
    ]);
    // Legacy HS256 secret accepted alongside the JWKS (migration).
    let (auth, _) = authenticator(cfg, &[HS_SECRET]).await;
    let issuer = format!("{}/auth/v1", srv.base());
    let mut c = claims(
        &issuer,
        Some("authenticated"),
        "3f1c0e0a-1111-4222-8333-444455556666",
    );
    c["role"] = json!("authenticated");
    let caller = auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .unwrap();
    assert_eq!(caller.subject, "3f1c0e0a-1111-4222-8333-444455556666");
    assert_eq!(caller.provider, ProviderKind::Supabase);

    let legacy = TestKey::hs(HS_SECRET);
    assert!(auth
        .authenticate(Some(&bearer(&legacy.sign(&c))), NOW)
        .await
        .is_ok());

    // E22 / E23: the anon and service_role API keys are valid HS256 JWTs with the legacy secret.
    for role in ["anon", "service_role"] {
        let api_key = json!({"iss": "supabase", "ref": "abc", "role": role, "iat": NOW - 100, "exp": NOW + 10_000_000});
        let e = auth
            .authenticate(Some(&bearer(&legacy.sign(&api_key))), NOW)
            .await
            .unwrap_err();
        assert_eq!(e.class(), AuthErrorClass::InvalidToken, "{role}");
        let mut t = c.clone();
        t["role"] = json!(role);
        assert_eq!(
            auth.authenticate(Some(&bearer(&legacy.sign(&t))), NOW)
                .await
                .unwrap_err()
                .reason(),
            "bad_role"
        );
    }
    // C4: once the legacy secret is removed, HS256 tokens stop working.
    auth.set_shared_secrets(Vec::<&str>::new());
    assert_eq!(
        auth.authenticate(Some(&bearer(&legacy.sign(&c))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_alg"
    );
    assert!(auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firebase_id_token() {
    let key = TestKey::rsa1();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk_without_alg()]))).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", s("firebase")),
        ("FIREBASE_PROJECT_ID", s("demo-proj")),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    let mut c = claims(
        "https://securetoken.google.com/demo-proj",
        Some("demo-proj"),
        "firebase-uid-1",
    );
    c["auth_time"] = json!(NOW - 1000);
    let caller = auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .unwrap();
    assert_eq!(caller.subject, "firebase-uid-1");
    // Another project's token (D6/E14).
    let mut t = c.clone();
    t["aud"] = json!("other-proj");
    t["iss"] = json!("https://securetoken.google.com/other-proj");
    assert!(auth
        .authenticate(Some(&bearer(&key.sign(&t))), NOW)
        .await
        .is_err());
    // auth_time in the future (E9).
    let mut t = c.clone();
    t["auth_time"] = json!(NOW + 3600);
    assert!(auth
        .authenticate(Some(&bearer(&key.sign(&t))), NOW)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_access_token() {
    let key = TestKey::rsa2();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", s("auth0")),
        ("AUTH0_DOMAIN", s("tenant.eu.auth0.com")),
        ("AUTH_AUDIENCE", s("https://rtc.example.com")),
        ("AUTH_JWKS_URL", srv.jwks_url()),
        ("AUTH_ROLE_CLAIMS", s("permissions")),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    let mut c = claims("https://tenant.eu.auth0.com/", None, "auth0|abc123");
    c["aud"] = json!([
        "https://rtc.example.com",
        "https://tenant.eu.auth0.com/userinfo"
    ]);
    c["permissions"] = json!(["mint:agora"]);
    let caller = auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .unwrap();
    assert_eq!(caller.subject, "auth0|abc123");
    assert_eq!(caller.roles, vec!["mint:agora"]);
    // Issuer without the trailing slash, and an ID token (aud = client id), are refused.
    let mut t = c.clone();
    t["iss"] = json!("https://tenant.eu.auth0.com");
    assert_eq!(
        auth.authenticate(Some(&bearer(&key.sign(&t))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_issuer"
    );
    let mut t = c.clone();
    t["aud"] = json!("spa-client-id");
    assert_eq!(
        auth.authenticate(Some(&bearer(&key.sign(&t))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_audience"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_access_and_id_tokens() {
    let key = TestKey::rsa1();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool123";
    let base = |token_use: &str| {
        config(&[
            ("AUTH_PROVIDER", s("cognito")),
            ("COGNITO_USER_POOL_ID", s("eu-west-1_Pool123")),
            ("COGNITO_CLIENT_ID", s("client-a")),
            ("COGNITO_TOKEN_USE", s(token_use)),
            ("AUTH_JWKS_URL", srv.jwks_url()),
        ])
    };
    let (access, _) = authenticator(base("access"), &[]).await;
    let (id, _) = authenticator(base("id"), &[]).await;

    let mut at = claims(iss, None, "5a1f0b2c-sub");
    at["token_use"] = json!("access");
    at["client_id"] = json!("client-a");
    at["cognito:groups"] = json!(["hosts"]);
    let caller = access
        .authenticate(Some(&bearer(&key.sign(&at))), NOW)
        .await
        .unwrap();
    assert_eq!(caller.subject, "5a1f0b2c-sub");
    assert_eq!(caller.roles, vec!["hosts"]);

    let mut it = claims(iss, Some("client-a"), "5a1f0b2c-sub");
    it["token_use"] = json!("id");
    assert_eq!(
        id.authenticate(Some(&bearer(&key.sign(&it))), NOW)
            .await
            .unwrap()
            .subject,
        "5a1f0b2c-sub"
    );

    // E28: each endpoint refuses the other token; E29: another app client.
    assert!(access
        .authenticate(Some(&bearer(&key.sign(&it))), NOW)
        .await
        .is_err());
    assert!(id
        .authenticate(Some(&bearer(&key.sign(&at))), NOW)
        .await
        .is_err());
    let mut t = at.clone();
    t["client_id"] = json!("client-b");
    assert_eq!(
        access
            .authenticate(Some(&bearer(&key.sign(&t))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_discovery() {
    let key = TestKey::ed25519();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let issuer = srv.base();
    srv.set_discovery(Reply::ok(
        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}).to_string(),
    ));
    let cfg = config(&[
        ("AUTH_PROVIDER", s("oidc")),
        ("AUTH_ISSUER", issuer.clone()),
        ("AUTH_AUDIENCE", s("rtc-api")),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    let c = claims(&issuer, Some("rtc-api"), "oidc-user");
    assert_eq!(
        auth.authenticate(Some(&bearer(&key.sign(&c))), NOW)
            .await
            .unwrap()
            .subject,
        "oidc-user"
    );
    assert_eq!((srv.discovery_hits(), srv.jwks_hits()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_discovery_with_other_issuer_is_refused() {
    let key = TestKey::ec256();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let issuer = srv.base();
    srv.set_discovery(Reply::ok(
        json!({"issuer": "https://evil.example", "jwks_uri": format!("{issuer}/jwks")}).to_string(),
    ));
    let cfg = config(&[
        ("AUTH_PROVIDER", s("oidc")),
        ("AUTH_ISSUER", issuer.clone()),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    let c = claims(&issuer, None, "u");
    let e = auth
        .authenticate(Some(&bearer(&key.sign(&c))), NOW)
        .await
        .unwrap_err();
    assert_eq!(e.class(), AuthErrorClass::KeysUnavailable);
    assert_eq!(srv.jwks_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_preset_every_algorithm() {
    let keys = [
        TestKey::rsa1(),
        TestKey::rsa2().with(jsonwebtoken::Algorithm::RS384, "rs384"),
        TestKey::rsa2().with(jsonwebtoken::Algorithm::RS512, "rs512"),
        TestKey::rsa2().with(jsonwebtoken::Algorithm::PS256, "ps256"),
        TestKey::ec256(),
        TestKey::ec384(),
        TestKey::ed25519(),
    ];
    let jwks: Vec<_> = keys.iter().map(|k| k.jwk()).collect();
    let srv = JwksServer::start(Reply::ok(jwks_of(&jwks))).await;
    let cfg = config(&[
        ("AUTH_PROVIDER", s("jwks")),
        ("AUTH_ISSUER", s("https://issuer.example")),
        ("AUTH_JWKS_URL", srv.jwks_url()),
    ]);
    let (auth, _) = authenticator(cfg, &[]).await;
    for k in &keys {
        let c = claims("https://issuer.example", None, &format!("user-{}", k.kid));
        let caller = auth.authenticate(Some(&bearer(&k.sign(&c))), NOW).await;
        assert_eq!(
            caller.map(|c| c.subject).map_err(|e| e.to_string()),
            Ok(format!("user-{}", k.kid))
        );
    }
    assert_eq!(auth.jwks_stats().unwrap().keys, keys.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_preset_with_rotation() {
    let cfg = config(&[
        ("AUTH_PROVIDER", s("hs256")),
        ("AUTH_ISSUER", s("rtc-dev")),
        ("AUTH_AUDIENCE", s("rtc")),
        ("AUTH_USER_ID_CLAIM", s("uid")),
    ]);
    let (auth, _) = authenticator(cfg, &[HS_SECRET]).await;
    let mut c = claims("rtc-dev", Some("rtc"), "sub-1");
    c["uid"] = json!("player-7");
    let old = TestKey::hs(HS_SECRET);
    let new = TestKey::hs(HS_SECRET_2);
    assert_eq!(
        auth.authenticate(Some(&bearer(&old.sign(&c))), NOW)
            .await
            .unwrap()
            .subject,
        "player-7"
    );
    assert_eq!(
        auth.authenticate(Some(&bearer(&new.sign(&c))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_signature"
    );
    auth.set_shared_secrets([HS_SECRET_2, HS_SECRET]);
    assert!(auth
        .authenticate(Some(&bearer(&new.sign(&c))), NOW)
        .await
        .is_ok());
    assert!(auth
        .authenticate(Some(&bearer(&old.sign(&c))), NOW)
        .await
        .is_ok());
    // HS384 token against an HS256 secret: algorithm comes from the configuration.
    let hs384 = TestKey::hs(HS_SECRET).with(jsonwebtoken::Algorithm::HS384, "");
    assert_eq!(
        auth.authenticate(Some(&bearer(&hs384.sign(&c))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "alg_mismatch"
    );
    // An RS256 token: no JWKS configured.
    assert_eq!(
        auth.authenticate(Some(&bearer(&TestKey::rsa1().sign(&c))), NOW)
            .await
            .unwrap_err()
            .reason(),
        "bad_alg"
    );
    // D10: short secrets are refused.
    assert!(auth.try_set_shared_secrets(["short"]).is_err());
    let short =
        caller_auth::Authenticator::new(caller_auth::AuthConfig::hs256("x", None), [""]).await;
    assert!(short.is_err());
    let none = caller_auth::Authenticator::new(
        caller_auth::AuthConfig::hs256("x", None),
        Vec::<&str>::new(),
    )
    .await;
    assert!(none.is_err());
}

/// The optional provider rules of the attack catalogue (E24, E27, E30, C16) and the maximum token
/// age, each off by default except Auth0's machine-token refusal, against a real loopback JWKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs384_and_hs512_shared_secrets_verify_with_their_own_hash() {
    for (name, alg) in [
        ("HS384", jsonwebtoken::Algorithm::HS384),
        ("HS512", jsonwebtoken::Algorithm::HS512),
    ] {
        let cfg = config(&[
            ("AUTH_PROVIDER", s("hs256")),
            ("AUTH_ISSUER", s("rtc-dev")),
            ("AUTH_HS_ALGORITHM", s(name)),
        ]);
        let (auth, _) = authenticator(cfg, &[HS_SECRET, HS_SECRET_2]).await;
        let c = claims("rtc-dev", None, "sub-9");
        // Signed with either secret (the second one too: rotation).
        for secret in [HS_SECRET, HS_SECRET_2] {
            let token = TestKey::hs(secret).with(alg, "").sign(&c);
            let caller = auth.authenticate(Some(&bearer(&token)), NOW).await;
            assert_eq!(
                caller.map(|c| c.subject).map_err(|e| e.reason()),
                Ok("sub-9".into()),
                "{name}"
            );
        }
        let good = TestKey::hs(HS_SECRET).with(alg, "").sign(&c);
        let (head, sig) = good.rsplit_once('.').unwrap();
        // One signature character changed; the signature cut short; another secret; HS256.
        let flipped = format!(
            "{head}.{}{}",
            if sig.starts_with('A') { 'B' } else { 'A' },
            &sig[1..]
        );
        let short = format!("{head}.{}", &sig[..sig.len() - 4]);
        let other = TestKey::hs("a-third-secret-that-nobody-configured-0123456789")
            .with(alg, "")
            .sign(&c);
        for (token, reason) in [
            (flipped, "bad_signature"),
            (short, "bad_signature"),
            (other, "bad_signature"),
            (TestKey::hs(HS_SECRET).sign(&c), "alg_mismatch"),
        ] {
            assert_eq!(
                auth.authenticate(Some(&bearer(&token)), NOW)
                    .await
                    .map(|c| c.subject)
                    .map_err(|e| e.reason()),
                Err(reason),
                "{name}: {token}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_provider_rules() {
    let key = TestKey::rsa1();
    let srv = JwksServer::start(Reply::ok(jwks_of(&[key.jwk()]))).await;
    let issuer = srv.base();
    let reason = |r: Result<caller_auth::Caller, caller_auth::AuthError>| match r {
        Ok(c) => format!("ok:{}", c.subject),
        Err(e) => e.reason().to_owned(),
    };

    // E27: Clerk `sts: pending` refused only when organisations are mandatory.
    let mut c = claims(&issuer, None, "user_2abc");
    c["sid"] = json!("sess_1");
    c["sts"] = json!("pending");
    let token = bearer(&key.sign(&c));
    for (setting, expected) in [(None, "ok:user_2abc"), (Some("true"), "pending_session")] {
        let mut vars = vec![
            ("AUTH_PROVIDER", s("clerk")),
            ("CLERK_FRONTEND_API_URL", issuer.clone()),
            ("AUTH_JWKS_URL", srv.jwks_url()),
        ];
        if let Some(v) = setting {
            vars.push(("CLERK_REJECT_PENDING_SESSIONS", s(v)));
        }
        let (auth, _) = authenticator(config(&vars), &[]).await;
        assert_eq!(reason(auth.authenticate(Some(&token), NOW).await), expected);
        let mut active = c.clone();
        active["sts"] = json!("active");
        let ok = auth
            .authenticate(Some(&bearer(&key.sign(&active))), NOW)
            .await;
        assert_eq!(reason(ok), "ok:user_2abc");
    }

    // E30: Auth0 machine-to-machine tokens refused unless AUTH0_ALLOW_M2M=true.
    let mut c = claims(
        "https://tenant.eu.auth0.com/",
        Some("https://rtc"),
        "cid@clients",
    );
    c["gty"] = json!("client-credentials");
    let token = bearer(&key.sign(&c));
    for (allow, expected) in [(None, "machine_token"), (Some("true"), "ok:cid@clients")] {
        let mut vars = vec![
            ("AUTH_PROVIDER", s("auth0")),
            ("AUTH0_DOMAIN", s("tenant.eu.auth0.com")),
            ("AUTH_AUDIENCE", s("https://rtc")),
            ("AUTH_JWKS_URL", srv.jwks_url()),
        ];
        if let Some(v) = allow {
            vars.push(("AUTH0_ALLOW_M2M", s(v)));
        }
        let (auth, _) = authenticator(config(&vars), &[]).await;
        assert_eq!(reason(auth.authenticate(Some(&token), NOW).await), expected);
    }

    // E24: Supabase anonymous users and the assurance level.
    let supa = |extra: &[(&'static str, String)]| {
        let mut vars = vec![
            ("AUTH_PROVIDER", s("supabase")),
            ("SUPABASE_URL", s("https://abc.supabase.co")),
            ("AUTH_JWKS_URL", srv.jwks_url()),
        ];
        vars.extend(extra.iter().cloned());
        config(&vars)
    };
    let user = |anonymous: bool, aal: &str| {
        let mut c = claims(
            "https://abc.supabase.co/auth/v1",
            Some("authenticated"),
            "6f1c",
        );
        c["role"] = json!("authenticated");
        c["is_anonymous"] = json!(anonymous);
        c["aal"] = json!(aal);
        bearer(&key.sign(&c))
    };
    let (auth, _) = authenticator(supa(&[]), &[]).await;
    assert_eq!(
        reason(auth.authenticate(Some(&user(true, "aal1")), NOW).await),
        "ok:6f1c"
    );
    let (auth, _) = authenticator(supa(&[("SUPABASE_ALLOW_ANONYMOUS", s("false"))]), &[]).await;
    assert_eq!(
        reason(auth.authenticate(Some(&user(true, "aal1")), NOW).await),
        "anonymous_user"
    );
    assert_eq!(
        reason(auth.authenticate(Some(&user(false, "aal1")), NOW).await),
        "ok:6f1c"
    );
    let (auth, _) = authenticator(supa(&[("SUPABASE_REQUIRED_AAL", s("aal2"))]), &[]).await;
    assert_eq!(
        reason(auth.authenticate(Some(&user(false, "aal1")), NOW).await),
        "insufficient_aal"
    );
    assert_eq!(
        reason(auth.authenticate(Some(&user(false, "aaz9")), NOW).await),
        "insufficient_aal"
    );
    assert_eq!(
        reason(auth.authenticate(Some(&user(false, "aal2")), NOW).await),
        "ok:6f1c"
    );

    // C16: an OIDC deployment that takes access tokens only refuses ID tokens (typ JWT).
    srv.set_discovery(Reply::ok(
        json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}).to_string(),
    ));
    let c = claims(&issuer, Some("rtc-api"), "oidc-user");
    let id_token = bearer(&key.sign(&c));
    let at_header = json!({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}).to_string();
    let access_token = bearer(&key.sign_raw(&at_header, &c.to_string()));
    let base = [
        ("AUTH_PROVIDER", s("oidc")),
        ("AUTH_ISSUER", issuer.clone()),
        ("AUTH_AUDIENCE", s("rtc-api")),
    ];
    let (auth, _) = authenticator(config(&base), &[]).await;
    assert_eq!(
        reason(auth.authenticate(Some(&id_token), NOW).await),
        "ok:oidc-user"
    );
    assert_eq!(
        reason(auth.authenticate(Some(&access_token), NOW).await),
        "ok:oidc-user"
    );
    let mut vars = base.to_vec();
    vars.push(("OIDC_TOKEN_TYPE", s("access")));
    let (auth, _) = authenticator(config(&vars), &[]).await;
    assert_eq!(
        reason(auth.authenticate(Some(&id_token), NOW).await),
        "bad_typ"
    );
    assert_eq!(
        reason(auth.authenticate(Some(&access_token), NOW).await),
        "ok:oidc-user"
    );

    // Maximum token age: iat required, then bounded (with the leeway).
    let vars = [
        ("AUTH_PROVIDER", s("jwks")),
        ("AUTH_ISSUER", issuer.clone()),
        ("AUTH_JWKS_URL", srv.jwks_url()),
        ("AUTH_MAX_TOKEN_AGE_SECONDS", s("3600")),
    ];
    let (auth, _) = authenticator(config(&vars), &[]).await;
    let mut c = claims(&issuer, None, "u1");
    c["exp"] = json!(NOW + 86_400);
    c["iat"] = json!(NOW - 3600);
    assert_eq!(
        reason(auth.authenticate(Some(&bearer(&key.sign(&c))), NOW).await),
        "ok:u1"
    );
    c["iat"] = json!(NOW - 3600 - 31);
    assert_eq!(
        reason(auth.authenticate(Some(&bearer(&key.sign(&c))), NOW).await),
        "too_old"
    );
    c.as_object_mut().unwrap().remove("iat");
    assert_eq!(
        reason(auth.authenticate(Some(&bearer(&key.sign(&c))), NOW).await),
        "missing_claim"
    );
}

#[test]
fn optional_rules_are_validated_and_scoped_to_their_preset() {
    let err = |pairs: &[(&str, String)]| {
        caller_auth::AuthConfig::from_env(&|k: &str| {
            pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap_err()
        .to_string()
    };
    let hs = |k: &'static str, v: &str| {
        vec![
            ("AUTH_PROVIDER", s("hs256")),
            ("AUTH_ISSUER", s("https://i")),
            (k, s(v)),
        ]
    };
    assert!(err(&hs("AUTH0_ALLOW_M2M", "true")).contains("auth0 only"));
    assert!(err(&hs("CLERK_REJECT_PENDING_SESSIONS", "true")).contains("clerk only"));
    assert!(err(&hs("SUPABASE_REQUIRED_AAL", "aal2")).contains("supabase only"));
    assert!(err(&hs("OIDC_TOKEN_TYPE", "access")).contains("oidc only"));
    assert!(err(&hs("AUTH_MAX_TOKEN_AGE_SECONDS", "0")).contains("AUTH_MAX_TOKEN_AGE_SECONDS"));
    let supa = |k: &'static str, v: &str| {
        vec![
            ("AUTH_PROVIDER", s("supabase")),
            ("SUPABASE_URL", s("https://abc.supabase.co")),
            (k, s(v)),
        ]
    };
    assert!(err(&supa("SUPABASE_REQUIRED_AAL", "mfa")).contains("aal1, aal2 or aal3"));
    assert!(err(&supa("SUPABASE_ALLOW_ANONYMOUS", "maybe")).contains("true or false"));
}
