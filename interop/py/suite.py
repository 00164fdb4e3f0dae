"""Interop checks against the official Python SDKs (agoraiotools, livekit-api, stream-chat, PyJWT).

(a) tokens minted by `rtc-token` are accepted by each SDK's parser/verifier with the expected fields;
(b) tokens built by each SDK are accepted by `rtc-token inspect` with the right secret (exit 0) and
    rejected with a wrong one (exit 1);
(c) byte-for-byte: `rtc-token agora ... --issued-at T --salt S` equals agoraiotools' token (CPython's
    stock zlib) for the same pinned inputs.

Usage: RTC_TOKEN_BIN=target/debug/rtc-token .venv/bin/python interop/py/suite.py
Prints one "ok - ..." / "not ok - ...: why" line per check and "python: N passed, M failed" last.
"""

import base64
import datetime
import hashlib
import hmac
import importlib
import json
import os
import re
import struct
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import zlib

import jwt  # PyJWT: what Stream's Python SDK signs with
# agoraiotools' __init__ re-exports classes under the module names: load the modules themselves.
agora_at2 = importlib.import_module("agoraiotools.AccessToken2")
ChatTokenBuilder2 = importlib.import_module("agoraiotools.ChatTokenBuilder2")
RtcTokenBuilder2 = importlib.import_module("agoraiotools.RtcTokenBuilder2")
RtmTokenBuilder2 = importlib.import_module("agoraiotools.RtmTokenBuilder2")
from livekit import api as lkapi
from stream_chat import StreamChat

BIN = os.environ.get("RTC_TOKEN_BIN")
if not BIN:
    print("RTC_TOKEN_BIN is not set", file=sys.stderr)
    sys.exit(2)

APP_ID = "970CA35de60c44645bbae8a215061b33"
CERT = "5CFd2fd1755d40ecb72977518be15d3b"
WRONG_CERT = "0123456789abcdef0123456789abcdef"
LK_KEY = "APIinteropKey01"
LK_SECRET = "lk-interop-secret-0123456789abcdef0123456789"
ST_KEY = "streaminteropkey"
ST_SECRET = "stream-interop-secret-0123456789abcdef0123"
WRONG_SECRET = "not-the-secret-0123456789abcdef0123456789"
NOW = int(time.time())

ENV = dict(
    os.environ,
    AGORA_APP_ID=APP_ID,
    AGORA_APP_CERTIFICATE=CERT,
    LIVEKIT_API_KEY=LK_KEY,
    LIVEKIT_API_SECRET=LK_SECRET,
    STREAM_API_KEY=ST_KEY,
    STREAM_API_SECRET=ST_SECRET,
)

passed = 0
failed = 0


def check(name):
    def wrap(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print(f"ok - python: {name}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the suite
            failed += 1
            why = " | ".join(f"{type(e).__name__}: {e}".splitlines()[:6])
            if not str(e):
                why += " @ " + traceback.format_exc().strip().splitlines()[-3].strip()
            print(f"not ok - python: {name}: {why}")
        return fn

    return wrap


def cli(args):
    r = subprocess.run([BIN, *args], env=ENV, capture_output=True, text=True, check=False)
    return r.returncode, r.stdout, r.stderr


def mint(args):
    code, out, err = cli(args)
    assert code == 0, f"rtc-token {' '.join(args)} exited {code}: {err.strip()}"
    token = out.strip()
    assert token and "\n" not in token, "expected one token line"
    return token


def inspect(token, secret_args):
    code, out, err = cli(["inspect", token, *secret_args])
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    return code, j, err


def inspect_accepts(token, secret_args, kind):
    code, j, err = inspect(token, secret_args)
    assert code == 0, f"inspect exit {code}: {j} {err}"
    assert j["kind"] == kind, j["kind"]
    assert j["valid"] is True and j["signature"] == "valid", j
    return j


def inspect_rejects(token, secret_args):
    code, j, _ = inspect(token, secret_args)
    assert code == 1, f"inspect with a wrong secret exit {code}"
    assert j["signature"] == "invalid" and j["valid"] is False, j


# ------------------------------------------------------------------ Agora helpers (agoraiotools)


def agora_parse(token):
    t = agora_at2.AccessToken()
    assert t.from_string(token) is True, "agoraiotools from_string failed"
    return t


def attr(obj, name):
    """A name-mangled private attribute of an agoraiotools object (it has no getters)."""
    for cls in type(obj).__mro__:
        key = f"_{cls.__name__}__{name}"
        if key in obj.__dict__:
            return obj.__dict__[key]
    raise AttributeError(name)


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


def agora_verify(token, certificate):
    """agoraiotools has no verifier: recompute the signature with its own packers and HMAC chain
    (AccessToken2.py) from the parsed fields and compare with the signature in the token."""
    t = agora_parse(token)
    payload = zlib.decompress(base64.b64decode(token[3:]))
    (sig_len,) = struct.unpack_from("<H", payload, 0)
    signature = payload[2 : 2 + sig_len]
    packer = agora_at2
    info = (
        packer.pack_string(attr(t, "app_id"))
        + packer.pack_uint32(attr(t, "issue_ts"))
        + packer.pack_uint32(attr(t, "expire"))
        + packer.pack_uint32(attr(t, "salt"))
        + packer.pack_uint16(len(attr(t, "service")))
    )
    for ty in sorted(attr(t, "service")):
        info += attr(t, "service")[ty].pack()
    key = hmac.new(packer.pack_uint32(attr(t, "issue_ts")), certificate.encode(), hashlib.sha256).digest()
    key = hmac.new(packer.pack_uint32(attr(t, "salt")), key, hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, info, hashlib.sha256).digest(), signature)


def pinned_build(issue_ts, salt, build):
    """Runs an agoraiotools builder with issue_ts and salt written into the AccessToken right before
    build() (the builder's own packing and signing are untouched)."""
    original = agora_at2.AccessToken.build

    def build_pinned(self):
        self._AccessToken__issue_ts = issue_ts
        self._AccessToken__salt = salt
        return original(self)

    agora_at2.AccessToken.build = build_pinned
    try:
        return build()
    finally:
        agora_at2.AccessToken.build = original


PUB = RtcTokenBuilder2.Role_Publisher
SUB = RtcTokenBuilder2.Role_Subscriber
RTC = RtcTokenBuilder2.RtcTokenBuilder2
T, S = 1_700_000_000, 12_345_678

# (rtc-token args, agoraiotools builder, expected services {type: (body, privileges)})
AGORA_CASES = [
    (
        "rtc uid publisher",
        ["agora", "rtc", "--channel", "room-1", "--uid", "2882341273", "--ttl", "3600", "--privilege-ttl", "3600"],
        lambda: RTC.build_token_with_uid(APP_ID, CERT, "room-1", 2882341273, PUB, 3600, 3600),
        {1: (("room-1", "2882341273"), {1: 3600, 2: 3600, 3: 3600, 4: 3600})},
    ),
    (
        "rtc uid subscriber, privilege 0",
        ["agora", "rtc", "--channel", "room-1", "--uid", "42", "--role", "subscriber", "--ttl", "600", "--privilege-ttl", "0"],
        lambda: RTC.build_token_with_uid(APP_ID, CERT, "room-1", 42, SUB, 600),
        {1: (("room-1", "42"), {1: 0})},
    ),
    (
        "rtc uid 0 wildcard",
        ["agora", "rtc", "--channel", "lobby", "--uid", "0", "--ttl", "900", "--privilege-ttl", "900"],
        lambda: RTC.build_token_with_uid(APP_ID, CERT, "lobby", 0, PUB, 900, 900),
        {1: (("lobby", ""), {1: 900, 2: 900, 3: 900, 4: 900})},
    ),
    (
        "rtc uid max u32",
        ["agora", "rtc", "--channel", "c", "--uid", "4294967295", "--ttl", "86400", "--privilege-ttl", "600"],
        lambda: RTC.build_token_with_uid(APP_ID, CERT, "c", 4294967295, PUB, 86400, 600),
        {1: (("c", "4294967295"), {1: 600, 2: 600, 3: 600, 4: 600})},
    ),
    (
        "rtc user account",
        ["agora", "rtc", "--channel", "room 2", "--account", "alice@example.com", "--ttl", "3600", "--privilege-ttl", "1800"],
        lambda: RTC.build_token_with_user_account(APP_ID, CERT, "room 2", "alice@example.com", PUB, 3600, 1800),
        {1: (("room 2", "alice@example.com"), {1: 1800, 2: 1800, 3: 1800, 4: 1800})},
    ),
    (
        "rtc account \"0\" is not the wildcard",
        ["agora", "rtc", "--channel", "c", "--account", "0", "--role", "subscriber", "--ttl", "60", "--privilege-ttl", "60"],
        lambda: RTC.build_token_with_user_account(APP_ID, CERT, "c", "0", SUB, 60, 60),
        {1: (("c", "0"), {1: 60})},
    ),
    (
        "rtc account with explicit privilege lifetimes",
        ["agora", "rtc", "--channel", "c", "--account", "erin", "--ttl", "3600",
         "--join-ttl", "3600", "--audio-ttl", "1800", "--video-ttl", "1200", "--data-ttl", "600"],
        lambda: RTC.build_token_with_user_account_and_privilege(APP_ID, CERT, "c", "erin", 3600, 3600, 1800, 1200, 600),
        {1: (("c", "erin"), {1: 3600, 2: 1800, 3: 1200, 4: 600})},
    ),
    (
        "rtc + rtm",
        ["agora", "rtc", "--channel", "c", "--account", "bob", "--with-rtm", "--ttl", "1200", "--privilege-ttl", "600"],
        lambda: RTC.build_token_with_rtm(APP_ID, CERT, "c", "bob", PUB, 1200, 600),
        {1: (("c", "bob"), {1: 600, 2: 600, 3: 600, 4: 600}), 2: (("bob",), {1: 1200})},
    ),
    (
        "rtm",
        ["agora", "rtm", "--user-id", "carol", "--ttl", "3600"],
        lambda: RtmTokenBuilder2.RtmTokenBuilder.build_token(APP_ID, CERT, "carol", 3600),
        {2: (("carol",), {1: 3600})},
    ),
    (
        "chat user",
        ["agora", "chat", "--user-id", "dave", "--ttl", "7200"],
        lambda: ChatTokenBuilder2.ChatTokenBuilder.build_user_token(APP_ID, CERT, "dave", 7200),
        {5: (("dave",), {1: 7200})},
    ),
    (
        "chat app",
        ["agora", "chat", "--app", "--ttl", "7200"],
        lambda: ChatTokenBuilder2.ChatTokenBuilder.build_app_token(APP_ID, CERT, 7200),
        {5: (("",), {2: 7200})},
    ),
]


def service_fields(service):
    ty = service.service_type()
    if ty == 1:
        return (text(attr(service, "channel_name")), text(attr(service, "uid")))
    return (text(attr(service, "user_id")),)


def assert_agora_fields(t, services, issue_ts=None, salt=None):
    assert text(attr(t, "app_id")) == APP_ID
    if issue_ts is not None:
        assert attr(t, "issue_ts") == issue_ts, attr(t, "issue_ts")
    if salt is not None:
        assert attr(t, "salt") == salt, attr(t, "salt")
    got = attr(t, "service")
    assert sorted(got) == sorted(services), f"service types {sorted(got)}"
    for ty, (body, privs) in services.items():
        assert service_fields(got[ty]) == body, service_fields(got[ty])
        assert {int(k): v for k, v in attr(got[ty], "privileges").items()} == privs, attr(got[ty], "privileges")


for name, args, build, services in AGORA_CASES:

    @check(f"agora {name}: rtc-token token parsed and verified by agoraiotools")
    def _(args=args, services=services):
        token = mint([*args, "--issued-at", str(NOW), "--salt", "777"])
        t = agora_parse(token)
        assert_agora_fields(t, services, NOW, 777)
        assert agora_verify(token, CERT), "signature does not verify with the certificate"
        assert not agora_verify(token, WRONG_CERT), "signature verifies with a wrong certificate"

    @check(f"agora {name}: byte-for-byte equal to agoraiotools (stock zlib) with pinned issue_ts/salt")
    def _(args=args, build=build):
        ours = mint([*args, "--issued-at", str(T), "--salt", str(S)])
        theirs = pinned_build(T, S, build)
        assert theirs.startswith("007"), "agoraiotools returned no token"
        assert ours == theirs, f"\nours   {ours}\ntheirs {theirs}"

    @check(f"agora {name}: agoraiotools token accepted by rtc-token inspect, wrong certificate rejected")
    def _(build=build, services=services):
        token = build()
        ref = agora_parse(token)
        j = inspect_accepts(token, ["--certificate", CERT], "agora-007")
        assert j["app_id"] == APP_ID
        assert j["issued_at"]["unix"] == attr(ref, "issue_ts")
        assert j["salt"] == attr(ref, "salt")
        assert j["expires_at"]["unix"] == attr(ref, "issue_ts") + attr(ref, "expire")
        assert [s["type"] for s in j["services"]] == sorted(services)
        for s in j["services"]:
            privs = {v["id"]: v["seconds"] for v in s["privileges"].values()}
            assert privs == services[s["type"]][1], privs
        inspect_rejects(token, ["--certificate", WRONG_CERT])


# ------------------------------------------------------------------ LiveKit


@check("livekit: rtc-token token verified by livekit-api TokenVerifier (grants, name, metadata, attributes)")
def _():
    token = mint(
        [
            "livekit", "--identity", "alice", "--room", "room-1", "--name", "Alice A.",
            "--metadata", '{"team":"red"}', "--attribute", "seat=12", "--attribute", "lang=fr",
            "--sources", "microphone,screen_share", "--no-subscribe", "--can-publish-data", "--ttl", "600",
        ]
    )
    c = lkapi.TokenVerifier(LK_KEY, LK_SECRET).verify(token)
    assert c.identity == "alice", c.identity
    assert c.name == "Alice A."
    assert c.metadata == '{"team":"red"}'
    assert c.attributes == {"seat": "12", "lang": "fr"}, c.attributes
    assert c.video.room_join is True and c.video.room == "room-1"
    assert sorted(c.video.can_publish_sources) == ["microphone", "screen_share"]
    assert c.video.can_subscribe is False
    assert c.video.can_publish_data is True
    raw = jwt.decode(token, options={"verify_signature": False})
    assert isinstance(raw["exp"], int) and abs(raw["exp"] - (NOW + 600)) < 120


@check("livekit: rtc-token token rejected by livekit-api with a wrong secret or key")
def _():
    token = mint(["livekit", "--identity", "alice", "--room", "room-1", "--admin", "--hidden"])
    c = lkapi.TokenVerifier(LK_KEY, LK_SECRET).verify(token)
    assert c.video.room_admin is True and c.video.hidden is True
    for key, secret in ((LK_KEY, WRONG_SECRET), ("APIotherKey", LK_SECRET)):
        try:
            lkapi.TokenVerifier(key, secret).verify(token)
        except Exception:  # noqa: BLE001 - PyJWT raises several types
            continue
        raise AssertionError(f"accepted with key={key}")


@check("livekit: livekit-api AccessToken accepted by rtc-token inspect, wrong secret rejected")
def _():
    token = (
        lkapi.AccessToken(LK_KEY, LK_SECRET)
        .with_identity("carol")
        .with_name("Carol")
        .with_metadata("meta")
        .with_attributes({"k": "v"})
        .with_ttl(datetime.timedelta(minutes=10))
        .with_grants(lkapi.VideoGrants(room_join=True, room="room-3", can_publish=False))
        .to_jwt()
    )
    j = inspect_accepts(token, ["--secret", LK_SECRET, "--api-key", LK_KEY], "livekit")
    assert j["identity"] == "carol" and j["api_key"] == LK_KEY and j["room"] == "room-3"
    assert j["claims"]["video"]["canPublish"] is False
    assert j["claims"]["attributes"] == {"k": "v"}
    assert j["expires_at"]["unix"] - j["not_before"]["unix"] == 600
    inspect_rejects(token, ["--secret", WRONG_SECRET])


class LiveKitServer:
    """`rtc-token serve` on a free loopback port with the interop keys and a LiveKit policy (the
    development caller issuer: callers from `rtc-token dev-jwt`)."""

    def __init__(self, policy):
        env = dict(ENV, LIVEKIT_POLICY_JSON=json.dumps(policy))
        self.proc = subprocess.Popen(
            [BIN, "serve", "--addr", "127.0.0.1:0"], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.base = None
        for line in self.proc.stderr:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.base = m.group(1).rstrip("/")
                break
        if self.base is None:
            self.proc.kill()
            raise AssertionError("rtc-token serve did not start")

    def post(self, jwt_, body):
        req = urllib.request.Request(
            self.base + "/livekit/token", data=json.dumps(body).encode(), method="POST",
            headers={"authorization": "Bearer " + jwt_, "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


@check("livekit: agent-dispatch tokens from POST /livekit/token (both spellings) verified by livekit-api, roomConfig parsed strictly")
def _():
    from google.protobuf.json_format import ParseDict
    from livekit.protocol.room import RoomConfiguration

    server = LiveKitServer({"livekit": {"room_config": {"agents": ["guide-*"], "deployments": ["staging"]}}})
    try:
        caller = cli(["dev-jwt", "--sub", "alice"])[1].strip()
        bodies = [
            {"agents": [{"agent_name": "guide-bot", "metadata": "{\"tour\":\"rome\"}", "deployment": "staging",
                         "restart_policy": "JRP_NEVER", "attributes": {"lang": "it"}}],
             "max_participants": 3, "empty_timeout": 120},
            {"agents": [{"agentName": "guide-bot", "metadata": "{\"tour\":\"rome\"}", "deployment": "staging",
                         "restartPolicy": 1, "attributes": {"lang": "it"}}],
             "maxParticipants": "3", "emptyTimeout": 120},
        ]
        for rc in bodies:
            status, body = server.post(caller, {"room_name": "tour-rome", "room_config": rc})
            assert status == 201, body
            token = body["participant_token"]
            c = lkapi.TokenVerifier(LK_KEY, LK_SECRET).verify(token)
            assert c.identity == "alice" and c.video.room == "tour-rome"
            part = token.split(".")[1]
            raw = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["roomConfig"]
            strict = ParseDict(raw, RoomConfiguration())  # raises on an unknown field
            assert c.room_config == strict
            assert strict.max_participants == 3 and strict.empty_timeout == 120
            (a,) = strict.agents
            assert a.agent_name == "guide-bot" and a.metadata == '{"tour":"rome"}'
            assert a.deployment == "staging" and a.restart_policy == 1 and dict(a.attributes) == {"lang": "it"}
        status, body = server.post(caller, {"room_name": "tour-rome", "room_config": {"agents": [{"agent_name": "root"}]}})
        assert status == 403 and body["error"]["code"] == "room_config_not_allowed", body
    finally:
        server.stop()


@check("livekit: livekit-api AccessToken with room_config agents accepted by rtc-token inspect")
def _():
    from livekit.protocol.agent_dispatch import RoomAgentDispatch
    from livekit.protocol.room import RoomConfiguration

    token = (
        lkapi.AccessToken(LK_KEY, LK_SECRET)
        .with_identity("dave")
        .with_grants(lkapi.VideoGrants(room_join=True, room="room-4"))
        .with_room_config(RoomConfiguration(max_participants=2, agents=[RoomAgentDispatch(agent_name="guide-bot", metadata="m")]))
        .to_jwt()
    )
    j = inspect_accepts(token, ["--secret", LK_SECRET, "--api-key", LK_KEY], "livekit")
    assert j["claims"]["roomConfig"]["agents"][0]["agentName"] == "guide-bot"
    assert j["claims"]["roomConfig"]["maxParticipants"] == 2


# ------------------------------------------------------------------ Stream


def stream_rules(token, secret, now=None):
    """Stream's documented backend rules, with PyJWT: HS256 only, integer exp not past, integer iat
    not in the future, non-empty string user_id."""
    now = int(time.time()) if now is None else now
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})
    if "exp" in claims:
        assert isinstance(claims["exp"], int) and claims["exp"] >= now, "exp"
    if "iat" in claims:
        assert isinstance(claims["iat"], int) and claims["iat"] <= now, "iat in the future"
    assert isinstance(claims.get("user_id"), str) and claims["user_id"], "user_id"
    return claims


@check("stream: rtc-token chat token accepted by PyJWT with Stream's rules")
def _():
    token = mint(["stream", "--user-id", "john", "--ttl", "600"])
    c = stream_rules(token, ST_SECRET)
    assert c["user_id"] == "john"
    assert abs(c["exp"] - (NOW + 600)) < 120
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    try:
        stream_rules(token, WRONG_SECRET)
    except jwt.InvalidSignatureError:
        pass
    else:
        raise AssertionError("accepted with a wrong secret")


@check("stream: rtc-token video token (call_cids, role) accepted by PyJWT with Stream's rules")
def _():
    token = mint(["stream", "--user-id", "jane", "--call-cid", "default:abc", "--role", "admin", "--ttl", "120"])
    c = stream_rules(token, ST_SECRET)
    assert c["user_id"] == "jane" and c["call_cids"] == ["default:abc"] and c["role"] == "admin", c


@check("stream: stream-chat create_token accepted by rtc-token inspect, wrong secret rejected")
def _():
    client = StreamChat(api_key=ST_KEY, api_secret=ST_SECRET)
    iat = int(time.time()) - 5
    token = client.create_token("john", exp=iat + 3600, iat=iat)
    j = inspect_accepts(token, ["--secret", ST_SECRET], "stream")
    assert j["user_id"] == "john" and j["token_type"] == "user"
    assert j["expires_at"]["unix"] == iat + 3600 and j["issued_at"]["unix"] == iat
    inspect_rejects(token, ["--secret", WRONG_SECRET])


@check("stream: rtc-token and stream-chat agree on the claims for the same user and times")
def _():
    iat = int(time.time()) - 60
    client = StreamChat(api_key=ST_KEY, api_secret=ST_SECRET)
    theirs = jwt.decode(client.create_token("zoe", exp=iat + 3600, iat=iat), ST_SECRET, algorithms=["HS256"])
    code, out, err = cli(["stream", "--user-id", "zoe", "--ttl", "3600", "--issued-at", str(iat), "--json"])
    assert code == 0, err
    ours = json.loads(out)["claims"]
    # rtc-token may backdate iat a few seconds (clock skew); everything else is the same claim set.
    assert ours["user_id"] == theirs["user_id"]
    assert ours["exp"] == theirs["exp"], (ours, theirs)
    assert 0 <= theirs["iat"] - ours["iat"] <= 10, (ours, theirs)


print(f"python: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
