#!/usr/bin/env python3
"""Mints an HS256 caller JWT with the Python standard library only (no dependency), so the
benchmark sends byte-identical caller tokens to every server.

usage: mint_jwt.py --secret S --issuer I [--sub alice] [--aud A] [--ttl 86400] [--skew 0]
"""
import argparse
import base64
import hashlib
import hmac
import json
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret: str, issuer: str, sub: str, aud: str | None, ttl: int, skew: int = 0) -> str:
    now = int(time.time()) + skew
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": issuer, "sub": sub, "iat": now, "nbf": now, "exp": now + ttl}
    if aud:
        claims["aud"] = aud
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--secret", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--sub", default="alice")
    p.add_argument("--aud")
    p.add_argument("--ttl", type=int, default=86400)
    p.add_argument("--skew", type=int, default=0, help="seconds added to the caller's clock")
    a = p.parse_args()
    print(mint(a.secret, a.issuer, a.sub, a.aud, a.ttl, a.skew))


if __name__ == "__main__":
    main()
