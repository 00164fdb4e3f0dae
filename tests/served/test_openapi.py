"""openapi.yaml against the real handlers: the document is valid OpenAPI 3.1, every documented
request example is accepted, and every documented response example is produced by the running
local server (status, documented headers, error code) with a body that matches the documented schema.
"""
import copy
import pathlib

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import dev_jwt

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
ROUTES = {"/agora/token", "/livekit/token", "/stream/token"}
REGISTRY = Registry().with_resource("urn:openapi", Resource(contents=SPEC, specification=DRAFT202012))


def deref(node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = SPEC
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def schema_validator(schema):
    # Local refs inside the spec resolve against the whole document.
    if "$ref" in schema:
        schema = {"$ref": "urn:openapi" + schema["$ref"]}
    else:
        schema = copy.deepcopy(schema)
        schema["$id"] = "urn:openapi-inline"
    return Draft202012Validator(schema, registry=REGISTRY)


def operations():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            yield path, method, op


def response_examples():
    for path, method, op in operations():
        for status, resp in op["responses"].items():
            resp = deref(resp)
            content = resp["content"]["application/json"]
            for name, ex in content.get("examples", {}).items():
                yield pytest.param(path, int(status), resp, content["schema"], ex, id=f"{path} {status} {name}")


def request_examples():
    for path, method, op in operations():
        content = op["requestBody"]["content"]["application/json"]
        for name, ex in content.get("examples", {}).items():
            yield pytest.param(path, op, content["schema"], ex["value"], id=f"{path} {name}")


@pytest.fixture(scope="module")
def server(start_server):
    return start_server(SPEC["x-check-environment"])


def test_document_is_valid_openapi_31():
    assert SPEC["openapi"].startswith("3.1")
    validate_spec(SPEC)


def test_document_covers_exactly_the_three_routes_with_bearer_auth():
    assert set(SPEC["paths"]) == ROUTES
    for path, method, op in operations():
        assert method == "post", path
        body = deref(op["requestBody"]["content"]["application/json"]["schema"])
        assert body["additionalProperties"] is False, f"{path}: unknown fields must be rejected"
    scheme = SPEC["components"]["securitySchemes"]["appJwt"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert SPEC["security"] == [{"appJwt": []}]


def test_every_documented_status_has_an_example():
    for path, method, op in operations():
        for status, resp in op["responses"].items():
            examples = deref(resp)["content"]["application/json"].get("examples", {})
            assert examples, f"{path} {status}: no example"
            for name, ex in examples.items():
                assert "x-request" in ex or "x-not-reproducible-locally" in ex, f"{path} {status} {name}"


@pytest.mark.parametrize("path,op,schema,body", list(request_examples()))
def test_request_example_is_valid_and_accepted(server, path, op, schema, body):
    errors = list(schema_validator(schema).iter_errors(body))
    assert not errors, f"documented request example breaks its schema: {errors[0].message}"
    status, headers, answer = server.post(path, body, token=dev_jwt("alice"))
    success = [int(s) for s in op["responses"] if int(s) < 300]
    assert status in success, f"{status}: {answer}"


def send(server, path, req):
    auth = req.get("auth", "caller")
    token = None
    if auth == "caller":
        token = dev_jwt(req.get("sub", "alice"))
    elif auth == "expired":
        token = dev_jwt(req.get("sub", "alice"), claims={"exp": 1000, "iat": 900, "nbf": 900})
    else:
        assert auth == "none", auth
    if "oversize" in req:
        return server.post(path, token=token, raw='{"channel":"' + "a" * req["oversize"] + '"}')
    if "raw" in req:
        return server.post(path, token=token, raw=req["raw"])
    return server.post(
        path,
        req.get("body"),
        token=token,
        content_type=req.get("content_type", "application/json"),
        method=req.get("method", "POST"),
    )


@pytest.mark.parametrize("path,status,resp,schema,example", list(response_examples()))
def test_response_example_is_what_the_handler_answers(server, path, status, resp, schema, example):
    validator = schema_validator(schema)
    # The documented example itself must satisfy the documented schema.
    errors = list(validator.iter_errors(example["value"]))
    assert not errors, f"documented example breaks its schema: {errors[0].message}"
    if "x-not-reproducible-locally" in example:
        pytest.skip(example["x-not-reproducible-locally"])
    got_status, headers, body = send(server, path, example["x-request"])
    assert got_status == status, f"expected {status}, got {got_status}: {body}"
    errors = list(validator.iter_errors(body))
    assert not errors, f"response breaks the documented schema: {errors[0].message} in {body}"
    documented_error = example["value"].get("error", {}).get("code")
    if documented_error:
        assert body["error"]["code"] == documented_error
    lower = {k.lower(): v for k, v in headers.items()}
    for name, h in resp.get("headers", {}).items():
        h = deref(h)
        assert name.lower() in lower, f"missing documented header {name}"
        const = h["schema"].get("const")
        if const is not None:
            assert lower[name.lower()] == const, name
    assert lower.get("content-type", "").startswith("application/json")
