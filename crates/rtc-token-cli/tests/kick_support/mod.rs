//! Shared parts of the `admin ban --kick` tests: moto (the shared launcher of token-service's tests)
//! with the table and the provider secrets, the CLI runner, and a fake of the three providers' APIs
//! on loopback that answers as the real ones do (Twirp errors, Stream and Agora error bodies, 401 on
//! bad credentials) and can be told to fail (429, 5xx, slow answers).

#![allow(dead_code)]

#[path = "../../../token-service/tests/common/moto.rs"]
pub mod moto;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

pub const LK_KEY: &str = "APIkickTest";
pub const LK_SECRET: &str = "lk-api-secret-for-the-kick-tests-0123456789";
pub const ST_KEY: &str = "stkicktest";
pub const ST_SECRET: &str = "stream-api-secret-for-the-kick-tests";
pub const AG_APP: &str = "970ca35de60c44645bbae8a215061b33";
pub const AG_CERT: &str = "5cfd2fd1755d40ecb72977518be15d3b";
pub const AG_CID: &str = "agora-customer-id-kick";
pub const AG_CSECRET: &str = "agora-customer-secret-kick-tests";

/// One request the fake saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// A forced answer: status, body, delay in ms.
pub type Forced = (u16, Value, u64);

#[derive(Default)]
pub struct State {
    pub seen: Vec<Seen>,
    /// LiveKit: room -> identities connected.
    pub rooms: BTreeMap<String, BTreeSet<String>>,
    /// Forced answers, by path prefix: (status, body, delay ms), used first.
    pub forced: Vec<(String, VecDeque<Forced>)>,
    /// Agora rules: id -> body.
    pub agora_rules: BTreeMap<u64, Value>,
    pub next_rule: u64,
}

/// The fake provider: LiveKit Twirp, Stream `PATCH /users`, Agora `/dev/v1/kicking-rule`.
pub struct Fake {
    pub base: String,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            next_rule: 1953,
            ..State::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, st));
            }
        });
        Fake { base, state }
    }
    pub fn join(&self, room: &str, identity: &str) {
        let mut s = self.state.lock().unwrap();
        s.rooms
            .entry(room.to_owned())
            .or_default()
            .insert(identity.to_owned());
    }
    /// The next `n` answers to paths starting with `prefix`: `status` with `body`, after `delay_ms`.
    pub fn force(&self, prefix: &str, n: usize, status: u16, body: Value, delay_ms: u64) {
        self.state.lock().unwrap().forced.push((
            prefix.to_owned(),
            std::iter::repeat_n((status, body, delay_ms), n).collect(),
        ));
    }
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }
    pub fn in_room(&self, room: &str, identity: &str) -> bool {
        let s = self.state.lock().unwrap();
        s.rooms.get(room).is_some_and(|ids| ids.contains(identity))
    }
}

fn serve(conn: TcpStream, st: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.clone(), String::new()),
    };
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let seen = Seen {
        method,
        path,
        query,
        headers,
        body,
    };
    let (status, answer, delay) = answer(&st, seen);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let text = answer.to_string();
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn hs256_ok(token: &str, secret: &str) -> Option<Value> {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .ok()
    .map(|d| d.claims)
}

fn answer(st: &Arc<Mutex<State>>, seen: Seen) -> Forced {
    let mut s = st.lock().unwrap();
    s.seen.push(seen.clone());
    for (prefix, q) in s.forced.iter_mut() {
        if seen.path.starts_with(prefix.as_str()) {
            if let Some(a) = q.pop_front() {
                return a;
            }
        }
    }
    let auth = seen
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    if let Some(method) = seen.path.strip_prefix("/twirp/livekit.RoomService/") {
        let claims = auth
            .strip_prefix("Bearer ")
            .and_then(|t| hs256_ok(t, LK_SECRET));
        let Some(claims) = claims else {
            return (
                401,
                json!({"code": "unauthenticated", "msg": "invalid token: signature is invalid"}),
                0,
            );
        };
        let video = claims.get("video").cloned().unwrap_or(Value::Null);
        match method {
            "ListRooms" if video["roomList"] == json!(true) => {
                let rooms: Vec<Value> = s
                    .rooms
                    .keys()
                    .map(|r| json!({"sid": format!("RM_{r}"), "name": r}))
                    .collect();
                (200, json!({"rooms": rooms}), 0)
            }
            "RemoveParticipant" => {
                let room = seen.body["room"].as_str().unwrap_or("").to_owned();
                let identity = seen.body["identity"].as_str().unwrap_or("").to_owned();
                if !(video["roomAdmin"] == json!(true) && video["room"] == json!(room)) {
                    return (
                        403,
                        json!({"code": "permission_denied", "msg": "permissions denied"}),
                        0,
                    );
                }
                let removed = s
                    .rooms
                    .get_mut(&room)
                    .is_some_and(|ids| ids.remove(&identity));
                match removed {
                    true => (200, json!({}), 0),
                    false => (
                        404,
                        json!({"code": "not_found", "msg": "participant not found"}),
                        0,
                    ),
                }
            }
            _ => (
                403,
                json!({"code": "permission_denied", "msg": "permissions denied"}),
                0,
            ),
        }
    } else if seen.path == "/users" {
        let ok = hs256_ok(&auth, ST_SECRET).is_some_and(|c| c["server"] == json!(true))
            && seen.query.get("api_key").map(String::as_str) == Some(ST_KEY);
        if !ok {
            return (
                401,
                json!({"code": 5, "message": "PartialUpdateUsers failed with error: \"JWTAuth error: signature is not valid\"", "StatusCode": 401, "duration": "0.00ms"}),
                0,
            );
        }
        (200, json!({"users": {}, "duration": "1.00ms"}), 0)
    } else if seen.path == "/dev/v1/kicking-rule" {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{AG_CID}:{AG_CSECRET}"))
        );
        if auth != expected {
            return (
                401,
                json!({"message": "Invalid authentication credentials"}),
                0,
            );
        }
        match seen.method.as_str() {
            "POST" => {
                let id = s.next_rule;
                s.next_rule += 1;
                s.agora_rules.insert(id, seen.body.clone());
                (200, json!({"status": "success", "id": id}), 0)
            }
            "GET" => {
                let rules: Vec<Value> = s
                    .agora_rules
                    .iter()
                    .map(|(id, b)| {
                        let mut r = b.clone();
                        r["id"] = json!(id);
                        r
                    })
                    .collect();
                (200, json!({"status": "success", "rules": rules}), 0)
            }
            "DELETE" => {
                let id = seen.body["id"].as_u64().unwrap_or(0);
                if s.agora_rules.remove(&id).is_some() {
                    (200, json!({"status": "success", "id": id}), 0)
                } else {
                    (404, json!({"message": "rule not found"}), 0)
                }
            }
            _ => (405, json!({"message": "method not allowed"}), 0),
        }
    } else {
        (404, json!({"message": "no such path"}), 0)
    }
}

/// moto with the access table and the provider secrets (LiveKit's url = `livekit_url`).
pub struct Env {
    pub moto: moto::Moto,
}

pub fn put_secret(endpoint: &str, id: &str, value: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let aws = token_service::aws::Aws::for_endpoint(endpoint, "us-east-1").await;
        aws.secrets_manager()
            .await
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await
            .expect("create the secret in moto");
    });
}

impl Env {
    pub fn start(livekit_url: &str) -> Env {
        let moto = moto::Moto::start();
        let ep = moto.endpoint.clone();
        put_secret(
            &ep,
            "lk",
            &json!({"api_key": LK_KEY, "api_secret": LK_SECRET, "url": livekit_url}).to_string(),
        );
        put_secret(
            &ep,
            "lk-wrong",
            &json!({"api_key": LK_KEY, "api_secret": "not-the-livekit-secret-0123456789", "url": livekit_url}).to_string(),
        );
        put_secret(
            &ep,
            "st",
            &json!({"api_key": ST_KEY, "api_secret": ST_SECRET}).to_string(),
        );
        put_secret(
            &ep,
            "st-wrong",
            &json!({"api_key": ST_KEY, "api_secret": "not-the-stream-secret"}).to_string(),
        );
        put_secret(
            &ep,
            "ag",
            &json!({"app_id": AG_APP, "app_certificate": AG_CERT, "customer_id": AG_CID, "customer_secret": AG_CSECRET}).to_string(),
        );
        put_secret(
            &ep,
            "ag-wrong",
            &json!({"app_id": AG_APP, "app_certificate": AG_CERT, "customer_id": AG_CID, "customer_secret": "not-the-customer-secret"}).to_string(),
        );
        put_secret(
            &ep,
            "ag-norest",
            &json!({"app_id": AG_APP, "app_certificate": AG_CERT}).to_string(),
        );
        let env = Env { moto };
        let r = env.admin(&["table", "create"], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        env
    }

    /// `rtc-token admin ARGS` with `envs` added (the providers' secret-id variables are cleared).
    pub fn admin(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtc-token"));
        cmd.arg("admin")
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("ACCESS_TABLE", "rtc-access")
            .env("RUST_LOG", "trace")
            .env_remove("AWS_PROFILE");
        for v in [
            "AGORA_SECRET_ID",
            "LIVEKIT_SECRET_ID",
            "STREAM_SECRET_ID",
            "STREAM_API_URL",
            "AGORA_API_URL",
        ] {
            cmd.env_remove(v);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run rtc-token");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = stdout.lines();
        let record = lines
            .next()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        let providers = lines
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        Run {
            code: out.status.code().unwrap_or(-1),
            record,
            providers,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }
}

/// One CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    /// The first stdout line (the ban record).
    pub record: Value,
    /// The provider lines.
    pub providers: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// (result, detail) of `provider`'s line.
    pub fn result(&self, provider: &str) -> (String, String) {
        let l = self
            .providers
            .iter()
            .find(|l| l["provider"] == json!(provider))
            .unwrap_or_else(|| panic!("no {provider} line in {self:?}"));
        (
            l["result"].as_str().unwrap_or("").to_owned(),
            l["detail"].as_str().unwrap_or("").to_owned(),
        )
    }
}
