"""IAM rules (policies/aws/iam.py) on hand-built roles and policies: one valid-input
factory (an IRSA role with a scoped permission policy), each failing case changes one
field of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from plinth.check import Violation
from policies.aws import iam
from tests.policies.aws.test_s3 import BUCKET_ARN, document
from tests.policy_harness import entry, hits

OIDC_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{OIDC_ISSUER}"


def irsa_trust(**condition: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": OIDC_PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition
        or {
            "StringEquals": {
                f"{OIDC_ISSUER}:sub": "system:serviceaccount:ml-jobs:spark-driver",
                f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
            }
        },
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def permission(**changes: Any) -> dict[str, Any]:
    """A scoped S3 statement; changes replace its fields (None removes one)."""
    statement = {
        "Sid": "ReadArtifacts",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
    }
    return {k: v for k, v in (statement | changes).items() if v is not None}


DESCRIBE = permission(Sid="Describe", Action=["ec2:DescribeInstances"], Resource="*")


def role(*statements: dict[str, Any], trust: Any = None) -> dict[str, Any]:
    inline = [{"name": "workload", "policy": document(*(statements or (permission(), DESCRIBE)))}]
    inputs = {"assumeRolePolicy": json.dumps(trust or irsa_trust()), "inlinePolicies": inline}
    return entry(iam.IAM_ROLE, inputs, name="spark-driver")


def trust_with(**statement: Any) -> dict[str, Any]:
    """A trust policy of one Allow sts:AssumeRole statement with `statement`'s fields."""
    base = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [base | statement]}


def levels(found: list[Violation]) -> list[str]:
    return [violation.level for violation in found]


# ---------------------------------------------------------------------------------------
# iam-no-wildcard-permissions

WILDCARDS = "iam-no-wildcard-permissions"


def test_a_scoped_role_passes() -> None:
    assert hits(WILDCARDS, role()) == []


@pytest.mark.parametrize("action", ["*", "s3:*", ["s3:GetObject", "iam:*"]])
def test_every_action_of_a_service_is_refused_in_every_tier(action: Any) -> None:
    for tier in ("dev", "prod"):
        found = hits(WILDCARDS, role(permission(Action=action)), tier=tier)
        assert levels(found) == ["mandatory"]
        assert "allows every action of a service" in found[0].message
        assert found[0].message.startswith("inline policy 'workload' statement 'ReadArtifacts'")


def test_not_action_with_allow_is_refused() -> None:
    statement = permission(Action=None, NotAction=["iam:*"])
    assert "every action except its NotAction" in hits(WILDCARDS, role(statement))[0].message


def test_an_action_on_every_resource_is_refused() -> None:
    found = hits(WILDCARDS, role(permission(Resource="*")))
    assert len(found) == 1
    assert "allows s3:GetObject, s3:ListBucket on every resource" in found[0].message


def test_not_resource_with_allow_counts_as_every_resource() -> None:
    statement = permission(Resource=None, NotResource=[BUCKET_ARN])
    assert "on every resource" in hits(WILDCARDS, role(statement))[0].message


@pytest.mark.parametrize(
    "action",
    [
        "ec2:DescribeInstances",
        "ec2:Describe*",
        "autoscaling:DescribeAutoScalingGroups",
        "EC2:describeVolumes",  # IAM action names are case-insensitive
        "ec2:GetInstanceTypesFromInstanceRequirements",
        "eks:DescribeNodegroup",
    ],
)
def test_allow_listed_actions_may_use_every_resource(action: str) -> None:
    assert hits(WILDCARDS, role(permission(Action=action, Resource="*"))) == []


def test_a_write_action_beside_an_allow_listed_one_is_refused() -> None:
    statement = permission(Action=["ec2:DescribeVolumes", "ec2:CreateVolume"], Resource="*")
    found = hits(WILDCARDS, role(statement))
    assert ["allows ec2:CreateVolume on every resource" in v.message for v in found] == [True]


def test_the_allow_list_is_configurable() -> None:
    statement = permission(Action="s3:ListAllMyBuckets", Resource="*")
    config = {WILDCARDS: {"actionsAllowedOnAnyResource": ["s3:ListAllMyBuckets"]}}
    assert len(hits(WILDCARDS, role(statement))) == 1
    assert hits(WILDCARDS, role(statement), config=config) == []
    assert len(hits(WILDCARDS, role(DESCRIBE), config=config)) == 1  # the list replaces


def test_deny_statements_may_use_wildcards() -> None:
    deny = permission(Effect="Deny", Action="*", Resource="*")
    assert hits(WILDCARDS, role(permission(), deny)) == []


@pytest.mark.parametrize("resource_type", [iam.IAM_ROLE_POLICY, iam.IAM_POLICY])
def test_role_policies_and_managed_policies_are_checked(resource_type: str) -> None:
    scoped = entry(resource_type, {"policy": document(permission())}, name="workload")
    broad = entry(resource_type, {"policy": document(permission(Action="*"))}, name="workload")
    assert hits(WILDCARDS, scoped) == []
    assert hits(WILDCARDS, broad)[0].message.startswith("policy statement 'ReadArtifacts'")


def test_a_document_given_as_an_object_is_checked() -> None:
    as_object = {"Version": "2012-10-17", "Statement": permission(Action="*")}
    policy = entry(iam.IAM_POLICY, {"policy": as_object})
    assert len(hits(WILDCARDS, policy)) == 1


def test_a_policy_that_is_not_json_is_reported_and_an_unknown_one_is_not() -> None:
    broken = entry(iam.IAM_POLICY, {"policy": "Statement: everything"})
    unknown = entry(iam.IAM_POLICY, {"policy": UNKNOWN_STRING_VALUE})
    assert "is not a JSON policy document" in hits(WILDCARDS, broken)[0].message
    assert hits(WILDCARDS, unknown) == []


# ---------------------------------------------------------------------------------------
# iam-trust-policy-scoped

TRUST = "iam-trust-policy-scoped"


def test_an_irsa_role_scoped_to_one_service_account_passes() -> None:
    assert hits(TRUST, role()) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_any_principal_without_a_condition_is_refused_in_every_tier(principal: Any) -> None:
    trust = trust_with(Principal=principal)
    for tier in ("dev", "prod"):
        found = hits(TRUST, role(trust=trust), tier=tier)
        assert levels(found) == ["mandatory"]
        assert 'lets any principal ("*") assume the role' in found[0].message


def test_any_principal_with_a_condition_passes() -> None:
    condition = {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}
    assert hits(TRUST, role(trust=trust_with(Principal="*", Condition=condition))) == []


def test_a_named_service_principal_passes_and_not_principal_is_refused() -> None:
    service = trust_with(Principal={"Service": "pods.eks.amazonaws.com"})
    not_principal = trust_with(NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"})
    assert hits(TRUST, role(trust=service)) == []
    assert "except its NotPrincipal" in hits(TRUST, role(trust=not_principal))[0].message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {f"{OIDC_ISSUER}:aud": "sts.amazonaws.com"}},  # no :sub at all
        {"StringLike": {f"{OIDC_ISSUER}:sub": "*"}},
        {"StringLike": {f"{OIDC_ISSUER}:sub": "system:serviceaccount:*:spark-driver"}},
        {"StringNotEquals": {f"{OIDC_ISSUER}:sub": "system:serviceaccount:ml-jobs:x"}},
    ],
)
def test_web_identity_must_be_scoped_by_subject(condition: dict[str, Any]) -> None:
    found = hits(TRUST, role(trust=irsa_trust(**condition)))
    assert ["without a Condition scoping the token's" in v.message for v in found] == [True]


def test_web_identity_without_any_condition_is_refused() -> None:
    trust = irsa_trust()
    del trust["Statement"][0]["Condition"]
    assert len(hits(TRUST, role(trust=trust))) == 1


def test_a_subject_pattern_within_one_namespace_passes() -> None:
    condition = {"StringLike": {f"{OIDC_ISSUER}:sub": "system:serviceaccount:ml-jobs:spark-*"}}
    assert hits(TRUST, role(trust=irsa_trust(**condition))) == []
