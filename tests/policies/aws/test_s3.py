"""AWS rules (policies/cloud_aws.py) on hand-built S3, EKS and IAM resources.

Each resource has one valid-input factory; each failing case changes one field of it.
S3 companions are linked to their bucket the two ways the rules support: by the value of
their `bucket` input, and (for an auto-named bucket, as offline) by their dependencies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from plinth.check import Violation
from policies import cloud_aws
from tests.policy_harness import entry, hits

BUCKET_NAME = "plinth-artifacts"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
OIDC_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{OIDC_ISSUER}"


# ---------------------------------------------------------------------------------------
# Factories


def bucket(name: str = "artifacts", **inputs: Any) -> dict[str, Any]:
    """A bucket named BUCKET_NAME (pass bucket=None for an auto-named one)."""
    props = {"bucket": BUCKET_NAME, "forceDestroy": False, **inputs}
    return entry(
        "aws:s3/bucket:Bucket", {k: v for k, v in props.items() if v is not None}, name=name
    )


def companion(
    resource_type: str,
    inputs: dict[str, Any],
    *,
    name: str = "artifacts",
    bucket_value: str = BUCKET_NAME,
    dependencies: tuple[str, ...] = (),
) -> dict[str, Any]:
    short = resource_type.rsplit(":", 1)[1]
    return entry(
        resource_type,
        {"bucket": bucket_value, **inputs},
        name=f"{name}-{short}",
        dependencies=dependencies,
    )


def public_access_block(**changes: Any) -> dict[str, Any]:
    flags = dict.fromkeys(cloud_aws.PUBLIC_ACCESS_FLAGS, True)
    return companion(cloud_aws.PUBLIC_ACCESS_BLOCK, flags | changes)


def encryption(algorithm: str = "aws:kms", **options: Any) -> dict[str, Any]:
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}
    return companion(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        {"rules": [{**rule, "bucketKeyEnabled": True}]},
        **options,
    )


def versioning(status: str = "Enabled", **options: Any) -> dict[str, Any]:
    return companion(
        "aws:s3/bucketVersioning:BucketVersioning",
        {"versioningConfiguration": {"status": status}},
        **options,
    )


def tls_statement(**changes: Any) -> dict[str, Any]:
    statement = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return {k: v for k, v in (statement | changes).items() if v is not None}


def bucket_policy(*statements: dict[str, Any], **options: Any) -> dict[str, Any]:
    document = {"Version": "2012-10-17", "Statement": list(statements) or [tls_statement()]}
    return companion(cloud_aws.BUCKET_POLICY, {"policy": json.dumps(document)}, **options)


def eks_cluster(**changes: Any) -> dict[str, Any]:
    inputs = {
        "name": "plinth-prod",
        "roleArn": "arn:aws:iam::111122223333:role/plinth-cluster",
        "version": "1.33",
        "vpcConfig": {
            "subnetIds": ["subnet-0a", "subnet-0b"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
        },
        "encryptionConfig": {
            "resources": ["secrets"],
            "provider": {"keyArn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"},
        },
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    }
    return entry(cloud_aws.EKS_CLUSTER, inputs | changes, name="cluster")


def with_vpc(**changes: Any) -> dict[str, Any]:
    vpc = eks_cluster()["inputs"]["vpcConfig"] | changes
    return eks_cluster(vpcConfig={k: v for k, v in vpc.items() if v is not None})


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


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(*statements: dict[str, Any], trust: Any = None) -> dict[str, Any]:
    inline = [{"name": "workload", "policy": document(*(statements or (permission(), DESCRIBE)))}]
    inputs = {"assumeRolePolicy": json.dumps(trust or irsa_trust()), "inlinePolicies": inline}
    return entry(cloud_aws.IAM_ROLE, inputs, name="spark-driver")


def trust_with(**statement: Any) -> dict[str, Any]:
    """A trust policy of one Allow sts:AssumeRole statement with `statement`'s fields."""
    base = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [base | statement]}


def levels(found: list[Violation]) -> list[str]:
    return [violation.level for violation in found]


# ---------------------------------------------------------------------------------------
# s3-bucket-public-access-blocked

PAB = "s3-bucket-public-access-blocked"


def test_a_bucket_with_a_full_public_access_block_passes() -> None:
    assert hits(PAB, bucket(), public_access_block()) == []


def test_a_bucket_without_a_public_access_block_is_refused_in_every_tier() -> None:
    for tier in ("dev", "staging", "prod"):
        found = hits(PAB, bucket(), tier=tier)
        assert levels(found) == ["mandatory"]
        assert found[0].urn == bucket()["urn"]
        assert "has no BucketPublicAccessBlock" in found[0].message


@pytest.mark.parametrize("flag", cloud_aws.PUBLIC_ACCESS_FLAGS)
def test_each_public_access_flag_must_be_true(flag: str) -> None:
    found = hits(PAB, bucket(), public_access_block(**{flag: False}))
    assert [v.message for v in found] == [
        f"bucket 'artifacts' has a BucketPublicAccessBlock that leaves {flag} unset "
        "or false (each defaults to false)"
    ]


def test_an_unset_public_access_flag_counts_as_false() -> None:
    block = public_access_block()
    del block["inputs"]["restrictPublicBuckets"]
    assert "restrictPublicBuckets" in hits(PAB, bucket(), block)[0].message


def test_a_flag_unknown_during_preview_is_not_judged() -> None:
    block = public_access_block(blockPublicPolicy=UNKNOWN_STRING_VALUE)
    assert hits(PAB, bucket(), block) == []


def test_an_auto_named_bucket_is_linked_through_the_dependency() -> None:
    auto = bucket(bucket=None)  # offline: no name; the block's input holds the mock id
    linked = companion(
        cloud_aws.PUBLIC_ACCESS_BLOCK,
        dict.fromkeys(cloud_aws.PUBLIC_ACCESS_FLAGS, True),
        bucket_value="artifacts-id",
        dependencies=(auto["urn"],),
    )
    unlinked = linked | {"dependencies": []}
    assert hits(PAB, auto, linked) == []
    assert len(hits(PAB, auto, unlinked)) == 1


def test_a_bucket_known_by_its_id_output_is_linked_by_value() -> None:
    # What the real engine gives stack rules: outputs, with the generated name as `id`.
    auto = bucket(bucket=None, id="artifacts-20260101")
    block = companion(
        cloud_aws.PUBLIC_ACCESS_BLOCK,
        dict.fromkeys(cloud_aws.PUBLIC_ACCESS_FLAGS, True),
        bucket_value="artifacts-20260101",
    )
    assert hits(PAB, auto, block) == []


def test_a_block_of_another_bucket_covers_only_that_bucket() -> None:
    other = bucket("logs", bucket="plinth-logs")
    found = hits(PAB, bucket(), other, public_access_block())
    assert [v.urn for v in found] == [other["urn"]]


def test_an_account_public_access_block_covers_every_bucket() -> None:
    flags = dict.fromkeys(cloud_aws.PUBLIC_ACCESS_FLAGS, True)
    account = entry(cloud_aws.ACCOUNT_PUBLIC_ACCESS_BLOCK, flags, name="account")
    partial = entry(cloud_aws.ACCOUNT_PUBLIC_ACCESS_BLOCK, flags | {"blockPublicAcls": False})
    assert hits(PAB, bucket(), account) == []
    assert len(hits(PAB, bucket(), partial)) == 1


def _stack_args(*resources: PolicyResource, config: dict[str, Any]) -> StackValidationArgs:
    return StackValidationArgs(list(resources), config)


def _resource(plan_entry: dict[str, Any]) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(
        plan_entry["type"],
        plan_entry["inputs"],
        plan_entry["urn"],
        plan_entry["name"],
        options,
        None,
        None,
        [],
        {},
    )


def test_the_engines_property_dependencies_link_only_the_bucket_input() -> None:
    # The real engine says which resources each input came from: a block whose `bucket`
    # came from `logs` but which also depends on `artifacts` covers only `logs`.
    artifacts, logs = _resource(bucket(bucket=None)), _resource(bucket("logs", bucket=None))
    block = _resource(public_access_block(bucket="unknown-name"))
    block.dependencies = [artifacts, logs]
    block.property_dependencies = {"bucket": [logs]}
    reported: list[tuple[str, str | None]] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    policy = next(rule.policy for rule in cloud_aws.RULES if rule.name == PAB)
    assert isinstance(policy, StackValidationPolicy)
    policy.validate(_stack_args(artifacts, logs, block, config={}), report_violation)
    assert [urn for _, urn in reported] == [artifacts.urn]


# ---------------------------------------------------------------------------------------
# s3-bucket-encrypted

ENCRYPTED = "s3-bucket-encrypted"


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse", "AES256"])
def test_a_bucket_encrypted_by_default_passes(algorithm: str) -> None:
    assert hits(ENCRYPTED, bucket(), encryption(algorithm)) == []


def test_a_bucket_without_encryption_is_advisory_in_dev_and_mandatory_above() -> None:
    assert levels(hits(ENCRYPTED, bucket(), tier="dev")) == ["advisory"]
    assert levels(hits(ENCRYPTED, bucket(), tier="staging")) == ["mandatory"]
    assert "has no BucketServerSideEncryptionConfiguration" in hits(ENCRYPTED, bucket())[0].message


def test_require_kms_refuses_sse_s3() -> None:
    config = {ENCRYPTED: {"requireKms": True}}
    assert hits(ENCRYPTED, bucket(), encryption("aws:kms"), config=config) == []
    found = hits(ENCRYPTED, bucket(), encryption("AES256"), config=config)
    assert ["is encrypted with AES256" in v.message for v in found] == [True]


def test_an_encryption_rule_without_an_algorithm_is_refused() -> None:
    config = encryption()
    config["inputs"]["rules"] = [{"bucketKeyEnabled": True}]
    assert "sets no sseAlgorithm" in hits(ENCRYPTED, bucket(), config)[0].message


def test_the_v2_companion_and_the_deprecated_inline_setting_count() -> None:
    v2 = encryption()
    v2["type"] = next(token for token in cloud_aws.ENCRYPTION_TYPES if token.endswith("V2"))
    inline = bucket(
        serverSideEncryptionConfiguration={
            "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
        }
    )
    assert hits(ENCRYPTED, bucket(), v2) == []
    assert hits(ENCRYPTED, inline) == []


# ---------------------------------------------------------------------------------------
# s3-bucket-versioned

VERSIONED = "s3-bucket-versioned"


def test_a_versioned_bucket_passes() -> None:
    assert hits(VERSIONED, bucket(), versioning()) == []


def test_suspended_versioning_is_mandatory_in_prod_only() -> None:
    found = {
        tier: hits(VERSIONED, bucket(), versioning("Suspended"), tier=tier)
        for tier in ("dev", "staging", "prod")
    }
    assert {tier: levels(v) for tier, v in found.items()} == {
        "dev": ["advisory"],
        "staging": ["advisory"],
        "prod": ["mandatory"],
    }
    assert "has versioning status 'Suspended'" in found["prod"][0].message


def test_a_bucket_without_versioning_is_refused_in_prod() -> None:
    assert "has no BucketVersioning" in hits(VERSIONED, bucket())[0].message


def test_versioning_linked_by_dependency_and_inline_versioning_count() -> None:
    auto = bucket(bucket=None)
    linked = versioning(bucket_value="artifacts-id", dependencies=(auto["urn"],))
    assert hits(VERSIONED, auto, linked) == []
    assert hits(VERSIONED, bucket(versioning={"enabled": True})) == []
    assert len(hits(VERSIONED, bucket(versioning={"enabled": False}))) == 1


# ---------------------------------------------------------------------------------------
# s3-bucket-tls-only

TLS = "s3-bucket-tls-only"


def test_a_bucket_policy_denying_plain_http_passes() -> None:
    assert hits(TLS, bucket(), bucket_policy()) == []


def test_the_deny_may_sit_beside_other_statements_and_use_wildcards() -> None:
    allow = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "s3:GetObject", "Resource": f"{BUCKET_ARN}/*"}  # fmt: skip
    wildcard = tls_statement(Resource=["arn:aws:s3:::plinth-*"], Principal={"AWS": ["*"]})
    assert hits(TLS, bucket(), bucket_policy(allow, wildcard)) == []


def test_a_bucket_without_a_policy_is_advisory_in_dev() -> None:
    assert levels(hits(TLS, bucket(), tier="dev")) == ["advisory"]
    assert levels(hits(TLS, bucket(), tier="prod")) == ["mandatory"]


@pytest.mark.parametrize(
    "change",
    [
        {"Effect": "Allow"},
        {"Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
        {"Action": "s3:GetObject"},
        {"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Condition": None},
        {"Resource": [f"{BUCKET_ARN}/*"]},  # objects only, not the bucket itself
        {"Resource": [BUCKET_ARN]},  # the bucket only, not its objects
        {"Resource": ["arn:aws:s3:::someone-else", "arn:aws:s3:::someone-else/*"]},
    ],
)
def test_a_statement_that_does_not_deny_plain_http_on_the_bucket_is_refused(
    change: dict[str, Any],
) -> None:
    found = hits(TLS, bucket(), bucket_policy(tls_statement(**change)))
    assert ["no statement denying requests without TLS" in v.message for v in found] == [True]


def test_condition_keys_match_case_insensitively_and_booleans_count() -> None:
    statement = tls_statement(Condition={"Bool": {"aws:securetransport": False}})
    assert hits(TLS, bucket(), bucket_policy(statement)) == []


def test_a_policy_that_is_not_json_is_refused() -> None:
    broken = companion(cloud_aws.BUCKET_POLICY, {"policy": "{not json"})
    assert "not a JSON policy document" in hits(TLS, bucket(), broken)[0].message


def test_a_policy_unknown_during_preview_is_not_judged() -> None:
    unknown = companion(cloud_aws.BUCKET_POLICY, {"policy": UNKNOWN_STRING_VALUE})
    assert hits(TLS, bucket(), unknown) == []


def test_an_auto_named_bucket_accepts_a_deny_on_a_bucket_and_its_objects() -> None:
    auto = bucket(bucket=None)
    arn = "arn:aws:s3:::artifacts-id"  # offline: whatever the mocks gave
    policy = bucket_policy(
        tls_statement(Resource=[arn, f"{arn}/*"]),
        bucket_value="artifacts-id",
        dependencies=(auto["urn"],),
    )
    objects_only = bucket_policy(
        tls_statement(Resource=[f"{arn}/*"]),
        bucket_value="artifacts-id",
        dependencies=(auto["urn"],),
    )
    assert hits(TLS, auto, policy) == []
    assert len(hits(TLS, auto, objects_only)) == 1


def test_a_policy_given_as_an_object_and_the_inline_policy_count() -> None:
    as_object = companion(
        cloud_aws.BUCKET_POLICY,
        {"policy": {"Version": "2012-10-17", "Statement": [tls_statement()]}},
    )
    inline = bucket(policy=document(tls_statement()))
    assert hits(TLS, bucket(), as_object) == []
    assert hits(TLS, inline) == []


# ---------------------------------------------------------------------------------------
# eks-private-endpoint

ENDPOINT = "eks-private-endpoint"


def test_a_private_only_cluster_passes() -> None:
    assert hits(ENDPOINT, eks_cluster()) == []


def test_the_public_endpoint_left_at_its_default_is_refused_in_prod() -> None:
    found = hits(ENDPOINT, with_vpc(endpointPublicAccess=None))
    assert levels(found) == ["mandatory"]
    assert "endpointPublicAccess is unset (default true)" in found[0].message


def test_the_private_endpoint_must_be_on() -> None:
    found = hits(ENDPOINT, with_vpc(endpointPrivateAccess=None))
    assert ["endpointPrivateAccess is unset (default false)" in v.message for v in found] == [True]


def test_dev_and_staging_accept_a_public_endpoint_with_a_cidr_allow_list() -> None:
    allow_listed = with_vpc(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"])
    open_to_all = with_vpc(endpointPublicAccess=True)
    for tier in ("dev", "staging"):
        assert hits(ENDPOINT, allow_listed, tier=tier) == []
        found = hits(ENDPOINT, open_to_all, tier=tier)
        assert levels(found) == ["advisory"]
        assert "allows 0.0.0.0/0" in found[0].message
    assert len(hits(ENDPOINT, allow_listed, tier="prod")) == 1


def test_the_cidr_knob_set_in_prod_still_refuses_an_open_cidr() -> None:
    config = {ENDPOINT: {"allowPublicWithCidrs": True}}
    allow_listed = with_vpc(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"])
    open_v6 = with_vpc(endpointPublicAccess=True, publicAccessCidrs=["10.0.0.0/8", "::/0"])
    assert hits(ENDPOINT, allow_listed, config=config) == []
    assert "allows ::/0" in hits(ENDPOINT, open_v6, config=config)[0].message


# ---------------------------------------------------------------------------------------
# eks-secrets-encrypted

SECRETS = "eks-secrets-encrypted"


def test_a_cluster_encrypting_secrets_with_kms_passes() -> None:
    assert hits(SECRETS, eks_cluster()) == []


def test_a_cluster_without_encryption_config_is_advisory_in_dev() -> None:
    cluster = eks_cluster()
    del cluster["inputs"]["encryptionConfig"]
    assert levels(hits(SECRETS, cluster, tier="dev")) == ["advisory"]
    assert [v.message for v in hits(SECRETS, cluster)] == ["has no encryptionConfig"]


def test_the_encrypted_resources_must_include_secrets() -> None:
    cluster = eks_cluster(encryptionConfig={"resources": [], "provider": {"keyArn": "arn:k"}})
    assert "not ['secrets']" in hits(SECRETS, cluster)[0].message


def test_a_key_arn_unknown_during_preview_passes_and_a_missing_one_does_not() -> None:
    unknown = eks_cluster(
        encryptionConfig={"resources": ["secrets"], "provider": {"keyArn": UNKNOWN_STRING_VALUE}}
    )
    missing = eks_cluster(encryptionConfig={"resources": ["secrets"], "provider": {}})
    assert hits(SECRETS, unknown) == []
    assert "keyArn names no KMS key" in hits(SECRETS, missing)[0].message


# ---------------------------------------------------------------------------------------
# eks-control-plane-logging

LOGGING = "eks-control-plane-logging"


def test_a_cluster_logging_the_required_types_passes() -> None:
    assert hits(LOGGING, eks_cluster()) == []


def test_a_missing_log_type_is_named() -> None:
    found = hits(LOGGING, eks_cluster(enabledClusterLogTypes=["api", "authenticator"]))
    assert levels(found) == ["mandatory"]
    assert found[0].message.endswith("lacks audit")


def test_no_logging_is_advisory_in_dev() -> None:
    cluster = eks_cluster()
    del cluster["inputs"]["enabledClusterLogTypes"]
    assert levels(hits(LOGGING, cluster, tier="dev")) == ["advisory"]


def test_the_required_log_types_are_configurable() -> None:
    only_api = eks_cluster(enabledClusterLogTypes=["api"])
    assert hits(LOGGING, only_api, config={LOGGING: {"requiredLogTypes": ["api"]}}) == []
    more = {LOGGING: {"requiredLogTypes": ["api", "scheduler"]}}
    assert hits(LOGGING, eks_cluster(), config=more)[0].message.endswith("lacks scheduler")


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


@pytest.mark.parametrize("resource_type", [cloud_aws.IAM_ROLE_POLICY, cloud_aws.IAM_POLICY])
def test_role_policies_and_managed_policies_are_checked(resource_type: str) -> None:
    scoped = entry(resource_type, {"policy": document(permission())}, name="workload")
    broad = entry(resource_type, {"policy": document(permission(Action="*"))}, name="workload")
    assert hits(WILDCARDS, scoped) == []
    assert hits(WILDCARDS, broad)[0].message.startswith("policy statement 'ReadArtifacts'")


def test_a_document_given_as_an_object_is_checked() -> None:
    as_object = {"Version": "2012-10-17", "Statement": permission(Action="*")}
    policy = entry(cloud_aws.IAM_POLICY, {"policy": as_object})
    assert len(hits(WILDCARDS, policy)) == 1


def test_a_policy_that_is_not_json_is_reported_and_an_unknown_one_is_not() -> None:
    broken = entry(cloud_aws.IAM_POLICY, {"policy": "Statement: everything"})
    unknown = entry(cloud_aws.IAM_POLICY, {"policy": UNKNOWN_STRING_VALUE})
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
