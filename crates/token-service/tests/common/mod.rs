//! Shared test helpers of token-service's whole-flow tests (reuse them from any `tests/*.rs` with
//! `mod common;`):
//! - [`Moto`]: a `moto_server` child on a free loopback port (`moto.rs`, shared with the `access_*`
//!   tests), killed on drop, with [`Moto::put_secret`] through the real AWS SDK and
//!   [`Moto::stop`]/[`Moto::restart`] on the same port to simulate an outage.
//! - [`JwksServer`]: a loopback hyper server serving `fixtures/caller-jwks.json` (the public half of
//!   `fixtures/caller-rsa.der`, kid `caller-key-1`) and counting hits.
//! - Caller JWTs: [`rs256_jwt`] (the RSA fixture) and [`hs256_jwt`] (the [`HS_SECRET`] below).
//! - Provider secret fixtures ([`AGORA_APP_ID`], ...), [`event`] to build an API Gateway 2.0
//!   request, [`call`] to run the real application and decode the answer.
//!
//! All keys and secrets here are test-only values generated for these tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lambda_http::Request;
use serde_json::{json, Value};

pub mod moto;
pub use moto::Moto;

/// Issuer of the test caller JWTs.
pub const ISSUER: &str = "https://issuer.rtc-tokens.test";
/// Audience of the test caller JWTs.
pub const AUDIENCE: &str = "rtc-tokens-test";
/// HS256 caller secret (test only).
pub const HS_SECRET: &str = "test-hs256-caller-secret-0123456789abcdef";
/// Agora test credentials.
pub const AGORA_APP_ID: &str = "970ca35de60c44645bbae8a215061b33";
/// Agora test certificate.
pub const AGORA_CERT: &str = "5cfd2fd1755d40ecb72977518be15d3b";
/// A second certificate (rotation).
pub const AGORA_CERT_2: &str = "0123456789abcdef0123456789abcdef";
/// LiveKit test key.
pub const LIVEKIT_KEY: &str = "APItestkey";
/// LiveKit test secret.
pub const LIVEKIT_SECRET: &str = "livekit-test-secret-livekit-test-secret-0";
/// LiveKit URL.
pub const LIVEKIT_URL: &str = "wss://test.livekit.invalid";
/// Stream test key.
pub const STREAM_KEY: &str = "streamtestkey";
/// Stream test secret.
pub const STREAM_SECRET: &str = "stream-test-secret-stream-test-secret-00";

/// Agora secret JSON.
pub fn agora_secret(cert: &str) -> String {
    json!({"app_id": AGORA_APP_ID, "app_certificate": cert}).to_string()
}
/// LiveKit secret JSON.
pub fn livekit_secret() -> String {
    json!({"api_key": LIVEKIT_KEY, "api_secret": LIVEKIT_SECRET, "url": LIVEKIT_URL}).to_string()
}
/// Stream secret JSON.
pub fn stream_secret() -> String {
    json!({"api_key": STREAM_KEY, "api_secret": STREAM_SECRET}).to_string()
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An RS256 caller JWT signed with `fixtures/caller-rsa.der` (kid `caller-key-1`).
pub fn rs256_jwt(claims: &Value) -> String {
    let der = std::fs::read(fixture_path("caller-rsa.der")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&der);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("caller-key-1".into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// An HS256 caller JWT signed with `secret`.
pub fn hs256_jwt(claims: &Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &key,
    )
    .unwrap()
}

/// Standard caller claims for `sub`, valid for an hour from `now`, plus `extra`.
pub fn claims(sub: &str, now: u64, extra: Value) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now, "exp": now + 3600});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    c
}

/// What the Secrets Manager tests do with the server.
impl Moto {
    /// Creates or updates a secret through the real SDK.
    pub async fn put_secret(&self, id: &str, value: &str) {
        let aws = token_service::aws::Aws::for_endpoint(&self.endpoint, "us-east-1").await;
        let sm = aws.secrets_manager().await;
        let created = sm
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await;
        if created.is_err() {
            sm.put_secret_value()
                .secret_id(id)
                .secret_string(value)
                .send()
                .await
                .expect("put_secret_value");
        }
    }

    /// An [`token_service::aws::Aws`] pointed at this server.
    pub async fn aws(&self) -> token_service::aws::Aws {
        token_service::aws::Aws::for_endpoint(&self.endpoint, "us-east-1").await
    }
}

/// A loopback JWKS server (HTTP/1.1, hyper) serving `fixtures/caller-jwks.json`.
pub struct JwksServer {
    /// `http://127.0.0.1:<port>/.well-known/jwks.json`.
    pub url: String,
    hits: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Starts it on a free port (call inside a tokio runtime).
    pub async fn start() -> JwksServer {
        use http_body_util::Full;
        use hyper::service::service_fn;
        let body = bytes::Bytes::from(std::fs::read(fixture_path("caller-jwks.json")).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    break;
                };
                let body = body.clone();
                let h = h.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
                        h.fetch_add(1, Ordering::SeqCst);
                        let body = body.clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        JwksServer {
            url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
            hits,
            task,
        }
    }

    /// Requests served so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A closure over a map, for the injectable environment getters.
pub fn getter(m: HashMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |k| m.get(k).cloned()
}

/// The environment of a function with HS256 callers whose secret is `caller-hs256` in Secrets Manager.
pub fn hs256_env(provider: token_service::Provider) -> HashMap<String, String> {
    let mut e = HashMap::new();
    e.insert("AUTH_PROVIDER".into(), "hs256".into());
    e.insert("AUTH_ISSUER".into(), ISSUER.into());
    e.insert("AUTH_AUDIENCE".into(), AUDIENCE.into());
    e.insert("AUTH_HS256_SECRET_ID".into(), "caller-hs256".into());
    e.insert(
        provider.secret_id_var().into(),
        format!("{}-secret", provider.name()),
    );
    e
}

/// The environment of a function with RS256 callers verified against `jwks_url`.
pub fn jwks_env(provider: token_service::Provider, jwks_url: &str) -> HashMap<String, String> {
    let mut e = HashMap::new();
    e.insert("AUTH_PROVIDER".into(), "jwks".into());
    e.insert("AUTH_ISSUER".into(), ISSUER.into());
    e.insert("AUTH_AUDIENCE".into(), AUDIENCE.into());
    e.insert("AUTH_JWKS_URL".into(), jwks_url.into());
    e.insert("AUTH_ROLE_CLAIMS".into(), "roles".into());
    e.insert(
        provider.secret_id_var().into(),
        format!("{}-secret", provider.name()),
    );
    e
}

/// An API Gateway HTTP API 2.0 `POST` event for `path` with `headers` and `body`, as a request.
pub fn event(path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    event_with("POST", path, headers, body)
}

/// As [`event`] with any method.
pub fn event_with(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    event_with_id(method, path, headers, body, "req-test")
}

/// As [`event_with`] with API Gateway's request id set to `request_id`.
pub fn event_with_id(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    request_id: &str,
) -> Request {
    let h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let ev = json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": h,
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.test",
            "domainPrefix": "api", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1", "userAgent": "test"}, "requestId": request_id,
            "routeKey": format!("{method} {path}"), "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&ev.to_string()).unwrap()
}

/// A JSON `POST` with a bearer token.
pub fn post(path: &str, jwt: &str, body: &Value) -> Request {
    post_with_id(path, jwt, body, "req-test")
}

/// As [`post`] with API Gateway's request id set to `request_id` (to find its log line).
pub fn post_with_id(path: &str, jwt: &str, body: &Value, request_id: &str) -> Request {
    let auth = format!("Bearer {jwt}");
    event_with_id(
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &body.to_string(),
        request_id,
    )
}

/// A decoded answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Headers, lowercased names.
    pub headers: HashMap<String, String>,
    /// JSON body.
    pub body: Value,
}

impl Answer {
    /// From a response.
    pub fn from(resp: http::Response<String>) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = serde_json::from_str(resp.body()).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Runs the real application on `svc`'s route, as the Lambda host does (lambda_http's request
/// through [`token_service::lambda::app_request`]).
pub async fn call(svc: &token_service::Service, req: Request) -> Answer {
    let req = token_service::lambda::app_request(req);
    Answer::from(token_service::handle(std::slice::from_ref(svc), req).await)
}
