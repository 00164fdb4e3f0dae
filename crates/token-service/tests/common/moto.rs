//! The one `moto_server` launcher of token-service's tests (`common` and `access_common` both use
//! it): a child process on a free loopback port, killed on drop, stopped and restarted on the same
//! port to simulate an outage. It counts as started only when this child is alive and moto itself
//! answers on the port ([`moto_answers`]), not when any listener accepts a connection there.
//!
//! The binary: `$MOTO_SERVER` (set by `scripts/test`), else the project venv's
//! (`<workspace>/.venv/bin/moto_server`, made by `scripts/setup-tools`), else `moto_server` on `PATH`.

use std::io::{Read, Write};
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
        // A port found free can be taken before moto binds it (moto then exits): pick another.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("bind a free port")
                .port();
            if let Some(m) = Self::start_on(port, serial) {
                return m;
            }
        }
        panic!("moto_server did not start on any of 5 free ports");
    }

    /// Starts moto on `port`; `None` if it exits before answering (the port is taken).
    pub fn start_on(port: u16, serial: bool) -> Option<Moto> {
        let mut m = Moto {
            child: None,
            port,
            serial,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        m.spawn().then_some(m)
    }

    /// Starts moto on `self.port` and waits until it answers; `false` if it exited first.
    fn spawn(&mut self) -> bool {
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
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server (set MOTO_SERVER to its path)");
        let addr = self.addr();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready means this child is alive and moto itself answers: an accepted connection alone
        // can be another listener's, which once let a test talk to a port moto never opened.
        loop {
            if !matches!(child.try_wait(), Ok(None)) {
                return false;
            }
            if moto_answers(addr) && matches!(child.try_wait(), Ok(None)) {
                self.child = Some(child);
                return true;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("moto_server on {addr} did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The loopback address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
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
        for _ in 0..5 {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("moto_server did not restart on port {}", self.port);
    }
}

/// Whether `addr` answers moto's own `GET /moto-api/data.json` (200 from its Werkzeug server).
pub fn moto_answers(addr: SocketAddr) -> bool {
    let Ok(mut sock) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(2)));
    if sock
        .write_all(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    head.starts_with("HTTP/1.")
        && head.lines().next().is_some_and(|l| l.contains(" 200 "))
        && head.contains("Werkzeug")
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
