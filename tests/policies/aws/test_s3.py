"""S3 rules (policies/aws/s3.py) on hand-built buckets and their companion resources.

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
from policies.aws import s3
from tests.policy_harness import entry, hits

BUCKET_NAME = "plinth-artifacts"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"


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
    flags = dict.fromkeys(s3.PUBLIC_ACCESS_FLAGS, True)
    return companion(s3.PUBLIC_ACCESS_BLOCK, flags | changes)


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
    return companion(s3.BUCKET_POLICY, {"policy": json.dumps(document)}, **options)


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


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


@pytest.mark.parametrize("flag", s3.PUBLIC_ACCESS_FLAGS)
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
        s3.PUBLIC_ACCESS_BLOCK,
        dict.fromkeys(s3.PUBLIC_ACCESS_FLAGS, True),
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
        s3.PUBLIC_ACCESS_BLOCK,
        dict.fromkeys(s3.PUBLIC_ACCESS_FLAGS, True),
        bucket_value="artifacts-20260101",
    )
    assert hits(PAB, auto, block) == []


def test_a_block_of_another_bucket_covers_only_that_bucket() -> None:
    other = bucket("logs", bucket="plinth-logs")
    found = hits(PAB, bucket(), other, public_access_block())
    assert [v.urn for v in found] == [other["urn"]]


def test_an_account_public_access_block_covers_every_bucket() -> None:
    flags = dict.fromkeys(s3.PUBLIC_ACCESS_FLAGS, True)
    account = entry(s3.ACCOUNT_PUBLIC_ACCESS_BLOCK, flags, name="account")
    partial = entry(s3.ACCOUNT_PUBLIC_ACCESS_BLOCK, flags | {"blockPublicAcls": False})
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

    policy = next(rule.policy for rule in s3.RULES if rule.name == PAB)
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
    v2["type"] = next(token for token in s3.ENCRYPTION_TYPES if token.endswith("V2"))
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
    broken = companion(s3.BUCKET_POLICY, {"policy": "{not json"})
    assert "not a JSON policy document" in hits(TLS, bucket(), broken)[0].message


def test_a_policy_unknown_during_preview_is_not_judged() -> None:
    unknown = companion(s3.BUCKET_POLICY, {"policy": UNKNOWN_STRING_VALUE})
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
        s3.BUCKET_POLICY,
        {"policy": {"Version": "2012-10-17", "Statement": [tls_statement()]}},
    )
    inline = bucket(policy=document(tls_statement()))
    assert hits(TLS, bucket(), as_object) == []
    assert hits(TLS, inline) == []
