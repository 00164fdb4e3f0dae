#!/usr/bin/env bash
# Runs the Lambda functions the Lambda way on this machine, with no AWS account:
#
#   scripts/lambda-local.sh [agora|livekit|stream ...]     (default: all three)
#
# 1. starts the Secrets Manager stand-in (moto_server from .venv) on 127.0.0.1:$MOTO_PORT (5055),
# 2. seeds it with the test-only provider secrets of events/secrets.json (the venv's python + boto3),
# 3. builds the named functions (debug, the workspace target dir: the first build takes minutes),
# 4. runs `cargo lambda watch` on 127.0.0.1:$LAMBDA_PORT (9311) with events/events.env: the caller
#    settings that accept the JWT inside the events (issuer, audience, HS256 key) and their policy.
#
# Then, from another terminal in the repository (with .venv/bin on PATH, for `cargo lambda`):
#
#   cargo lambda invoke agora-token --invoke-address 127.0.0.1 --invoke-port 9311 --data-file events/agora-valid.json
#
# Ctrl-C stops the functions and moto_server. Needs ./scripts/setup-tools (moto_server, cargo-lambda).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
moto_port=${MOTO_PORT:-5055}
lambda_port=${LAMBDA_PORT:-9311}

say() { echo "lambda-local: $*" >&2; }
die() { say "$*"; exit 2; }

[ $# -eq 0 ] && set -- agora livekit stream
fns=()
for f in "$@"; do
  case "$f" in
    agora | livekit | stream) fns+=("$f-token") ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown function '$f' (agora, livekit or stream)" ;;
  esac
done

for tool in moto_server cargo-lambda python; do
  [ -x "$root/.venv/bin/$tool" ] || die ".venv/bin/$tool is missing: run ./scripts/setup-tools first"
done
export PATH="$root/.venv/bin:$PATH"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free "$moto_port" || die "127.0.0.1:$moto_port is in use (set MOTO_PORT to another port)"
port_free "$lambda_port" || die "127.0.0.1:$lambda_port is in use (set LAMBDA_PORT to another port)"

# 1. moto_server, stopped with this script (Ctrl-C, or a kill of this script).
moto_pid=
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
moto_log=$root/target/lambda-local-moto.log
mkdir -p "$root/target"
moto_server -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  port_free "$moto_port" || break
  kill -0 "$moto_pid" 2>/dev/null || die "moto_server exited (log: $moto_log)"
  sleep 0.1
done
port_free "$moto_port" && die "moto_server did not answer on 127.0.0.1:$moto_port (log: $moto_log)"

# The functions' AWS SDK talks to moto, with dummy credentials; nothing reaches AWS.
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_SECRETS_MANAGER

# 2. seed: one secret per key of events/secrets.json (the ids events.env names).
python - "$root/events/secrets.json" <<'EOF'
import json, os, sys
import boto3

sm = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
for name, value in json.load(open(sys.argv[1])).items():
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        sm.create_secret(Name=name, SecretString=text)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=text)
    print(f"lambda-local: secret {name} seeded", file=sys.stderr)
EOF

# 3. build first, so that the first invoke answers at once. `cargo lambda watch` runs
#    `cargo run --bin NAME` from the workspace root: `cargo build --bin ...` builds the same artifacts.
bins=()
for f in "${fns[@]}"; do bins+=(--bin "$f"); done
say "cargo build ${bins[*]} (the first build compiles the AWS SDK in debug: several minutes)"
cargo build "${bins[@]}"

# 4. the functions. Listens on loopback only (cargo lambda's default address is every interface).
say "ready in a moment on 127.0.0.1:$lambda_port; in another terminal (.venv/bin on PATH):"
for f in "${fns[@]}"; do
  say "  cargo lambda invoke $f --invoke-address 127.0.0.1 --invoke-port $lambda_port --data-file events/${f%-token}-valid.json"
done
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$lambda_port" --env-file events/events.env
