"""Verifies LiveKit tokens with PyPI livekit-api (the .venv): reads a JSON list of
{"token", "key", "secret"} on stdin, prints a JSON list of results:
{"ok", "identity", "room", "agents": [{"agent_name", "metadata", "deployment"}], "max_participants"}
or {"ok": false, "error"}. The raw `roomConfig` claim is also parsed strictly (unknown fields refused)
with protobuf's ParseDict into livekit.protocol.room.RoomConfiguration.
"""
import base64
import json
import sys

from google.protobuf.json_format import ParseDict
from livekit.api import TokenVerifier
from livekit.protocol.room import RoomConfiguration


def payload(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def check(item):
    try:
        claims = TokenVerifier(item["key"], item["secret"]).verify(item["token"])
    except Exception as e:  # noqa: BLE001 - reported to the caller
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    out = {"ok": True, "identity": claims.identity, "room": claims.video.room if claims.video else None}
    raw = payload(item["token"]).get("roomConfig")
    if raw is not None:
        strict = ParseDict(raw, RoomConfiguration())  # raises on an unknown field
        rc = claims.room_config
        assert rc == strict, "TokenVerifier and strict ParseDict disagree"
        out["agents"] = [
            {"agent_name": a.agent_name, "metadata": a.metadata, "deployment": a.deployment} for a in rc.agents
        ]
        out["max_participants"] = rc.max_participants
    return out


print(json.dumps([check(i) for i in json.load(sys.stdin)]))
