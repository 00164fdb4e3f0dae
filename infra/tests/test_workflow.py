"""The deploy pipeline (.github/workflows/deploy.yml): its shape (tests, sam build, staging, smoke
test, approval, production), AWS credentials only through OIDC, and a clean workflow lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.y*ml"))
ZIZMOR = str(Path(sys.executable).with_name("zizmor"))


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def zizmor(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ZIZMOR, "--offline", "--no-progress", "--", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_pipeline_stages_in_order():
    wf = load(ROOT / ".github/workflows/deploy.yml")
    jobs = wf["jobs"]
    assert list(jobs) == ["test", "build", "deploy-staging", "deploy-production"]
    assert jobs["build"]["needs"] == "test"
    assert jobs["deploy-staging"]["needs"] == "build"
    assert jobs["deploy-production"]["needs"] == "deploy-staging"
    runs = {name: "\n".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert "./scripts/test" in runs["test"]
    assert "sam build" in runs["build"] and "--cached" not in runs["build"]
    assert "--config-env staging" in runs["deploy-staging"]
    assert "./scripts/smoke-test.sh --stack rtc-tokens-staging" in runs["deploy-staging"]
    assert "--config-env production" in runs["deploy-production"]
    # the approval: production runs in a GitHub environment whose reviewers must approve
    assert jobs["deploy-staging"]["environment"] == "staging"
    assert jobs["deploy-production"]["environment"] == "production"
    # both deploy the artifact the build job made (the one staging tested), not a new build
    for name in ("deploy-staging", "deploy-production"):
        assert "sam build" not in runs[name]
        assert "--template-file .aws-sam/build/template.yaml" in runs[name]


def test_aws_credentials_only_through_oidc():
    wf = load(ROOT / ".github/workflows/deploy.yml")
    assert wf["permissions"] == {"contents": "read"}
    text = (ROOT / ".github/workflows/deploy.yml").read_text()
    for stored in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert stored not in text
    for name, job in wf["jobs"].items():
        creds = [s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
        if not creds:
            assert "id-token" not in job.get("permissions", {}), name
            continue
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        (step,) = creds
        assert set(step["with"]) == {"role-to-assume", "aws-region"}, name
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_PIPELINE_ROLE_ARN }}"


def test_workflows_lint_clean():
    assert WORKFLOWS, "no workflow to lint"
    for path in WORKFLOWS:
        p = zizmor(path)
        assert p.returncode == 0, p.stdout + p.stderr


def test_workflow_lint_catches_mistakes(tmp_path):
    """The linter really looks: a broken file and a script injection both fail."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - name: x: y\n        run: true\n")
    assert zizmor(broken).returncode != 0
    injected = tmp_path / "injected.yml"
    injected.write_text(
        "on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    p = zizmor(injected)
    assert p.returncode != 0 and "template-injection" in p.stdout + p.stderr
