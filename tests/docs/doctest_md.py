"""Documentation tested like code: runs the shell blocks of the project's Markdown files.

For each document, its ```sh / ```bash / ```shell blocks run in order in one bash session (like one
terminal), from the repository root, with a fresh environment (no AWS_*, AUTH_*, provider or PATH
additions: `.venv/bin` and `target/debug` are on PATH only if the document puts them there) and
`set -eo pipefail`: any failing command fails the document.

Markers, in an HTML comment on the lines just before a block (invisible on GitHub):

    <!-- doc-test: skip (needs an AWS account) -->                 the block is not run
    <!-- doc-test: background "CMD" until 127.0.0.1:8787 -->       the block's line CMD runs in the
                                                                   background; the session goes on
                                                                   once that port accepts connections
    <!-- doc-test: skip-line "./scripts/test" (reason) -->         the block's line is not run

Several directives in one comment are separated by `;`. A marker naming a line the block lacks is an
error, so markers cannot go stale.

Checks beyond "every command succeeds":
- Documented output: a comment right after a command whose text starts with `{` or `[` (possibly
  continued on the next `#` lines) is that command's JSON output: same keys, equal strings (a `...`
  or `…` in a string matches anything), numbers of any value, same list lengths.
- `cargo lambda invoke ... --data-file events/X.json`: the answer is compared with events/manifest.json;
  once the document's blocks ran, every event of the manifest is invoked the same way (same address
  and port) and compared, while the document's functions still run.
- Before running, static checks over every shell block, skipped ones included: each repository path
  a command names exists, and each `--flag` given to `rtc-token` (or `cargo run -p rtc-token --`)
  and to `cargo lambda invoke|watch` is in that command's `--help`.

Usage: python tests/docs/doctest_md.py [FILE.md ...]   (default: DOCS below)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The documents under test: a new docs/*.md is tested as soon as it exists.
DOCS = ["README.md", "events/README.md"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")
)
SHELL_LANGS = {"sh", "bash", "shell"}
# How long a background command may take to answer (the first build compiles for minutes).
WAIT_SECONDS = int(os.environ.get("DOC_TEST_WAIT", "1500"))
# Environment variables kept from the caller: the toolchain and the build cache, nothing else.
KEEP_ENV = re.compile(
    r"^(HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TERM|TMPDIR|SHELL|CARGO_[A-Z_]+|RUSTUP_[A-Z_]+|RUSTFLAGS|"
    r"RUSTDOCFLAGS|RUSTC|RUSTC_WRAPPER)$"
)
PATH_RE = re.compile(
    r"(?<![\w./-])(?:\./)?((?:events|scripts|docs|crates|functions|infra|interop|bench|tests)/[\w.{}*/-]+)"
)


class DocTestError(AssertionError):
    """A documentation failure, with the document and line."""


@dataclass
class Block:
    doc: str
    line: int  # line of the opening fence (1-based)
    lang: str
    lines: list[str]
    skip: str | None = None
    background: dict[str, str] = field(default_factory=dict)  # line -> host:port
    skip_lines: dict[str, str] = field(default_factory=dict)  # line -> reason

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


# ------------------------------------------------------------------ parsing

MARKER_RE = re.compile(r"^\s*<!--\s*doc-test:(.*?)-->\s*$")
DIRECTIVE_RES = [
    ("skip-line", re.compile(r'^skip-line\s+"(.+)"(?:\s+\((.+)\))?$')),
    ("background", re.compile(r'^background\s+"(.+)"\s+until\s+([\w.-]+:\d+)$')),
    ("skip", re.compile(r"^skip\s+\((.+)\)$")),
]


def parse_markers(text: str, where: str) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    parts, cur, depth, quoted = [], "", 0, False
    for c in text:  # split at `;` outside quotes and parentheses
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "()":
            depth += 1 if c == "(" else -1
        if c == ";" and not quoted and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    for part in parts + [cur]:
        part = part.strip()
        if not part:
            continue
        for name, rx in DIRECTIVE_RES:
            m = rx.match(part)
            if m:
                out.append((name, m.groups()))
                break
        else:
            raise DocTestError(f"{where}: unknown doc-test directive {part!r}")
    return out


def command_text(line: str) -> str:
    """A line without its trailing `  # comment` (as written in the docs: two spaces or more)."""
    return re.split(r"\s{2,}#\s", line.rstrip(), maxsplit=1)[0].rstrip()


def extract(doc: str, text: str | None = None) -> list[Block]:
    """The fenced shell blocks of `doc` (relative to ROOT), with their markers."""
    if text is None:
        text = (ROOT / doc).read_text()
    lines = text.split("\n")
    blocks: list[Block] = []
    pending: list[tuple[str, tuple[str, ...], int]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER_RE.match(line)
        if m:
            pending += [(n, g, i + 1) for n, g in parse_markers(m.group(1), f"{doc}:{i + 1}")]
            i += 1
            continue
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", line)
        if fence:
            indent, ticks, lang = fence.groups()
            fence_line = i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(ticks):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            if lang in SHELL_LANGS:
                b = Block(doc, fence_line, lang, body)
                for name, groups, at in pending:
                    if name == "skip":
                        b.skip = groups[0]
                    elif name == "background":
                        b.background[groups[0]] = groups[1]
                    elif name == "skip-line":
                        b.skip_lines[groups[0]] = groups[1] or ""
                cmds = {command_text(x) for x in body}
                for named in list(b.background) + list(b.skip_lines):
                    if named not in cmds:
                        raise DocTestError(
                            f"{b.where}: a doc-test marker names {named!r}, which is not a line of the block"
                        )
                blocks.append(b)
            elif pending:
                raise DocTestError(f"{doc}:{pending[0][2]}: doc-test marker before a non-shell block")
            pending = []
            i += 1
            continue
        if line.strip() and pending:
            raise DocTestError(f"{doc}:{pending[0][2]}: doc-test marker not followed by a block")
        i += 1
    return blocks


def logical_lines(lines: list[str]) -> list[str]:
    """Joins backslash continuations."""
    out, cur = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
        else:
            out.append(cur + line)
            cur = ""
    if cur:
        out.append(cur)
    return out


# ------------------------------------------------------------------ static checks


def help_text(cmd: list[str]) -> str:
    env = tool_env()
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"  # cargo-lambda
    p = subprocess.run(cmd + ["--help"], cwd=ROOT, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise DocTestError(f"`{' '.join(cmd)} --help` failed: {p.stderr[-300:]}")
    return p.stdout


def long_options(help_out: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", help_out))


def subcommands(help_out: str) -> set[str]:
    m = re.search(r"^Commands:\n(.*?)(?:\n\n|\Z)", help_out, re.S | re.M)
    if not m:
        return set()
    return {ln.split()[0] for ln in m.group(1).splitlines() if ln.startswith("  ") and ln.split()}


class FlagChecker:
    """Checks `--flags` of rtc-token and cargo lambda commands against their `--help`."""

    def __init__(self, rtc_token: Path):
        self.rtc_token = rtc_token
        self.cache: dict[tuple[str, ...], str] = {}

    def help(self, cmd: tuple[str, ...]) -> str:
        if cmd not in self.cache:
            self.cache[cmd] = help_text(list(cmd))
        return self.cache[cmd]

    def check(self, words: list[str], where: str) -> list[str]:
        words = [re.sub(r"^(?:\w+=)?[\"']?\$\(", "", w).rstrip(")\"'") for w in words]
        errors = []
        for start, base in self.commands(words):
            cmd = base
            rest = words[start:]
            while rest and rest[0] in subcommands(self.help(cmd)):
                cmd = cmd + (rest[0],)
                rest = rest[1:]
            known = long_options(self.help(cmd))
            shown = " ".join(["rtc-token", *cmd[1:]] if cmd[0] == str(self.rtc_token) else cmd)
            for w in rest:
                if w in ("|", "&&", "||", ";", "&"):
                    break
                flag = w.split("=", 1)[0]
                if re.fullmatch(r"--[a-z0-9][a-z0-9-]*", flag) and flag not in known:
                    errors.append(f"{where}: `{shown}` has no option {flag} (see its --help)")
        return errors

    def commands(self, words: list[str]):
        """(index after the command name, help command) for each rtc-token / cargo lambda call."""
        for i, w in enumerate(words):
            nxt = words[i + 1 : i + 3]
            if w.split("/")[-1] == "rtc-token" and (i == 0 or words[i - 1] != "-p"):
                yield i + 1, (str(self.rtc_token),)
            elif w == "cargo" and nxt[:1] == ["run"] and "--" in words[i:]:
                end = words.index("--", i)
                if "rtc-token" in words[i:end]:
                    yield end + 1, (str(self.rtc_token),)
            elif w == "cargo" and nxt[:1] == ["lambda"] and nxt[1:] in (["invoke"], ["watch"]):
                yield i + 3, ("cargo", "lambda", nxt[1])


def static_check(blocks: list[Block], flags: FlagChecker | None, root: Path = ROOT) -> list[str]:
    errors = []
    for b in blocks:
        for n, line in enumerate(logical_lines(b.lines)):
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            if not code.strip():
                continue
            for m in PATH_RE.finditer(code):
                path = m.group(1).rstrip(".,:;)")
                if any(c in path for c in "{$"):
                    continue
                if "*" in path:
                    if not list(root.glob(path)):
                        errors.append(f"{b.where}: {path} matches no file")
                elif not (root / path).exists():
                    errors.append(f"{b.where}: {path} does not exist")
            if flags is not None:
                try:
                    words = shlex.split(code, comments=True)
                except ValueError:
                    words = code.split()
                errors += flags.check(words, b.where)
    return errors


# ------------------------------------------------------------------ documented output


def expected_outputs(lines: list[str]) -> list[tuple[int, int, str]]:
    """(index of the last command line, index after the comment group, JSON text) per documented output."""
    out = []
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        prev = lines[i - 1].strip() if i > 0 else ""
        if (
            s.startswith("#")
            and s[1:].strip()[:1] in ("{", "[")
            and prev
            and not prev.startswith("#")
        ):
            j = i
            text = ""
            while j < len(lines) and lines[j].strip().startswith("#"):
                text += lines[j].strip()[1:].strip()
                j += 1
            out.append((i - 1, j, text))
            i = j
        else:
            i += 1
    return out


ELLIPSIS = re.compile(r"\.\.\.|…")


def json_matches(expected, actual, path="$") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: documented an object, got {json.dumps(actual)[:80]}"]
        errs = []
        if set(expected) != set(actual):
            errs.append(
                f"{path}: keys differ: documented {sorted(expected)}, got {sorted(actual)}"
            )
        for k in expected:
            if k in actual:
                errs += json_matches(expected[k], actual[k], f"{path}.{k}")
        return errs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: documented a list of {len(expected)}, got {json.dumps(actual)[:80]}"]
        return [e for x, y in zip(expected, actual) for e in json_matches(x, y, f"{path}[]")]
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return [f"{path}: documented a string, got {json.dumps(actual)[:80]}"]
        parts = ELLIPSIS.split(expected)
        if len(parts) == 1:
            return [] if actual == expected else [f"{path}: documented {expected!r}, got {actual[:80]!r}"]
        if actual.startswith(parts[0]) and actual.endswith(parts[-1]):
            return []
        return [f"{path}: documented {expected!r}, got {actual[:80]!r}"]
    if isinstance(expected, bool) or expected is None:
        return [] if actual == expected else [f"{path}: documented {expected}, got {actual}"]
    if isinstance(expected, (int, float)):
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: documented a number, got {json.dumps(actual)[:80]}"]
    return []


def check_output(out_file: str, expected_file: str, where: str) -> int:
    expected_text = Path(expected_file).read_text()
    actual_text = Path(out_file).read_text().strip()
    try:
        expected = json.loads(expected_text)
    except json.JSONDecodeError as e:
        print(f"doc-test: {where}: the documented output is not JSON ({e}): {expected_text}", file=sys.stderr)
        return 1
    try:
        actual = json.loads(actual_text)
    except json.JSONDecodeError:
        print(f"doc-test: {where}: the output is not JSON: {actual_text[:300]}", file=sys.stderr)
        return 1
    errs = json_matches(expected, actual)
    for e in errs:
        print(f"doc-test: {where}: output differs from the documented one: {e}", file=sys.stderr)
    return 1 if errs else 0


# ------------------------------------------------------------------ events / manifest


def invoke_records(log_dir: Path) -> list[dict]:
    recs = []
    for f in sorted(log_dir.glob("invoke-*.json")):
        recs.append(json.loads(f.read_text()))
    return recs


def option(args: list[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


INVOKE_BOOL_FLAGS = {"-R", "--remote", "--skip-cache", "-v", "-vv", "--verbose", "--admerge", "-h", "--help"}


def function_name(args: list[str]) -> str:
    """The FUNCTION_NAME of `lambda invoke ARGS` (`_` when none)."""
    rest = iter(args[2:])
    for a in rest:
        if a.startswith("-"):
            if "=" not in a and a not in INVOKE_BOOL_FLAGS:
                next(rest, None)
            continue
        return a
    return "_"


def check_event(entry: dict, function: str, output: str, started: float, where: str) -> list[str]:
    name = entry["file"]
    errs = []
    want_fn = entry["function"] + "-token"
    if function != want_fn:
        errs.append(f"{where}: {name} invoked on {function}, the manifest says {want_fn}")
    try:
        answer = json.loads(output)
        body = json.loads(answer["body"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return errs + [f"{where}: {name}: not a Lambda HTTP answer: {output[:300]}"]
    if answer.get("statusCode") != entry["status"]:
        errs.append(f"{where}: {name}: status {answer.get('statusCode')}, manifest {entry['status']}: {body}")
    if "error" in entry and body.get("error", {}).get("code") != entry["error"]:
        errs.append(f"{where}: {name}: error {body.get('error')}, manifest {entry['error']}")
    for k, v in entry.get("body", {}).items():
        if body.get(k) != v:
            errs.append(f"{where}: {name}: body.{k} = {body.get(k)!r}, manifest {v!r}")
    if "body" in entry:
        token = body.get("token") or body.get("participant_token")
        if not (isinstance(token, str) and len(token) > 20):
            errs.append(f"{where}: {name}: no token in {body}")
    if "ttl" in entry:
        exp = body.get("expiresAt")
        lo, hi = int(started) + entry["ttl"] - 2, int(time.time()) + entry["ttl"] + 2
        if not (isinstance(exp, int) and lo <= exp <= hi):
            errs.append(f"{where}: {name}: expiresAt {exp}, expected now + {entry['ttl']}")
    return errs


def replay_events(log_dir: Path, manifest_path: Path) -> list[str]:
    """Compares the document's invokes with the manifest, then invokes every manifest event."""
    manifest = json.loads(manifest_path.read_text())["events"]
    by_file = {e["file"]: e for e in manifest}
    recs = invoke_records(log_dir)
    errs = []
    last = None
    for r in recs:
        data = option(r["args"], "--data-file", "-F")
        if data is None:
            continue
        last = r
        name = Path(data).name
        if r["rc"] != 0:
            errs.append(f"{r['where']}: cargo lambda invoke --data-file {data} failed (exit {r['rc']})")
        elif name in by_file:
            errs += check_event(by_file[name], function_name(r["args"]), r["stdout"], r["started"], r["where"])
    if last is None:
        return errs
    # every event, the way the document invoked its last one
    opts = []
    for flag in ("--invoke-address", "--invoke-port", "-P"):
        v = option(last["args"], flag)
        if v is not None:
            opts += [flag, v]
    events_dir = manifest_path.parent
    on_disk = sorted(
        p.name for p in events_dir.glob("*.json") if p.name not in ("manifest.json", "secrets.json")
    )
    if on_disk != sorted(by_file):
        errs.append(f"events/: files {on_disk} differ from manifest.json's {sorted(by_file)}")
    for e in manifest:
        fn = e["function"] + "-token"
        started = time.time()
        p = subprocess.run(
            ["cargo", "lambda", "invoke", fn, *opts, "--data-file", str(events_dir / e["file"])],
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
        )
        if p.returncode != 0:
            errs.append(f"manifest: cargo lambda invoke {fn} --data-file {e['file']} failed: {p.stderr[-500:]}")
            continue
        errs += check_event(e, fn, p.stdout, started, "manifest")
    print(f"doc-test: {len(manifest)} events invoked and compared with manifest.json", file=sys.stderr)
    return errs


# ------------------------------------------------------------------ running


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if KEEP_ENV.match(k)}
    keep = [
        p
        for p in os.environ.get("PATH", "/usr/bin:/bin").split(":")
        if p and not p.startswith(str(ROOT)) and "/.venv/" not in p + "/"
    ]
    env["PATH"] = ":".join(keep)
    return env


SHIM = r"""#!/usr/bin/env bash
# doc-test: records `cargo lambda invoke` calls (arguments, answer), then behaves as cargo.
if [ "${1:-}" = lambda ] && [ "${2:-}" = invoke ]; then
  started=$(date +%s)
  rc=0
  out=$("$DOC_TEST_CARGO" "$@") || rc=$?
  printf '%s\n' "$out"
  n=$(ls "$DOC_TEST_LOG" | grep -c '^invoke-' || true)
  printf '%s' "$out" | "$DOC_TEST_PY" -c 'import json, sys; a = sys.argv
json.dump({"rc": int(a[1]), "started": int(a[2]), "where": a[3], "args": a[4:], "stdout": sys.stdin.read()}, sys.stdout)' \
    "$rc" "$started" "${DOC_TEST_WHERE:-?}" "$@" > "$DOC_TEST_LOG/invoke-$(printf %04d "$n").json"
  exit $rc
fi
exec "$DOC_TEST_CARGO" "$@"
"""


def port_open(hostport: str) -> bool:
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def build_script(blocks: list[Block], log_dir: Path) -> str:
    py = shlex.quote(sys.executable)
    me = shlex.quote(str(Path(__file__).resolve()))
    s = [
        "set -eo pipefail",
        f"cd {shlex.quote(str(ROOT))}",
        "trap 'echo \"doc-test: FAILED (exit $?) at ${DOC_TEST_WHERE}: $BASH_COMMAND\" >&2' ERR",
        "__dt_wait() {  # pid host port log where",
        f"  local deadline=$((SECONDS + {WAIT_SECONDS}))",
        "  until (exec 3<>\"/dev/tcp/$2/$3\") 2>/dev/null; do",
        "    if ! kill -0 \"$1\" 2>/dev/null; then echo \"doc-test: $5: the background command exited before $2:$3 answered; its output:\" >&2; tail -30 \"$4\" >&2; return 1; fi",
        "    if [ $SECONDS -gt $deadline ]; then echo \"doc-test: $5: $2:$3 did not answer\" >&2; tail -30 \"$4\" >&2; return 1; fi",
        "    sleep 0.5",
        "  done",
        "  echo \"doc-test: $5: $2:$3 answers\" >&2",
        "}",
    ]
    n = 0
    for b in blocks:
        if b.skip is not None:
            s.append(f"# {b.where}: skipped ({b.skip})")
            continue
        s.append(f"# ---- {b.where}")
        s.append(f"echo '==> {b.where}' >&2")
        outputs = {start: (end, text) for start, end, text in expected_outputs(b.lines)}
        skip_until = -1
        lines = b.lines
        i = 0
        buf: list[str] = []

        def flush_plain():
            s.extend(buf)
            buf.clear()

        heredoc_end = None
        while i < len(lines):
            line = lines[i]
            where = f"{b.doc}:{b.line + 1 + i}"
            cmd = command_text(line)
            if i < skip_until:
                i += 1
                continue
            if heredoc_end is not None:  # a heredoc's body goes through untouched
                buf.append(line)
                if line.strip() == heredoc_end:
                    heredoc_end = None
                i += 1
                continue
            m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", cmd)
            if m:
                heredoc_end = m.group(1)
            if cmd in b.skip_lines and not line.rstrip().endswith("\\"):
                buf.append(f"# doc-test skip-line: {line}")
            elif cmd in b.background:
                n += 1
                host, port = b.background[cmd].rsplit(":", 1)
                log = log_dir / f"background-{n}.log"
                buf.append(f"export DOC_TEST_WHERE={shlex.quote(where)}")
                buf.append(f"( {cmd} ) > {shlex.quote(str(log))} 2>&1 &")
                buf.append(f"__dt_wait $! {host} {port} {shlex.quote(str(log))} {shlex.quote(where)}")
            else:
                if line.strip() and not line.strip().startswith("#"):
                    if not (i > 0 and lines[i - 1].rstrip().endswith("\\")):
                        buf.append(f"export DOC_TEST_WHERE={shlex.quote(where)}")
                buf.append(line)
            if i in outputs:
                end, text = outputs[i]
                n += 1
                out_file = log_dir / f"out-{n}.txt"
                exp_file = log_dir / f"expected-{n}.json"
                exp_file.write_text(text)
                # the segment: from the last blank line (or block start) to this command
                seg = []
                while buf and buf[-1].strip() != "":
                    seg.insert(0, buf.pop())
                flush_plain()
                s.append("{")
                s.extend(seg)
                s.append(f"}} > {shlex.quote(str(out_file))}")
                s.append(f"cat {shlex.quote(str(out_file))}; echo")
                s.append(
                    f"{py} {me} --check-output {shlex.quote(str(out_file))} {shlex.quote(str(exp_file))} {shlex.quote(where)}"
                )
                skip_until = end
            i += 1
        flush_plain()
    s.append(
        f"if ls {shlex.quote(str(log_dir))}/invoke-*.json >/dev/null 2>&1; then "
        f"{py} {me} --replay-events {shlex.quote(str(log_dir))}; fi"
    )
    s.append("echo 'doc-test: all blocks ran' >&2")
    return "\n".join(s) + "\n"


def run_doc(doc: str, log_root: Path | None = None, blocks: list[Block] | None = None, timeout: int = 3600) -> str:
    """Runs the document's blocks in one fresh session; returns the transcript, raises on failure."""
    blocks = extract(doc) if blocks is None else blocks
    log_dir = Path(tempfile.mkdtemp(prefix="doc-test-", dir=log_root))
    shim_dir = log_dir / "bin"
    shim_dir.mkdir()
    (shim_dir / "cargo").write_text(SHIM)
    (shim_dir / "cargo").chmod(0o755)
    env = tool_env()
    real_cargo = shutil.which("cargo", path=env["PATH"])
    if real_cargo is None:
        raise DocTestError("cargo is not on PATH")
    env.update(
        PATH=f"{shim_dir}:{env['PATH']}",
        DOC_TEST_CARGO=real_cargo,
        DOC_TEST_LOG=str(log_dir),
        DOC_TEST_PY=sys.executable,
    )
    for b in blocks:
        for hp in b.background.values():
            if b.skip is None and port_open(hp):
                raise DocTestError(f"{b.where}: {hp} is already in use: not a fresh state")
    script = build_script(blocks, log_dir)
    (log_dir / "session.sh").write_text(script)
    proc = subprocess.Popen(
        ["bash", str(log_dir / "session.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(proc.pid)
        out, _ = proc.communicate()
        raise DocTestError(f"{doc}: timed out after {timeout} s\n{out[-4000:]}")
    finally:
        stop_group(proc.pid)
        wait_ports_closed(blocks)
    (log_dir / "transcript.txt").write_text(out)
    if proc.returncode != 0:
        raise DocTestError(f"{doc}: the session failed (exit {proc.returncode}); transcript:\n{out[-6000:]}")
    return out


def stop_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def wait_ports_closed(blocks: list[Block]) -> None:
    for b in blocks:
        for hp in b.background.values():
            for _ in range(100):
                if not port_open(hp):
                    break
                time.sleep(0.1)


def rtc_token_binary() -> Path:
    subprocess.run(["cargo", "build", "-q", "-p", "rtc-token"], cwd=ROOT, check=True, env=tool_env())
    return ROOT / "target" / "debug" / "rtc-token"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check-output"]:
        return check_output(*argv[1:4])
    if argv[:1] == ["--replay-events"]:
        errs = replay_events(Path(argv[1]), ROOT / "events" / "manifest.json")
        for e in errs:
            print(f"doc-test: {e}", file=sys.stderr)
        return 1 if errs else 0
    docs = argv or DOCS
    flags = FlagChecker(rtc_token_binary())
    failed = 0
    for doc in docs:
        blocks = extract(doc)
        errs = static_check(blocks, flags)
        for e in errs:
            print(f"doc-test: {e}", file=sys.stderr)
        try:
            run_doc(doc)
            print(f"doc-test: {doc}: ok ({len(blocks)} blocks)")
        except DocTestError as e:
            print(e, file=sys.stderr)
            failed += 1
        failed += bool(errs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
