"""Tokens served by `rtc-token serve` (development defaults, caller JWT from `rtc-token dev-jwt`),
verified by the providers' official SDKs: npm agora-token, livekit-server-sdk, stream-chat's
jsonwebtoken (interop/node_modules), and PyPI agoraiotools, livekit-api, PyJWT (.venv).
"""
import json
import pathlib
import subprocess
import time

import jwt as pyjwt
import pytest

from conftest import DEV, dev_jwt

HERE = pathlib.Path(__file__).resolve().parent


def node_verify(kind, token, key=None, secret=None):
    out = subprocess.run(
        ["node", str(HERE / "verify.cjs"), json.dumps({"kind": kind, "token": token, "key": key, "secret": secret})],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def server(start_server):
    return start_server({})


@pytest.fixture(scope="module")
def caller():
    return dev_jwt("alice")


def test_agora_rtc_token_verifies_with_the_official_sdks(server, caller):
    status, headers, body = server.post("/agora/token", {"channel": "live-alice", "role": "publisher"}, token=caller)
    assert status == 200, body
    token = body["token"]
    node = node_verify("agora", token, secret=DEV["agora_app_certificate"])
    assert node["ok"] is True, node
    assert node["app_id"] == DEV["agora_app_id"]
    assert node["issue_ts"] == body["issuedAt"]
    assert node["issue_ts"] + node["expire"] == body["expiresAt"]
    rtc = [s for s in node["services"] if s["type"] == 1]
    assert len(rtc) == 1 and rtc[0]["channel"] == "live-alice" and rtc[0]["uid"] == "alice"
    # join (1) and the publish privileges (2, 3, 4) for a publisher
    assert {"1", "2", "3", "4"} <= set(rtc[0]["privileges"])
    # the wrong certificate is refused
    assert node_verify("agora", token, secret="0" * 32)["ok"] is False
    # PyPI agoraiotools parses the same token
    from agoraiotools.AccessToken2 import AccessToken

    t = AccessToken()
    t.from_string(token)
    assert t._AccessToken__app_id.decode() == DEV["agora_app_id"]
    assert t._AccessToken__issue_ts == body["issuedAt"]


def test_agora_subscriber_has_no_publish_privileges(server, caller):
    status, _, body = server.post("/agora/token", {"channel": "live-alice", "role": "subscriber"}, token=caller)
    assert status == 200, body
    node = node_verify("agora", body["token"], secret=DEV["agora_app_certificate"])
    assert node["ok"] is True
    rtc = [s for s in node["services"] if s["type"] == 1][0]
    assert set(rtc["privileges"]) == {"1"}


def test_livekit_token_verifies_with_the_official_sdks(server, caller):
    status, _, body = server.post("/livekit/token", {"room_name": "standup", "participant_name": "Alice"}, token=caller)
    assert status == 201, body
    assert body["server_url"] == DEV["livekit_url"]
    token = body["participant_token"]
    node = node_verify("livekit", token, key=DEV["livekit_api_key"], secret=DEV["livekit_api_secret"])
    assert node["ok"] is True, node
    assert node["claims"]["sub"] == "alice"
    assert node["claims"]["video"]["room"] == "standup"
    assert node["claims"]["video"]["roomJoin"] is True
    from livekit.api import TokenVerifier

    claims = TokenVerifier(DEV["livekit_api_key"], DEV["livekit_api_secret"]).verify(token)
    assert claims.identity == "alice"
    assert claims.name == "Alice"
    assert claims.video.room == "standup"
    wrong = node_verify("livekit", token, key=DEV["livekit_api_key"], secret="x" * 40)
    assert wrong["ok"] is False


def test_stream_tokens_verify_with_the_sdks_library(server, caller):
    status, _, body = server.post("/stream/token", {}, token=caller)
    assert status == 200, body
    token = body["token"]
    node = node_verify("stream", token, secret=DEV["stream_api_secret"])
    assert node["ok"] is True, node
    assert node["claims"]["user_id"] == "alice"
    claims = pyjwt.decode(token, DEV["stream_api_secret"], algorithms=["HS256"])
    assert claims["user_id"] == "alice"
    assert claims["exp"] == body["expiresAt"]
    assert claims.get("iat", 0) <= time.time(), "iat must not be in the future"
    status, _, body = server.post("/stream/token", {"type": "video", "call_cids": ["default:standup"]}, token=caller)
    assert status == 200, body
    claims = pyjwt.decode(body["token"], DEV["stream_api_secret"], algorithms=["HS256"])
    assert claims["user_id"] == "alice"
    assert claims["call_cids"] == ["default:standup"]
