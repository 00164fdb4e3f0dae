//! Whole flow as a user runs it: `rtc-token serve` on embedded defaults, a caller JWT from
//! `rtc-token dev-jwt`, every route over real HTTP, and the returned tokens verified (Agora with
//! rtc-signing's parser and signature check, LiveKit and Stream as HS256 JWTs with their secrets).

mod serve_support;

use serde_json::json;
use serve_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agora_route_mints_a_verifiable_token_for_the_caller() {
    let server = Server::start(&[]);
    assert!(
        server
            .banner
            .contains("DEVELOPMENT ONLY credentials for agora, livekit, stream"),
        "{}",
        server.banner
    );
    assert!(server.banner.contains("rtc-token-dev"), "{}", server.banner);
    let jwt = dev_jwt(&["--sub", "alice"]);
    let before = now();
    let a = post_json(
        &server.url("/agora/token"),
        &jwt,
        json!({"channel": "live-alice", "role": "publisher"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.headers["cache-control"], "no-store");
    let b = &a.json;
    assert_eq!(b["appId"], DEV_AGORA_APP_ID);
    assert_eq!(b["type"], "rtc");
    assert_eq!(b["channel"], "live-alice");
    assert_eq!(b["account"], "alice");
    assert_eq!(b["role"], "publisher");
    let issued = b["issuedAt"].as_u64().unwrap();
    let expires = b["expiresAt"].as_u64().unwrap();
    assert!(issued >= before && issued <= now());
    assert_eq!(expires - issued, 3600, "default Agora TTL is 1 h");
    let refresh = b["refreshAfter"].as_u64().unwrap();
    assert!(refresh > issued && refresh < expires);

    let token = b["token"].as_str().unwrap();
    let parsed = rtc_signing::agora::AccessToken2::parse(token).expect("parses as 007");
    parsed
        .verify_with_certificate(DEV_AGORA_APP_CERTIFICATE)
        .expect("signed with the dev certificate");
    assert!(parsed
        .verify_with_certificate("0123456789abcdef0123456789abcdef")
        .is_err());
    assert_eq!(parsed.token.app_id, DEV_AGORA_APP_ID);
    assert_eq!(u64::from(parsed.token.issued_at), issued);
    assert_eq!(u64::from(parsed.token.expire), 3600);
    let rtc = parsed
        .token
        .services
        .iter()
        .find_map(|s| match &s.body {
            rtc_signing::agora::ServiceBody::Rtc { channel, uid } => {
                Some((channel.clone(), uid.clone(), s))
            }
            _ => None,
        })
        .expect("an RTC service");
    assert_eq!(rtc.0, "live-alice");
    assert_eq!(rtc.1, "alice", "bound to the caller's account");
    assert!(
        rtc.2.privileges.len() >= 2,
        "publisher: join + publish privileges"
    );

    // Ask with a longer TTL: honoured; the token is a new one each time (salt, time).
    let a2 = post_json(
        &server.url("/agora/token"),
        &jwt,
        json!({"channel": "live-alice", "role": "subscriber", "ttl": 600}),
    )
    .await;
    assert_eq!(a2.status, 200, "{}", a2.json);
    assert_eq!(
        a2.json["expiresAt"].as_u64().unwrap() - a2.json["issuedAt"].as_u64().unwrap(),
        600
    );
    assert_ne!(a2.json["token"], b["token"]);

    // No log line carries the token, the caller JWT or a secret.
    let logs = server.logs();
    for needle in [token, &jwt, DEV_AGORA_APP_CERTIFICATE, DEV_CALLER_SECRET] {
        assert!(
            !logs.contains(needle),
            "a secret value leaked into the logs"
        );
    }
    assert!(
        server.interrupt() == Some(0),
        "Ctrl-C stops the server cleanly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livekit_route_is_the_standard_token_endpoint() {
    let server = Server::start(&[]);
    let jwt = dev_jwt(&["--sub", "alice"]);
    let a = post_json(
        &server.url("/livekit/token"),
        &jwt,
        json!({"room_name": "standup", "participant_name": "Alice", "participant_identity": "alice"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json["server_url"], DEV_LIVEKIT_URL);
    let token = a.json["participant_token"].as_str().unwrap();
    let c = verify_hs256(token, DEV_LIVEKIT_API_SECRET);
    assert_eq!(c["iss"], DEV_LIVEKIT_API_KEY);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["video"]["room"], "standup");
    assert_eq!(c["video"]["roomJoin"], true);
    let exp = c["exp"].as_u64().unwrap();
    assert!(
        exp > now() && exp <= now() + 900 + 5,
        "default LiveKit TTL is 15 min"
    );

    // Somebody else's identity: 403.
    let a = post_json(
        &server.url("/livekit/token"),
        &jwt,
        json!({"room_name": "standup", "participant_identity": "bob"}),
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(error_code(&a), "identity_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_route_mints_a_user_token() {
    let server = Server::start(&[]);
    let jwt = dev_jwt(&["--sub", "alice"]);
    let a = post_json(&server.url("/stream/token"), &jwt, json!({})).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["apiKey"], DEV_STREAM_API_KEY);
    assert_eq!(a.json["userId"], "alice");
    let token = a.json["token"].as_str().unwrap();
    let c = verify_hs256(token, DEV_STREAM_API_SECRET);
    assert_eq!(c["user_id"], "alice");
    assert_eq!(c["exp"].as_u64(), a.json["expiresAt"].as_u64());
    if let Some(iat) = c.get("iat").and_then(|v| v.as_u64()) {
        assert!(iat <= now(), "iat never in the future");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_bad_callers_and_bad_requests() {
    let server = Server::start(&[]);
    let jwt = dev_jwt(&["--sub", "alice"]);
    for route in ["/agora/token", "/livekit/token", "/stream/token"] {
        let url = server.url(route);
        // no token
        let a = post(&url, None, Some("application/json"), "{}").await;
        assert_eq!(a.status, 401, "{route}");
        assert_eq!(error_code(&a), "unauthorized");
        assert_eq!(
            a.headers["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        // expired, wrong issuer
        for claims in [r#"{"exp":1000}"#, r#"{"iss":"someone-else"}"#] {
            let bad = dev_jwt(&["--sub", "alice", "--claims", claims]);
            let a = post(&url, Some(&bad), Some("application/json"), "{}").await;
            assert_eq!(a.status, 401, "{route} {claims}");
        }
        // forged with another key: flip the signature
        let mut forged = jwt.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            post(&url, Some(&forged), Some("application/json"), "{}")
                .await
                .status,
            401
        );
        // content type
        let a = post(&url, Some(&jwt), Some("text/plain"), "{}").await;
        assert_eq!(
            (a.status, error_code(&a).as_str()),
            (415, "unsupported_media_type"),
            "{route}"
        );
        // unknown field, bad JSON
        let a = post(&url, Some(&jwt), Some("application/json"), r#"{"bogus":1}"#).await;
        assert_eq!(
            (a.status, error_code(&a).as_str()),
            (400, "unknown_field"),
            "{route}"
        );
        let a = post(&url, Some(&jwt), Some("application/json"), r#"{"#).await;
        assert_eq!(
            (a.status, error_code(&a).as_str()),
            (400, "invalid_json"),
            "{route}"
        );
        // too large
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(17 * 1024));
        let a = post(&url, Some(&jwt), Some("application/json"), &big).await;
        assert_eq!(
            (a.status, error_code(&a).as_str()),
            (413, "payload_too_large"),
            "{route}"
        );
        // wrong method
        let resp = reqwest::Client::new().get(&url).send().await.unwrap();
        let a = answer(resp).await;
        assert_eq!(
            (a.status, error_code(&a).as_str()),
            (405, "method_not_allowed"),
            "{route}"
        );
        assert_eq!(a.headers["allow"], "POST");
    }
    let a = post(
        &server.url("/nope"),
        Some(&jwt),
        Some("application/json"),
        "{}",
    )
    .await;
    assert_eq!((a.status, error_code(&a).as_str()), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_overrides_credentials_policy_and_caller_auth() {
    let cert = "0123456789abcdef0123456789abcdef";
    let app = "fedcba9876543210fedcba9876543210";
    let shared = "my-backend-shared-secret-0123456789abcdef";
    let policy = r#"{"deny_subjects":["mallory"],"rooms":[{"pattern":"live-{sub}","roles":["publisher","subscriber"]},{"pattern":"live-*","roles":["subscriber"]}]}"#;
    let server = Server::start(&[
        ("AGORA_APP_ID", app),
        ("AGORA_APP_CERTIFICATE", cert),
        ("AUTH_PROVIDER", "hs256"),
        ("AUTH_ISSUER", "https://backend.example.com"),
        ("AUTH_HS256_SECRET", shared),
        ("POLICY_JSON", policy),
    ]);
    assert!(
        server
            .banner
            .contains("DEVELOPMENT ONLY credentials for livekit, stream"),
        "{}",
        server.banner
    );
    assert!(
        server.banner.contains("caller auth from AUTH_*"),
        "{}",
        server.banner
    );
    assert!(!server.banner.contains(shared) && !server.banner.contains(cert));

    // The development issuer is off: a dev-jwt token is refused.
    let dev = dev_jwt(&["--sub", "alice"]);
    let a = post_json(
        &server.url("/agora/token"),
        &dev,
        json!({"channel": "live-alice", "role": "publisher"}),
    )
    .await;
    assert_eq!(a.status, 401);

    // A token of the configured issuer, signed with the configured secret, works.
    caller_auth::init_crypto();
    let mint = |sub: &str| {
        let claims = json!({"iss": "https://backend.example.com", "sub": sub, "iat": now(), "exp": now() + 300});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(shared.as_bytes()),
        )
        .unwrap()
    };
    let alice = mint("alice");
    let a = post_json(
        &server.url("/agora/token"),
        &alice,
        json!({"channel": "live-alice", "role": "publisher"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["appId"], app);
    let parsed =
        rtc_signing::agora::AccessToken2::parse(a.json["token"].as_str().unwrap()).unwrap();
    parsed
        .verify_with_certificate(cert)
        .expect("signed with the certificate from the environment");
    assert!(parsed
        .verify_with_certificate(DEV_AGORA_APP_CERTIFICATE)
        .is_err());

    // The policy from POLICY_JSON applies: only the owner publishes to live-{sub}.
    let bob = mint("bob");
    let a = post_json(
        &server.url("/agora/token"),
        &bob,
        json!({"channel": "live-alice", "role": "publisher"}),
    )
    .await;
    assert_eq!(
        (a.status, error_code(&a).as_str()),
        (403, "role_not_allowed")
    );
    let a = post_json(
        &server.url("/agora/token"),
        &bob,
        json!({"channel": "live-alice", "role": "subscriber"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    let a = post_json(
        &server.url("/agora/token"),
        &bob,
        json!({"channel": "other", "role": "subscriber"}),
    )
    .await;
    assert_eq!(
        (a.status, error_code(&a).as_str()),
        (403, "room_not_allowed")
    );
    let a = post_json(
        &server.url("/agora/token"),
        &mint("mallory"),
        json!({"channel": "live-x", "role": "subscriber"}),
    )
    .await;
    assert_eq!((a.status, error_code(&a).as_str()), (403, "subject_denied"));
    assert!(!server.logs().contains(shared));
}

#[test]
fn bad_configuration_exits_2_with_a_clear_message() {
    let Err((code, err)) = Server::start_at("127.0.0.1:0", &[("POLICY_JSON", "{\"bogus\":1}")])
    else {
        panic!("started with a broken policy");
    };
    assert_eq!(code, Some(2));
    assert!(err.contains("POLICY_JSON"), "{err}");
    let Err((code, err)) =
        Server::start_at("127.0.0.1:0", &[("AUTH_ISSUER", "https://x.example.com")])
    else {
        panic!("started with an incomplete caller-auth configuration");
    };
    assert_eq!(code, Some(2));
    assert!(err.contains("AUTH_PROVIDER"), "{err}");
}
