//! Shared test support: fixture keys, token minting and a JWKS server on 127.0.0.1.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use caller_auth::{AuthConfig, Authenticator, ManualClock};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

/// Fixed verification time used by the tests.
pub const NOW: u64 = 1_900_000_000;
/// A 32-byte shared secret.
pub const HS_SECRET: &str = "test-secret-0123456789-abcdefghij";
/// Another one (rotation).
pub const HS_SECRET_2: &str = "test-secret-2-0123456789-abcdefgh";

/// A signing key with its algorithm and `kid`.
#[derive(Clone)]
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    pub key: EncodingKey,
}

impl TestKey {
    pub fn rsa1() -> Self {
        Self::new(
            Algorithm::RS256,
            "rsa-1",
            EncodingKey::from_rsa_der(include_bytes!("../fixtures/rsa1.der")),
        )
    }
    pub fn rsa2() -> Self {
        Self::new(
            Algorithm::RS256,
            "rsa-2",
            EncodingKey::from_rsa_der(include_bytes!("../fixtures/rsa2.der")),
        )
    }
    pub fn rsa_attacker() -> Self {
        Self::new(
            Algorithm::RS256,
            "rsa-1",
            EncodingKey::from_rsa_der(include_bytes!("../fixtures/rsa_attacker.der")),
        )
    }
    pub fn ec256() -> Self {
        Self::new(
            Algorithm::ES256,
            "ec-256",
            EncodingKey::from_ec_der(include_bytes!("../fixtures/ec256.der")),
        )
    }
    pub fn ec384() -> Self {
        Self::new(
            Algorithm::ES384,
            "ec-384",
            EncodingKey::from_ec_der(include_bytes!("../fixtures/ec384.der")),
        )
    }
    pub fn ed25519() -> Self {
        Self::new(
            Algorithm::EdDSA,
            "ed-1",
            EncodingKey::from_ed_der(include_bytes!("../fixtures/ed25519.der")),
        )
    }
    pub fn hs(secret: &str) -> Self {
        Self::new(
            Algorithm::HS256,
            "",
            EncodingKey::from_secret(secret.as_bytes()),
        )
    }
    pub fn new(alg: Algorithm, kid: &str, key: EncodingKey) -> Self {
        TestKey {
            alg,
            kid: kid.to_string(),
            key,
        }
    }
    /// Same key material used with another algorithm / kid.
    pub fn with(&self, alg: Algorithm, kid: &str) -> Self {
        TestKey {
            alg,
            kid: kid.to_string(),
            key: self.key.clone(),
        }
    }

    /// The public JWK (with `kid`, `use: sig` and `alg`).
    pub fn jwk(&self) -> Value {
        caller_auth::init_crypto();
        let jwk = Jwk::from_encoding_key(&self.key, self.alg).expect("jwk from key");
        let mut v = serde_json::to_value(jwk).expect("jwk json");
        v["kid"] = json!(self.kid);
        v["use"] = json!("sig");
        v
    }

    /// The public JWK without `alg`.
    pub fn jwk_without_alg(&self) -> Value {
        let mut v = self.jwk();
        v.as_object_mut().expect("object").remove("alg");
        v
    }

    /// Signs `claims` with a standard header (`alg`, `typ: JWT`, `kid` unless empty).
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = json!({"alg": alg_name(self.alg), "typ": "JWT"});
        if !self.kid.is_empty() {
            h["kid"] = json!(self.kid);
        }
        self.sign_raw(&h.to_string(), &claims.to_string())
    }

    /// Signs raw header and payload JSON text as given (for hostile headers).
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        caller_auth::init_crypto();
        let input = format!(
            "{}.{}",
            b64(header_json.as_bytes()),
            b64(payload_json.as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).expect("sign");
        format!("{input}.{sig}")
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

pub fn jwks_of(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// What the server answers.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub cache_control: Option<String>,
    pub location: Option<String>,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn ok(body: String) -> Self {
        Reply {
            status: 200,
            body,
            cache_control: None,
            location: None,
            delay: None,
        }
    }
}

struct ServerState {
    jwks: Reply,
    discovery: Option<Reply>,
}

/// A JWKS (and OIDC discovery) server on 127.0.0.1 that counts requests.
#[derive(Clone)]
pub struct JwksServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
}

impl JwksServer {
    pub async fn start(jwks: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = JwksServer {
            addr,
            state: Arc::new(Mutex::new(ServerState {
                jwks,
                discovery: None,
            })),
            jwks_hits: Arc::new(AtomicUsize::new(0)),
            discovery_hits: Arc::new(AtomicUsize::new(0)),
        };
        let s = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { s.handle(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        server
    }

    async fn handle(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let path = req.uri().path().to_string();
        let reply = {
            let st = self.state.lock().expect("state");
            if path.ends_with("openid-configuration") {
                self.discovery_hits.fetch_add(1, Ordering::SeqCst);
                st.discovery.clone().unwrap_or(Reply {
                    status: 404,
                    ..Reply::ok(String::new())
                })
            } else if path.ends_with("jwks.json") || path.ends_with("/jwks") {
                self.jwks_hits.fetch_add(1, Ordering::SeqCst);
                st.jwks.clone()
            } else {
                Reply {
                    status: 404,
                    ..Reply::ok(String::new())
                }
            }
        };
        if let Some(d) = reply.delay {
            tokio::time::sleep(d).await;
        }
        let mut b = Response::builder()
            .status(reply.status)
            .header("content-type", "application/json");
        if let Some(cc) = &reply.cache_control {
            b = b.header("cache-control", cc);
        }
        if let Some(loc) = &reply.location {
            b = b.header("location", loc);
        }
        Ok(b.body(Full::new(Bytes::from(reply.body)))
            .expect("response"))
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }
    pub fn set_jwks(&self, reply: Reply) {
        self.state.lock().expect("state").jwks = reply;
    }
    pub fn set_discovery(&self, reply: Reply) {
        self.state.lock().expect("state").discovery = Some(reply);
    }
    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
    pub fn discovery_hits(&self) -> usize {
        self.discovery_hits.load(Ordering::SeqCst)
    }
}

/// Builds a config from key/value pairs as `from_env` would read them.
pub fn config(pairs: &[(&str, String)]) -> AuthConfig {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    AuthConfig::from_env(&|k| map.get(k).cloned()).expect("config")
}

/// An authenticator with a manual cache clock at `NOW`.
pub async fn authenticator(cfg: AuthConfig, secrets: &[&str]) -> (Authenticator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = Authenticator::with_clock(cfg, secrets, clock.clone())
        .await
        .expect("authenticator");
    (auth, clock)
}

/// Standard claims for `issuer` / `audience` at `NOW`.
pub fn claims(issuer: &str, audience: Option<&str>, sub: &str) -> Value {
    let mut c =
        json!({"iss": issuer, "sub": sub, "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 300});
    if let Some(a) = audience {
        c["aud"] = json!(a);
    }
    c
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
