"""The template and the Rust code must agree: routes, environment variable names, secret-id
variables, metric names and dimension, secret JSON shapes, cargo packages and binaries. The code
side is read from the sources (string literals), so renaming something in one place and not the
other fails here instead of failing silently in a deployment."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from conftest import FUNCTIONS, ROOT, evaluated

# Where the Lambda functions' configuration is read (the CLI's local server has its own extras).
CODE_DIRS = [ROOT / "crates/token-service/src", ROOT / "crates/caller-auth/src"] + [
    ROOT / "functions" / v["name"] / "src" for v in FUNCTIONS.values()
]
# Variables the code reads that a deployment must NOT set, or that Lambda sets itself.
NOT_DEPLOYED = {
    "AWS_LAMBDA_FUNCTION_NAME",  # set by Lambda; the metric dimension
    "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_FORMAT",  # set by Lambda from LoggingConfig
    "AUTH_HS256_SECRET",  # local server only: the plain secret; Lambda uses AUTH_HS256_SECRET_ID
}
# Literal env reads: get("X"), var("X"), require("X", ..), nonempty(get, "X"), env::var("X"), ...
ENV_READ = re.compile(
    r"\b(?:get|var|flag|require|nonempty|env::var|env::var_os|std::env::var|lookup|getenv)\(\s*(?:[a-z_&]+\s*,\s*)?"
    r"\"([A-Z][A-Z0-9_]+)\""
)


def non_test_source(path: Path) -> str:
    """The file up to its `#[cfg(test)]` module (test code sets variables, it does not read config)."""
    text = path.read_text()
    cut = text.find("#[cfg(test)]")
    return text if cut < 0 else text[:cut]


def code_sources() -> dict[Path, str]:
    files = {}
    for d in CODE_DIRS:
        for p in sorted(d.rglob("*.rs")) if d.exists() else []:
            files[p] = non_test_source(p)
    return files


def literals(text: str) -> set[str]:
    return set(re.findall(r'"((?:[^"\\]|\\.)*)"', text))


@pytest.fixture(scope="module")
def code():
    src = code_sources()
    if not any("Provider" in t for t in src.values()):
        pytest.fail("the token-service sources are not there yet (crates/token-service/src)")
    return src


@pytest.fixture(scope="module")
def env_read_by_code(code) -> set[str]:
    names = set()
    for text in code.values():
        names |= set(ENV_READ.findall(text))
    # the provider secret variables come from a mapping (Provider::secret_id_var)
    names |= {lit for text in code.values() for lit in literals(text) if re.fullmatch(r"[A-Z]+_SECRET_ID", lit)}
    return names


def template_env(scenario: str = "defaults") -> dict[str, set[str]]:
    """Function -> the names of every variable the template can set (Globals + function)."""
    ev = evaluated(scenario, transformed=False)
    raw = ev.template
    glob = set(raw["Globals"]["Function"]["Environment"]["Variables"])
    return {k: glob | set(raw["Resources"][v["id"]]["Properties"]["Environment"]["Variables"]) for k, v in FUNCTIONS.items()}


def test_every_template_variable_is_read_by_the_code(env_read_by_code):
    for fkey, names in template_env().items():
        unknown = names - env_read_by_code - {"RUST_LOG"}
        assert not unknown, f"{fkey}: the template sets variables no code reads: {sorted(unknown)}"


def test_every_variable_the_code_reads_is_deployable(env_read_by_code):
    deployable = set().union(*template_env().values())
    missing = env_read_by_code - deployable - NOT_DEPLOYED
    assert not missing, f"the code reads variables the template cannot set: {sorted(missing)}"
    assert not (deployable & NOT_DEPLOYED), "the template must not set local-only / Lambda-owned variables"


def test_rust_log_is_honoured(code):
    assert any("RUST_LOG" in t for t in code.values()), "the template sets RUST_LOG; the code should use it"


def test_each_function_gets_only_its_own_secret_id(code, env_read_by_code):
    raw = evaluated("defaults", transformed=False).template
    glob = raw["Globals"]["Function"]["Environment"]["Variables"]
    all_secret_vars = {v["secret_env"] for v in FUNCTIONS.values()}
    assert all_secret_vars <= env_read_by_code, "the code reads <PROVIDER>_SECRET_ID for each provider"
    assert not (set(glob) & all_secret_vars), "provider secret ids are per function, never global"
    for fkey, v in FUNCTIONS.items():
        own = set(raw["Resources"][v["id"]]["Properties"]["Environment"]["Variables"])
        assert own & all_secret_vars == {v["secret_env"]}, fkey
    # the code maps each provider to exactly these names
    lib = "".join(code.values())
    for v in FUNCTIONS.values():
        assert f'"{v["secret_env"]}"' in lib


def test_routes_match_the_code(code):
    routes_in_code = {lit for text in code.values() for lit in literals(text) if re.fullmatch(r"/[a-z]+/token", lit)}
    assert routes_in_code == {v["route"] for v in FUNCTIONS.values()}
    ev = evaluated("defaults", transformed=False)
    route_keys = {ev.value(r["Properties"]["RouteKey"]) for r in ev.of_type("AWS::ApiGatewayV2::Route").values()}
    assert route_keys == {f"POST {v['route']}" for v in FUNCTIONS.values()}
    stage = ev.template["Resources"]["TokenApiApiGatewayDefaultStage"]["Properties"]
    assert set(stage["RouteSettings"]) == route_keys


def test_packages_and_binaries_match_the_build_metadata():
    raw = evaluated("defaults", transformed=False).template
    ws = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for v in FUNCTIONS.values():
        res = raw["Resources"][v["id"]]
        crate_dir = ROOT / res["Properties"]["CodeUri"]
        manifest = tomllib.loads((crate_dir / "Cargo.toml").read_text())
        assert manifest["package"]["name"] == v["name"]
        bins = [b["name"] for b in manifest.get("bin", [])] or [manifest["package"]["name"]]
        assert res["Metadata"]["BuildProperties"]["Binary"] in bins
        assert f"functions/{v['name']}" in ws["workspace"]["members"]


def test_metrics_match_the_code(code):
    telemetry = "".join(code.values())
    for metric in ("TokensIssued", "AuthFailed", "PolicyDenied", "SecretErrors"):
        assert f'"{metric}"' in telemetry, metric
    assert '"Function"' in telemetry, "the EMF dimension is named Function"
    raw = evaluated("defaults", transformed=False).template
    assert f'"{raw["Parameters"]["MetricsNamespace"]["Default"]}"' in telemetry, "same default namespace"
    # the template's alarms use the deployed function name as the dimension value, because that
    # is what the code puts there in Lambda:
    assert '"AWS_LAMBDA_FUNCTION_NAME"' in telemetry, (
        "the code no longer takes the Function dimension from AWS_LAMBDA_FUNCTION_NAME: "
        "change the alarms' Function dimension in template.yaml to match"
    )


def test_auth_provider_values_are_known_to_the_code(code):
    raw = evaluated("defaults", transformed=False).template
    allowed = raw["Parameters"]["AuthProvider"]["AllowedValues"]
    caller_auth = "".join(t for p, t in code.items() if "caller-auth" in str(p))
    for name in allowed:
        assert f'"{name}"' in caller_auth, f"AUTH_PROVIDER={name} is not a preset of caller-auth"


SHAPES = {
    "agora": {"app_id", "app_certificate"},
    "livekit": {"api_key", "api_secret", "url"},
    "stream": {"api_key", "api_secret"},
    "caller-hs256": {"secret", "previous"},
    "authz-webhook": {"secret"},
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_secret_examples_have_the_shapes_the_code_parses(name):
    example = json.loads((ROOT / "infra/secrets" / f"{name}.example.json").read_text())
    assert set(example) == SHAPES[name]
    # the field names are parsed somewhere in the Rust sources (signing crate or service)
    rust = "".join(p.read_text() for d in ("crates/rtc-signing/src", "crates/token-service/src", "crates/caller-auth/src")
                   for p in (ROOT / d).rglob("*.rs"))
    for field in SHAPES[name]:
        assert re.search(rf'(?:"{field}"|\b{field}\s*:)', rust), f"{name}.{field} not found in the Rust sources"


def _fn_body(text: str, name: str) -> str:
    start = text.find(f"fn {name}(")
    assert start >= 0, f"fn {name} not found: update this test with the new hot-path function name"
    nxt = text.find("\n    pub async fn ", start + 1)
    return text[start: nxt if nxt > 0 else len(text)]


def test_dynamodb_actions_match_the_hot_path_calls(code):
    """The functions' DynamoDB permissions are exactly the SDK calls of the request path."""
    dynamo = next((t for p, t in code.items() if p.name == "dynamo.rs"), None)
    assert dynamo is not None, "crates/token-service/src/access/dynamo.rs not found"
    ops = set()
    for fn in ("read_state", "take_quota"):
        ops |= set(re.findall(r"\.([a-z_]+_item)\(\)", _fn_body(dynamo, fn)))
    iam = {"batch_get_item": "dynamodb:BatchGetItem", "update_item": "dynamodb:UpdateItem",
           "get_item": "dynamodb:GetItem", "put_item": "dynamodb:PutItem", "delete_item": "dynamodb:DeleteItem"}
    ev = evaluated("all_on")
    role = ev.resources[FUNCTIONS["agora"]["role"]]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {a for st in role for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
               if a.startswith("dynamodb:")}
    assert granted == {iam[o] for o in ops}
    # the quota key prefix the UpdateItem condition relies on
    assert '"QUOTA#{subject}"' in dynamo or '"QUOTA#"' in dynamo
