"""scripts/smoke-test.sh, the pipeline's post-deploy check, run against the real handlers: the
local server `rtc-token serve` (same code as the functions) with an HS256 caller issuer, as the
staging stack is configured. It must pass there, and fail when the caller secret is wrong."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading

import pytest
from conftest import ROOT

BIN = os.environ.get("RTC_TOKEN_BIN", str(ROOT / "target" / "debug" / "rtc-token"))


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "-q", "-p", "rtc-token", "--locked"], cwd=ROOT, check=True, timeout=1200)
    secret = secrets.token_hex(32)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AUTH_PROVIDER": "hs256", "AUTH_ISSUER": "smoke-test",
           "AUTH_AUDIENCE": "rtc-tokens", "AUTH_HS256_SECRET": secret}
    proc = subprocess.Popen([BIN, "serve", "--addr", "127.0.0.1:0"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found, ready = {}, threading.Event()

    def read():
        for line in proc.stderr:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                found["url"] = m.group(1)
                ready.set()
    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(30), "rtc-token serve did not start"
    yield found["url"], secret
    proc.terminate()
    proc.wait(10)


def smoke(url: str, secret: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SMOKE_CALLER_SECRET": secret}
    return subprocess.run([str(ROOT / "scripts/smoke-test.sh"), "--url", url], env=env,
                          capture_output=True, text=True, timeout=120)


def test_smoke_test_passes_against_the_handlers(server):
    url, secret = server
    p = smoke(url, secret)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().endswith("smoke-test: 9 passed, 0 failed")
    assert secret not in p.stdout + p.stderr, "the caller secret is never printed"


def test_smoke_test_fails_with_the_wrong_caller_secret(server):
    url, _ = server
    p = smoke(url, secrets.token_hex(32))
    assert p.returncode != 0
    assert "FAIL agora: valid caller JWT -> 401" in p.stdout
    assert "smoke-test: 6 passed, 3 failed" in p.stdout
