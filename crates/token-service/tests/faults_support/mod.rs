//! Shared pieces of the fault-injection tests (`tests/faults_*.rs`):
//! - [`FaultServer`]: a loopback HTTP/1.1 server whose behaviour the test switches at run time
//!   (answer, hang after accepting, close at once, or be down altogether), used as a fake Secrets
//!   Manager endpoint (the real AWS SDK talks to it) and as a JWKS endpoint;
//! - caller JWT minting (HS256 and RS256 with the fixture keys);
//! - building a [`Service`] the way a Lambda function does (`Service::from_env_with`) and calling
//!   [`handle`] with a time bound.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use token_service::aws::Aws;
use token_service::clock::ManualClock;
use token_service::{handle, InitError, Provider, Service};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The Lambda function timeout of the deployment template (`FunctionTimeout`, 5 s): no request may
/// take longer, whatever a dependency does.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(5);
/// Lambda's INIT budget: INIT must finish (successfully or not) well within it.
pub const INIT_BUDGET: Duration = Duration::from_secs(10);

pub const ISSUER: &str = "https://faults.rtc-tokens.invalid";
pub const AUDIENCE: &str = "rtc-tokens-faults";
pub const HS_SECRET: &str = "faults-hs256-secret-faults-hs256-secret-0";
pub const STREAM_SECRET_A: &str = "stream-secret-A-stream-secret-A-stream-0";
pub const STREAM_SECRET_B: &str = "stream-secret-B-stream-secret-B-stream-0";
pub const AGORA_APP_ID: &str = "970ca35de60c44645bbae8a215061b33";
pub const AGORA_CERT: &str = "5cfd2fd1755d40ecb72977518be15d3b";

/// What the fault server does with the next request.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Answer with this status, extra headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Accept, read the request, never answer (and keep the socket open).
    Hang,
    /// Accept and close the connection at once.
    Close,
}

impl Mode {
    pub fn json(status: u16, body: &Value) -> Self {
        Mode::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// The request handler of a fault server: (path, headers lowercased, body) -> mode.
pub type Behaviour = Arc<dyn Fn(&str, &HashMap<String, String>, &[u8]) -> Mode + Send + Sync>;

/// A loopback HTTP server for fault injection, which can be stopped (port refused) and restarted
/// on the same port.
pub struct FaultServer {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Requests seen (for assertions on refetch limits).
    pub hits: Arc<Mutex<u64>>,
    /// Latency added before every answer (a stand-in that is a network round trip away).
    delay: Arc<Mutex<Duration>>,
}

impl FaultServer {
    /// Starts on a free loopback port.
    pub async fn start(behaviour: Behaviour) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = Arc::new(FaultServer {
            addr,
            behaviour: Arc::new(Mutex::new(behaviour)),
            task: Mutex::new(None),
            hits: Arc::new(Mutex::new(0)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
        });
        s.serve(listener);
        s
    }

    /// A server that is down from the start: its port is reserved, then released (refused).
    pub async fn down(behaviour: Behaviour) -> Arc<Self> {
        let s = Self::start(behaviour).await;
        s.stop();
        s
    }

    fn serve(&self, listener: TcpListener) {
        let behaviour = self.behaviour.clone();
        let hits = self.hits.clone();
        let delay = self.delay.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let behaviour = behaviour.clone();
                let hits = hits.clone();
                let delay = delay.clone();
                tokio::spawn(async move {
                    let _ = serve_conn(sock, behaviour, hits, delay).await;
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Stops listening: new connections are refused. (Open connections are dropped with the task's
    /// listener; hung connections stay hung until the client gives up.)
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        self.stop();
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebinding {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Answers every request `d` late (each request on its own: concurrent requests overlap).
    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().unwrap() = d;
    }

    /// Replaces the behaviour (takes effect for the next request).
    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> u64 {
        *self.hits.lock().unwrap()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve_conn(
    mut sock: TcpStream,
    behaviour: Arc<Mutex<Behaviour>>,
    hits: Arc<Mutex<u64>>,
    delay: Arc<Mutex<Duration>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        // Read one request: headers, then Content-Length bytes.
        let header_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if read_some(&mut sock, &mut buf).await? == 0 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .unwrap_or("")
            .split(' ')
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + 4 + len {
            if read_some(&mut sock, &mut buf).await? == 0 {
                return Ok(());
            }
        }
        let body = buf[header_end + 4..header_end + 4 + len].to_vec();
        buf.drain(..header_end + 4 + len);
        *hits.lock().unwrap() += 1;
        let d = *delay.lock().unwrap();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
        let b = behaviour.lock().unwrap().clone();
        match b(&path, &headers, &body) {
            Mode::Respond {
                status,
                headers,
                body,
            } => {
                let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                write_all(&sock, out.as_bytes()).await?;
                write_all(&sock, &body).await?;
            }
            Mode::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Mode::Close => return Ok(()),
        }
    }
}

/// Reads what is available (tokio's `net` feature only: readiness + `try_read`).
async fn read_some(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    loop {
        sock.readable().await?;
        match sock.try_read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn write_all(sock: &TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        sock.writable().await?;
        match sock.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A fake Secrets Manager: `GetSecretValue` answered from a map the test can change; ids absent
/// from the map are `ResourceNotFoundException`.
#[derive(Clone, Default)]
pub struct SecretsStore(pub Arc<Mutex<HashMap<String, String>>>);

impl SecretsStore {
    pub fn new(entries: &[(&str, &str)]) -> Self {
        let s = SecretsStore::default();
        for (k, v) in entries {
            s.put(k, v);
        }
        s
    }
    pub fn put(&self, id: &str, value: &str) {
        self.0
            .lock()
            .unwrap()
            .insert(id.to_owned(), value.to_owned());
    }
    /// The Secrets Manager behaviour over this store.
    pub fn behaviour(&self) -> Behaviour {
        let store = self.clone();
        Arc::new(move |_path, headers, body| {
            let target = headers.get("x-amz-target").cloned().unwrap_or_default();
            let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let id = req["SecretId"].as_str().unwrap_or_default().to_owned();
            match store.0.lock().unwrap().get(&id) {
                Some(v) if target.ends_with("GetSecretValue") => Mode::Respond {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
                    body: json!({
                        "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}-AbCdEf"),
                        "Name": id, "SecretString": v, "VersionId": "v1",
                        "VersionStages": ["AWSCURRENT"], "CreatedDate": 1767225600.0
                    })
                    .to_string()
                    .into_bytes(),
                },
                _ => Mode::Respond {
                    status: 400,
                    headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
                    body: json!({"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."})
                        .to_string()
                        .into_bytes(),
                },
            }
        })
    }
}

pub fn fixed(mode: Mode) -> Behaviour {
    Arc::new(move |_, _, _| mode.clone())
}

pub fn stream_secret(api_secret: &str) -> String {
    json!({"api_key": "faultkey", "api_secret": api_secret}).to_string()
}

pub fn agora_secret() -> String {
    json!({"app_id": AGORA_APP_ID, "app_certificate": AGORA_CERT}).to_string()
}

pub fn hs_secret_json() -> String {
    json!({"secret": HS_SECRET}).to_string()
}

/// The store every HS256 test starts with: caller secret + the provider secrets.
pub fn default_store() -> SecretsStore {
    SecretsStore::new(&[
        ("caller-hs256", &hs_secret_json()),
        ("stream", &stream_secret(STREAM_SECRET_A)),
        ("agora", &agora_secret()),
    ])
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The environment of a function using HS256 caller JWTs from Secrets Manager.
pub fn hs256_env(provider: Provider) -> HashMap<String, String> {
    let mut e = HashMap::new();
    e.insert("AUTH_PROVIDER".into(), "hs256".into());
    e.insert("AUTH_ISSUER".into(), ISSUER.into());
    e.insert("AUTH_AUDIENCE".into(), AUDIENCE.into());
    e.insert("AUTH_HS256_SECRET_ID".into(), "caller-hs256".into());
    e.insert("AUTH_LEEWAY_SECONDS".into(), "30".into());
    e.insert(provider.secret_id_var().into(), provider.name().into());
    e.insert("SECRET_REFRESH_SECONDS".into(), "300".into());
    e
}

/// The environment of a function using RS256 caller JWTs from a JWKS URL.
pub fn jwks_env(provider: Provider, jwks_url: &str) -> HashMap<String, String> {
    let mut e = HashMap::new();
    e.insert("AUTH_PROVIDER".into(), "jwks".into());
    e.insert("AUTH_ISSUER".into(), ISSUER.into());
    e.insert("AUTH_AUDIENCE".into(), AUDIENCE.into());
    e.insert("AUTH_JWKS_URL".into(), jwks_url.into());
    e.insert("AUTH_JWKS_MIN_REFETCH_SECONDS".into(), "1".into());
    e.insert(provider.secret_id_var().into(), provider.name().into());
    e
}

/// Builds the service as a Lambda function's INIT does, against the fake Secrets Manager at
/// `sm_url`, and checks INIT stayed within its budget.
pub async fn init(
    provider: Provider,
    env: &HashMap<String, String>,
    sm_url: &str,
    clock: &ManualClock,
) -> (Result<Service, InitError>, Duration) {
    if std::env::var_os("FAULTS_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("debug")
            .try_init();
    }
    let started = Instant::now();
    let aws = Aws::for_endpoint(sm_url, "us-east-1").await;
    let get = |k: &str| env.get(k).cloned();
    let r = tokio::time::timeout(
        INIT_BUDGET,
        Service::from_env_with(provider, &get, aws, Arc::new(clock.clone())),
    )
    .await
    .expect("INIT hung past Lambda's INIT budget");
    (r, started.elapsed())
}

/// One response, its decoded JSON body and how long it took. Fails the test if the handler took
/// longer than the Lambda timeout.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub elapsed: Duration,
}

pub async fn call(svc: &Service, req: http::Request<Bytes>) -> Answer {
    let started = Instant::now();
    let services = std::slice::from_ref(svc);
    let resp = tokio::time::timeout(LAMBDA_TIMEOUT, handle(services, req))
        .await
        .expect("the handler ran past the Lambda timeout");
    let elapsed = started.elapsed();
    let (parts, body) = resp.into_parts();
    let body: Value = serde_json::from_str(&body).expect("every answer is JSON");
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        elapsed,
    }
}

/// A POST to the provider's route with a JSON body and a bearer token.
pub fn request(provider: Provider, jwt: &str, body: &Value) -> http::Request<Bytes> {
    http::Request::builder()
        .method("POST")
        .uri(format!("https://api.example.com{}", provider.route()))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {jwt}"))
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

pub fn body_for(provider: Provider) -> Value {
    match provider {
        Provider::Agora => json!({"type": "rtc", "channel": "room-1", "role": "subscriber"}),
        Provider::LiveKit => json!({"room_name": "room-1"}),
        Provider::Stream => json!({"type": "chat"}),
    }
}

/// HS256 caller JWT with `iat`/`nbf` = `issued_at` and `exp` = `expires_at`.
pub fn hs256_jwt(sub: &str, issued_at: u64, expires_at: u64) -> String {
    hs256_jwt_from(sub, issued_at, expires_at, ISSUER)
}

/// As [`hs256_jwt`], from issuer `iss`.
pub fn hs256_jwt_from(sub: &str, issued_at: u64, expires_at: u64, iss: &str) -> String {
    let claims = json!({"iss": iss, "aud": AUDIENCE, "sub": sub, "iat": issued_at, "nbf": issued_at, "exp": expires_at});
    let key = jsonwebtoken::EncodingKey::from_secret(HS_SECRET.as_bytes());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &key,
    )
    .unwrap()
}

/// RS256 caller JWT signed with fixture key `n` (1 or 2), kid `fault-key-n`.
pub fn rs256_jwt(n: u8, sub: &str) -> String {
    rs256_jwt_from(n, sub, ISSUER)
}

/// As [`rs256_jwt`], from issuer `iss`.
pub fn rs256_jwt_from(n: u8, sub: &str, iss: &str) -> String {
    let der = std::fs::read(fixture(&format!("rsa{n}.der"))).unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&der);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(format!("fault-key-{n}"));
    let now = unix_now();
    let claims =
        json!({"iss": iss, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now, "exp": now + 600});
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

pub fn fixture(name: &str) -> String {
    format!(
        "{}/tests/faults_fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The JWKS document with fixture key `n`.
pub fn jwks_doc(n: u8) -> Vec<u8> {
    std::fs::read(fixture(&format!("jwks{n}.json"))).unwrap()
}

/// A JWKS stand-in serving fixture key 1 (`jwks_doc(1)`) at any path, each answer `delay` late.
pub async fn jwks_stand_in(delay: Duration) -> Arc<FaultServer> {
    let srv = FaultServer::start(fixed(Mode::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: jwks_doc(1),
    }))
    .await;
    srv.set_delay(delay);
    srv
}

/// Asserts the documented error shape and status-specific headers.
pub fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "body: {}", a.body);
    assert_eq!(a.body["error"]["code"], code, "body: {}", a.body);
    assert!(a.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(
        a.headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    match status {
        503 | 502 | 429 => assert!(
            a.headers.contains_key("retry-after"),
            "{status} without Retry-After"
        ),
        401 => assert!(
            a.headers.contains_key("www-authenticate"),
            "401 without WWW-Authenticate"
        ),
        _ => {}
    }
}

/// Verifies a Stream token (HS256 JWT) with `secret`; returns its `user_id`.
pub fn stream_token_user(token: &str, secret: &str) -> Option<String> {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .ok()?;
    data.claims["user_id"].as_str().map(str::to_owned)
}
