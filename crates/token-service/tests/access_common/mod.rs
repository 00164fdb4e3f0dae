//! Shared by the `access_*` tests: a `moto_server` child process on a free loopback port, a
//! DynamoDB client for it that counts the HTTP calls it makes, and the access table.
//!
//! The moto binary: `$MOTO_SERVER`, else `/work/main/.venv/bin/moto_server` (the project venv),
//! else `moto_server` on `PATH`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

/// A running moto_server, killed on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> String {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return p;
    }
    let venv = "/work/main/.venv/bin/moto_server";
    if std::path::Path::new(venv).exists() {
        return venv.to_owned();
    }
    "moto_server".to_owned()
}

/// moto's own server (`moto_server`) with werkzeug's `threaded=False`: requests are handled one
/// at a time, as DynamoDB serializes conditional writes to one item. The threaded `moto_server`
/// does not: its `UpdateItem` reads, checks the condition and writes without a lock, and 50
/// concurrent conditional increments were observed to let 11 through a limit of 10.
const SERIAL_MOTO: &str = r#"
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False)
"#;

/// The Python interpreter of the moto binary (its `#!` line).
fn moto_python() -> String {
    let bin = moto_binary();
    let path = if bin.contains('/') {
        bin
    } else {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .expect("locate moto_server");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let text = std::fs::read_to_string(&path).expect("read the moto_server script");
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|l| l.trim().to_owned())
        .expect("moto_server has a #! line")
}

impl Moto {
    /// Starts moto on a free port and waits until it accepts connections.
    pub fn start() -> Moto {
        Self::launch(false)
    }

    /// As [`Moto::start`], with a server that handles one request at a time (see [`SERIAL_MOTO`]).
    pub fn start_serial() -> Moto {
        Self::launch(true)
    }

    fn launch(serial: bool) -> Moto {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            l.local_addr().expect("local addr").port()
        };
        let mut cmd = if serial {
            let mut c = Command::new(moto_python());
            c.args(["-c", SERIAL_MOTO, "127.0.0.1", &port.to_string()]);
            c
        } else {
            let mut c = Command::new(moto_binary());
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            c
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server (set MOTO_SERVER to its path)");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

/// Counts the HTTP requests a client sends, by DynamoDB operation (`X-Amz-Target`).
#[derive(Debug, Default, Clone)]
pub struct CallLog(pub Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// Operations sent since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .trim_start_matches("DynamoDB_20120810.")
            .to_owned();
        self.0.lock().expect("lock").push(op);
        Ok(())
    }
}

/// A DynamoDB client for `endpoint` with static test credentials, logging its calls to `log`.
pub fn client(endpoint: &str, log: &CallLog) -> Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .interceptor(log.clone())
        .build();
    Client::from_conf(conf)
}

/// Creates the access table as the SAM template does: `pk`/`sk` strings, on-demand.
pub async fn create_table(client: &Client, name: &str) {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create the access table");
}
