#!/usr/bin/env python3
"""A stub identity provider (standard library only) for the cold-start measurement: OIDC discovery at
/.well-known/openid-configuration (issuer = this server's URL, jwks_uri = its /jwks) and a JWKS at
/jwks from a file, each answered after --delay-ms (a provider that many milliseconds away).

usage: idp_stub.py --port P --jwks FILE [--delay-ms 80]
"""
import argparse
import json
import time
from http.server import BaseHTTPRequestHandler

from emulator import QuietServer  # quiet on dropped connections (this directory)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jwks", required=True)
    p.add_argument("--delay-ms", type=float, default=0.0)
    args = p.parse_args()
    with open(args.jwks, "rb") as f:
        jwks = f.read()
    base = f"http://127.0.0.1:{args.port}"
    discovery = json.dumps({"issuer": base, "jwks_uri": f"{base}/jwks"}).encode()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("/openid-configuration"):
                body = discovery
            elif self.path.endswith("/jwks"):
                body = jwks
            else:
                body = None
            time.sleep(args.delay_ms / 1000)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    QuietServer(("127.0.0.1", args.port), H).serve_forever()


if __name__ == "__main__":
    main()
