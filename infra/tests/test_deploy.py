"""What a deploy ships and what it takes to ship it: `sam build` never reuses stale code, every
parameter that reaches a function reaches live traffic, the template's Rules refuse bad
combinations, the deployer policies cover what CloudFormation needs, and infra/README.md's deploy
commands, run in order with their parameters, give a stack the next plain deploy can update."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import cfnlint
import pytest
import sam_transform
from cfn_eval import Evaluated, as_list
from conftest import FUNCTIONS, ROOT, TEMPLATE, _raw

VENV_BIN = Path(sys.executable).parent
SAM = str(VENV_BIN / "sam")
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
POLICIES = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"


# ---------------------------------------------------------------------------- 1. sam build
def test_sam_build_never_reuses_a_stale_build():
    """SAM's build cache hashes only each function's CodeUri (functions/<fn>); the code that
    matters lives in crates/ and Cargo.lock, so a cached build ships old binaries after a fix there.
    Every environment therefore builds with `cached = false` (cargo's incremental build keeps it
    fast) and nothing in the repository asks for `--cached` or experimental features."""
    cfg = tomllib.loads((ROOT / "samconfig.toml").read_text())
    envs = [e for e in cfg if isinstance(cfg[e], dict) and "build" in cfg[e]]
    assert {"default", "staging", "production"} <= set(envs)
    for env in envs:
        assert cfg[env]["build"]["parameters"].get("cached") is False, env
        assert cfg[env]["global"]["parameters"]["language_extensions"] is True, env
        for cmd, section in cfg[env].items():
            assert "beta_features" not in section.get("parameters", {}), (env, cmd)
    raw = sam_transform.load(TEMPLATE)
    for v in FUNCTIONS.values():
        # the cache key SAM would use: only this directory, not the shared crates
        assert raw["Resources"][v["id"]]["Properties"]["CodeUri"] == f"functions/{v['name']}"
    for path in [ROOT / "README.md", ROOT / "infra/README.md", ROOT / "infra/RUNBOOK.md",
                 *(ROOT / ".github/workflows").glob("*.yml"), *(ROOT / "scripts").glob("*")]:
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not re.search(r"sam (build|sync)[^\n]*--cached", text), path
            assert "--beta-features" not in text, path


def _sam_build_until_cargo(tmp_path: Path, *extra: str) -> str:
    """Runs the documented `sam build` (samconfig.toml's default environment) with cargo out of
    PATH: SAM parses the template, plans every function and fails at the first compiler call,
    which is as far as a test may go without the slow arm64 release build."""
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "SAM_CLI_TELEMETRY": "0", "AWS_REGION": "eu-west-1"}
    p = subprocess.run([SAM, "build", "--build-dir", str(tmp_path / "build"), *extra], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    return p.stdout + p.stderr


def test_sam_build_reads_the_template_and_builds_for_its_architecture(tmp_path):
    out = _sam_build_until_cargo(tmp_path)
    assert re.search(r"Building codeuri: \S+/functions/agora-token runtime: provided.al2023 architecture: arm64 "
                     r"functions: AgoraTokenFunction", out), out
    assert "binary: cargo was not successful" in out, out
    # the samconfig setting that makes it work: without local Fn::ForEach expansion SAM cannot read it
    out = _sam_build_until_cargo(tmp_path, "--no-language-extensions")
    assert "Building codeuri" not in out


# ---------------------------------------------------------------------------- 2. live traffic
def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::Sub":
                pattern = v if isinstance(v, str) else v[0]
                out.update(re.findall(r"\$\{([A-Za-z0-9:]+)\}", pattern))
                _refs(v, out)
            elif k == "Fn::If":
                out.add(f"Condition:{v[0]}")
                _refs(v[1:], out)
            elif k == "Condition" and isinstance(v, str):
                out.add(f"Condition:{v}")
            else:
                _refs(v, out)
    elif isinstance(node, list):
        for x in node:
            _refs(x, out)


def parameters_reaching_the_functions(raw: dict) -> set[str]:
    """Every parameter a function's configuration or role depends on, through conditions too."""
    seen: set[str] = set()
    todo = [raw["Globals"]["Function"]]
    for v in FUNCTIONS.values():
        todo += [raw["Resources"][v["id"]], raw["Resources"][v["role"]]]
    names: set[str] = set()
    for node in todo:
        _refs(node, names)
    params = set(raw["Parameters"])
    while names - seen:
        name = (names - seen).pop()
        seen.add(name)
        if name.startswith("Condition:"):
            _refs(raw["Conditions"][name.split(":", 1)[1]], names)
    # (a referenced resource's own settings, e.g. a log group's retention, are not the function's)
    return seen & params


def variant(name: str, spec: dict) -> Any:
    """A valid value different from the default."""
    default = spec.get("Default")
    if "AllowedValues" in spec:
        return next(a for a in spec["AllowedValues"] if str(a) != str(default))
    if spec["Type"] == "Number":
        return int(default) + 1 if int(default) + 1 <= int(spec.get("MaxValue", 10**9)) else int(default) - 1
    pattern = spec.get("AllowedPattern", "")
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:changed-AbCdEf"
    for probe in (arn, "arn:aws:kms:eu-west-1:123456789012:key/changed", "https://changed.example.com/",
                  "7", "changed"):
        if probe != default and re.fullmatch(pattern or ".*", probe):
            return probe
    raise AssertionError(f"no variant for {name}")


def invoked(ev: Evaluated, route: str) -> tuple:
    """What a request to `route` runs: the integration's target, followed to the function (and its
    role) when unqualified, or to the published version behind an alias."""
    (r,) = [x["Properties"] for x in ev.of_type("AWS::ApiGatewayV2::Route").values()
            if ev.value(x["Properties"]["RouteKey"]) == f"POST {route}"]
    integ = ev.resources[r["Target"][len("Sub:integrations/${"):-1]]["Properties"]
    target = integ["IntegrationUri"]
    if target.startswith("Ref:"):  # an alias: what it points at is a published version
        alias = ev.resources[target[4:]]["Properties"]
        version_id = alias["FunctionVersion"].split(":", 1)[1].split(".")[0]
        return ("version", version_id, json.dumps(ev.resources[version_id], sort_keys=True))
    fn_id = target.split(":", 1)[1].rsplit(".", 1)[0]
    fn = ev.resources[fn_id]["Properties"]
    role = ev.resources[fn["Role"].split(":", 1)[1].rsplit(".", 1)[0]]
    return ("$LATEST", json.dumps(fn, sort_keys=True), json.dumps(role, sort_keys=True))


def _deployed(template: dict, overrides: dict) -> Evaluated:
    return Evaluated(sam_transform.transform(template, overrides), overrides)


def test_every_parameter_that_reaches_a_function_reaches_the_api():
    """Change any one parameter a function reads or is (environment, memory, timeout, role): the
    thing the API invokes for every route changes with it. The routes invoke the functions
    unqualified, so CloudFormation's update of the function is what the next request runs."""
    raw = _raw()
    params = parameters_reaching_the_functions(raw)
    # the test is only as good as this set: spot-check that it found the kinds the issue names
    assert {"AuthIssuer", "PolicyJson", "FunctionMemorySize", "FunctionTimeout", "RustLog", "AgoraSecretArn",
            "EnableAccessTable", "AuthHs256SecretArn", "ApplicationLogLevel", "ReservedConcurrency"} <= params
    assert len(params) >= 40, sorted(params)
    # the tunables of an optional feature reach the functions when the feature is on
    contexts = {"Access": {"EnableAccessTable": "true"}, "AuthzWebhook": {"AuthzWebhookUrl": "https://hooks.example.com/"}}
    for name in sorted(params):
        context = next((c for prefix, c in contexts.items() if name.startswith(prefix) and name not in c), {})
        base = _deployed(raw, context)
        before = {v["route"]: invoked(base, v["route"]) for v in FUNCTIONS.values()}
        ev = _deployed(raw, {**context, name: variant(name, raw["Parameters"][name])})
        changed = [route for route in before if invoked(ev, route) != before[route]]
        own = {"AgoraSecretArn": ["/agora/token"], "LivekitSecretArn": ["/livekit/token"],
               "StreamSecretArn": ["/stream/token"]}.get(name)
        assert changed == (own or list(before)), f"{name}: the API still invokes the old configuration on {set(before) - set(changed)}"
        for route in before:
            assert invoked(ev, route)[0] == "$LATEST"


def test_the_check_catches_an_alias_left_on_an_old_version():
    """Control: with SAM's AutoPublishAlias (what the template had), the API invokes a version whose
    logical id SAM derives from the unresolved !Refs, so a parameter-only change is not seen."""
    raw = copy.deepcopy(_raw())
    raw["Globals"]["Function"]["AutoPublishAlias"] = "live"
    for name, res in raw["Resources"].items():
        if res["Type"] == "AWS::ApiGatewayV2::Integration":
            fn = res["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
            res["Properties"]["IntegrationUri"] = {"Ref": f"{fn}Aliaslive"}
    before = invoked(_deployed(raw, {}), "/agora/token")
    after = invoked(_deployed(raw, {"AuthIssuer": "https://changed.example.com/"}), "/agora/token")
    assert before[0] == "version" and before == after, "the alias kept the old version: the bug this guards"


# ---------------------------------------------------------------------------- 3. Rules
def rules_refuse(overrides: dict) -> list[str]:
    """The AssertDescriptions of the template's Rules that `overrides` break (CloudFormation
    refuses the change set with these messages before touching anything)."""
    raw = _raw()
    ev = Evaluated({"Parameters": raw["Parameters"], "Conditions": {}, "Resources": {}}, overrides)
    broken = []
    for rule in raw["Rules"].values():
        if "RuleCondition" in rule and not ev._cond(rule["RuleCondition"]):
            continue
        broken += [a["AssertDescription"] for a in rule["Assertions"] if not ev._cond(a["Assert"])]
    return broken


ISSUER = {"AuthIssuer": "https://issuer.example.com/"}


@pytest.mark.parametrize("overrides, fragment", [
    ({}, "need AuthIssuer"),                                        # the default oidc without an issuer
    ({"AuthProvider": "jwks"}, "need AuthIssuer"),
    ({"AuthProvider": "hs256", **ISSUER}, "needs AuthHs256SecretArn"),
    ({**ISSUER, "CustomDomainName": "tokens.example.com"}, "needs CustomDomainCertificateArn"),
    ({**ISSUER, "CustomDomainCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}, "only with CustomDomainName"),
    ({**ISSUER, "EnableAccessTable": "true", "AuthzWebhookUrl": "https://hooks.example.com/"}, "not both"),
    ({**ISSUER, "ApiJwtIssuer": "https://issuer.example.com/"}, "set ApiJwtAudience"),
    ({"AuthProvider": "hs256", **ISSUER, "AuthHs256SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf",
      "ApiJwtIssuer": "https://issuer.example.com/", "ApiJwtAudience": "x"}, "refuse every hs256 caller"),
])
def test_rules_refuse_bad_combinations(overrides, fragment):
    broken = rules_refuse(overrides)
    assert any(fragment in b for b in broken), broken


@pytest.mark.parametrize("overrides", [
    ISSUER,
    {"AuthProvider": "auth0", "Auth0Domain": "example.eu.auth0.com"},   # presets derive the issuer
    {"AuthProvider": "cognito", "CognitoUserPoolId": "eu-west-1_AbC", "ApiJwtIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC", "ApiJwtAudience": "client"},
])
def test_rules_accept_good_combinations(overrides):
    assert rules_refuse(overrides) == []


def test_secret_arn_parameters_take_only_full_arns():
    raw = _raw()
    names = [n for n, p in raw["Parameters"].items() if n.endswith("SecretArn")]
    assert len(names) == 6
    for n in names:
        pat = raw["Parameters"][n]["AllowedPattern"]
        assert re.fullmatch(pat, "") and re.fullmatch(pat, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rtc/agora-AbC12d")
        # a partial ARN (no random suffix) or a bare name would make IAM grant the wrong thing
        assert not re.fullmatch(pat, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rtc/agora")
        assert not re.fullmatch(pat, "rtc/agora-AbC12d")


def test_no_reserved_concurrency_unless_asked():
    cfg = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert _raw()["Parameters"]["ReservedConcurrency"]["Default"] == ""
    for env in (e for e in cfg.values() if isinstance(e, dict)):
        overrides = env.get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
        assert not any(o.startswith("ReservedConcurrency=") for o in overrides)


# ---------------------------------------------------------------------------- 4. deployer policy
def _known_iam_actions() -> dict[str, set[str]]:
    data = json.loads(POLICIES.read_text())
    return {svc.lower(): {a.lower() for a in spec.get("Actions", {})} for svc, spec in data.items()}


def handler_permissions(rtype: str) -> set[str]:
    """create + update + delete permissions from the resource's CloudFormation schema (as cfn-lint
    ships it), keeping only real IAM actions: a few schemas list names IAM does not have
    (e.g. s3:REST.PUT.OBJECT, apigateway:TagResource), which no policy can grant."""
    provider = json.loads((SCHEMAS / "providers" / "eu-west-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{provider[rtype]}.json").read_text())
    known = _known_iam_actions()
    out = set()
    for op in ("create", "update", "delete"):
        # (a type without an update handler is replaced, i.e. created and deleted, on change)
        for perm in schema["handlers"].get(op, {}).get("permissions", []):
            svc, _, action = perm.partition(":")
            if action.lower() in known.get(svc.lower(), set()):
                out.add(f"{svc.lower()}:{action.lower()}")
    return out


def deployed_resource_types() -> set[str]:
    """Every resource type the transformed template can create, all options on."""
    from conftest import SCENARIOS, evaluated
    types = set()
    for scenario in SCENARIOS:
        types |= {r["Type"] for r in evaluated(scenario).template["Resources"].values()}
    return types


def policy_actions(statements: list[dict]) -> set[str]:
    return {a.lower() for st in statements if st["Effect"] == "Allow" for a in as_list(st["Action"])}


def deployer_policies() -> dict[str, set[str]]:
    deployer = json.loads((ROOT / "infra/policies/deployer.json").read_text())["Statement"]
    pipeline = sam_transform.load(ROOT / "infra/pipeline.yaml")
    role = pipeline["Resources"]["CloudFormationExecutionRole"]["Properties"]["Policies"][0]
    return {"deployer.json": policy_actions(deployer),
            "pipeline.yaml CloudFormationExecutionRole": policy_actions(role["PolicyDocument"]["Statement"])}


def test_deployer_policies_cover_every_handler_permission():
    types = deployed_resource_types()
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Authorizer", "AWS::DynamoDB::Table",
            "AWS::Route53::RecordSet", "AWS::SNS::Topic"} <= types
    for name, granted in deployer_policies().items():
        for rtype in sorted(types):
            missing = handler_permissions(rtype) - granted
            assert not missing, f"{name} cannot create/update/delete {rtype}: {sorted(missing)}"


def test_deployer_policies_grant_nothing_else():
    """Least privilege: besides the handler permissions, only the deploy tool's own calls (change
    sets, the artifact bucket) and no wildcard actions."""
    needed = set().union(*(handler_permissions(t) for t in deployed_resource_types()))
    tool = {a.lower() for a in (
        "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DescribeChangeSet",
        "cloudformation:DeleteChangeSet", "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStackResource", "cloudformation:GetTemplate", "cloudformation:GetTemplateSummary",
        "cloudformation:ListStackResources", "cloudformation:ValidateTemplate",
        "s3:CreateBucket", "s3:PutObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutBucketPolicy",
        "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging", "s3:GetBucketLocation",
        # read back by CloudFormation after a change (drift/describe), not listed by every schema
        "lambda:GetFunctionConfiguration", "lambda:ListTags", "logs:GetLogDelivery", "logs:ListLogDeliveries",
        "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "acm:DescribeCertificate")}
    for name, granted in deployer_policies().items():
        assert not any("*" in a for a in granted), name
        extra = granted - needed - tool
        assert not extra, f"{name} grants more than CloudFormation needs: {sorted(extra)}"


def test_pipeline_roles_use_oidc_and_least_privilege():
    tpl = sam_transform.load(ROOT / "infra/pipeline.yaml")
    res = tpl["Resources"]
    assert res["GitHubOidcProvider"]["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    trust = res["PipelineExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (st,) = trust
    assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
    cond = st["Condition"]["StringEquals"]
    assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subs = [s["Fn::Sub"] for s in cond["token.actions.githubusercontent.com:sub"]]
    assert subs == ["repo:${GitHubRepository}:environment:staging", "repo:${GitHubRepository}:environment:production"]
    assert not any(r["Type"] in ("AWS::IAM::User", "AWS::IAM::AccessKey") for r in res.values()), "no stored keys"
    pipeline = res["PipelineExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = policy_actions(pipeline)
    # the deploy jobs never create resources themselves: CloudFormation does, with the execution role
    assert not {a for a in actions if a.split(":")[0] in ("lambda", "iam", "dynamodb", "secretsmanager")} - {"iam:passrole"}
    (pass_role,) = [s for s in pipeline if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    bucket = res["ArtifactsBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


# ---------------------------------------------------------------------------- 5. infra/README.md
def readme_commands() -> list[str]:
    """The shell commands of infra/README.md's deploy walkthrough, continuation lines joined."""
    text = (ROOT / "infra/README.md").read_text()
    section = text[text.index("## Deploy"):text.index("## What the template decides")]
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#"):
                cmds.append(line)
    return cmds


CALLER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rtc/rtc-tokens-dev/caller-hs256-AbCdEf"


def offline(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(cwd), SAM_CLI_TELEMETRY="0", AWS_EC2_METADATA_DISABLED="true",
               AWS_REGION="eu-west-1", PATH=f"{VENV_BIN}:{env.get('PATH', '')}")
    prefix = ["unshare", "-rn"] if shutil.which("unshare") and subprocess.run(
        ["unshare", "-rn", "true"], capture_output=True).returncode == 0 else []
    return subprocess.run(prefix + cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_deploy_commands_in_order(tmp_path):
    """Takes the `sam` commands of infra/README.md in order, runs the first deploy literally (offline:
    it saves its parameters into samconfig.toml, then stops at the missing credentials), and checks
    that the saved configuration is what the next plain `sam build && sam deploy` needs: it passes
    `sam validate`, the template's Rules and the transform, and sets the caller-auth variables."""
    cmds = readme_commands()
    sam_cmds = [c for c in cmds if c.startswith("sam ")]
    assert sam_cmds[0] == "sam build", sam_cmds
    first = sam_cmds[1]
    assert first.startswith("sam deploy") and "--save-params" in first and "--parameter-overrides" in first
    assert not any("--stack-name" in c for c in sam_cmds), "the stack name comes from samconfig.toml"
    text = (ROOT / "infra/README.md").read_text()
    assert "`sam build && sam deploy`" in text and "sam deploy --config-env production" in text

    for f in ("template.yaml", "samconfig.toml"):
        shutil.copy(ROOT / f, tmp_path / f)
    # the plain deploy before the first one is refused by the Rules, not half-created
    assert rules_refuse({}) != []
    argv = shlex.split(first.replace('"$CALLER_ARN"', CALLER_ARN).replace("$CALLER_ARN", CALLER_ARN))
    p = offline([SAM if argv[0] == "sam" else argv[0], *argv[1:], "--region", "eu-west-1"], tmp_path)
    assert "Saved parameters to config file" in p.stdout + p.stderr, p.stdout + p.stderr

    cfg = tomllib.loads((tmp_path / "samconfig.toml").read_text())
    saved = cfg["default"]["deploy"]["parameters"]["parameter_overrides"]
    saved = saved if isinstance(saved, dict) else dict(o.split("=", 1) for o in saved)
    assert saved["AuthProvider"] == "hs256" and saved["AuthHs256SecretArn"] == CALLER_ARN
    assert cfg["default"]["global"]["parameters"]["stack_name"] == "rtc-tokens-dev"
    assert rules_refuse(saved) == [], "the saved parameters pass the template's Rules"
    ev = _deployed(_raw(), saved)
    for v in FUNCTIONS.values():
        env = ev.resources[v["id"]]["Properties"]["Environment"]["Variables"]
        assert env["AUTH_PROVIDER"] == "hs256" and env["AUTH_ISSUER"] == saved["AuthIssuer"]
        assert env["AUTH_HS256_SECRET_ID"] == CALLER_ARN
    # production, as the README says: its placeholders pass the Rules too
    prod = dict(o.split("=", 1) for o in cfg["production"]["deploy"]["parameters"]["parameter_overrides"])
    assert rules_refuse(prod) == []
    _deployed(_raw(), prod)
    # and `sam validate --lint` (what `sam build` parses) accepts the template in that directory
    p = offline([SAM, "validate", "--lint", "--region", "eu-west-1"], tmp_path)
    assert p.returncode == 0 and "is a valid SAM Template" in p.stdout + p.stderr, p.stdout + p.stderr
