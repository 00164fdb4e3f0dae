#!/usr/bin/env python3
"""Side-by-side benchmark driver (called by bench/run.sh; Python standard library only).

It starts each server (rtc-tokens `rtc-token serve`, the Node reference server, the Python
reference server) pinned to the same core (taskset) and checks that every route answers 2xx to the
benchmark request. Then, in each of --rounds rounds (default 3), route by route, it measures every
server back to back — only one is under load at a time; an idle server uses no CPU:
  1. warm-up run (not recorded),
  2. saturation run: wrk with N connections on the other core -> requests/s, p50/p99 latency,
     CPU time per request (utime+stime delta of /proc/PID/stat over the run / requests) and the
     peak RSS during the run (VmHWM, reset through /proc/PID/clear_refs before the run),
  3. moderate-load run: few connections with a fixed delay between requests (offered load
     <= connections * 1000 / delay_ms per second) -> p50/p99 latency at a load every server sustains.
Measuring the servers of one route back to back keeps both sides of a ratio in the same phase of a
shared VM whose speed drifts by a quarter within minutes. Each cell of the table is its median round
(by CPU time per request); the round-by-round ratios are listed after the table.
Results: a table on stdout plus bench/results/latest.json and latest.md.
"""
import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, HERE)
from mint_jwt import mint  # noqa: E402

ROUTES = {
    "agora": ("/agora/token", '{"type":"rtc","channel":"room-1","role":"publisher"}'),
    "livekit": ("/livekit/token", '{"room_name":"room-1"}'),
    "stream": ("/stream/token", '{"type":"chat"}'),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """(user, system) CPU ticks of the process so far: utime and stime of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime = field 14, stime = field 15
    return int(fields[11]), int(fields[12])


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def wait_port(host, port, proc, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {host}:{port} not ready after {timeout}s")


def post(url, body, jwt):
    req = urllib.request.Request(url, data=body.encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + jwt)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def run_wrk(args, url, body, jwt, conns, seconds, delay_ms=0):
    out = os.path.join(args.tmp, "wrk.json")
    if os.path.exists(out):
        os.remove(out)
    env = dict(os.environ, BENCH_JWT=jwt, BENCH_BODY=body, BENCH_OUT=out,
               BENCH_DELAY=str(delay_ms))
    cmd = ["taskset", "-c", args.client_core, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s",
           "--timeout", "5s", "-s", os.path.join(BENCH, "wrk", "post.lua"), url]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def rs256_caller(issuer, audience, sub, ttl):
    """An RSA-2048 caller key, its JWKS served on loopback (a daemon thread), and a caller JWT signed
    with it. Every server fetches the JWKS once at start and then verifies with the cached key."""
    import http.server
    import threading

    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench-rs256-1", alg="RS256", use="sig")
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    now = int(time.time())
    token = pyjwt.encode({"iss": issuer, "sub": sub, "aud": audience, "iat": now, "nbf": now,
                          "exp": now + ttl}, key, algorithm="RS256",
                         headers={"kid": "bench-rs256-1"})
    return token, f"http://127.0.0.1:{srv.server_address[1]}/jwks.json"


def start_server(name, args, env_common):
    port = {"rtc-tokens": args.rust_port, "node": args.node_port, "python": args.py_port}[name]
    env = dict(os.environ, **env_common, PORT=str(port), RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    if name == "rtc-tokens":
        cmd = [args.rtc_token, "serve", "--addr", f"127.0.0.1:{port}"]
    elif name == "node":
        cmd = ["node", os.path.join(BENCH, "node-server", "server.mjs")]
    else:
        cmd = [args.python, os.path.join(BENCH, "py-server", "server.py")]
    cmd = ["taskset", "-c", args.server_core] + cmd
    log = open(os.path.join(args.tmp, f"{name}.log"), "w")
    # taskset execs the server, so the pid is the server's own.
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    wait_port("127.0.0.1", port, proc)
    return proc, port


def bench_cell(name, pid, port, route, args, jwt):
    """One server on one route: warm-up, saturation run (CPU and peak RSS), moderate-load run."""
    path, body = ROUTES[route]
    url = f"http://127.0.0.1:{port}{path}"
    status, resp = post(url, body, jwt)
    if status not in (200, 201):
        raise RuntimeError(f"{name} {path} answered {status}: {resp[:300]!r}")
    run_wrk(args, url, body, jwt, args.connections, args.warmup)
    hwm_ok = reset_hwm(pid)
    t0, c0 = time.time(), cpu_ticks(pid)
    sat = run_wrk(args, url, body, jwt, args.connections, args.duration)
    t1, c1 = time.time(), cpu_ticks(pid)
    hwm = status_kb(pid, "VmHWM") if hwm_ok else None
    rss = status_kb(pid, "VmRSS")
    mod = run_wrk(args, url, body, jwt, args.moderate_connections, args.moderate_duration,
                  args.moderate_delay_ms)
    secs = sat["duration_us"] / 1e6
    user_s, sys_s = (c1[0] - c0[0]) / CLK_TCK, (c1[1] - c0[1]) / CLK_TCK
    cpu_s = user_s + sys_s
    n = max(sat["requests"], 1)
    errors = sum(sat["errors"].values())
    r = {
        "rps": sat["requests"] / secs,
        "p50_us": sat["latency_us"]["p50"],
        "p99_us": sat["latency_us"]["p99"],
        "cpu_us_per_req": cpu_s * 1e6 / n,
        # The kernel's share: on loopback the sender's system time also carries the receiving
        # socket's TCP processing (the client's, for a response).
        "user_us_per_req": user_s * 1e6 / n,
        "sys_us_per_req": sys_s * 1e6 / n,
        "cpu_util": cpu_s / (t1 - t0),
        "rps_per_cpu_second": n / cpu_s if cpu_s > 0 else None,
        "peak_rss_kb": hwm,
        "rss_kb": rss,
        "errors": errors,
        "status": sat["status"],
        "moderate": {
            "rps": mod["requests"] / (mod["duration_us"] / 1e6),
            "p50_us": mod["latency_us"]["p50"],
            "p99_us": mod["latency_us"]["p99"],
            "errors": sum(mod["errors"].values()),
        },
    }
    print(f"  {name:10} {route:8} {r['rps']:9.0f} req/s  p50 {r['p50_us'] / 1000:7.2f} ms  "
          f"p99 {r['p99_us'] / 1000:7.2f} ms  cpu {r['cpu_us_per_req']:8.1f} us/req "
          f"({r['user_us_per_req']:.1f} user + {r['sys_us_per_req']:.1f} sys)  "
          f"peak {(hwm or 0) / 1024:6.1f} MiB  | moderate {r['moderate']['rps']:6.0f} req/s "
          f"p99 {r['moderate']['p99_us'] / 1000:6.2f} ms  errors {errors}", flush=True)
    return r


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def median_run(runs):
    """The run with the median CPU time per request (a whole run, so its figures stay together)."""
    ranked = sorted(runs, key=lambda r: r["cpu_us_per_req"])
    return ranked[(len(ranked) - 1) // 2]


def paired_ratios(rounds, servers, routes):
    """Per route and reference server: ours / theirs in requests per CPU-second, round by round.

    The servers answer the same route back to back within a round, so a pair shares the VM's
    phase; the spread across rounds shows how much the host's drift moves the ratio."""
    out = {}
    for route in routes:
        for s in servers:
            if s == "rtc-tokens":
                continue
            vals = []
            for rnd in rounds:
                o, t = rnd.get("rtc-tokens", {}).get(route), rnd.get(s, {}).get(route)
                if o and t and o["rps_per_cpu_second"] and t["rps_per_cpu_second"]:
                    vals.append(o["rps_per_cpu_second"] / t["rps_per_cpu_second"])
            if vals:
                out[f"{route}/{s}"] = vals
    return out


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "model": model,
        "kernel": platform.release(),
        "loadavg_before": open("/proc/loadavg").read().split()[:3],
    }


def fmt_table(res, servers):
    lines = []
    hdr = ("| route | server | req/s (1 core) | p50 ms | p99 ms | CPU us/req | user + sys us | "
           "req per CPU-s | peak RSS MiB | moderate req/s | moderate p99 ms | errors |")
    lines.append(hdr)
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for route in ROUTES:
        for s in servers:
            r = res.get(s, {}).get(route)
            if not r:
                continue
            rpc = r["rps_per_cpu_second"]
            lines.append(
                f"| {route} | {s} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
                f"{r['cpu_us_per_req']:.1f} | {r['user_us_per_req']:.1f} + {r['sys_us_per_req']:.1f} | "
                f"{rpc:.0f} | {(r['peak_rss_kb'] or 0) / 1024:.1f} | "
                f"{r['moderate']['rps']:.0f} | {r['moderate']['p99_us'] / 1000:.2f} | {r['errors']} |"
                if rpc else f"| {route} | {s} | {r['rps']:.0f} | - | - | - | - | - | - | - | - | {r['errors']} |")
    lines.append("")
    lines.append("| route | vs | throughput ratio (req/s) | per-CPU ratio (req per CPU-s) | "
                 "p99 ratio (theirs / ours) |")
    lines.append("|---|---|---:|---:|---:|")
    ours = res.get("rtc-tokens", {})
    for route in ROUTES:
        o = ours.get(route)
        if not o:
            continue
        for s in servers:
            if s == "rtc-tokens" or route not in res.get(s, {}):
                continue
            t = res[s][route]
            per_cpu = (o["rps_per_cpu_second"] / t["rps_per_cpu_second"]
                       if o["rps_per_cpu_second"] and t["rps_per_cpu_second"] else float("nan"))
            lines.append(f"| {route} | {s} | {o['rps'] / t['rps']:.1f}x | {per_cpu:.1f}x | "
                         f"{t['p99_us'] / max(o['p99_us'], 1):.1f}x |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rtc-token", default=os.path.join(ROOT, "target", "release", "rtc-token"))
    p.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    p.add_argument("--servers", default="rtc-tokens,node,python",
                   help="comma list of rtc-tokens, node, python")
    p.add_argument("--routes", default="", help="comma list (agora,livekit,stream); default all")
    p.add_argument("--duration", type=int, default=10, help="seconds of each saturation run")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds over all routes and servers; each cell reports its median round")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--moderate-connections", type=int, default=4)
    p.add_argument("--moderate-delay-ms", type=int, default=4,
                   help="per-connection pause; offered load <= connections*1000/delay req/s")
    p.add_argument("--moderate-duration", type=int, default=5)
    p.add_argument("--server-core", default="0")
    p.add_argument("--client-core", default="1")
    p.add_argument("--rust-port", type=int, default=18787)
    p.add_argument("--node-port", type=int, default=18791)
    p.add_argument("--py-port", type=int, default=18792)
    p.add_argument("--out", default=os.path.join(BENCH, "results"))
    p.add_argument("--tmp", default="/tmp/rtc-bench")
    p.add_argument("--caller", choices=["hs256", "rs256"], default="hs256",
                   help="caller JWT: HS256 shared secret (default) or RS256 from a JWKS served on "
                        "loopback (needs the `cryptography` and `PyJWT` packages of .venv)")
    args = p.parse_args()
    args.routes = [r for r in args.routes.split(",") if r]
    os.makedirs(args.tmp, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)

    secret = os.environ.get("BENCH_HS256_SECRET", "bench-hs256-secret-bench-hs256-secret-0")
    issuer = os.environ.get("BENCH_ISSUER", "https://bench.rtc-tokens.invalid")
    audience = os.environ.get("BENCH_AUDIENCE", "rtc-tokens-bench")
    if args.caller == "rs256":
        jwt, jwks_url = rs256_caller(issuer, audience, "alice", 24 * 3600)
        env_common = {
            "AUTH_PROVIDER": "jwks",
            "AUTH_ISSUER": issuer,
            "AUTH_AUDIENCE": audience,
            "AUTH_JWKS_URL": jwks_url,
        }
    else:
        env_common = {
            "AUTH_PROVIDER": "hs256",
            "AUTH_ISSUER": issuer,
            "AUTH_AUDIENCE": audience,
            "AUTH_HS256_SECRET": secret,
        }
        jwt = mint(secret, issuer, "alice", audience, 24 * 3600)

    servers = [s for s in args.servers.split(",") if s]
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("tmp",)},
        "requests": {r: {"path": p_, "body": b} for r, (p_, b) in ROUTES.items()},
    }
    print(f"machine: {info['machine']['cpus']} x {info['machine']['model']}, load "
          f"{' '.join(info['machine']['loadavg_before'])}; server on core {args.server_core}, "
          f"wrk on core {args.client_core}", flush=True)
    routes = [r for r in ROUTES if not args.routes or r in args.routes]
    # All servers run at once on the server core (an idle one costs nothing); each round measures
    # the servers back to back on one route before moving to the next, so the two sides of a ratio
    # are minutes apart at most, not a whole benchmark apart.
    procs = {}
    rounds = []
    try:
        for s in servers:
            procs[s] = start_server(s, args, env_common)
        for i in range(args.rounds):
            if args.rounds > 1:
                print(f"round {i + 1} of {args.rounds}", flush=True)
            rnd = {s: {} for s in servers}
            for route in routes:
                for s in servers:
                    proc, port = procs[s]
                    rnd[s][route] = bench_cell(s, proc.pid, port, route, args, jwt)
            rounds.append(rnd)
    finally:
        for proc, _ in procs.values():
            stop(proc)
    res = {s: {route: median_run([rnd[s][route] for rnd in rounds]) for route in routes}
           for s in servers}
    ratios = paired_ratios(rounds, servers, routes)
    info["rounds"] = rounds
    info["paired_per_cpu_ratios"] = ratios
    info["machine"]["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    info["results"] = res
    table = fmt_table(res, servers)
    if args.rounds > 1:
        table += ("\n\nCells: the round with the median CPU time per request. Per-CPU ratio to each "
                  "reference, round by round (same route, back to back):\n\n"
                  "| route | vs | per round | median |\n|---|---|---|---:|\n")
        for key, vals in ratios.items():
            route, s = key.split("/")
            table += (f"| {route} | {s} | {' / '.join(f'{v:.1f}x' for v in vals)} | "
                      f"{statistics.median(vals):.1f}x |\n")
    print()
    print(table)
    name = "latest" if args.caller == "hs256" else f"latest-{args.caller}"
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(info, f, indent=2)
    with open(os.path.join(args.out, f"{name}.md"), "w") as f:
        f.write(f"Run {info['date']} on {info['machine']['cpus']} x {info['machine']['model']} "
                f"(load before {' '.join(info['machine']['loadavg_before'])}, after "
                f"{' '.join(info['machine']['loadavg_after'])}), caller JWT {args.caller.upper()}.\n\n{table}\n")
    print(f"\nwrote {args.out}/{name}.json and {name}.md")


if __name__ == "__main__":
    main()
