#!/usr/bin/env bash
# Served-token end-to-end suite: starts the real `rtc-token serve` (as the README's first command does,
# on embedded development defaults), mints caller JWTs with `rtc-token dev-jwt`, and checks
#   tests/served/test_official_sdks.py  every route's token verified by the official SDKs
#                                       (npm: interop/node_modules; PyPI: .venv)
#   tests/served/test_openapi.py        openapi.yaml is valid OpenAPI 3.1 and every documented example
#                                       is what the handlers answer (status, headers, schema, error code)
# Needs ./scripts/setup-tools first (scripts/test runs it). Last line: "e2e-served: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=$root/.venv/bin/python
[ -x "$py" ] || { echo "e2e-served: run ./scripts/setup-tools first (.venv missing)" >&2; exit 2; }
[ -d interop/node_modules ] || { echo "e2e-served: run ./scripts/setup-tools first (interop/node_modules missing)" >&2; exit 2; }

cargo build -q -p rtc-token --locked || { echo "e2e-served: build failed"; echo "e2e-served: 0 passed, 1 failed"; exit 1; }
export RTC_TOKEN_BIN=$root/target/debug/rtc-token
report=$root/target/test-logs/e2e-served.xml
mkdir -p "$(dirname "$report")"

"$py" -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning --junitxml="$report" tests/served "$@"
rc=$?
"$py" - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(f"e2e-served: {total - bad - skipped} passed, {bad} failed ({skipped} documented as not reproducible locally)")
PY
exit $rc
