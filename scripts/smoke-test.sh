#!/usr/bin/env bash
# Smoke test of a deployed rtc-tokens API (any pipeline can call it; the GitHub workflow runs it
# against the staging stack after each deploy):
#   1. every route refuses a request without a caller JWT: 401 (ours: a JSON error and
#      WWW-Authenticate; or API Gateway's own 401 when the JWT authorizer is on);
#   2. every route refuses a JWT signed with the wrong secret: 401;
#   3. every route mints a token for a valid caller JWT, signed here (openssl) with a staging-only
#      HS256 caller secret, i.e. the stack runs with AuthProvider=hs256 (infra/README.md).
#
# Usage: scripts/smoke-test.sh (--url BASE_URL | --stack STACK_NAME) [--routes "agora livekit stream"]
#   --url     the API's base URL (the ApiUrl output), https:// (http:// only for 127.0.0.1/localhost)
#   --stack   read ApiUrl from this CloudFormation stack's outputs (needs the AWS CLI and credentials)
# Env: SMOKE_CALLER_SECRET (required for 3; never printed), SMOKE_ISSUER (default smoke-test),
#      SMOKE_AUDIENCE (default rtc-tokens), SMOKE_SUBJECT (default smoke-test-user).
# Needs curl, openssl, python3. Exit 0 only when every check passed. Last line:
# "smoke-test: N passed, M failed".
set -uo pipefail

url="" stack="" routes="agora livekit stream"
while [ $# -gt 0 ]; do
  case $1 in
    --url) url=${2:-}; shift 2 ;;
    --stack) stack=${2:-}; shift 2 ;;
    --routes) routes=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "smoke-test: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$url" ] && [ -n "$stack" ]; then
  url=$(aws cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text) || exit 2
fi
url=${url%/}
case $url in
  https://*|http://127.0.0.1:*|http://localhost:*) ;;
  *) echo "smoke-test: need --url https://... or --stack NAME (got '${url}')" >&2; exit 2 ;;
esac
: "${SMOKE_CALLER_SECRET:?set SMOKE_CALLER_SECRET (the staging-only HS256 caller secret)}"
issuer=${SMOKE_ISSUER:-smoke-test} audience=${SMOKE_AUDIENCE:-rtc-tokens} subject=${SMOKE_SUBJECT:-smoke-test-user}

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  PASS $*"; }
ko() { failed=$((failed + 1)); echo "  FAIL $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# jwt SECRET: an HS256 caller JWT for $subject, valid 5 minutes
jwt() {
  local h p now
  now=$(date +%s)
  h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64)
  p=$(printf '{"iss":"%s","aud":"%s","sub":"%s","iat":%d,"exp":%d}' "$issuer" "$audience" "$subject" "$now" $((now + 300)) | b64)
  printf '%s.%s.%s' "$h" "$p" "$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$1" -binary | b64)"
}
# post ROUTE BODY [TOKEN]: sets $status; headers in $tmp/h, body in $tmp/b
post() {
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "authorization: Bearer $3")
  status=$(curl -sS -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' --max-time 20 -X POST "$url/$1/token" \
           -H 'content-type: application/json' "${auth[@]}" -d "$2") || status=000
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$tmp/b" "$1" 2>/dev/null; }

declare -A body=(
  [agora]='{"channel":"smoke-test","role":"publisher"}'
  [livekit]='{"room_name":"smoke-test"}'
  [stream]='{}'
)
declare -A minted=(   # python expression over the response body d: the token it must carry
  [agora]='d["token"].startswith("007")'
  [livekit]='d["participant_token"].count(".") == 2'
  [stream]='d["token"].count(".") == 2'
)

echo "smoke-test: $url"
good=$(jwt "$SMOKE_CALLER_SECRET")
bad=$(jwt "not-the-$RANDOM-secret")
for r in $routes; do
  [ -n "${body[$r]:-}" ] || { ko "$r: unknown route"; continue; }
  post "$r" "${body[$r]}"
  if [ "$status" = 401 ] && { grep -qi '^www-authenticate: Bearer' "$tmp/h" && [ "$(json 'd["error"]["code"] != ""')" = True ] \
       || [ "$(json 'd.get("message")')" = Unauthorized ]; }; then
    ok "$r: no caller JWT -> 401"
  else
    ko "$r: no caller JWT -> $status $(head -c 200 "$tmp/b")"
  fi
  post "$r" "${body[$r]}" "$bad"
  if [ "$status" = 401 ]; then ok "$r: JWT with the wrong secret -> 401"; else ko "$r: JWT with the wrong secret -> $status"; fi
  post "$r" "${body[$r]}" "$good"
  if [[ $status == 20[01] ]] && [ "$(json "${minted[$r]}")" = True ]; then
    ok "$r: valid caller JWT -> $status with a token"
  else
    ko "$r: valid caller JWT -> $status $(head -c 300 "$tmp/b")"
  fi
done

echo "smoke-test: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
