#!/usr/bin/env python3
"""Where a server's CPU goes under load: reads `perf script` output (a `perf record -g` profile of
one server process) and prints the share of samples per category.

Categories: kernel samples, split into the loopback receive path run in this process's context
(softirq `net_rx_action`: on loopback the sender's CPU also runs the receiving socket's TCP
processing, so a server's response pays for the client's receive and wake-up) and the rest of the
kernel; user samples by the first frame, from the leaf up, that names one of the crates below.

    perf record -g --call-graph dwarf,16384 -F 2000 -p PID -o perf.data -- sleep 4
    perf script -i perf.data > perf.txt
    python3 bench/tools/perf_breakdown.py perf.txt

Symbols need a build that keeps them, for example
`CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
CARGO_TARGET_DIR=/tmp/proftarget cargo build --release -p rtc-token` (same code, other target dir).
"""
import collections
import re
import sys

CRATES = [
    "caller_auth", "rtc_signing", "token_service", "rtc_token", "serde_json", "base64", "sha2",
    "aws_lc", "hyper", "tokio", "httparse", "http::", "bytes::", "lambda_http", "aws_lambda_events",
    "mi_", "_mi_",
]


def frames(sample):
    """Symbols of one sample, leaf first."""
    out = []
    for line in sample.strip().split("\n")[1:]:
        out.append(re.sub(r"^\s*[0-9a-f]+\s+", "", line))
    return out


def category(syms):
    if not syms:
        return None
    if "[kernel" in syms[0]:
        if any("net_rx_action" in s for s in syms):
            return "kernel: loopback receive (softirq)"
        return "kernel: other (syscalls, scheduling)"
    for s in syms:
        for crate in CRATES:
            if crate in s:
                return "user: " + crate.rstrip(":_")
    return "user: other (libc, vdso, unresolved)"


def main(path):
    counts = collections.Counter()
    with open(path) as f:
        samples = f.read().split("\n\n")
    for sample in samples:
        cat = category(frames(sample))
        if cat:
            counts[cat] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit("no samples")
    for cat, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  {cat}")
    print(f"{total} samples")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "perf.txt")
