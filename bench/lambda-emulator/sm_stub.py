#!/usr/bin/env python3
"""A stub Secrets Manager endpoint (standard library only) for the cold-start measurement: it
answers GetSecretValue from a JSON file {secret id: secret string} at once, so a cold start against
it shows the INIT cost with the smallest possible network part (one loopback HTTP round trip), or,
with --delay-ms, answers each request that many milliseconds late (Secrets Manager a round trip away).

usage: sm_stub.py --port P --secrets FILE [--delay-ms 30]
"""
import argparse
import json
import time
from http.server import BaseHTTPRequestHandler

from emulator import QuietServer  # the Runtime API's server, quiet on dropped connections (this directory)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secrets", required=True)
    p.add_argument("--delay-ms", type=float, default=0.0)
    args = p.parse_args()
    with open(args.secrets) as f:
        secrets = json.load(f)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(n) or b"{}")
            target = self.headers.get("X-Amz-Target", "")
            sid = req.get("SecretId", "")
            if target.endswith("GetSecretValue") and sid in secrets:
                status = 200
                body = {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{sid}",
                        "Name": sid, "SecretString": secrets[sid], "VersionId": "v1",
                        "VersionStages": ["AWSCURRENT"], "CreatedDate": 1767225600}
            else:
                status = 400
                body = {"__type": "ResourceNotFoundException", "message": "not found"}
            data = json.dumps(body).encode()
            time.sleep(args.delay_ms / 1000)
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    QuietServer(("127.0.0.1", args.port), H).serve_forever()


if __name__ == "__main__":
    main()
