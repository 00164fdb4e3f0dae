//! The whole application, warm, as the Lambda host runs it: API Gateway 2.0 event in (lambda_http's
//! deserialisation), response out (RS256 caller JWT verified against a JWKS already cached, policy,
//! Agora/LiveKit/Stream mint, JSON). Target: < 60 us per request.
//! Secrets come from a `StaticSource` (loaded at INIT as in Lambda); the JSON log line and the EMF
//! line are built as on Lambda and written to sinks.
//! Run: `cargo bench -p token-service --bench handler`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use token_service::access::AccessChecker;
use token_service::clock::{random_salt, SystemClock};
use token_service::config::PolicySource;
use token_service::lambda::app_request;
use token_service::secrets::StaticSource;
use token_service::telemetry::{null_sink, Telemetry};
use token_service::{Provider, Service, ServiceParts};

const ISSUER: &str = "https://issuer.rtc-tokens.test";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rs256_jwt(sub: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&fixture("caller-rsa.der"));
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("caller-key-1".into());
    let n = now();
    jsonwebtoken::encode(
        &h,
        &json!({"iss": ISSUER, "aud": "bench", "sub": sub, "iat": n, "exp": n + 7200}),
        &key,
    )
    .unwrap()
}

/// Serves the JWKS fixture on loopback (one fetch at INIT, then cached).
async fn jwks_server() -> String {
    let body = fixture("caller-jwks.json");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    });
    format!("http://127.0.0.1:{port}/jwks.json")
}

fn event(path: &str, jwt: &str, body: &serde_json::Value) -> String {
    json!({
        "version": "2.0", "routeKey": format!("POST {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {jwt}"), "content-type": "application/json"},
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": format!("POST {path}"), "stage": "$default", "time": "t", "timeEpoch": 0},
        "body": body.to_string(), "isBase64Encoded": false
    })
    .to_string()
}

fn bench(c: &mut Criterion) {
    // The request log line is formatted exactly as on Lambda (JSON, info level) and written to a
    // sink instead of stdout, so its cost is part of the figure; the EMF line is built too.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .with_writer(std::io::sink)
        .try_init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let jwks = rt.block_on(jwks_server());
    let source = StaticSource::new()
        .with("agora", json!({"app_id": "970ca35de60c44645bbae8a215061b33", "app_certificate": "5cfd2fd1755d40ecb72977518be15d3b"}).to_string())
        .with("livekit", json!({"api_key": "APIbench", "api_secret": "bench-livekit-secret-bench-livekit-secret", "url": "wss://bench.invalid"}).to_string())
        .with("stream", json!({"api_key": "benchkey", "api_secret": "bench-stream-secret-bench-stream-secret"}).to_string());
    let jwt = rs256_jwt("alice");
    let cases = [
        (
            Provider::Agora,
            json!({"type": "rtc", "channel": "live-alice", "role": "publisher"}),
        ),
        (
            Provider::LiveKit,
            json!({"room_name": "live-alice", "participant_name": "Alice"}),
        ),
        (
            Provider::Stream,
            json!({"type": "video", "call_cids": ["default:live-alice"]}),
        ),
    ];
    for (provider, body) in cases {
        let auth = caller_auth::AuthConfig::jwks(ISSUER, &jwks)
            .unwrap()
            .with_audience(&["bench"]);
        let svc = rt
            .block_on(Service::from_parts(ServiceParts {
                provider,
                auth,
                source: Arc::new(source.clone()),
                secret_id: provider.name().to_owned(),
                auth_hs256_secret_id: None,
                auth_hs_secrets: Vec::new(),
                secret_refresh_seconds: 300,
                policy: PolicySource::Inline(Box::default()),
                access: AccessChecker::disabled(),
                clock: Arc::new(SystemClock),
                salt: random_salt(),
                telemetry: Telemetry::new("RtcTokens", "bench", null_sink()),
            }))
            .unwrap();
        let ev = event(provider.route(), &jwt, &body);
        // Warm up and check it really mints.
        let services = [svc];
        let request = || app_request(lambda_http::request::from_str(&ev).unwrap());
        let resp = rt.block_on(token_service::handle(&services, request()));
        assert!(
            resp.status().is_success(),
            "{provider:?}: {:?}",
            resp.body()
        );
        c.bench_function(&format!("handler/{}/rs256", provider.name()), |b| {
            b.iter(|| rt.block_on(token_service::handle(&services, request())))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
