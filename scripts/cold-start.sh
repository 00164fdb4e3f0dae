#!/usr/bin/env bash
# Cold-start (INIT) time and binary size of the three Lambda functions, measured locally.
#
#   scripts/cold-start.sh [--runs N] [--no-build] [--auth hs256|jwks|oidc] [--sm-delay-ms MS]
#                         [--idp-delay-ms MS] [--bin-dir DIR] [--fns "agora-token ..."] [--stub-only]
#                         [--cpu-pct P]
#
# For each function binary (x86_64 release build, target/release/{agora,livekit,stream}-token) it
# runs bench/lambda-emulator/emulator.py, a small Lambda Runtime API emulator, N times:
#   1. against moto_server (./.venv/bin/moto_server, already warm) holding the secrets, through a
#      timing TCP proxy: INIT, its network part (time waiting on Secrets Manager) and INIT minus it;
#   2. against a stub Secrets Manager (bench/lambda-emulator/sm_stub.py) that answers at once: the
#      INIT with the smallest possible network part.
# INIT = spawn -> the runtime's first GET /runtime/invocation/next (Lambda's "Init Duration").
# Each run also invokes once with a valid caller JWT (first-invoke time and status) and records the
# peak RSS. Then it prints a table and the binary sizes: x86_64 release builds and, when
# `cargo lambda build --release --arm64` has been run (target/lambda/<fn>/bootstrap), the arm64 ones.
# Results: bench/results/cold-start.json (or $COLD_START_OUT).
#
# The network as on AWS (issue #22): --sm-delay-ms makes the Secrets Manager stub answer each request
# that late (e.g. 30); --auth jwks|oidc makes the caller an RS256 JWT checked against a stub identity
# provider (bench/lambda-emulator/idp_stub.py: a JWKS URL, or OIDC discovery then the JWKS) answering
# --idp-delay-ms late (e.g. 80); the function then loads only its provider secret from Secrets
# Manager. --stub-only skips the moto_server runs (moto cannot be delayed); --bin-dir measures the
# binaries in DIR instead of target/release (e.g. a build of an older commit). --cpu-pct P runs each
# function in a cgroup capped to P % of one CPU (root), INIT included: a memory size's CPU share
# (128 MB: 7.2, 256 MB: 14.4), where INIT's CPU work costs 7-14x its uncapped time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=10
build=1
auth=hs256
sm_delay=0
idp_delay=0
bin_dir=target/release
fns_arg="agora-token livekit-token stream-token"
variants="moto stub"
cpu_pct=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --auth) auth=$2; shift 2 ;;
    --sm-delay-ms) sm_delay=$2; shift 2 ;;
    --idp-delay-ms) idp_delay=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; build=0; shift 2 ;;
    --fns) fns_arg=$2; shift 2 ;;
    --stub-only) variants=stub; shift ;;
    --cpu-pct) cpu_pct=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "cold-start: unknown argument $1" >&2; exit 2 ;;
  esac
done

read -r -a fns <<<"$fns_arg"
case $auth in hs256|jwks|oidc) ;; *) echo "cold-start: --auth hs256, jwks or oidc" >&2; exit 2 ;; esac
py=$root/.venv/bin/python
[ -x "$py" ] || scripts/setup-tools
if [ $build = 1 ]; then
  echo "cold-start: cargo build --release -p agora-token -p livekit-token -p stream-token" >&2
  cargo build --release -q -p agora-token -p livekit-token -p stream-token
fi

work=${COLD_START_DIR:-/tmp/rtc-cold-start}
mkdir -p "$work" bench/results
: >"$work/functions.log"
moto_port=${MOTO_PORT:-15123}
stub_port=$((moto_port + 1))
idp_port=$((moto_port + 2))
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

secret=cold-start-hs256-secret-cold-start-hs256-0
issuer=https://cold-start.rtc-tokens.invalid
audience=rtc-tokens-cold-start
jwt=$(python3 bench/tools/mint_jwt.py --secret "$secret" --issuer "$issuer" --aud "$audience")
fixtures=crates/token-service/tests/faults_fixtures
if [ "$auth" != hs256 ]; then
  # An RS256 caller JWT from the stub identity provider (its issuer is its own URL for OIDC).
  [ "$auth" = oidc ] && issuer=http://127.0.0.1:$idp_port
  jwt=$("$py" - "$fixtures/rsa1.der" "$issuer" "$audience" <<'PY'
import sys, time, jwt
from cryptography.hazmat.primitives.serialization import load_der_private_key
key = load_der_private_key(open(sys.argv[1], "rb").read(), password=None)
now = int(time.time())
print(jwt.encode({"iss": sys.argv[2], "aud": sys.argv[3], "sub": "alice", "iat": now, "nbf": now,
                  "exp": now + 86400}, key, algorithm="RS256", headers={"kid": "fault-key-1"}))
PY
)
fi

# The secrets, as Secrets Manager holds them (dev values, not real credentials).
cat >"$work/secrets.json" <<EOF
{
  "rtc/agora": "{\"app_id\":\"970ca35de60c44645bbae8a215061b33\",\"app_certificate\":\"5cfd2fd1755d40ecb72977518be15d3b\"}",
  "rtc/livekit": "{\"api_key\":\"devkey\",\"api_secret\":\"secret-secret-secret-secret-secret-00\",\"url\":\"wss://example.livekit.cloud\"}",
  "rtc/stream": "{\"api_key\":\"devkey\",\"api_secret\":\"stream-secret-stream-secret-stream-00\"}",
  "rtc/caller-hs256": "{\"secret\":\"$secret\"}"
}
EOF

"$root/.venv/bin/moto_server" -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
"$py" bench/lambda-emulator/sm_stub.py --port "$stub_port" --secrets "$work/secrets.json" \
  --delay-ms "$sm_delay" >"$work/stub.log" 2>&1 &
pids+=($!)
if [ "$auth" != hs256 ]; then
  "$py" bench/lambda-emulator/idp_stub.py --port "$idp_port" --jwks "$fixtures/jwks1.json" \
    --delay-ms "$idp_delay" >"$work/idp.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$stub_port") 2>/dev/null; then break; fi
  sleep 0.1
done
# Load the secrets into moto (this also warms moto up).
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$py" - "$moto_port" "$work/secrets.json" <<'PY'
import json, sys, boto3
sm = boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1")
for sid, value in json.load(open(sys.argv[2])).items():
    sm.create_secret(Name=sid, SecretString=value)
    sm.get_secret_value(SecretId=sid)
PY

event() { # fn -> event file with a valid request for it
  local fn=$1 path body
  case $fn in
    agora-token) path=/agora/token; body='{"type":"rtc","channel":"room-1","role":"publisher"}' ;;
    livekit-token) path=/livekit/token; body='{"room_name":"room-1"}' ;;
    stream-token) path=/stream/token; body='{"type":"chat"}' ;;
  esac
  python3 - "$path" "$body" "$jwt" >"$work/$fn.event.json" <<'PY'
import json, sys
path, body, jwt = sys.argv[1:4]
print(json.dumps({
  "version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "",
  "headers": {"content-type": "application/json", "authorization": f"Bearer {jwt}"},
  "requestContext": {"accountId": "123456789012", "apiId": "coldstart", "domainName": "coldstart.local",
    "domainPrefix": "coldstart", "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
    "sourceIp": "127.0.0.1", "userAgent": "cold-start"}, "requestId": "cold-start",
    "routeKey": f"POST {path}", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000",
    "timeEpoch": 1767225600000},
  "body": body, "isBase64Encoded": False}))
PY
}

case $auth in
  hs256) auth_env=(--env AUTH_PROVIDER=hs256 --env AUTH_HS256_SECRET_ID=rtc/caller-hs256) ;;
  jwks) auth_env=(--env AUTH_PROVIDER=jwks --env "AUTH_JWKS_URL=http://127.0.0.1:$idp_port/jwks") ;;
  oidc) auth_env=(--env AUTH_PROVIDER=oidc) ;;
esac
common_env=(
  "${auth_env[@]}" --env "AUTH_ISSUER=$issuer" --env "AUTH_AUDIENCE=$audience"
  --env AGORA_SECRET_ID=rtc/agora --env LIVEKIT_SECRET_ID=rtc/livekit --env STREAM_SECRET_ID=rtc/stream
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test --env AWS_REGION=us-east-1
  --env "AWS_ENDPOINT_URL={proxy}" --env "AWS_ENDPOINT_URL_SECRETS_MANAGER={proxy}"
  --env RUST_LOG=info
)

echo "{" >"$work/all.json"
first=1
for fn in "${fns[@]}"; do
  bin=$bin_dir/$fn
  [ -x "$bin" ] || { echo "cold-start: $bin missing, skipped (build it or drop --no-build)" >&2; continue; }
  event "$fn"
  for variant in $variants; do
    port=$moto_port; [ $variant = stub ] && port=$stub_port
    echo "cold-start: $fn against $variant ($runs runs)" >&2
    "$py" bench/lambda-emulator/emulator.py --bin "$bin" --event "$work/$fn.event.json" --runs "$runs" \
      --cpu-pct "$cpu_pct" --upstream "127.0.0.1:$port" --log "$work/functions.log" "${common_env[@]}" >"$work/$fn.$variant.json"
    [ $first = 1 ] || echo "," >>"$work/all.json"
    first=0
    printf '"%s/%s": ' "$fn" "$variant" >>"$work/all.json"
    cat "$work/$fn.$variant.json" >>"$work/all.json"
  done
done
echo "}" >>"$work/all.json"

COLD_START_AUTH=$auth COLD_START_SM_DELAY_MS=$sm_delay COLD_START_IDP_DELAY_MS=$idp_delay \
python3 - "$work/all.json" "$root" "${fns[@]}" <<'PY'
import datetime, json, os, sys
data = json.load(open(sys.argv[1]))
root, fns = sys.argv[2], sys.argv[3:]
def m(d, k):
    v = d.get(k)
    return f"{v['median']:.1f}" if v else "-"
def mn(d, k):
    v = d.get(k)
    return f"{v['min']:.1f}" if v else "-"
print("| function | secrets from | INIT median ms | INIT min ms | network part median ms | "
      "INIT excl. network median ms | first invoke ms | status | peak RSS MiB |")
print("|---|---|---:|---:|---:|---:|---:|---|---:|")
for key, d in data.items():
    fn, variant = key.split("/")
    rss = d.get("max_rss_kb")
    print(f"| {fn} | {'moto_server (warm)' if variant == 'moto' else 'stub endpoint'} | {m(d, 'init_ms')} | "
          f"{mn(d, 'init_ms')} | {m(d, 'network_ms')} | {m(d, 'init_excl_network_ms')} | "
          f"{m(d, 'invoke_ms')} | {','.join(d['statuses'])} | {rss['median'] / 1024 if rss else 0:.1f} |")
print()
print("| function | x86_64 release (target/release) | arm64 (cargo lambda build --release --arm64) |")
print("|---|---:|---:|")
sizes = {}
for fn in fns:
    x = os.path.join(root, "target", "release", fn)
    a = os.path.join(root, "target", "lambda", fn, "bootstrap")
    sx = os.path.getsize(x) if os.path.exists(x) else None
    sa = os.path.getsize(a) if os.path.exists(a) else None
    sizes[fn] = {"x86_64": sx, "arm64": sa}
    f = lambda s: f"{s / 1048576:.2f} MiB ({s} B)" if s else "not built"
    print(f"| {fn} | {f(sx)} | {f(sa)} |")
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "network": {k: os.environ.get(k) for k in ("COLD_START_AUTH", "COLD_START_SM_DELAY_MS", "COLD_START_IDP_DELAY_MS")},
       "loadavg": open("/proc/loadavg").read().split()[:3], "runs": data, "sizes": sizes}
json.dump(out, open(os.environ.get("COLD_START_OUT") or os.path.join(root, "bench", "results", "cold-start.json"), "w"), indent=2)
bad = [k for k, d in data.items() if not d["all_ok"]]
if bad:
    print(f"\ncold-start: some runs got no response: {bad} (see /tmp/rtc-cold-start/functions.log)")
    sys.exit(1)
PY
