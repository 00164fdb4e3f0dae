#!/usr/bin/env bash
# The interop suite: `rtc-token` against the official Agora, LiveKit and Stream SDKs, both directions.
#
#   interop/run.sh            (after scripts/setup-tools: ./.venv and interop/node_modules)
#
# Builds the CLI (`cargo build -p rtc-token`, dev profile), then runs
#   interop/node/suite.mjs  npm agora-token, livekit-server-sdk, stream-chat (+ its jsonwebtoken)
#   interop/py/suite.py     PyPI agoraiotools, livekit-api, stream-chat, PyJWT (+ byte-for-byte check)
# Each check prints "ok - ..." or "not ok - ...: why"; the last line is "N passed, M failed" and the
# exit status is non-zero on any failure (or when a suite could not run at all).
#
# Environment: INTEROP_PYTHON (default ./.venv/bin/python), RTC_TOKEN_BIN (skip the build and use this
# binary), CARGO_TARGET_DIR (honoured when locating the binary).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

py=${INTEROP_PYTHON:-$root/.venv/bin/python}
if [ ! -x "$py" ]; then
  echo "interop: $py not found; run scripts/setup-tools first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -d interop/node_modules/agora-token ]; then
  echo "interop: interop/node_modules is missing; run scripts/setup-tools first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

if [ -z "${RTC_TOKEN_BIN:-}" ]; then
  echo "interop: cargo build -p rtc-token" >&2
  if ! cargo build -q -p rtc-token >&2; then
    echo "interop: cargo build failed" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  RTC_TOKEN_BIN=${CARGO_TARGET_DIR:-$root/target}/debug/rtc-token
fi
export RTC_TOKEN_BIN
if [ ! -x "$RTC_TOKEN_BIN" ]; then
  echo "interop: $RTC_TOKEN_BIN is not an executable" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
broken=0

run_suite() {
  local label=$1
  shift
  "$@" | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  # A suite that crashed before its summary line counts as one failure.
  if ! tail -n 1 "$log" | grep -q "^$label: [0-9]* passed, [0-9]* failed$"; then
    echo "not ok - $label: the suite did not finish (exit $rc)" | tee -a "$log"
    broken=$((broken + 1))
  fi
}

run_suite node node interop/node/suite.mjs
run_suite python "$py" -B interop/py/suite.py

passed=$(grep -c '^ok - ' "$log")
failed=$(grep -c '^not ok - ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
