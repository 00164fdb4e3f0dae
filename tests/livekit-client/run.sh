#!/usr/bin/env bash
# Conformance with LiveKit's own client SDK: npm livekit-client's TokenSource.endpoint against the real
# `rtc-token serve` (conformance.mjs), and crates.io livekit-token-source's endpoint source (rust/);
# tokens verified by livekit-server-sdk and PyPI livekit-api.
# Needs ./scripts/setup-tools first (interop/node_modules, .venv). Last line: "livekit-client: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
[ -x .venv/bin/python ] || { echo "livekit-client: run ./scripts/setup-tools first (.venv missing)" >&2; echo "livekit-client: 0 passed, 1 failed"; exit 1; }
[ -d interop/node_modules/livekit-client ] || { echo "livekit-client: run ./scripts/setup-tools first (interop/node_modules/livekit-client missing)" >&2; echo "livekit-client: 0 passed, 1 failed"; exit 1; }
cargo build -q -p rtc-token --locked || { echo "livekit-client: build failed"; echo "livekit-client: 0 passed, 1 failed"; exit 1; }
# LiveKit's Rust client token source: its own small crate and lockfile, built into target/.
rust_target=$root/target/livekit-token-source
cargo build -q --locked --manifest-path tests/livekit-client/rust/Cargo.toml --target-dir "$rust_target" \
  || { echo "livekit-client: the livekit-token-source check did not build"; echo "livekit-client: 0 passed, 1 failed"; exit 1; }
RTC_TOKEN_BIN=${CARGO_TARGET_DIR:-$root/target}/debug/rtc-token PYTHON=$root/.venv/bin/python \
  LK_RUST_CHECK=$rust_target/debug/livekit-token-source-check \
  exec node tests/livekit-client/conformance.mjs
