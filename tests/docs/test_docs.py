"""The documentation test (tests/docs/doctest_md.py): first the harness itself on small documents
(markers, documented output, a renamed event file, a renamed flag), then every shell block of the
real documents, run as a user would, in order, each document from a fresh state.

Run: .venv/bin/python -m pytest -q tests/docs   (scripts/test runs it as the `docs` stage)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import doctest_md as dt  # noqa: E402

ROOT = dt.ROOT


@pytest.fixture(scope="session")
def flags() -> dt.FlagChecker:
    return dt.FlagChecker(dt.rtc_token_binary())


def blocks_of(text: str, doc: str = "T.md") -> list[dt.Block]:
    return dt.extract(doc, text)


def run_text(text: str, tmp_path: Path) -> str:
    return dt.run_doc("T.md", log_root=tmp_path, blocks=blocks_of(text), timeout=120)


# ------------------------------------------------------------------ the harness on small documents


def test_markers_are_parsed_and_must_name_lines_of_their_block():
    bs = blocks_of(
        "# t\n\n```sh\necho a\n```\n\n<!-- doc-test: skip (needs an AWS account) -->\n```bash\naws s3 ls\n```\n"
        '<!-- doc-test: background "python3 -m http.server" until 127.0.0.1:1; '
        'skip-line "./scripts/test" (recursion) -->\n```sh\npython3 -m http.server   # terminal 1\n./scripts/test\n```\n'
        "```json\n{}\n```\n"
    )
    assert [b.lang for b in bs] == ["sh", "bash", "sh"]
    assert bs[0].skip is None and bs[1].skip == "needs an AWS account"
    assert bs[2].background == {"python3 -m http.server": "127.0.0.1:1"}
    assert bs[2].skip_lines == {"./scripts/test": "recursion"}
    assert bs[0].line == 3
    with pytest.raises(dt.DocTestError, match="not a line of the block"):
        blocks_of('<!-- doc-test: skip-line "./scripts/tests" (renamed) -->\n```sh\n./scripts/test\n```\n')
    with pytest.raises(dt.DocTestError, match="unknown doc-test directive"):
        blocks_of("<!-- doc-test: skpi (typo) -->\n```sh\nls\n```\n")


def test_documented_json_output_is_compared():
    ok = dt.json_matches(
        {"token": "007eJx...", "n": 1, "l": ["a"], "s": "exact"},
        {"token": "007eJxABC", "n": 1796000000, "l": ["a"], "s": "exact"},
    )
    assert ok == []
    assert dt.json_matches({"token": "007eJx..."}, {"token": "006abc"})
    assert dt.json_matches({"a": 1}, {"a": 1, "b": 2}), "an undocumented key"
    assert dt.json_matches({"s": "x"}, {"s": "y"})
    assert dt.json_matches({"n": 1}, {"n": "1"})


def test_a_session_runs_in_order_and_fails_on_a_wrong_output(tmp_path):
    out = run_text(
        "```sh\nexport X=1\necho '{\"x\":\"'$X'\",\"t\":\"abcdef\"}'\n"
        '# {"x":"1","t":"abc..."}\n```\n\ntext\n\n```sh\n[ "$X" = 1 ]   # the session goes on\n```\n',
        tmp_path,
    )
    assert "all blocks ran" in out
    with pytest.raises(dt.DocTestError, match="output differs"):
        run_text('```sh\necho \'{"x":"2"}\'\n# {"x":"1"}\n```\n', tmp_path)
    with pytest.raises(dt.DocTestError, match="the session failed"):
        run_text("```sh\ntrue\nfalse\necho never\n```\n", tmp_path)


def test_background_commands_are_waited_for_and_stopped(tmp_path):
    port = 18931
    py = sys.executable
    text = (
        f'<!-- doc-test: background "{py} -m http.server --bind 127.0.0.1 {port}" until 127.0.0.1:{port} -->\n'
        f"```sh\n{py} -m http.server --bind 127.0.0.1 {port}   # terminal 1\n"
        f"curl -sf -o /dev/null http://127.0.0.1:{port}/\n```\n"
    )
    out = run_text(text, tmp_path)
    assert f"127.0.0.1:{port} answers" in out
    assert not dt.port_open(f"127.0.0.1:{port}"), "stopped with the session"
    # Skipped blocks and lines are not run.
    run_text('<!-- doc-test: skip (never) -->\n```sh\nfalse\n```\n'
             '<!-- doc-test: skip-line "false" (no) -->\n```sh\nfalse\ntrue\n```\n', tmp_path)


def docs_copy(tmp_path: Path) -> Path:
    """The documents and events/ in a temp tree, for mutation."""
    for d in ("events", "docs", "scripts"):
        shutil.copytree(ROOT / d, tmp_path / d)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_a_renamed_event_file_fails(tmp_path, flags):
    tree = docs_copy(tmp_path)
    doc = "events/README.md"
    blocks = dt.extract(doc, (tree / doc).read_text())
    assert dt.static_check(blocks, flags, root=tree) == []
    (tree / "events/agora-valid.json").rename(tree / "events/agora-ok.json")
    errs = dt.static_check(blocks, flags, root=tree)
    assert any("events/agora-valid.json does not exist" in e for e in errs), errs
    readme = dt.extract("README.md", (tree / "README.md").read_text())
    assert any("agora-valid.json" in e for e in dt.static_check(readme, flags, root=tree))
    # The manifest replay catches it too (a manifest entry without its file).
    errs = dt.replay_events(tmp_path / "no-invokes", tree / "events" / "manifest.json")
    assert errs == []  # nothing invoked, nothing compared
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "invoke-0000.json").write_text(
        '{"rc": 1, "started": 0, "where": "events/README.md:40", "stdout": "",'
        ' "args": ["lambda", "invoke", "agora-token", "--data-file", "events/agora-valid.json"]}'
    )
    errs = dt.replay_events(tmp_path / "rec", tree / "events" / "manifest.json")
    assert any("failed (exit 1)" in e for e in errs), errs


def test_event_answers_are_compared_with_the_manifest():
    entry = {"file": "agora-valid.json", "function": "agora", "status": 200,
             "body": {"account": "alice"}, "ttl": 600}
    now = int(dt.time.time())
    answer = lambda status, body: dt.json.dumps({"statusCode": status, "body": dt.json.dumps(body)})  # noqa: E731
    good = {"account": "alice", "token": "007eJx" + "A" * 40, "expiresAt": now + 600}
    assert dt.check_event(entry, "agora-token", answer(200, good), now, "w") == []
    assert dt.check_event(entry, "agora-token", answer(401, good), now, "w")
    assert dt.check_event(entry, "stream-token", answer(200, good), now, "w")
    assert dt.check_event(entry, "agora-token", answer(200, {**good, "account": "bob"}), now, "w")
    assert dt.check_event(entry, "agora-token", answer(200, {**good, "expiresAt": now + 3600}), now, "w")
    assert dt.check_event(entry, "agora-token", "Error: connection refused", now, "w")
    assert dt.function_name(["lambda", "invoke", "--invoke-port", "9311", "agora-token", "-F", "x"]) == "agora-token"


def test_a_renamed_documented_flag_fails(tmp_path, flags):
    text = (ROOT / "README.md").read_text()
    assert "dev-jwt --sub alice" in text
    blocks = dt.extract("README.md", text.replace("dev-jwt --sub alice", "dev-jwt --subject alice"))
    errs = dt.static_check(blocks, flags)
    assert any("`rtc-token dev-jwt` has no option --subject" in e for e in errs), errs
    # ... and running it fails as well (exit 2 from rtc-token).
    with pytest.raises(dt.DocTestError, match="the session failed"):
        run_text(f"```sh\n{flags.rtc_token} dev-jwt --subject alice\n```\n", tmp_path)
    lam = dt.extract("T.md", "```sh\ncargo lambda invoke agora-token --data-fil events/x.json\n```\n")
    assert any("`cargo lambda invoke` has no option --data-fil" in e for e in dt.static_check(lam, flags))


# ------------------------------------------------------------------ the real documents


@pytest.mark.parametrize("doc", dt.DOCS)
def test_document(doc, flags, tmp_path):
    blocks = dt.extract(doc)
    errs = dt.static_check(blocks, flags)
    assert errs == [], "\n".join(errs)
    dt.run_doc(doc, log_root=tmp_path)
