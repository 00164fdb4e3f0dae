"""Security properties of template.yaml, checked on the CloudFormation that a deployment creates
(after the SAM transform), for several parameter scenarios (defaults, every option on, existing
secrets): least-privilege roles, throttling, exposure only through the HTTP API, logs, alarms."""

from __future__ import annotations

import json

import pytest
from cfn_eval import as_list
from conftest import ALL_ON, EXISTING_SECRETS, FUNCTIONS, WEBHOOK, evaluated

ALLOWED_ACTIONS = {
    "logs:CreateLogStream", "logs:PutLogEvents",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "dynamodb:BatchGetItem", "dynamodb:UpdateItem",
}
SECRET_EXPECTATIONS = {
    # scenario -> function key -> the exact set of secret resources its role may read
    "defaults": {f: {f"Ref:{v['secret']}"} for f, v in FUNCTIONS.items()},
    "all_on": {
        f: {f"Ref:{v['secret']}", ALL_ON["AuthHs256SecretArn"], ALL_ON["PolicySecretArn"]}
        for f, v in FUNCTIONS.items()
    },
    "webhook": {f: {f"Ref:{v['secret']}", "Ref:AuthzWebhookSecret"} for f, v in FUNCTIONS.items()},
    "existing_secrets": {
        f: {EXISTING_SECRETS[v["secret_param"]], EXISTING_SECRETS["AuthzWebhookSecretArn"]}
        for f, v in FUNCTIONS.items()
    },
}


def statements(role: dict) -> list[dict]:
    props = role["Properties"]
    out = []
    for pol in props.get("Policies", []):
        out.extend(as_list(pol["PolicyDocument"]["Statement"]))
    return out


def role_of(ev, fkey: str) -> dict:
    fn = ev.resources[FUNCTIONS[fkey]["id"]]
    role_ref = fn["Properties"]["Role"]
    assert role_ref == f"GetAtt:{FUNCTIONS[fkey]['role']}.Arn", "each function runs under its own role"
    return ev.resources[FUNCTIONS[fkey]["role"]]


# ---------------------------------------------------------------------------- IAM
@pytest.mark.parametrize("fkey", sorted(FUNCTIONS))
def test_roles_grant_only_the_allowed_actions(deployed, fkey):
    role = role_of(deployed, fkey)
    props = role["Properties"]
    assert "ManagedPolicyArns" not in props, "no managed (broad) policies on function roles"
    assert "PermissionsBoundary" not in props or props["PermissionsBoundary"]
    trust = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    for st in statements(role):
        assert st["Effect"] == "Allow"
        assert "NotAction" not in st and "NotResource" not in st
        actions = set(as_list(st["Action"]))
        assert actions <= ALLOWED_ACTIONS, f"unexpected actions {actions - ALLOWED_ACTIONS}"
        for r in as_list(st["Resource"]):
            assert isinstance(r, str) and r != "*" and not r.endswith(":*:*"), f"wildcard resource {r!r}"


@pytest.mark.parametrize("scenario", sorted(SECRET_EXPECTATIONS))
@pytest.mark.parametrize("fkey", sorted(FUNCTIONS))
def test_each_role_reads_only_its_own_secret_and_the_shared_ones(scenario, fkey):
    ev = evaluated(scenario)
    role = role_of(ev, fkey)
    sm = [st for st in statements(role) if any(a.startswith("secretsmanager:") for a in as_list(st["Action"]))]
    for st in sm:
        assert as_list(st["Action"]) == ["secretsmanager:GetSecretValue"], "GetSecretValue is the only secrets action"
    readable = {r for st in sm for r in as_list(st["Resource"])}
    assert readable == SECRET_EXPECTATIONS[scenario][fkey]
    # and never another function's provider secret
    for other, v in FUNCTIONS.items():
        if other != fkey:
            assert f"Ref:{v['secret']}" not in readable
            assert EXISTING_SECRETS[v["secret_param"]] not in readable


@pytest.mark.parametrize("fkey", sorted(FUNCTIONS))
def test_kms_decrypt_only_with_a_customer_key_and_only_via_secrets_manager(fkey):
    for scenario in ("defaults", "existing_secrets"):
        acts = {a for st in statements(role_of(evaluated(scenario), fkey)) for a in as_list(st["Action"])}
        assert not any(a.startswith("kms:") for a in acts), scenario
    kms = [st for st in statements(role_of(evaluated("all_on"), fkey)) if "kms:Decrypt" in as_list(st["Action"])]
    assert len(kms) == 1
    assert as_list(kms[0]["Action"]) == ["kms:Decrypt"]
    assert kms[0]["Resource"] == ALL_ON["SecretsKmsKeyArn"]
    assert kms[0]["Condition"]["StringEquals"]["kms:ViaService"].startswith("Sub:secretsmanager.")


@pytest.mark.parametrize("fkey", sorted(FUNCTIONS))
def test_logs_permission_is_own_log_group_only(deployed, fkey):
    role = role_of(deployed, fkey)
    logs = [st for st in statements(role) if any(a.startswith("logs:") for a in as_list(st["Action"]))]
    assert len(logs) == 1
    assert set(as_list(logs[0]["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert logs[0]["Resource"] == f"GetAtt:{FUNCTIONS[fkey]['log_group']}.Arn"
    fn = deployed.resources[FUNCTIONS[fkey]["id"]]["Properties"]
    assert fn["LoggingConfig"]["LogGroup"] == f"Ref:{FUNCTIONS[fkey]['log_group']}"
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    assert fn["LoggingConfig"]["ApplicationLogLevel"] in {"TRACE", "DEBUG", "INFO"}, "WARN+ would drop EMF lines"
    lg = deployed.resources[FUNCTIONS[fkey]["log_group"]]["Properties"]
    assert int(lg["RetentionInDays"]) > 0


def test_access_table_and_its_iam_only_when_enabled():
    off = evaluated("defaults")
    assert not off.of_type("AWS::DynamoDB::Table")
    for fkey in FUNCTIONS:
        acts = {a for st in statements(role_of(off, fkey)) for a in as_list(st["Action"])}
        assert not any(a.startswith("dynamodb:") for a in acts)
        assert "ACCESS_TABLE" not in off.resources[FUNCTIONS[fkey]["id"]]["Properties"]["Environment"]["Variables"]
    on = evaluated("all_on")
    (name, table), = on.of_type("AWS::DynamoDB::Table").items()
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert sorted((k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert all(a["AttributeType"] == "S" for a in p["AttributeDefinitions"])
    for fkey in FUNCTIONS:
        ddb = [st for st in statements(role_of(on, fkey)) if any(a.startswith("dynamodb:") for a in as_list(st["Action"]))]
        by_action = {a: st for st in ddb for a in as_list(st["Action"])}
        assert set(by_action) == {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}, "the hot path's two calls only"
        for st in ddb:
            assert as_list(st["Resource"]) == [f"GetAtt:{name}.Arn"], "the table itself, no index or other table"
        assert "Condition" not in by_action["dynamodb:BatchGetItem"]
        assert by_action["dynamodb:UpdateItem"]["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["QUOTA#*"]}}, "writes only quota counters"
        env = on.resources[FUNCTIONS[fkey]["id"]]["Properties"]["Environment"]["Variables"]
        assert env["ACCESS_TABLE"] == f"Ref:{name}"
    alarms = on.of_type("AWS::CloudWatch::Alarm")
    metrics = {m for a in alarms.values() for m in alarm_metrics(a) if m[0] == "AWS/DynamoDB"}
    names = {m[1] for m in metrics}
    assert {"ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"} <= names


def test_created_secrets_are_empty_except_the_generated_webhook_key():
    ev = evaluated("webhook")
    secrets = ev.of_type("AWS::SecretsManager::Secret")
    for fkey, v in FUNCTIONS.items():
        p = secrets[v["secret"]]["Properties"]
        assert "SecretString" not in p and "GenerateSecretString" not in p, "provider secrets are created empty"
        assert p["KmsKeyId"] == WEBHOOK["SecretsKmsKeyArn"]
        env = ev.resources[v["id"]]["Properties"]["Environment"]["Variables"]
        assert env["AUTHZ_WEBHOOK_SECRET_ID"] == "Ref:AuthzWebhookSecret"
        assert env["AUTHZ_WEBHOOK_URL"] == WEBHOOK["AuthzWebhookUrl"]
        assert "ACCESS_TABLE" not in env
    assert "AuthzWebhookSecret" not in evaluated("defaults").resources
    hook = secrets["AuthzWebhookSecret"]["Properties"]
    assert hook["GenerateSecretString"]["GenerateStringKey"] == "secret"
    assert hook["GenerateSecretString"]["PasswordLength"] >= 32
    # existing ARNs given: nothing is created
    assert not evaluated("existing_secrets").of_type("AWS::SecretsManager::Secret")


# ---------------------------------------------------------------------------- exposure
def route_resources(ev) -> dict[str, dict]:
    """route key -> (route, integration) properties, as deployed."""
    out = {}
    for route in ev.of_type("AWS::ApiGatewayV2::Route").values():
        p = route["Properties"]
        target = p["Target"]
        assert target.startswith("Sub:integrations/${") and target.endswith("}"), target
        integ = ev.resources[target[len("Sub:integrations/${"):-1]]["Properties"]
        out[p["RouteKey"]] = (p, integ)
    return out


def test_functions_are_reachable_only_through_the_http_api(deployed):
    assert not deployed.of_type("AWS::Lambda::Url"), "no Function URLs"
    for banned in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig", "AWS::Events::Rule",
                   "AWS::ApiGateway::RestApi", "AWS::Lambda::LayerVersionPermission"):
        assert not deployed.of_type(banned), banned
    api_ids = set(deployed.of_type("AWS::ApiGatewayV2::Api"))
    assert api_ids == {"TokenApi"}
    perms = deployed.of_type("AWS::Lambda::Permission")
    assert len(perms) == len(FUNCTIONS), "exactly one invoke permission per function"
    for fkey, v in FUNCTIONS.items():
        # unqualified: the API invokes $LATEST, so every deploy is live on the next request
        mine = [name for name, p in perms.items() if p["Properties"]["FunctionName"] == f"Ref:{v['id']}"]
        assert len(mine) == 1, fkey
        p = perms[mine[0]]["Properties"]
        assert p["Action"] == "lambda:InvokeFunction"
        assert p["Principal"] == "apigateway.amazonaws.com"
        # SourceArn pins the API, any stage, the method and the exact route
        pattern, variables = deployed.template["Resources"][mine[0]]["Properties"]["SourceArn"]["Fn::Sub"]
        assert pattern.endswith("${TokenApi}/*/POST/${S}/token")
        assert f"/{deployed.value(variables['S'])}/token" == v["route"]
        fn = deployed.resources[v["id"]]["Properties"]
        assert "FunctionUrlConfig" not in fn


def test_no_events_aliases_or_versions_in_the_source(raw, deployed):
    """The API's routes are written as ApiGatewayV2 resources (so a JWT authorizer can be switched
    by a parameter); the functions have no events of their own, and nothing publishes versions."""
    for v in FUNCTIONS.values():
        fn = raw["Resources"][v["id"]]
        assert fn["Type"] == "AWS::Serverless::Function"
        for prop in ("Events", "FunctionUrlConfig", "AutoPublishAlias", "DeploymentPreference"):
            assert prop not in fn["Properties"], prop
    for prop in ("FunctionUrlConfig", "AutoPublishAlias", "DeploymentPreference", "ProvisionedConcurrencyConfig"):
        assert prop not in raw.get("Globals", {}).get("Function", {}), prop
    assert not deployed.of_type("AWS::Lambda::Version") and not deployed.of_type("AWS::Lambda::Alias")


def test_api_routes_are_exactly_the_three_posts(deployed):
    routes = route_resources(deployed)
    assert set(routes) == {f"POST {v['route']}" for v in FUNCTIONS.values()}
    for v in FUNCTIONS.values():
        route, integ = routes[f"POST {v['route']}"]
        assert route["ApiId"] == integ["ApiId"] == "Ref:TokenApi"
        assert integ["IntegrationType"] == "AWS_PROXY"
        assert integ["PayloadFormatVersion"] == "2.0"
        assert integ["IntegrationUri"] == f"GetAtt:{v['id']}.Arn", "the function itself, unqualified"


def test_jwt_authorizer_only_when_asked():
    for scenario in ("defaults", "all_on", "existing_secrets"):
        ev = evaluated(scenario)
        assert not ev.of_type("AWS::ApiGatewayV2::Authorizer")
        for route, _ in route_resources(ev).values():
            assert route["AuthorizationType"] == "NONE" and "AuthorizerId" not in route
    ev = evaluated("webhook")
    (name, auth), = ev.of_type("AWS::ApiGatewayV2::Authorizer").items()
    p = auth["Properties"]
    assert p["AuthorizerType"] == "JWT" and p["IdentitySource"] == ["$request.header.Authorization"]
    assert p["JwtConfiguration"] == {"Issuer": WEBHOOK["ApiJwtIssuer"], "Audience": WEBHOOK["ApiJwtAudience"].split(",")}
    for route, _ in route_resources(ev).values():
        assert route["AuthorizationType"] == "JWT" and route["AuthorizerId"] == f"Ref:{name}"


# ---------------------------------------------------------------------------- throttling
def test_throttling_on_the_stage_and_every_route(deployed):
    (stage,) = deployed.of_type("AWS::ApiGatewayV2::Stage").values()
    p = stage["Properties"]
    d = p["DefaultRouteSettings"]
    assert d["ThrottlingBurstLimit"] > 0 and d["ThrottlingRateLimit"] > 0
    assert d["DetailedMetricsEnabled"] in (True, False), "a boolean, not an unresolved condition function"
    rs = p["RouteSettings"]
    assert set(rs) == {f"POST {v['route']}" for v in FUNCTIONS.values()}
    for key, s in rs.items():
        assert s["ThrottlingBurstLimit"] > 0 and s["ThrottlingRateLimit"] > 0, key
        assert s["ThrottlingRateLimit"] <= d["ThrottlingRateLimit"], "a route may not exceed the stage default"


def test_throttling_limits_are_parameters(raw):
    stage = raw["Resources"]["TokenApiApiGatewayDefaultStage"]["Properties"]
    refs = [stage["DefaultRouteSettings"]["ThrottlingBurstLimit"], stage["DefaultRouteSettings"]["ThrottlingRateLimit"]]
    for s in stage["RouteSettings"].values():
        refs += [s["ThrottlingBurstLimit"], s["ThrottlingRateLimit"]]
    for r in refs:
        assert set(r) == {"Ref"} and r["Ref"] in raw["Parameters"]


def test_access_log_is_json_without_credentials(deployed):
    (stage,) = deployed.of_type("AWS::ApiGatewayV2::Stage").values()
    als = stage["Properties"]["AccessLogSettings"]
    assert als["DestinationArn"] == "GetAtt:ApiAccessLogGroup.Arn"
    fmt = json.loads(als["Format"])
    assert {"requestId", "ip", "routeKey", "status"} <= set(fmt)
    assert "authorization" not in als["Format"].lower()
    assert int(deployed.resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"]) > 0


def test_cors_only_when_origins_are_given():
    assert "CorsConfiguration" not in evaluated("defaults").resources["TokenApi"]["Properties"]
    cors = evaluated("all_on").resources["TokenApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["https://app.example.com", "https://admin.example.com"]
    assert set(cors["AllowHeaders"]) == {"authorization", "content-type"}
    assert "*" not in cors["AllowOrigins"]
    # browsers show scripts only these response headers: when to retry (429/503), why refused (401)
    assert {h.lower() for h in cors["ExposeHeaders"]} == {"retry-after", "www-authenticate"}


def test_custom_domain_is_optional():
    assert not evaluated("defaults").of_type("AWS::ApiGatewayV2::DomainName")
    on = evaluated("all_on")
    (dom,) = on.of_type("AWS::ApiGatewayV2::DomainName").values()
    assert dom["Properties"]["DomainNameConfigurations"][0]["SecurityPolicy"] == "TLS_1_2"
    (mapping,) = on.of_type("AWS::ApiGatewayV2::ApiMapping").values()
    assert mapping["Properties"]["ApiId"] == "Ref:TokenApi"
    assert on.of_type("AWS::Route53::RecordSet")


# ---------------------------------------------------------------------------- functions
@pytest.mark.parametrize("fkey", sorted(FUNCTIONS))
def test_function_build_and_runtime(raw, deployed, fkey):
    v = FUNCTIONS[fkey]
    src = raw["Resources"][v["id"]]
    assert src["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": v["name"]}}
    assert src["Properties"]["CodeUri"] == f"functions/{v['name']}"
    fn = deployed.resources[v["id"]]["Properties"]
    assert fn["Runtime"] == "provided.al2023"
    assert fn["Handler"] == "bootstrap"
    assert fn["Architectures"] == ["arm64"]
    assert 128 <= fn["MemorySize"] <= 1024
    assert 1 <= fn["Timeout"] <= 10


def test_architecture_is_written_once(raw):
    """Not a parameter: `sam build` compiles for the template's architecture, so a deploy-time
    override would ship binaries for the other CPU (exec format error on every cold start)."""
    assert "Architecture" not in raw["Parameters"]
    assert raw["Globals"]["Function"]["Architectures"] == ["arm64"]
    for v in FUNCTIONS.values():
        assert "Architectures" not in raw["Resources"][v["id"]]["Properties"]


def test_concurrency_settings_are_optional():
    off = evaluated("defaults")
    on = evaluated("all_on")
    for v in FUNCTIONS.values():
        assert "ReservedConcurrentExecutions" not in off.resources[v["id"]]["Properties"]
        assert on.resources[v["id"]]["Properties"]["ReservedConcurrentExecutions"] == "50"


# ---------------------------------------------------------------------------- alarms
def alarm_metrics(alarm: dict) -> list[tuple[str, str, tuple]]:
    """(namespace, metric, ((dim, value), ...)) for a plain or metric-math alarm."""
    p = alarm["Properties"]
    out = []
    if "MetricName" in p:
        out.append((p["Namespace"], p["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in p.get("Dimensions", [])))))
    for m in p.get("Metrics", []):
        if "MetricStat" in m:
            met = m["MetricStat"]["Metric"]
            out.append((met["Namespace"], met["MetricName"],
                        tuple(sorted((d["Name"], d["Value"]) for d in met.get("Dimensions", [])))))
    return out


def test_alarms_cover_every_metric(deployed):
    alarms = deployed.of_type("AWS::CloudWatch::Alarm")
    seen = {m for a in alarms.values() for m in alarm_metrics(a)}
    ns = deployed.params["MetricsNamespace"]
    assert ns == "RtcTokens"
    for v in FUNCTIONS.values():
        assert ("AWS/Lambda", "Errors", (("FunctionName", f"Ref:{v['id']}"),)) in seen
        assert ("AWS/Lambda", "Throttles", (("FunctionName", f"Ref:{v['id']}"),)) in seen
        # the code fills the dimension from AWS_LAMBDA_FUNCTION_NAME = the deployed function name
        # (test_consistency checks that the code still does)
        for metric in ("TokensIssued", "AuthFailed", "PolicyDenied", "SecretErrors"):
            assert (ns, metric, (("Function", f"Ref:{v['id']}"),)) in seen, (metric, v["name"])
    assert ("AWS/ApiGateway", "5xx", (("ApiId", "Ref:TokenApi"),)) in seen
    assert ("AWS/ApiGateway", "4xx", (("ApiId", "Ref:TokenApi"),)) in seen, "429 throttling shows up in 4xx"


def test_table_and_webhook_are_exclusive(raw):
    rule = raw["Rules"]["AccessTableOrWebhook"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableAccessTable"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AuthzWebhookUrl"}, ""]}


def test_no_raw_secret_in_the_environment(deployed):
    """Secrets travel as Secrets Manager ids only; the local-only plain-secret variables never
    appear in a deployed function's environment."""
    for v in FUNCTIONS.values():
        env = deployed.resources[v["id"]]["Properties"]["Environment"]["Variables"]
        for name in env:
            assert not name.endswith(("_SECRET", "_CERTIFICATE", "_API_SECRET", "_API_KEY", "_APP_ID")), name


def test_alarm_notifications_follow_the_topic_parameters():
    for a in evaluated("defaults").of_type("AWS::CloudWatch::Alarm").values():
        assert "AlarmActions" not in a["Properties"]
    on = evaluated("all_on")
    assert on.of_type("AWS::SNS::Topic")
    for name, a in on.of_type("AWS::CloudWatch::Alarm").items():
        assert a["Properties"]["AlarmActions"] == ["Ref:AlarmTopic"], name
    ex = evaluated("existing_secrets")
    assert not ex.of_type("AWS::SNS::Topic")
    for name, a in ex.of_type("AWS::CloudWatch::Alarm").items():
        assert a["Properties"]["AlarmActions"] == [EXISTING_SECRETS["AlarmTopicArn"]], name


def test_outputs_give_the_api_and_each_route(raw):
    out = raw["Outputs"]
    assert "ApiUrl" in out
    ev = evaluated("defaults", transformed=False)
    urls = [ev.value(o["Value"]) for o in out.values() if isinstance(o["Value"], dict) and "Fn::Sub" in o["Value"]]
    for v in FUNCTIONS.values():
        assert any(u.endswith(v["route"]) for u in urls), v["route"]


# ---------------------------------------------------------------------------- example policies
def test_example_policy_documents_are_valid_and_scoped():
    from conftest import ROOT
    for f in sorted((ROOT / "infra/policies").glob("*.json")):
        doc = json.loads(f.read_text())
        assert doc["Version"] == "2012-10-17", f.name
        for st in doc["Statement"]:
            assert st["Effect"] == "Allow" and st.get("Sid"), f.name
            acts = as_list(st["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in acts), (f.name, acts)


def test_example_function_policy_matches_the_template():
    """infra/policies/function-agora-token.json documents every statement the template can give."""
    from conftest import ROOT
    doc = json.loads((ROOT / "infra/policies/function-agora-token.json").read_text())
    example = {st["Sid"]: sorted(as_list(st["Action"])) for st in doc["Statement"]}
    deployed = {}
    for scenario in ("all_on", "webhook"):
        for st in statements(role_of(evaluated(scenario), "agora")):
            deployed[st["Sid"]] = sorted(as_list(st["Action"]))
    assert example == deployed


def test_condition_functions_only_in_conditions(deployed):
    """Fn::Equals/And/Or/Not are valid only under Conditions and Rules; elsewhere CloudFormation
    rejects the stack (cfn-lint does not always notice)."""
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                assert k not in {"Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"}, f"{k} at {path}"
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    for name, res in deployed.template["Resources"].items():
        walk(res.get("Properties", {}), f"Resources.{name}.Properties")
    walk(deployed.template.get("Outputs", {}), "Outputs")
