"""cfn-lint on the template as written and on the CloudFormation the SAM transform makes of it,
and samconfig.toml against the template's parameters (fast; scripts/check-deploy.sh adds
`sam validate --lint` and the arm64 builds)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import sam_transform
from conftest import ROOT, SCENARIOS, TEMPLATE


# the cfn-lint console script of the interpreter running the tests (its venv)
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))


def cfn_lint(path) -> subprocess.CompletedProcess:
    return subprocess.run([CFN_LINT, "--non-zero-exit-code", "warning", "--", str(path)],
                          capture_output=True, text=True, timeout=300)


def test_template_lints_clean():
    p = cfn_lint(TEMPLATE)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_transformed_template_lints_clean(scenario, tmp_path):
    out = tmp_path / f"{scenario}.json"
    out.write_text(json.dumps(sam_transform.transform(sam_transform.load(TEMPLATE), SCENARIOS[scenario])))
    p = cfn_lint(out)
    assert p.returncode == 0, p.stdout + p.stderr


def test_lint_catches_a_broken_template(tmp_path):
    """The linter really looks (guards against a silently skipped check)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEMPLATE.read_text().replace("Runtime: provided.al2023", "Runtime: provided.al2099"))
    out = tmp_path / "bad.json"
    out.write_text(json.dumps(sam_transform.transform(sam_transform.load(bad))))
    p = cfn_lint(out)
    assert p.returncode != 0 and "provided.al2099" in p.stdout


def test_samconfig_environments_use_real_parameters():
    cfg = tomllib.loads((ROOT / "samconfig.toml").read_text())
    params = sam_transform.load(TEMPLATE)["Parameters"]
    for env in ("default", "staging", "production"):
        deploy = cfg[env]["deploy"]["parameters"]
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        assert cfg[env]["global"]["parameters"]["stack_name"]
        # default and staging get theirs from the first `sam deploy --save-params` / the pipeline
        for item in deploy.get("parameter_overrides", []):
            key, _, value = item.partition("=")
            assert key in params, f"{env}: unknown parameter {key}"
            allowed = params[key].get("AllowedValues")
            if allowed:
                assert value in [str(a) for a in allowed], f"{env}: {key}={value} not allowed"
    assert cfg["production"]["deploy"]["parameters"]["confirm_changeset"] is True
