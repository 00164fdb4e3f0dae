#!/usr/bin/env bash
# Offline deployment check: everything `sam build && sam deploy` depends on, without an AWS account.
#
#   1. cfn-lint on template.yaml (and any infra/*.yaml variant), warnings count as failures;
#   2. the SAM transform run locally (infra/tests/sam_transform.py) and cfn-lint on its output, so
#      the generated resources (permissions, stage, aliases) are linted too;
#   3. `sam validate --lint` (aws-sam-cli), in a network-less namespace when `unshare` allows it,
#      to prove it needs neither credentials nor network;
#   3b. zizmor (a GitHub Actions linter: syntax, expression injection, credentials, pinning) on
#      every workflow in .github/workflows, offline;
#   4. the three release binaries for arm64 built with cargo-lambda exactly as `sam build` does
#      (per function: `cargo lambda build --release --arm64 --bin NAME` in functions/NAME, with the
#      workspace target dir), then their sizes and architecture.
#
# Usage: scripts/check-deploy.sh [--no-build] [--x86-64]
#   --no-build   steps 1-3b only (seconds instead of minutes)
#   --x86-64     build for x86_64 instead of arm64 (after changing Architectures in template.yaml)
# Env: CARGO_BUILD_JOBS (default: all cores), CHECK_DEPLOY_VENV (default: ./.venv).
# The last line is "deploy-check: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=1
arch_flag=--arm64
arch_name=aarch64
for a in "$@"; do
  case $a in
    --no-build) build=0 ;;
    --x86-64) arch_flag=--x86-64; arch_name=x86-64 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

venv=${CHECK_DEPLOY_VENV:-$root/.venv}
if [ -x "$venv/bin/python" ]; then
  export PATH="$venv/bin:$PATH"
else
  echo "check-deploy: no venv at $venv (run scripts/setup-tools, or set CHECK_DEPLOY_VENV)" >&2
fi
export SAM_CLI_TELEMETRY=0
export AWS_REGION=${AWS_REGION:-eu-west-1} AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-${AWS_REGION:-eu-west-1}}

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  PASS $*"; }
ko() { failed=$((failed + 1)); echo "  FAIL $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs "$@" without network when unprivileged user+net namespaces are available.
offline() {
  if unshare -rn true 2>/dev/null; then
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
      HOME="$tmp/home" unshare -rn "$@"
  else
    echo "  (unshare -rn not permitted here: running with the network available)"
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE HOME="$tmp/home" "$@"
  fi
}
mkdir -p "$tmp/home"

echo "==> 1. cfn-lint ($(cfn-lint --version 2>&1))"
templates=(template.yaml)
for f in infra/*.yaml; do [ -e "$f" ] && templates+=("$f"); done
for t in "${templates[@]}"; do
  if offline cfn-lint --non-zero-exit-code warning -- "$t"; then ok "cfn-lint $t"; else ko "cfn-lint $t"; fi
done

echo "==> 2. SAM transform + cfn-lint on the generated CloudFormation"
for t in "${templates[@]}"; do
  grep -q 'AWS::Serverless-2016-10-31' "$t" || continue
  out=$tmp/$(basename "$t" .yaml).transformed.json
  if offline python infra/tests/sam_transform.py "$t" >"$out" &&
     offline cfn-lint --non-zero-exit-code warning -- "$out"; then
    ok "transformed $t ($(grep -c '"Type": "AWS::' "$out") resources)"
  else
    ko "transformed $t"
  fi
done

echo "==> 3. sam validate --lint"
if command -v sam >/dev/null; then
  for t in "${templates[@]}"; do
    if offline sam validate --lint --template-file "$t" --region "$AWS_REGION"; then ok "sam validate --lint $t"; else ko "sam validate --lint $t"; fi
  done
else
  ko "sam validate --lint: the sam CLI is not installed (pip install aws-sam-cli)"
fi

echo "==> 3b. workflow lint (zizmor --offline)"
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
for w in "${workflows[@]}"; do
  [ -e "$w" ] || continue
  if ! command -v zizmor >/dev/null; then ko "zizmor is not installed (scripts/setup-tools)"; break; fi
  if offline zizmor --offline --no-progress -- "$w"; then ok "zizmor $w"; else ko "zizmor $w"; fi
done

if [ "$build" = 1 ]; then
  echo "==> 4. cargo lambda build --release $arch_flag (as sam build runs it)"
  if ! command -v cargo-lambda >/dev/null; then
    ko "cargo-lambda is not installed (pip install cargo-lambda ziglang)"
  else
    target=aarch64-unknown-linux-gnu; [ "$arch_flag" = --x86-64 ] && target=x86_64-unknown-linux-gnu
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
      rustup target add "$target" || echo "  (rustup could not add $target; cargo lambda will try itself)"
    fi
    # sam build (aws-lambda-builders rust_cargo) resolves the workspace's shared target dir and
    # runs cargo lambda in each function's CodeUri directory; do exactly that.
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
    for fn in agora-token livekit-token stream-token; do
      start=$SECONDS
      log=$tmp/build-$fn.log
      if (cd "functions/$fn" && cargo lambda build --release "$arch_flag" --bin "$fn") >"$log" 2>&1; then
        bin=$CARGO_TARGET_DIR/lambda/$fn/bootstrap
        if [ -f "$bin" ] && file "$bin" | grep -qi "$arch_name"; then
          size=$(stat -c %s "$bin")
          zipped=$(gzip -9 -c "$bin" | wc -c)
          ok "$fn: $bin $(awk -v s="$size" 'BEGIN{printf "%.2f MB", s/1048576}') (gzip -9: $(awk -v s="$zipped" 'BEGIN{printf "%.2f MB", s/1048576}')), $((SECONDS - start)) s"
          echo "       $(file -b "$bin" | cut -c1-110)"
        else
          ko "$fn: no $arch_name bootstrap at $bin"
        fi
      else
        ko "$fn: cargo lambda build failed ($((SECONDS - start)) s); last lines:"
        tail -25 "$log" | sed 's/^/       | /'
      fi
    done
  fi
fi

echo
echo "deploy-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
