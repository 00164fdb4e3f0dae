"""Shared fixtures: the template as written, and as CloudFormation sees it after the SAM transform."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import sam_transform  # noqa: E402
from cfn_eval import Evaluated  # noqa: E402

TEMPLATE = ROOT / "template.yaml"

# The three functions: logical id, cargo package (= binary = metric dimension), route, secret env.
FUNCTIONS = {
    "agora": {"id": "AgoraTokenFunction", "name": "agora-token", "route": "/agora/token",
              "secret_env": "AGORA_SECRET_ID", "secret": "AgoraSecret", "secret_param": "AgoraSecretArn",
              "role": "AgoraTokenRole", "log_group": "AgoraTokenLogGroup"},
    "livekit": {"id": "LivekitTokenFunction", "name": "livekit-token", "route": "/livekit/token",
                "secret_env": "LIVEKIT_SECRET_ID", "secret": "LivekitSecret", "secret_param": "LivekitSecretArn",
                "role": "LivekitTokenRole", "log_group": "LivekitTokenLogGroup"},
    "stream": {"id": "StreamTokenFunction", "name": "stream-token", "route": "/stream/token",
               "secret_env": "STREAM_SECRET_ID", "secret": "StreamSecret", "secret_param": "StreamSecretArn",
               "role": "StreamTokenRole", "log_group": "StreamTokenLogGroup"},
}

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
# Every optional feature switched on: a customer key, the shared secrets, the access table, a
# custom domain with DNS, CORS, concurrency settings and an alarm e-mail.
ALL_ON = {
    "SecretsKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "AuthProvider": "hs256",
    "AuthIssuer": "https://issuer.example.com",
    "AuthHs256SecretArn": ARN + "rtc/caller-hs256-AbCdEf",
    "PolicySecretArn": ARN + "rtc/policy-AbCdEf",
    "EnableAccessTable": "true",
    "AccessQuotaPerMinute": "30",
    "CorsAllowedOrigins": "https://app.example.com,https://admin.example.com",
    "CustomDomainName": "tokens.example.com",
    "CustomDomainCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    "CustomDomainHostedZoneId": "Z123456ABCDEFG",
    "ReservedConcurrency": "50",
    "AlarmEmail": "ops@example.com",
}
# Existing secrets passed in instead of created ones.
EXISTING_SECRETS = {
    "AgoraSecretArn": ARN + "prod/agora-AbCdEf",
    "LivekitSecretArn": ARN + "prod/livekit-AbCdEf",
    "StreamSecretArn": ARN + "prod/stream-AbCdEf",
    "AuthzWebhookUrl": "https://hooks.example.com/authz",
    "AuthzWebhookSecretArn": ARN + "prod/webhook-AbCdEf",
    "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:ops",
}
# The webhook instead of the table (the two are exclusive), with a generated signing secret, and
# the API Gateway JWT authorizer (an OIDC issuer; it cannot check hs256 callers).
WEBHOOK = {
    "AuthzWebhookUrl": "https://hooks.example.com/authz",
    "AuthzWebhookFailOpen": "true",
    "SecretsKmsKeyArn": ALL_ON["SecretsKmsKeyArn"],
    "AuthIssuer": "https://issuer.example.com/",
    "ApiJwtIssuer": "https://issuer.example.com/",
    "ApiJwtAudience": "rtc-tokens,rtc-tokens-admin",
}
SCENARIOS = {"defaults": {}, "all_on": ALL_ON, "existing_secrets": EXISTING_SECRETS, "webhook": WEBHOOK}


@lru_cache(maxsize=None)
def _raw() -> dict[str, Any]:
    # the loops (Fn::ForEach) expanded, as `sam build` and CloudFormation see the template
    return sam_transform.expand_language_extensions(sam_transform.load(TEMPLATE))


@lru_cache(maxsize=None)
def _evaluated(scenario: str, transformed: bool) -> Evaluated:
    overrides = SCENARIOS[scenario]
    tpl = sam_transform.transform(_raw(), overrides) if transformed else _raw()
    return Evaluated(tpl, overrides)


@pytest.fixture(scope="session")
def raw() -> dict[str, Any]:
    """template.yaml as written (parsed by cfn-lint's loader), its Fn::ForEach loops expanded."""
    return _raw()


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def deployed(request) -> Evaluated:
    """The plain CloudFormation a deployment creates, once per parameter scenario."""
    return _evaluated(request.param, True)


def evaluated(scenario: str, transformed: bool = True) -> Evaluated:
    return _evaluated(scenario, transformed)
