#!/usr/bin/env bash
# The Lambda path measured as Lambda runs it, beside its floor, in one run (issue #22 item 5):
# agora-token (release) with an RS256 caller JWT checked against a loopback JWKS, and the floor
# (token-service's lambda_floor example: lambda_http answering a canned 200), each under the Runtime
# API emulator of bench/lambda-emulator/warm.py; first with the CPU free, then capped to 128 MB's
# share of a vCPU (7.2 % per 100 ms period, a cgroup quota; needs root); paced at 100 requests/s
# and back to back. Prints one JSON line per cell and a table.
#
#   bench/lambda-emulator/lambda128.sh [--bin-dir target/release] [--requests 2000] [--cpu-pct 7.2]
#
# Build first (two commands: with --example, cargo builds only the example, and the function binary
# is built without token-service's dev-dependencies, as cargo lambda builds it):
#   cargo build --release -p agora-token --bin agora-token
#   cargo build --release -p token-service --example lambda_floor
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin_dir=target/release
requests=2000
cpu_pct=7.2
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --cpu-pct) cpu_pct=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "lambda128: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=$root/.venv/bin/python
ours=$bin_dir/agora-token
floor=$bin_dir/examples/lambda_floor
for b in "$ours" "$floor"; do [ -x "$b" ] || { echo "lambda128: $b missing (build it first)" >&2; exit 2; }; done

work=${LAMBDA128_DIR:-/tmp/rtc-lambda128}
mkdir -p "$work"
port=${LAMBDA128_PORT:-15223}
sm_port=$port
idp_port=$((port + 1))
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fixtures=crates/token-service/tests/faults_fixtures
issuer=https://lambda128.rtc-tokens.invalid
audience=rtc-tokens-lambda128
echo '{"rtc/agora": "{\"app_id\":\"970ca35de60c44645bbae8a215061b33\",\"app_certificate\":\"5cfd2fd1755d40ecb72977518be15d3b\"}"}' >"$work/secrets.json"
"$py" bench/lambda-emulator/sm_stub.py --port "$sm_port" --secrets "$work/secrets.json" >"$work/sm.log" 2>&1 &
pids+=($!)
"$py" bench/lambda-emulator/idp_stub.py --port "$idp_port" --jwks "$fixtures/jwks1.json" >"$work/idp.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$sm_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$idp_port") 2>/dev/null; then break; fi
  sleep 0.1
done
"$py" - "$fixtures/rsa1.der" "$issuer" "$audience" >"$work/event.json" <<'PY'
import json, sys, time, jwt
from cryptography.hazmat.primitives.serialization import load_der_private_key
key = load_der_private_key(open(sys.argv[1], "rb").read(), password=None)
now = int(time.time())
tok = jwt.encode({"iss": sys.argv[2], "aud": sys.argv[3], "sub": "alice", "iat": now, "nbf": now,
                  "exp": now + 86400}, key, algorithm="RS256", headers={"kid": "fault-key-1"})
path = "/agora/token"
print(json.dumps({"version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "",
  "headers": {"content-type": "application/json", "authorization": f"Bearer {tok}"},
  "requestContext": {"accountId": "123456789012", "apiId": "lambda128", "domainName": "lambda128.local",
    "domainPrefix": "lambda128", "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
    "sourceIp": "127.0.0.1", "userAgent": "lambda128"}, "requestId": "lambda128",
    "routeKey": f"POST {path}", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000",
    "timeEpoch": 1767225600000},
  "body": json.dumps({"type": "rtc", "channel": "room-1", "role": "publisher"}), "isBase64Encoded": False}))
PY
env_args=(
  --env AUTH_PROVIDER=jwks --env "AUTH_ISSUER=$issuer" --env "AUTH_AUDIENCE=$audience"
  --env "AUTH_JWKS_URL=http://127.0.0.1:$idp_port/jwks" --env AGORA_SECRET_ID=rtc/agora
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test --env AWS_REGION=us-east-1
  --env "AWS_ENDPOINT_URL=http://127.0.0.1:$sm_port" --env RUST_LOG=info  # as deployed (template.yaml RustLog)
)
: >"$work/results.jsonl"
for cap in 0 "$cpu_pct"; do
  for rate in 100 0; do
    for fn in ours floor; do
      bin=$ours; [ $fn = floor ] && bin=$floor
      (cd bench/lambda-emulator && "$py" warm.py --bin "$root/$bin" --event "$work/event.json" "${env_args[@]}" \
        --requests "$requests" --warmup 200 --rate "$rate" --cpu-pct "$cap" --label "$fn" \
        --log "$work/functions.log") | tee -a "$work/results.jsonl"
    done
  done
done
python3 - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| function | CPU cap | pace | p50 ms | p99 ms | max ms | CPU us/request | statuses |")
print("|---|---|---|---:|---:|---:|---:|---|")
for r in rows:
    cap = f"{r['cpu_pct']} % (128 MB)" if r["cpu_pct"] else "none"
    pace = f"{r['rate']:.0f}/s" if r["rate"] else "back to back"
    print(f"| {r['label']} | {cap} | {pace} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | "
          f"{r['cpu_us_per_request']} | {','.join(r['statuses'])} |")
PY
