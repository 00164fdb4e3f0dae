#!/usr/bin/env python3
"""Reference Python token server for the side-by-side benchmark (bench/run.sh).

Built the way users build a small one today: the standard library's ThreadingHTTPServer, PyJWT for
the caller JWT (HS256 shared secret, or PyJWKClient when AUTH_JWKS_URL is set) and the official
SDKs: agoraiotools, livekit-api, stream-chat (all in ./.venv, from interop/requirements.txt).
Same routes, request and response shapes, body cap and error shape as rtc-tokens and the Node
server (bench/node-server/server.mjs), with the same minimal policy.

Environment: the same variables as the Node server; PORT defaults to 8792.
"""
import datetime
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from agoraiotools.ChatTokenBuilder2 import ChatTokenBuilder
from agoraiotools.RtcTokenBuilder2 import Role_Publisher, Role_Subscriber, RtcTokenBuilder
from agoraiotools.RtmTokenBuilder2 import RtmTokenBuilder
from livekit import api as lkapi
from stream_chat import StreamChat

E = os.environ.get
PORT = int(E("PORT", "8792"))
HOST = E("HOST", "127.0.0.1")
ISSUER = E("AUTH_ISSUER", "https://bench.rtc-tokens.invalid")
AUDIENCE = E("AUTH_AUDIENCE") or None
LEEWAY = int(E("AUTH_LEEWAY_SECONDS", "30"))
BODY_LIMIT = 16 * 1024

AGORA_APP_ID = E("AGORA_APP_ID", "970ca35de60c44645bbae8a215061b33")
AGORA_CERT = E("AGORA_APP_CERTIFICATE", "5cfd2fd1755d40ecb72977518be15d3b")
LK_KEY = E("LIVEKIT_API_KEY", "devkey")
LK_SECRET = E("LIVEKIT_API_SECRET", "secret-secret-secret-secret-secret-00")
LK_URL = E("LIVEKIT_URL", "ws://127.0.0.1:7880")
STREAM_KEY = E("STREAM_API_KEY", "devkey")
STREAM_SECRET = E("STREAM_API_SECRET", "stream-secret-stream-secret-stream-00")

JWKS_URL = E("AUTH_JWKS_URL")
JWKS = jwt.PyJWKClient(JWKS_URL) if JWKS_URL else None
HS_SECRET = E("AUTH_HS256_SECRET", "bench-hs256-secret-bench-hs256-secret-0")
STREAM = StreamChat(api_key=STREAM_KEY, api_secret=STREAM_SECRET)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def authenticate(header):
    if not header or not header.startswith("Bearer "):
        raise ApiError(401, "unauthorized", "missing or invalid caller token")
    token = header[7:]
    try:
        if JWKS is not None:
            key, algs = JWKS.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
        else:
            key, algs = HS_SECRET, ["HS256"]
        return jwt.decode(
            token,
            key,
            algorithms=algs,
            issuer=ISSUER,
            audience=AUDIENCE,
            leeway=LEEWAY,
            options={"require": ["sub", "exp"], "verify_aud": AUDIENCE is not None},
        )
    except Exception:
        raise ApiError(401, "unauthorized", "missing or invalid caller token") from None


def only_fields(body, allowed):
    for k in body:
        if k not in allowed:
            raise ApiError(400, "unknown_field", f"unknown field `{k}`")


def ttl_of(body, default, maximum):
    ttl = body.get("ttl", default)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 60 or ttl > maximum:
        raise ApiError(400, "bad_request", f"ttl must be an integer between 60 and {maximum}")
    return ttl


def agora_token(caller, body):
    only_fields(body, ("type", "channel", "role", "ttl"))
    typ, role = body.get("type", "rtc"), body.get("role", "subscriber")
    if typ not in ("rtc", "rtm", "chat"):
        raise ApiError(400, "bad_request", "type must be rtc, rtm or chat")
    if role not in ("publisher", "subscriber"):
        raise ApiError(400, "bad_request", "role must be publisher or subscriber")
    channel = body.get("channel")
    if typ == "rtc" and (not isinstance(channel, str) or not 0 < len(channel) <= 64):
        raise ApiError(400, "bad_request", "channel is required (1-64 characters)")
    ttl = ttl_of(body, 3600, 86400)
    account = caller["sub"]
    if typ == "rtc":
        r = Role_Publisher if role == "publisher" else Role_Subscriber
        token = RtcTokenBuilder.build_token_with_user_account(
            AGORA_APP_ID, AGORA_CERT, channel, account, r, ttl, ttl
        )
    elif typ == "rtm":
        token = RtmTokenBuilder.build_token(AGORA_APP_ID, AGORA_CERT, account, ttl)
    else:
        token = ChatTokenBuilder.build_user_token(AGORA_APP_ID, AGORA_CERT, account, ttl)
    now = int(time.time())
    return 200, {
        "token": token, "appId": AGORA_APP_ID, "type": typ, "channel": channel,
        "account": account, "role": role, "issuedAt": now, "expiresAt": now + ttl,
        "refreshAfter": now + int(ttl * 0.8),
    }


def livekit_token(caller, body):
    only_fields(body, ("room_name", "participant_name", "participant_identity",
                       "participant_metadata", "participant_attributes", "room_config", "role"))
    room = body.get("room_name")
    if not isinstance(room, str) or not room:
        raise ApiError(400, "bad_request", "room_name is required")
    ident = body.get("participant_identity")
    if ident is not None and ident != caller["sub"]:
        raise ApiError(403, "identity_mismatch", "participant_identity must be the caller")
    listener = body.get("role") == "listener"
    at = (
        lkapi.AccessToken(LK_KEY, LK_SECRET)
        .with_identity(caller["sub"])
        .with_ttl(datetime.timedelta(seconds=900))
        .with_grants(lkapi.VideoGrants(room_join=True, room=room, can_publish=not listener,
                                       can_subscribe=True, can_publish_data=not listener))
    )
    if body.get("participant_name"):
        at = at.with_name(body["participant_name"])
    if body.get("participant_metadata"):
        at = at.with_metadata(body["participant_metadata"])
    if body.get("participant_attributes"):
        at = at.with_attributes(body["participant_attributes"])
    return 201, {"server_url": LK_URL, "participant_token": at.to_jwt()}


def stream_token(caller, body):
    only_fields(body, ("type", "call_cids", "role", "ttl"))
    if body.get("type", "chat") not in ("chat", "video"):
        raise ApiError(400, "bad_request", "type must be chat or video")
    ttl = ttl_of(body, 3600, 86400)
    now = int(time.time())
    token = STREAM.create_token(caller["sub"], exp=now + ttl, iat=now)
    return 200, {"token": token, "apiKey": STREAM_KEY, "userId": caller["sub"], "expiresAt": now + ttl}


ROUTES = {"/agora/token": agora_token, "/livekit/token": livekit_token, "/stream/token": stream_token}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the other servers
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms per
    # request on keep-alive connections, which would measure the socket option, not the server.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # no access log (the others have none either)
        pass

    def send_json(self, status, body, extra=()):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        extra = []
        try:
            route = ROUTES.get(self.path)
            if route is None:
                raise ApiError(404, "not_found", "no such route")
            if self.command != "POST":
                extra.append(("Allow", "POST"))
                raise ApiError(405, "method_not_allowed", "method not allowed; use POST")
            length = int(self.headers.get("Content-Length") or 0)
            if length > BODY_LIMIT:
                self.close_connection = True
                raise ApiError(413, "payload_too_large", f"request body larger than {BODY_LIMIT} bytes")
            raw = self.rfile.read(length) if length else b""
            caller = authenticate(self.headers.get("Authorization"))
            if not (self.headers.get("Content-Type") or "").lower().startswith("application/json"):
                raise ApiError(415, "unsupported_media_type", "content type must be application/json")
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_json", "body is not a JSON object")
            status, out = route(caller, body)
            self.send_json(status, out)
        except ApiError as e:
            self.send_json(e.status, {"error": {"code": e.code, "message": e.message}}, extra)
        except Exception:
            self.send_json(500, {"error": {"code": "internal", "message": "internal error"}})

    do_POST = do_GET = do_PUT = do_DELETE = handle_any


def main():
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = True
    print(f"py-server listening on http://{HOST}:{PORT}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
