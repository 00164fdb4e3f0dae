#!/usr/bin/env python3
"""Warm requests as Lambda runs them: one function process under a Runtime API emulator, many
invocations, optionally with the CPU capped like a small Lambda (standard library only, Linux, root
for the cap).

The emulator behaves like Lambda's Runtime API: the runtime long-polls `GET /runtime/invocation/next`
on one kept-alive HTTP/1.1 connection, gets the event with the Lambda-Runtime-* headers, and posts
`/runtime/invocation/<id>/response`. Per invocation it records the time from handing out the event
to receiving the response (what Lambda bills, plus the emulator's own share, the same for every
function). CPU per request is the function's user + system time over the measured invocations
(cgroup cpuacct when capped, /proc/PID/stat otherwise).

--cpu-pct P runs the function in a cgroup (v1 cpu + cpuacct, or v2 cpu.max) with a quota of P % of
one CPU per 100 ms period: 128 MB of Lambda memory is 128/1769 of a vCPU, about 7.2 %.
--rate R paces invocations at R per second (0 = back to back).

usage: warm.py --bin PATH --event FILE [--env K=V ...] [--requests N] [--warmup N] [--rate R]
               [--cpu-pct P] [--label NAME]
Prints one JSON object: p50/p90/p99/max latency (ms), CPU per request (us), statuses.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

from emulator import Cgroup, QuietServer, RuntimeApiHandler  # this directory

def proc_cpu_us(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) * 1_000_000 / ticks


class State:
    def __init__(self, event, total, rate):
        self.event = json.dumps(event).encode()
        self.total = total
        self.rate = rate
        self.lock = threading.Condition()
        self.given = {}
        self.lat = {}
        self.status = {}
        self.handed = 0
        self.first_next = None
        self.start = None
        self.base = 0


def make_handler(st):
    class H(RuntimeApiHandler):
        def do_GET(self):
            with st.lock:
                if st.first_next is None:
                    st.first_next = time.perf_counter()
                    st.start = st.first_next
                    st.lock.notify_all()
                while st.handed >= st.total:
                    if not st.lock.wait(timeout=60):
                        return self.reply(500)
                i = st.handed
                st.handed += 1
            if st.rate > 0:
                due = st.start + (i - st.base) / st.rate
                while True:
                    left = due - time.perf_counter()
                    if left <= 0:
                        break
                    time.sleep(left if left > 0.002 else 0)
            rid = f"{i:08d}-{uuid.uuid4().hex[:8]}"
            deadline = int(time.time() * 1000) + 5_000
            with st.lock:
                st.given[rid] = time.perf_counter()
            self.reply(200, st.event, [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:warm"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ])

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            now = time.perf_counter()
            parts = self.path.split("/")
            rid = parts[-2] if len(parts) >= 2 else ""
            self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
            with st.lock:
                if rid in st.given:
                    st.lat[rid] = now - st.given[rid]
                    try:
                        st.status[rid] = json.loads(body).get("statusCode")
                    except ValueError:
                        st.status[rid] = None
                st.lock.notify_all()

    return H


def pct(vals, q):
    s = sorted(vals)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--event", required=True)
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--cpu-pct", type=float, default=0.0)
    p.add_argument("--label", default="")
    p.add_argument("--log")
    args = p.parse_args()
    event = json.load(open(args.event))
    total = args.warmup + args.requests
    st = State(event, total, 0.0)
    api = QuietServer(("127.0.0.1", 0), make_handler(st))
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(args.bin),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "warm",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/warm",
        "_HANDLER": "bootstrap",
    })
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    cg = Cgroup(f"rtc-warm-{os.getpid()}", args.cpu_pct) if args.cpu_pct > 0 else None
    argv = [args.bin]
    if cg:
        argv = cg.wrap(argv)
    log = open(args.log, "ab") if args.log else subprocess.DEVNULL
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    try:
        # Warm-up, back to back; then the measured invocations at the chosen pace.
        def wait_done(n, limit):
            end = time.perf_counter() + limit
            with st.lock:
                while len(st.lat) < n and time.perf_counter() < end and proc.poll() is None:
                    st.lock.wait(timeout=0.1)
        with st.lock:
            st.total = args.warmup
        wait_done(args.warmup, 120)
        cpu0 = cg.usage() if cg else proc_cpu_us(proc.pid)
        with st.lock:
            st.rate = args.rate
            st.base = args.warmup
            st.start = time.perf_counter()
            st.total = total
            st.lock.notify_all()
        t0 = time.perf_counter()
        wait_done(total, 600)
        wall = time.perf_counter() - t0
        cpu1 = cg.usage() if cg else proc_cpu_us(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        api.shutdown()
        if cg:
            cg.remove()
    measured = [v for k, v in st.lat.items() if int(k.split("-")[0]) >= args.warmup]
    ms = [v * 1000 for v in measured]
    out = {
        "label": args.label, "bin": args.bin, "rate": args.rate, "cpu_pct": args.cpu_pct,
        "requests": len(ms), "wall_s": round(wall, 3),
        "p50_ms": round(statistics.median(ms), 3) if ms else None,
        "p90_ms": round(pct(ms, 90), 3) if ms else None,
        "p99_ms": round(pct(ms, 99), 3) if ms else None,
        "max_ms": round(max(ms), 3) if ms else None,
        "cpu_us_per_request": round((cpu1 - cpu0) / len(ms), 1) if ms else None,
        "statuses": sorted({str(v) for v in st.status.values()}),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }
    json.dump(out, sys.stdout)
    print()
    return 0 if ms and len(ms) == args.requests else 1


if __name__ == "__main__":
    sys.exit(main())
