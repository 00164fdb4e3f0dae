#!/usr/bin/env bash
# Short fuzz runs of every cargo-fuzz target in fuzz/fuzz_targets (CI), from the committed corpus.
#
#   scripts/fuzz-short.sh [--seconds 30] [--fast-build] [TARGET...]
#
# --fast-build (what CI uses): a dev-profile build without a sanitizer (`cargo fuzz run --dev -s none`):
# the targets are safe Rust (`forbid(unsafe_code)`), so a panic, overflow or abort is what a short run
# can find, and the dev build of the AWS SDK the request_body target links is several minutes faster.
# The documented long run keeps cargo-fuzz's default (optimised, debug assertions, AddressSanitizer).
#
# Long run (documented): scripts/fuzz-short.sh --seconds 3600 caller_jwt
# Needs cargo-fuzz (installed with `cargo install cargo-fuzz --locked` when missing) and a
# nightly-capable compiler: the stable toolchain with RUSTC_BOOTSTRAP=1. New corpus entries stay
# local (fuzz/.gitignore); a crash leaves its input in fuzz/artifacts/<target>/ and fails the run:
# fix it, then keep the input as a regression seed (fuzz/corpus/<target>/seed-regress-*) and a test.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs=30
build_flags=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=$2; shift 2 ;;
    --fast-build) build_flags=(--dev -s none); shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q || exit 1
if [ ${#targets[@]} = 0 ]; then
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
passed=0; failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "fuzz: $t for ${secs}s"
  log=$(mktemp)
  cargo fuzz run "${build_flags[@]}" "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY)|ERROR|panicked|Done [0-9]+ runs|^error" "$log" | head -20
  if [ $rc = 0 ]; then passed=$((passed + 1)); echo "fuzz: $t ok"
  else failed=$((failed + 1)); tail -30 "$log"; echo "fuzz: $t FAILED (exit $rc; crash input in fuzz/artifacts/$t/)"; fi
  rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
