"""infra/secrets.sh against a real Secrets Manager / CloudFormation API (moto_server on loopback),
driven through the real AWS CLI: fill a stack's empty secret, refuse bad shapes, rotate the caller
HS256 secret with overlap, rotate the webhook key, and never print a secret value."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

SCRIPT = ROOT / "infra/secrets.sh"
VALUES = {
    "agora": {"app_id": "0123456789abcdef0123456789abcdef", "app_certificate": "c0ffee00c0ffee00c0ffee00c0ffee00"},
    "livekit": {"api_key": "APIabc", "api_secret": "s3cr3t-livekit-value-0123456789abcdef", "url": "wss://x.livekit.cloud"},
}


def _moto_server() -> str | None:
    venv = ROOT / ".venv/bin/moto_server"
    return str(venv) if venv.exists() else shutil.which("moto_server")


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory):
    moto, aws = _moto_server(), shutil.which("aws")
    if not moto or not aws:
        pytest.skip(f"needs moto_server ({moto}) and the AWS CLI ({aws})")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=0.5)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto_server did not start")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="eu-west-1", HOME=str(tmp_path_factory.mktemp("home")))
    yield env
    proc.terminate()
    proc.wait(timeout=10)


def run(env, *args, stdin: str | None = None, check=True):
    p = subprocess.run(["bash", str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"secrets.sh {args} failed ({p.returncode}): {p.stderr}")
    return p


def aws(env, *args) -> str:
    return subprocess.run(["aws", *args], env=env, capture_output=True, text=True, check=True, timeout=60).stdout


def current(env, sid) -> dict:
    return json.loads(aws(env, "secretsmanager", "get-secret-value", "--secret-id", sid,
                          "--query", "SecretString", "--output", "text"))


@pytest.fixture(scope="module")
def stack(aws_env, tmp_path_factory):
    """A stack shaped like ours as far as secrets.sh cares: outputs naming empty secrets. (moto's
    CloudFormation does not model AWS::SecretsManager::Secret, so the secrets are created with the
    CLI and handed to the stack as parameters.)"""
    arns = {k: run(aws_env, "create", k, "--name", f"rtc-test/{k}").stdout.strip() for k in ("agora", "livekit")}
    tpl = {
        "Parameters": {"Agora": {"Type": "String"}, "Livekit": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"AgoraSecretId": {"Value": {"Ref": "Agora"}}, "LivekitSecretId": {"Value": {"Ref": "Livekit"}}},
    }
    f = tmp_path_factory.mktemp("tpl") / "t.json"
    f.write_text(json.dumps(tpl))
    aws(aws_env, "cloudformation", "create-stack", "--stack-name", "rtc-test", "--template-body", f"file://{f}",
        "--parameters", f"ParameterKey=Agora,ParameterValue={arns['agora']}",
        f"ParameterKey=Livekit,ParameterValue={arns['livekit']}")
    aws(aws_env, "cloudformation", "wait", "stack-create-complete", "--stack-name", "rtc-test")
    return "rtc-test"


def test_put_fills_the_stack_secret_and_check_shows_no_value(aws_env, stack, tmp_path):
    f = tmp_path / "agora.json"
    f.write_text(json.dumps(VALUES["agora"]))
    p = run(aws_env, "put", "agora", "--stack", stack, "--file", str(f))
    assert VALUES["agora"]["app_certificate"] not in p.stdout + p.stderr
    sid = aws(aws_env, "cloudformation", "describe-stacks", "--stack-name", stack, "--query",
              "Stacks[0].Outputs[?OutputKey=='AgoraSecretId'].OutputValue", "--output", "text").strip()
    assert current(aws_env, sid) == VALUES["agora"]
    c = run(aws_env, "check", "agora", "--stack", stack)
    assert "app_certificate" in c.stderr
    assert VALUES["agora"]["app_certificate"] not in c.stdout + c.stderr


def test_put_reads_stdin(aws_env, stack):
    run(aws_env, "put", "livekit", "--stack", stack, stdin=json.dumps(VALUES["livekit"]))
    c = run(aws_env, "check", "livekit", "--stack", stack)
    assert VALUES["livekit"]["api_secret"] not in c.stdout + c.stderr


@pytest.mark.parametrize("bad,why", [
    ({"app_id": "x"}, "missing"),
    ({"app_id": "x", "app_certificate": ""}, "missing"),
    ({"app_id": "x", "app_certificate": "y", "extra": "z"}, "unexpected"),
    ("not json", "not valid JSON"),
])
def test_put_refuses_a_wrong_shape_without_echoing_it(aws_env, stack, bad, why):
    sid = "rtc-test/agora"
    before = current(aws_env, sid)
    body = bad if isinstance(bad, str) else json.dumps(bad)
    p = run(aws_env, "put", "agora", "--stack", stack, stdin=body, check=False)
    assert p.returncode != 0
    assert why in p.stderr
    assert current(aws_env, sid) == before, "nothing stored"


def test_check_reports_an_empty_secret(aws_env):
    arn = run(aws_env, "create", "stream", "--name", "rtc-test/stream-empty").stdout.strip()
    assert arn.startswith("arn:aws:secretsmanager:")
    p = run(aws_env, "check", "stream", "--secret-id", arn, check=False)
    assert p.returncode != 0 and "no value yet" in p.stderr


def test_rotate_caller_hs256_keeps_the_previous_secret(aws_env):
    arn = run(aws_env, "create", "caller-hs256", "--name", "rtc-test/caller").stdout.strip()
    run(aws_env, "rotate", "caller-hs256", "--secret-id", arn, stdin="first-secret-0123456789")
    assert current(aws_env, arn) == {"secret": "first-secret-0123456789"}
    p = run(aws_env, "rotate", "caller-hs256", "--secret-id", arn, stdin='{"secret": "second-secret-0123456789"}')
    assert current(aws_env, arn) == {"secret": "second-secret-0123456789", "previous": "first-secret-0123456789"}
    assert "second-secret" not in p.stdout + p.stderr
    # rotating to the same value is refused
    p = run(aws_env, "rotate", "caller-hs256", "--secret-id", arn, stdin="second-secret-0123456789", check=False)
    assert p.returncode != 0
    # a third rotation drops the oldest
    run(aws_env, "rotate", "caller-hs256", "--secret-id", arn, stdin="third-secret-0123456789")
    assert current(aws_env, arn) == {"secret": "third-secret-0123456789", "previous": "second-secret-0123456789"}


def test_rotate_webhook_generates_a_new_random_key(aws_env):
    arn = run(aws_env, "create", "authz-webhook", "--name", "rtc-test/hook").stdout.strip()
    run(aws_env, "rotate", "authz-webhook", "--secret-id", arn)
    first = current(aws_env, arn)["secret"]
    run(aws_env, "rotate", "authz-webhook", "--secret-id", arn)
    second = current(aws_env, arn)["secret"]
    assert len(first) >= 32 and len(second) >= 32 and first != second


def test_rotate_refuses_provider_kinds(aws_env):
    p = run(aws_env, "rotate", "agora", "--secret-id", "rtc-test/agora", check=False)
    assert p.returncode != 0 and "use 'put'" in p.stderr


def test_example_files_pass_the_shape_check_except_placeholders(aws_env, tmp_path):
    """The examples have the right fields; the ones with placeholder text are refused as such."""
    for f in sorted((ROOT / "infra/secrets").glob("*.example.json")):
        kind = f.name.removesuffix(".example.json")
        arn = run(aws_env, "create", kind, "--name", f"rtc-test/example-{kind}").stdout.strip()
        p = run(aws_env, "put", kind, "--secret-id", arn, "--file", str(f), check=False)
        assert p.returncode == 0 or "placeholder" in p.stderr, (kind, p.stderr)
