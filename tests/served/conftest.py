"""Fixtures of the served-token suite: the real `rtc-token serve` started as a user runs it.

The binary comes from $RTC_TOKEN_BIN (default: target/debug/rtc-token, built by
scripts/e2e-served.sh). Each server gets only the environment it is given.
"""
import json
import os
import pathlib
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("RTC_TOKEN_BIN", str(ROOT / "target" / "debug" / "rtc-token"))

# DEVELOPMENT ONLY values embedded in the binary (crates/rtc-token-cli/src/dev_defaults.rs).
DEV = {
    "agora_app_id": "de7000000000000000000000000a9010",
    "agora_app_certificate": "de70000000000000000000000ce271f1",
    "livekit_api_key": "devkey",
    "livekit_api_secret": "rtc-token-dev-livekit-secret-DEVELOPMENT-ONLY",
    "livekit_url": "ws://127.0.0.1:7880",
    "stream_api_key": "devstreamkey",
    "stream_api_secret": "rtc-token-dev-stream-secret-DEVELOPMENT-ONLY",
}


class Server:
    def __init__(self, env):
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        base_env.update(env)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--addr", "127.0.0.1:0"],
            env=base_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.logs = []
        self.base = None
        ready = threading.Event()

        def read_err():
            for line in self.proc.stderr:
                self.logs.append(line)
                m = re.search(r"listening on (http://\S+)", line)
                if m:
                    self.base = m.group(1)
                    ready.set()

        def read_out():
            for line in self.proc.stdout:
                self.logs.append(line)

        threading.Thread(target=read_err, daemon=True).start()
        threading.Thread(target=read_out, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("rtc-token serve did not start: " + "".join(self.logs))

    def post(self, path, body=None, *, token=None, raw=None, content_type="application/json", method="POST"):
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if content_type and data is not None:
            req.add_header("content-type", content_type)
        if token:
            req.add_header("authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def dev_jwt(sub="alice", claims=None, ttl=None):
    args = [BIN, "dev-jwt", "--sub", sub]
    if claims is not None:
        args += ["--claims", json.dumps(claims)]
    if ttl is not None:
        args += ["--ttl", str(ttl)]
    return subprocess.run(args, check=True, capture_output=True, text=True, env={}).stdout.strip()


@pytest.fixture(scope="session")
def start_server():
    servers = []

    def start(env=None):
        s = Server(env or {})
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
