#!/usr/bin/env bash
# Create, fill, rotate and check the rtc-tokens secrets with the AWS CLI.
#
# Secret values are read from a file or stdin (never from the command line, where `ps` and the
# shell history would see them) and are never printed: `check` shows the field names only.
#
#   infra/secrets.sh put    KIND --stack STACK   (--file F | stdin)   fill the stack's secret
#   infra/secrets.sh put    KIND --secret-id ID  (--file F | stdin)   ... or any secret by id/ARN
#   infra/secrets.sh create KIND --name NAME [--kms-key-id KEY]       a new, empty secret; prints the ARN
#                                                                     (to pass as <Kind>SecretArn)
#   infra/secrets.sh rotate caller-hs256 (--stack S | --secret-id ID) (--file F | stdin)
#                           new shared secret; the current one becomes "previous" (both accepted)
#   infra/secrets.sh rotate authz-webhook (--stack S | --secret-id ID)
#                           a fresh random HMAC key (coordinate with the webhook; see RUNBOOK.md)
#   infra/secrets.sh check  KIND (--stack S | --secret-id ID)         value present and well-formed?
#
# KIND: agora | livekit | stream | caller-hs256 | authz-webhook
# The JSON shapes are in infra/secrets/KIND.example.json. Standard AWS CLI environment applies
# (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL for a local moto_server).
set -euo pipefail

die() { echo "secrets.sh: $*" >&2; exit 1; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

[ $# -ge 1 ] || usage 1
cmd=$1; shift
case $cmd in -h|--help|help) usage 0 ;; esac
[ $# -ge 1 ] || usage 1
kind=$1; shift

case $kind in
  agora) required="app_id app_certificate"; optional="customer_id customer_secret"; output=AgoraSecretId ;;
  livekit) required="api_key api_secret url"; optional=""; output=LivekitSecretId ;;
  stream) required="api_key api_secret"; optional=""; output=StreamSecretId ;;
  caller-hs256) required="secret"; optional="previous"; output="" ;;
  authz-webhook) required="secret"; optional=""; output=AuthzWebhookSecretId ;;
  *) die "unknown kind '$kind' (agora, livekit, stream, caller-hs256, authz-webhook)" ;;
esac

stack="" secret_id="" file="" name="" kms=""
while [ $# -gt 0 ]; do
  case $1 in
    --stack) stack=${2:?}; shift 2 ;;
    --secret-id) secret_id=${2:?}; shift 2 ;;
    --file) file=${2:?}; shift 2 ;;
    --name) name=${2:?}; shift 2 ;;
    --kms-key-id) kms=${2:?}; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

command -v aws >/dev/null || die "the AWS CLI is required (https://aws.amazon.com/cli/)"
command -v python3 >/dev/null || die "python3 is required (JSON validation)"

workdir=$(mktemp -d)
chmod 700 "$workdir"
trap 'rm -rf "$workdir"' EXIT
umask 077

# resolve_id: the secret id from --secret-id, or from the stack's outputs.
resolve_id() {
  if [ -n "$secret_id" ]; then echo "$secret_id"; return; fi
  [ -n "$stack" ] || die "give --stack STACK or --secret-id ID"
  [ -n "$output" ] || die "the stack does not create a $kind secret (it is a parameter): use --secret-id"
  local id
  id=$(aws cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$output'].OutputValue" --output text) ||
    die "cannot read the outputs of stack $stack"
  [ -n "$id" ] && [ "$id" != None ] || die "stack $stack has no output $output (is the feature enabled?)"
  echo "$id"
}

# read_value: the new value from --file or stdin, into $workdir/value.json.
read_value() {
  if [ -n "$file" ]; then
    [ -r "$file" ] || die "cannot read $file"
    cat -- "$file" >"$workdir/value.json"
  else
    [ -t 0 ] && echo "secrets.sh: paste the $kind JSON, then Ctrl-D" >&2
    cat >"$workdir/value.json"
  fi
}

# validate FILE: the JSON shape of $kind; prints nothing of the values.
validate() {
  python3 - "$1" "$required" "$optional" "$kind" <<'PY'
import json, sys
path, required, optional, kind = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
try:
    with open(path) as f:
        v = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"secrets.sh: {kind}: not valid JSON ({type(e).__name__})")
if not isinstance(v, dict):
    sys.exit(f"secrets.sh: {kind}: expected a JSON object")
missing = [k for k in required if not isinstance(v.get(k), str) or not v[k].strip()]
unknown = [k for k in v if k not in required + optional]
if missing:
    sys.exit(f"secrets.sh: {kind}: missing or empty string field(s): {', '.join(missing)}")
if unknown:
    sys.exit(f"secrets.sh: {kind}: unexpected field(s): {', '.join(unknown)} (see infra/secrets/{kind}.example.json)")
for k in optional:
    if k in v and not isinstance(v[k], str):
        sys.exit(f"secrets.sh: {kind}: {k} must be a string")
if "placeholder" in json.dumps(v).lower() or "replace-with" in json.dumps(v):
    sys.exit(f"secrets.sh: {kind}: still contains example placeholder text")
if kind == "livekit" and not v["url"].startswith(("wss://", "ws://", "https://", "http://")):
    sys.exit("secrets.sh: livekit: url must be the server URL (wss://...)")
print(f"secrets.sh: {kind}: fields {', '.join(sorted(v))} ok", file=sys.stderr)
PY
}

put_value() {  # put_value ID FILE
  aws secretsmanager put-secret-value --secret-id "$1" --secret-string "file://$2" \
    --query '{arn: ARN, version: VersionId}' --output text >/dev/null
  echo "secrets.sh: stored a new version of $1 (AWSCURRENT); functions pick it up within SECRET_REFRESH_SECONDS" >&2
}

get_value() {  # get_value ID FILE
  aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text >"$2" 2>"$workdir/err" || {
    if grep -q "ResourceNotFoundException\|can't find the specified secret value" "$workdir/err"; then return 3; fi
    cat "$workdir/err" >&2; return 1
  }
}

case $cmd in
  create)
    [ -n "$name" ] || die "create needs --name NAME"
    args=(--name "$name" --description "rtc-tokens $kind (shape: infra/secrets/$kind.example.json)")
    [ -n "$kms" ] && args+=(--kms-key-id "$kms")
    aws secretsmanager create-secret "${args[@]}" --query ARN --output text
    ;;
  put)
    id=$(resolve_id)
    read_value
    validate "$workdir/value.json"
    put_value "$id" "$workdir/value.json"
    ;;
  rotate)
    id=$(resolve_id)
    case $kind in
      caller-hs256)
        read_value
        # the new file may be {"secret": "..."} or the bare secret string
        python3 - "$workdir/value.json" <<'PY'
import json, sys
p = sys.argv[1]
raw = open(p).read().strip()
try:
    v = json.loads(raw)
    new = v["secret"] if isinstance(v, dict) else v
except ValueError:
    new = raw
if not isinstance(new, str) or not new:
    sys.exit("secrets.sh: caller-hs256: the new secret is empty")
json.dump({"secret": new}, open(p, "w"))
PY
        rc=0; get_value "$id" "$workdir/current.json" || rc=$?
        [ "$rc" = 0 ] || [ "$rc" = 3 ] || die "cannot read the current value of $id (refusing to rotate without keeping it as previous)"
        if [ "$rc" = 0 ]; then
          python3 - "$workdir/current.json" "$workdir/value.json" <<'PY'
import json, sys
cur_p, new_p = sys.argv[1], sys.argv[2]
raw = open(cur_p).read().strip()
try:
    cur = json.loads(raw)
    old = cur.get("secret") if isinstance(cur, dict) else cur
except ValueError:
    old = raw
new = json.load(open(new_p))
if old == new["secret"]:
    sys.exit("secrets.sh: caller-hs256: the new secret equals the current one")
if old:
    new["previous"] = old
json.dump(new, open(new_p, "w"))
PY
        fi
        validate "$workdir/value.json"
        put_value "$id" "$workdir/value.json"
        echo "secrets.sh: callers signed with the old secret stay accepted (\"previous\") until the next rotation" >&2
        ;;
      authz-webhook)
        aws secretsmanager get-random-password --password-length 64 --exclude-punctuation \
          --query RandomPassword --output text >"$workdir/random"
        python3 - "$workdir/random" "$workdir/value.json" <<'PY'
import json, sys
key = open(sys.argv[1]).read().strip()
if len(key) < 32:
    sys.exit("secrets.sh: authz-webhook: random key too short")
json.dump({"secret": key}, open(sys.argv[2], "w"))
PY
        validate "$workdir/value.json"
        put_value "$id" "$workdir/value.json"
        echo "secrets.sh: read the new key with: aws secretsmanager get-secret-value --secret-id $id" >&2
        ;;
      *)
        die "rotate is for caller-hs256 and authz-webhook; for $kind use 'put' with the new credentials (see RUNBOOK.md)"
        ;;
    esac
    ;;
  check)
    id=$(resolve_id)
    rc=0; get_value "$id" "$workdir/current.json" || rc=$?
    if [ "$rc" = 0 ]; then
      validate "$workdir/current.json"
      aws secretsmanager describe-secret --secret-id "$id" \
        --query '{name: Name, last_changed: LastChangedDate, kms_key: KmsKeyId}' --output text
    elif [ "$rc" = 3 ]; then
      die "$id has no value yet: fill it with 'infra/secrets.sh put $kind ...'"
    else
      die "cannot read $id"
    fi
    ;;
  *) usage 1 ;;
esac
