//! Starts the built `rtc-token` binary as a user would (`rtc-token serve --addr 127.0.0.1:0`) and
//! talks to it over real HTTP. Shared by the `serve_*` tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rtc-token");

// DEVELOPMENT ONLY values, copied from src/dev_defaults.rs (the tests check the binary uses them).
pub const DEV_AGORA_APP_ID: &str = "de7000000000000000000000000a9010";
pub const DEV_AGORA_APP_CERTIFICATE: &str = "de70000000000000000000000ce271f1";
pub const DEV_LIVEKIT_API_KEY: &str = "devkey";
pub const DEV_LIVEKIT_API_SECRET: &str = "rtc-token-dev-livekit-secret-DEVELOPMENT-ONLY";
pub const DEV_LIVEKIT_URL: &str = "ws://127.0.0.1:7880";
pub const DEV_STREAM_API_KEY: &str = "devstreamkey";
pub const DEV_STREAM_API_SECRET: &str = "rtc-token-dev-stream-secret-DEVELOPMENT-ONLY";
pub const DEV_CALLER_SECRET: &str = "rtc-token-dev-caller-secret-DEVELOPMENT-ONLY-do-not-deploy";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A running `rtc-token serve`; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The start-up line.
    pub banner: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server with exactly `env` (the test's own environment is not inherited).
    pub fn start(env: &[(&str, &str)]) -> Server {
        Self::start_at("127.0.0.1:0", env)
            .unwrap_or_else(|(code, err)| panic!("serve exited {code:?}: {err}"))
    }

    /// Starts at `addr`; `Err((exit code, stderr))` when the process exits before listening.
    pub fn start_at(addr: &str, env: &[(&str, &str)]) -> Result<Server, (Option<i32>, String)> {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--addr", addr])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn rtc-token serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out = child.stdout.take().unwrap();
        let o2 = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o2.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let err = child.stderr.take().unwrap();
        let e2 = stderr.clone();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                e2.lock().unwrap().push_str(&format!("{line}\n"));
                if line.contains("listening on http://") {
                    let _ = tx.send(line);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
                let start = line.find("http://").unwrap();
                let base: String = line[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                return Ok(Server {
                    child,
                    base,
                    banner: line,
                    stdout,
                    stderr,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                let text = stderr.lock().unwrap().clone();
                return Err((status.code(), text));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not start: {}", stderr.lock().unwrap());
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server wrote to stdout (its JSON log lines) so far.
    pub fn logs(&self) -> String {
        self.stdout.lock().unwrap().clone() + &self.stderr.lock().unwrap()
    }

    /// Sends SIGINT (Ctrl-C) and waits for a clean exit.
    pub fn interrupt(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rtc-token dev-jwt ARGS...` -> the token (asserts exit 0).
pub fn dev_jwt(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("dev-jwt")
        .args(args)
        .env_clear()
        .output()
        .expect("run dev-jwt");
    assert!(
        out.status.success(),
        "dev-jwt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "not a JWT");
    token
}

/// One HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: serde_json::Value,
}

/// POSTs JSON text with an optional bearer token.
pub async fn post(
    url: &str,
    bearer: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> Answer {
    let client = reqwest::Client::new();
    let mut req = client.post(url).body(body.to_owned());
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.expect("request");
    answer(resp).await
}

pub async fn post_json(url: &str, bearer: &str, body: serde_json::Value) -> Answer {
    post(
        url,
        Some(bearer),
        Some("application/json"),
        &body.to_string(),
    )
    .await
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "status {status}: body is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        headers,
        json,
    }
}

/// Asserts the project's error shape and returns the code.
pub fn error_code(a: &Answer) -> String {
    let code = a.json["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {}", a.json));
    assert!(
        a.json["error"]["message"].is_string(),
        "no error.message in {}",
        a.json
    );
    assert_eq!(
        a.headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    code.to_owned()
}

/// Verifies an HS256 JWT with `secret` and returns its claims.
pub fn verify_hs256(token: &str, secret: &str) -> serde_json::Map<String, serde_json::Value> {
    caller_auth::init_crypto();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_aud = false;
    v.required_spec_claims = ["exp".to_owned()].into_iter().collect();
    jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .unwrap_or_else(|e| panic!("token does not verify: {e}"))
    .claims
}
