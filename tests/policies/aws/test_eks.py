"""EKS rules (policies/aws/eks.py) on a hand-built cluster: one valid-input factory, each
failing case changes one field of it."""

from __future__ import annotations

from typing import Any

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from plinth.check import Violation
from policies.aws import eks
from tests.policy_harness import entry, hits


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
    return entry(eks.EKS_CLUSTER, inputs | changes, name="cluster")


def with_vpc(**changes: Any) -> dict[str, Any]:
    vpc = eks_cluster()["inputs"]["vpcConfig"] | changes
    return eks_cluster(vpcConfig={k: v for k, v in vpc.items() if v is not None})


def levels(found: list[Violation]) -> list[str]:
    return [violation.level for violation in found]


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
