#!/usr/bin/env bash
# The side-by-side benchmark: rtc-tokens (`rtc-token serve`, release build) vs a Node reference
# server (bench/node-server: http + jose + agora-token + livekit-server-sdk + stream-chat) vs a
# Python reference server (bench/py-server: http.server + PyJWT + agoraiotools + livekit-api +
# stream-chat), over loopback HTTP, with the same HS256 caller JWT and the same request bodies.
#
#   bench/run.sh [bench.py options]     e.g. bench/run.sh --duration 20 --routes agora
#   bench/run.sh --caller rs256         the same with an RS256 caller JWT from a loopback JWKS
#
# Each server runs alone, pinned to core 0 (taskset); the load generator, Debian's `wrk` with
# bench/wrk/post.lua, runs pinned to core 1. Per route it reports requests/s, p50/p99 latency at
# saturation (32 connections) and at a moderate load (4 connections, 4 ms pause each: <= 1000
# req/s offered), CPU time per request (utime+stime from /proc/PID/stat), peak RSS (VmHWM), then
# the side-by-side table and the ratios; results go to bench/results/latest.{json,md}.
# Options: see `python3 bench/tools/bench.py --help`. Environment: BENCH_SKIP_BUILD=1 reuses
# target/release/rtc-token; BENCH_SKIP_SETUP=1 skips scripts/setup-tools.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is required" >&2; exit 1; }
command -v node >/dev/null || { echo "bench: node is required" >&2; exit 1; }
[ "${BENCH_SKIP_SETUP:-0}" = 1 ] || scripts/setup-tools
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "bench: cargo build --release -p rtc-token" >&2
  cargo build --release -q -p rtc-token
fi
[ -x target/release/rtc-token ] || { echo "bench: target/release/rtc-token missing" >&2; exit 1; }

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.7) }'; then
  echo "bench: warning: 1-min load average is $load; other work on the cores skews the figures" >&2
fi
# .venv's Python (set up by scripts/setup-tools) has PyJWT and cryptography for `--caller rs256`.
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
exec "$py" bench/tools/bench.py "$@"
