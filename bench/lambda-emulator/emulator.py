#!/usr/bin/env python3
"""A minimal AWS Lambda Runtime API emulator that measures cold starts (standard library only).

For each run it spawns the function binary with AWS_LAMBDA_RUNTIME_API pointing here, and times:
  - INIT: from spawn to the runtime's first `GET /2018-06-01/runtime/invocation/next` (the end
    of INIT in Lambda's own terms: the runtime asks for work once `main` has built its state);
  - network: the part of INIT spent waiting on Secrets Manager, measured by a timing TCP proxy
    between the function and the upstream (moto_server): the union of the intervals from each
    connection's first request byte to its last response byte, clipped to the INIT window;
  - first invoke: from handing out the event to the runtime's response POST;
  - peak RSS of the process (ru_maxrss from wait4) after INIT + one invoke.
Then it kills the process (as Lambda does when it recycles an environment) and starts the next run.

usage: emulator.py --bin PATH [--event FILE] [--runs N] [--upstream HOST:PORT] [--env K=V ...]
                   [--cpu-pct P]
  --cpu-pct P runs the function in a cgroup capped to P % of one CPU (a Lambda memory size's share:
  128 MB 7.2, 256 MB 14.4; needs root), INIT included: the spawn goes through `sh`, which joins the
  cgroup and execs the binary (about 1 ms more INIT than uncapped runs).
  Environment values may contain {proxy} (replaced with http://127.0.0.1:<proxy port>) and
  {upstream} (the upstream itself, unproxied). Prints one JSON object with every run + a summary.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_EVENT = {
    "version": "2.0",
    "routeKey": "POST /stream/token",
    "rawPath": "/stream/token",
    "rawQueryString": "",
    "headers": {"content-type": "application/json"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "emulator",
        "domainName": "emulator.local",
        "domainPrefix": "emulator",
        "http": {"method": "POST", "path": "/stream/token", "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "emulator"},
        "requestId": "cold-start",
        "routeKey": "POST /stream/token",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    },
    "body": "{}",
    "isBase64Encoded": False,
}


PERIOD_US = 100_000


class Cgroup:
    """A CPU-capped cgroup: v1 (cpu + cpuacct hierarchies) when mounted, else v2."""

    def __init__(self, name, pct):
        self.dirs = []
        quota = int(PERIOD_US * pct / 100)
        v1_cpu, v1_acct = "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct"
        if os.path.exists(os.path.join(v1_cpu, "cpu.cfs_quota_us")):
            cpu, acct = os.path.join(v1_cpu, name), os.path.join(v1_acct, name)
            for d in (cpu, acct):
                os.makedirs(d, exist_ok=True)
                self.dirs.append(d)
            open(os.path.join(cpu, "cpu.cfs_period_us"), "w").write(str(PERIOD_US))
            open(os.path.join(cpu, "cpu.cfs_quota_us"), "w").write(str(quota))
            self.procs = [os.path.join(d, "cgroup.procs") for d in (cpu, acct)]
            self.usage = lambda: int(open(os.path.join(acct, "cpuacct.usage")).read()) / 1000
        else:
            root = "/sys/fs/cgroup/unified" if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs") else "/sys/fs/cgroup"
            d = os.path.join(root, name)
            os.makedirs(d, exist_ok=True)
            self.dirs.append(d)
            open(os.path.join(d, "cpu.max"), "w").write(f"{quota} {PERIOD_US}")
            self.procs = [os.path.join(d, "cgroup.procs")]

            def usage():
                for line in open(os.path.join(d, "cpu.stat")):
                    k, v = line.split()
                    if k == "usage_usec":
                        return int(v)
                return 0
            self.usage = usage
        self.quota_us = quota

    def wrap(self, argv):
        """A command that joins the cgroup, then execs argv (so INIT runs capped too)."""
        joins = "; ".join(f"echo $$ > {p}" for p in self.procs)
        return ["sh", "-c", f'{joins}; exec "$0" "$@"'] + argv

    def remove(self):
        for d in self.dirs:
            try:
                os.rmdir(d)
            except OSError:
                pass


class QuietServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that says nothing when a peer drops its connection: each run kills the
    function process, whose open connections then reset (a traceback per run otherwise)."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class Proxy:
    """A TCP proxy that records, per connection, [first client byte, last upstream byte]."""

    def __init__(self, upstream):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.intervals = []  # [start, end] lists, mutated while the connection lives
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self.lock:
            self.intervals = []

    def _accept(self):
        while True:
            client, _ = self.sock.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            up = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for s in (client, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cur = [None]  # the interval of the request in flight on this connection

        def pump(src, dst, is_request):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    now = time.perf_counter()
                    if is_request and (cur[0] is None or cur[0][1] is not None):
                        # A new request (the first, or the next one on a kept-alive connection).
                        cur[0] = [now, None]
                        with self.lock:
                            self.intervals.append(cur[0])
                    dst.sendall(data)
                    if not is_request and cur[0] is not None:
                        cur[0][1] = time.perf_counter()
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pump, args=(up, client, False), daemon=True)
        t.start()
        pump(client, up, True)
        t.join()
        client.close()
        up.close()

    def busy_within(self, start, end):
        """Seconds within [start, end] covered by at least one request interval."""
        with self.lock:
            spans = sorted((max(a, start), min(b if b is not None else end, end))
                           for a, b in self.intervals if a is not None and a < end)
        total, cur_a, cur_b = 0.0, None, None
        for a, b in spans:
            if b <= a:
                continue
            if cur_b is None or a > cur_b:
                if cur_b is not None:
                    total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_b is not None:
            total += cur_b - cur_a
        return total


class Runtime:
    """The Runtime API state of the current run."""

    def __init__(self, event):
        self.event = json.dumps(event).encode()
        self.cond = threading.Condition()
        self.reset()

    def reset(self):
        with self.cond:
            self.first_next = None
            self.given = None
            self.response = None
            self.responded = None
            self.error = None
            self.request_id = str(uuid.uuid4())
            self.served = False


class RuntimeApiHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log, and `reply`: what every Runtime API stand-in shares."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def make_handler(rt):
    class H(RuntimeApiHandler):
        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                return self.reply(404)
            now = time.perf_counter()
            with rt.cond:
                if rt.first_next is None:
                    rt.first_next = now
                if rt.served:
                    # Only one invocation per run: park the runtime until it is killed.
                    rt.cond.wait(timeout=60)
                    return self.reply(500)
                rt.served = True
                rt.given = time.perf_counter()
                rid = rt.request_id
            deadline = int(time.time() * 1000) + 30_000
            self.reply(200, rt.event, [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn",
                 "arn:aws:lambda:us-east-1:123456789012:function:cold-start"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ])

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            now = time.perf_counter()
            with rt.cond:
                if self.path.endswith("/response"):
                    rt.response, rt.responded = body, now
                elif self.path.endswith("/error"):
                    rt.error = body.decode(errors="replace")[:500]
                    rt.responded = now
                rt.cond.notify_all()
            self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

    return H


def one_run(args, rt, api_port, proxy, env_extra):
    rt.reset()
    if proxy:
        proxy.reset()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api_port}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(args.bin),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold-start",
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": env.get("AWS_REGION", "us-east-1"),
        "_HANDLER": "bootstrap",
    })
    env.update(env_extra)
    log = open(args.log, "ab") if args.log else subprocess.DEVNULL
    t0 = time.perf_counter()
    argv = args.cgroup.wrap([args.bin]) if args.cgroup else [args.bin]
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    deadline = t0 + args.timeout
    with rt.cond:
        while rt.responded is None and time.perf_counter() < deadline and proc.poll() is None:
            rt.cond.wait(timeout=0.05)
    exited = proc.poll()
    if exited is None:
        proc.send_signal(signal.SIGKILL)
    _, _, ru = os.wait4(proc.pid, 0)
    run = {"ok": rt.response is not None, "exit": exited}
    if rt.first_next is not None:
        init = rt.first_next - t0
        run["init_ms"] = init * 1000
        if proxy:
            net = proxy.busy_within(t0, rt.first_next)
            run["network_ms"] = net * 1000
            run["init_excl_network_ms"] = (init - net) * 1000
    if rt.responded is not None and rt.given is not None:
        run["invoke_ms"] = (rt.responded - rt.given) * 1000
    if rt.response is not None:
        try:
            resp = json.loads(rt.response)
            run["status"] = resp.get("statusCode")
        except ValueError:
            run["status"] = None
    if rt.error:
        run["error"] = rt.error
    run["max_rss_kb"] = ru.ru_maxrss
    return run


def summarize(runs, key):
    vals = [r[key] for r in runs if key in r]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def run_all(args, event, proxy, env_extra, runs):
    for _ in range(args.runs):
        # A fresh Runtime API server (new port, new state) per run: a request the killed process of
        # the previous run left in the old server's accept queue can then never be taken for this
        # run's first GET /next (it was: INIT measured as ~0 ms, and the event handed to the dead
        # process while the new one waited, so the run got no response).
        rt = Runtime(event)
        api = QuietServer(("127.0.0.1", 0), make_handler(rt))
        api.daemon_threads = True
        threading.Thread(target=api.serve_forever, daemon=True).start()
        try:
            runs.append(one_run(args, rt, api.server_address[1], proxy, env_extra))
        finally:
            api.shutdown()
            api.server_close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--event", help="API Gateway HTTP API 2.0 event JSON file")
    p.add_argument("--header", action="append", default=[], help="extra event header K=V")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--upstream", help="HOST:PORT to proxy (Secrets Manager)")
    p.add_argument("--env", action="append", default=[], help="K=V for the function")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per run")
    p.add_argument("--log", help="append the function's output here")
    p.add_argument("--cpu-pct", type=float, default=0.0,
                   help="run the function in a cgroup capped to this %% of one CPU (root; e.g. 14.4 for 256 MB)")
    args = p.parse_args()
    args.cgroup = Cgroup(f"rtc-cold-{os.getpid()}", args.cpu_pct) if args.cpu_pct > 0 else None

    event = DEFAULT_EVENT
    if args.event:
        with open(args.event) as f:
            event = json.load(f)
    for h in args.header:
        k, v = h.split("=", 1)
        event.setdefault("headers", {})[k.lower()] = v
    proxy = Proxy(args.upstream) if args.upstream else None
    env_extra = {}
    for kv in args.env:
        k, v = kv.split("=", 1)
        if proxy:
            v = v.replace("{proxy}", f"http://127.0.0.1:{proxy.port}")
        if args.upstream:
            v = v.replace("{upstream}", f"http://{args.upstream}")
        env_extra[k] = v
    runs = []
    try:
        run_all(args, event, proxy, env_extra, runs)
    finally:
        if args.cgroup:
            args.cgroup.remove()
    out = {
        "bin": args.bin,
        "runs": runs,
        "init_ms": summarize(runs, "init_ms"),
        "network_ms": summarize(runs, "network_ms"),
        "init_excl_network_ms": summarize(runs, "init_excl_network_ms"),
        "invoke_ms": summarize(runs, "invoke_ms"),
        "max_rss_kb": summarize(runs, "max_rss_kb"),
        "statuses": sorted({str(r.get("status")) for r in runs}),
        "all_ok": all(r["ok"] for r in runs),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
