//! Helpers shared by the `cli_*` tests: run the built `rtc-token` binary with a clean environment,
//! read the copied vectors, and check the usage-error convention.

#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// The official test app id and certificate of the Agora vectors.
pub const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
/// The certificate of the Agora vectors.
pub const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
/// A well-formed certificate that is not the one above.
pub const WRONG_CERT: &str = "0123456789abcdef0123456789abcdef";

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stdout parsed as JSON (panics with the output when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

const PROVIDER_ENV: [&str; 6] = [
    "AGORA_APP_ID",
    "AGORA_APP_CERTIFICATE",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "STREAM_API_KEY",
    "STREAM_API_SECRET",
];

/// Runs `rtc-token ARGS` with only the given provider variables set (and `stdin` piped in).
pub fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtc-token"));
    cmd.args(args);
    for k in PROVIDER_ENV {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rtc-token");
    {
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            pipe.write_all(s.as_bytes()).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("wait rtc-token");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Runs with the Agora test credentials in the environment.
pub fn run_agora(args: &[&str]) -> Out {
    run_with(
        args,
        &[("AGORA_APP_ID", APP_ID), ("AGORA_APP_CERTIFICATE", CERT)],
        None,
    )
}

/// Runs with no provider variables.
pub fn run(args: &[&str]) -> Out {
    run_with(args, &[], None)
}

/// Exit 0 and exactly one line (the token) on stdout; returns the token.
pub fn token_of(out: &Out) -> String {
    assert_eq!(out.code, 0, "expected success: {out:?}");
    assert!(
        out.stdout.ends_with('\n') && out.stdout.lines().count() == 1,
        "one line: {out:?}"
    );
    out.stdout.trim_end().to_string()
}

/// The usage-error convention: exit 2, nothing on stdout, one `rtc-token: ...` line on stderr.
pub fn assert_usage_error(out: &Out, context: &str) {
    assert_eq!(out.code, 2, "{context}: exit code: {out:?}");
    assert!(
        out.stdout.is_empty(),
        "{context}: stdout must be empty: {out:?}"
    );
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "{context}: one stderr line: {out:?}"
    );
    assert!(
        out.stderr.starts_with("rtc-token: "),
        "{context}: prefix: {out:?}"
    );
}

/// A vector file copied into `tests/data/`.
pub fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
