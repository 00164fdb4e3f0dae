"""Runs the SAM transform locally (no AWS account, no network) the way CloudFormation would.

cfn-lint >= 1.5x validates SAM resources against SAM schemas without running the transform, so it
cannot see the resources SAM generates (Lambda permissions, stages, aliases). This helper turns
template.yaml into the plain CloudFormation that `sam deploy` would submit, so the tests and
scripts/check-deploy.sh can check and lint the generated resources too.

Usage: python infra/tests/sam_transform.py template.yaml > /tmp/transformed.json
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import decode
from samcli.lib.cfn_language_extensions.models import TemplateProcessingContext
from samcli.lib.cfn_language_extensions.pipeline import ProcessingPipeline
from samcli.lib.cfn_language_extensions.processors import ForEachProcessor, TemplateParsingProcessor
from samtranslator.parser import parser
from samtranslator.translator.translator import Translator

LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"

# Pseudo parameters the translator needs to resolve; the values are placeholders.
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "rtc-tokens",
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/rtc-tokens/x",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


def load(path: str | Path) -> dict[str, Any]:
    """Parses a template with cfn-lint's own loader (understands !Ref, !If, !Sub ...)."""
    template, matches = decode(str(path))
    if matches or template is None:
        raise ValueError(f"cannot parse {path}: {[str(m) for m in matches]}")
    return json.loads(json.dumps(template))  # plain dicts/lists (drops node position info)


def _literal_subs(node: Any) -> Any:
    """`{"Fn::Sub": "AgoraTokenFunction"}` (no variable left once a loop variable is substituted)
    -> "AgoraTokenFunction", as the language extensions transform (and cfn-lint's copy of it)
    does; so `Ref: !Sub "${P}TokenFunction"` inside a loop becomes a plain Ref."""
    if isinstance(node, list):
        return [_literal_subs(x) for x in node]
    if isinstance(node, dict):
        if list(node) == ["Fn::Sub"] and isinstance(node["Fn::Sub"], str) and "${" not in node["Fn::Sub"]:
            return node["Fn::Sub"]
        return {k: _literal_subs(v) for k, v in node.items()}
    return node


def expand_language_extensions(template: dict[str, Any]) -> dict[str, Any]:
    """Expands `Fn::ForEach` with SAM CLI's own implementation of AWS::LanguageExtensions (what
    `sam build` and `sam validate` run), and nothing else: parameters, conditions, `Fn::If` and
    `Fn::FindInMap` stay for CloudFormation (and the tests' evaluator) to decide."""
    transforms = template.get("Transform", [])
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    if LANGUAGE_EXTENSIONS not in transforms:
        return copy.deepcopy(template)
    context = TemplateProcessingContext(fragment=copy.deepcopy(template))
    out = ProcessingPipeline([TemplateParsingProcessor(), ForEachProcessor()]).process_template(context)
    out = _literal_subs(out)
    rest = [t for t in transforms if t != LANGUAGE_EXTENSIONS]
    out["Transform"] = rest[0] if len(rest) == 1 else rest
    return out


def transform(template: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Returns the CloudFormation that the Serverless transform produces for `template`, given
    parameter values `overrides` (the rest take their defaults), as CloudFormation would: first
    the language extensions (Fn::ForEach), then SAM."""
    sam = expand_language_extensions(template)
    for res in sam.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            # `sam package` uploads the built code and rewrites CodeUri to S3; do the same here.
            props["CodeUri"] = f"s3://placeholder-bucket/{props['CodeUri']}.zip"
    params = {k: v.get("Default") for k, v in sam.get("Parameters", {}).items() if "Default" in v}
    params.update(overrides or {})
    params.update(PSEUDO)
    # No managed policies are used (every role is explicit), so the policy map can stay empty.
    # A region-only session: no credentials are needed or looked up by the transform.
    session = boto3.session.Session(region_name=PSEUDO["AWS::Region"])
    translator = Translator({}, parser.Parser(), boto_session=session)
    return translator.translate(sam, parameter_values=params)


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    json.dump(transform(load(path)), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
