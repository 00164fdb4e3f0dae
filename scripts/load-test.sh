#!/usr/bin/env bash
# Sustained-load test of the local server (`rtc-token serve`): N concurrent keep-alive connections
# cycling through POST /agora/token, /livekit/token and /stream/token with a valid caller JWT.
#
#   scripts/load-test.sh [--duration S] [--concurrency N] [--release] [--bin PATH]
#
#   short (CI):  scripts/load-test.sh --duration 20 --concurrency 64
#   long:        scripts/load-test.sh --duration 1800 --concurrency 64 --release
#
# Asserts, and exits non-zero otherwise:
#   - zero errors: every answer 2xx except deliberate throttling (429), no socket errors/timeouts;
#   - memory flat: RSS at the end of the run within max(8 MiB, 20 %) of RSS after warm-up;
#   - no file-descriptor growth: open fds after the load (connections closed) <= baseline + 2,
#     and during the load <= baseline + N + 8;
#   - the server is still alive and answers afterwards.
# RSS and fd samples (every 2 s) go to $LOAD_TEST_DIR/samples.csv (default /tmp/rtc-load-test).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=20
conc=64
profile=debug
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    --release) profile=release; shift ;;
    --bin) bin=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "load-test: unknown argument $1" >&2; exit 2 ;;
  esac
done

dir=${LOAD_TEST_DIR:-/tmp/rtc-load-test}
mkdir -p "$dir"
port=${LOAD_TEST_PORT:-18877}

if ! command -v wrk >/dev/null; then
  echo "load-test: installing wrk (Debian package)" >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if [ -z "$bin" ]; then
  if [ "$profile" = release ]; then cargo build --release -q -p rtc-token; else cargo build -q -p rtc-token; fi
  bin=target/$profile/rtc-token
fi

secret=load-test-hs256-secret-load-test-hs256-0
issuer=https://load-test.rtc-tokens.invalid
audience=rtc-tokens-load-test
jwt=$(python3 bench/tools/mint_jwt.py --secret "$secret" --issuer "$issuer" --aud "$audience" --ttl $((duration + 3600)))

AUTH_PROVIDER=hs256 AUTH_ISSUER=$issuer AUTH_AUDIENCE=$audience AUTH_HS256_SECRET=$secret \
  RUST_LOG=${RUST_LOG:-warn} "$bin" serve --addr "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
pid=$!
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "load-test: server exited:"; cat "$dir/server.log"; exit 1; }
  sleep 0.1
done

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }

# Warm-up (allocator arenas, connection buffers) before the baseline.
BENCH_JWT=$jwt BENCH_OUT="$dir/warmup.json" wrk -t2 -c"$conc" -d3s --timeout 5s -s bench/wrk/mixed.lua \
  "http://127.0.0.1:$port" >/dev/null
sleep 1
rss0=$(rss); fd0=$(fds)
echo "t_s,rss_kb,fds" >"$dir/samples.csv"
( t=0; while kill -0 "$pid" 2>/dev/null; do echo "$t,$(rss),$(fds)" >>"$dir/samples.csv"; sleep 2; t=$((t + 2)); done ) &
sampler=$!

echo "load-test: $conc connections for ${duration}s against $bin (pid $pid), baseline RSS ${rss0} kB, ${fd0} fds" >&2
BENCH_JWT=$jwt BENCH_OUT="$dir/result.json" wrk -t2 -c"$conc" -d"${duration}s" --timeout 5s --latency \
  -s bench/wrk/mixed.lua "http://127.0.0.1:$port" >"$dir/wrk.txt"
rss1=$(rss); fdmax=$(awk -F, 'NR > 1 && $3 > m {m = $3} END {print m + 0}' "$dir/samples.csv")
sleep 1
fd1=$(fds)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{"type":"chat"}' "http://127.0.0.1:$port/stream/token" || true)

python3 - "$dir/result.json" "$rss0" "$rss1" "$fd0" "$fd1" "$fdmax" "$conc" "$code" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
rss0, rss1, fd0, fd1, fdmax, conc = map(int, sys.argv[2:8])
code = sys.argv[8]
secs = res["duration_us"] / 1e6
status = {int(k): v for k, v in res["status"].items()}
ok = sum(v for k, v in status.items() if 200 <= k < 300)
throttled = status.get(429, 0)
bad = {k: v for k, v in status.items() if not (200 <= k < 300) and k != 429}
sock = res["errors"]; sock_err = sock["connect"] + sock["read"] + sock["write"] + sock["timeout"]
print(f"requests {res['requests']} in {secs:.1f}s = {res['requests'] / secs:.0f} req/s; "
      f"2xx {ok}, 429 {throttled}, other {sum(bad.values())} {bad or ''}; socket errors {sock_err}")
print(f"latency p50 {res['latency_us']['p50'] / 1000:.2f} ms, p99 {res['latency_us']['p99'] / 1000:.2f} ms, "
      f"max {res['latency_us']['max'] / 1000:.1f} ms")
print(f"RSS {rss0} kB -> {rss1} kB ({(rss1 - rss0) / 1024:+.1f} MiB); fds {fd0} -> {fd1} (max during load {fdmax})")
checks = [
    ("no non-2xx answers other than 429", not bad, f"{bad}"),
    ("no socket errors or timeouts", sock_err == 0, f"{sock}"),
    ("some requests succeeded", ok > 0, f"{ok} 2xx"),
    ("RSS flat (end within max(8 MiB, 20 %) of baseline)", rss1 - rss0 <= max(8 * 1024, rss0 // 5),
     f"{rss0} kB -> {rss1} kB"),
    ("no fd growth after the load (<= baseline + 2)", fd1 <= fd0 + 2, f"{fd0} -> {fd1}"),
    ("fds bounded during the load (<= baseline + N + 8)", fdmax <= fd0 + conc + 8,
     f"max {fdmax}, baseline {fd0}"),
    ("server answers after the load", code in ("200", "429"), f"HTTP {code}"),
]
failed = 0
for name, passed, detail in checks:
    print(f"load-test: {'ok  ' if passed else 'FAIL'} {name}: {detail}")
    failed += not passed
print(f"load-test: {len(checks) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
