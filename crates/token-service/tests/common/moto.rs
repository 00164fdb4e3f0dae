//! The one `moto_server` launcher of token-service's tests (`common` and `access_common` both use
//! it): a child process on a free loopback port, killed on drop, stopped and restarted on the same
//! port to simulate an outage.
//!
//! The binary: `$MOTO_SERVER` (set by `scripts/test`), else the project venv's
//! (`<workspace>/.venv/bin/moto_server`, made by `scripts/setup-tools`), else `moto_server` on `PATH`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto_server, killed on drop.
pub struct Moto {
    child: Option<Child>,
    port: u16,
    serial: bool,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

fn moto_binary() -> String {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/moto_server");
    if std::path::Path::new(venv).exists() {
        return venv.to_owned();
    }
    "moto_server".to_owned()
}

/// moto's own server with werkzeug's `threaded=False`: requests are handled one at a time, as
/// DynamoDB serializes conditional writes to one item. The threaded `moto_server` does not: its
/// `UpdateItem` reads, checks the condition and writes without a lock, and 50 concurrent
/// conditional increments were observed to let 11 through a limit of 10.
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
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a free port")
            .port();
        let mut m = Moto {
            child: None,
            port,
            serial,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut cmd = if self.serial {
            let mut c = Command::new(moto_python());
            c.args(["-c", SERIAL_MOTO, "127.0.0.1", &port]);
            c
        } else {
            let mut c = Command::new(moto_binary());
            c.args(["-H", "127.0.0.1", "-p", &port]);
            c
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server (set MOTO_SERVER to its path)");
        self.child = Some(child);
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server on {addr} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server (an outage); its state is lost.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty state).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
