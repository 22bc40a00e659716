"""RDS rules (policies/aws/rds.py) on a hand-built database: one valid-input factory, each
failing case changes one field of it."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.aws import rds
from tests.policy_harness import entry, hits

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd"
ENCRYPTED = "rds-encrypted-with-kms"
NOT_PUBLIC = "rds-not-public"
DELETION = "rds-deletion-protection"
BACKUPS = "rds-backups-retained"
MULTI_AZ = "rds-multi-az"
SSL = "rds-ssl-enforced"


def parameter_group(force_ssl: str = "1") -> dict[str, Any]:
    return entry(
        rds.PARAMETER_GROUP,
        {
            "name": "prod-mlflow-postgres17",
            "family": "postgres17",
            "parameters": [{"name": "rds.force_ssl", "value": force_ssl}],
        },
        name="prod-mlflow-database-parameters",
    )


def instance(**changes: Any) -> dict[str, Any]:
    """The RDS PostgreSQL instance a prod MLflow database needs (None removes a field)."""
    inputs = {
        "engine": "postgres",
        "engineVersion": "17",
        "instanceClass": "db.m7g.large",
        "allocatedStorage": 50,
        "dbSubnetGroupName": "prod-mlflow-database",
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "publiclyAccessible": False,
        "deletionProtection": True,
        "backupRetentionPeriod": 14,
        "multiAz": True,
        "parameterGroupName": "prod-mlflow-postgres17",
    } | changes
    return entry(
        rds.INSTANCE,
        {k: v for k, v in inputs.items() if v is not None},
        name="prod-mlflow-database",
    )


def cluster(**changes: Any) -> dict[str, Any]:
    """An Aurora PostgreSQL cluster, judged alike (None removes a field)."""
    inputs = {
        "engine": "aurora-postgresql",
        "clusterIdentifier": "mlflow",
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "deletionProtection": True,
        "backupRetentionPeriod": 7,
    } | changes
    return entry(
        rds.CLUSTER, {k: v for k, v in inputs.items() if v is not None}, name="mlflow-cluster"
    )


def cluster_instance(name: str, **changes: Any) -> dict[str, Any]:
    inputs = {"clusterIdentifier": "mlflow", "instanceClass": "db.r7g.large"} | changes
    return entry(rds.CLUSTER_INSTANCE, inputs, name=name)


def test_the_prod_instance_passes_every_rule() -> None:
    for rule in (ENCRYPTED, NOT_PUBLIC, DELETION, BACKUPS, MULTI_AZ, SSL):
        assert hits(rule, instance(), parameter_group()) == [], rule


# ---------------------------------------------------------------------------------------
# rds-encrypted-with-kms


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"storageEncrypted": None}, "storageEncrypted is unset (default false)"),
        ({"storageEncrypted": False}, "storageEncrypted is false"),
        ({"kmsKeyId": None}, "kmsKeyId is unset"),
        ({"kmsKeyId": "alias/aws/rds"}, "RDS's AWS-managed key alias/aws/rds"),
    ],
    ids=["unset", "false", "no-key", "aws-managed-key"],
)
def test_storage_must_be_encrypted_with_a_customer_key(changes: dict[str, Any], says: str) -> None:
    found = hits(ENCRYPTED, instance(**changes))
    assert len(found) == 1
    assert says in found[0].message


def test_a_serverless_cluster_is_encrypted_by_default_but_still_needs_a_key() -> None:
    serverless = cluster(engineMode="serverless", storageEncrypted=None)
    assert hits(ENCRYPTED, serverless) == []
    assert len(hits(ENCRYPTED, cluster(storageEncrypted=None))) == 1
    assert len(hits(ENCRYPTED, cluster(kmsKeyId=None))) == 1


def test_a_key_unknown_during_preview_is_not_judged() -> None:
    assert hits(ENCRYPTED, instance(kmsKeyId=UNKNOWN_STRING_VALUE)) == []


def test_a_read_replica_is_judged_by_its_source() -> None:
    replica = instance(replicateSourceDb="prod-mlflow-database", storageEncrypted=None)
    assert hits(ENCRYPTED, replica) == []


# ---------------------------------------------------------------------------------------
# rds-not-public


def test_a_public_instance_is_refused_in_every_tier() -> None:
    for tier in ("dev", "staging", "prod"):
        found = hits(NOT_PUBLIC, instance(publiclyAccessible=True), tier=tier)
        assert [v.level for v in found] == ["mandatory"]
        assert "publiclyAccessible is true" in found[0].message


def test_an_aurora_cluster_instance_is_judged_too() -> None:
    assert hits(NOT_PUBLIC, cluster_instance("writer")) == []
    assert len(hits(NOT_PUBLIC, cluster_instance("writer", publiclyAccessible=True))) == 1


def test_a_multi_az_db_cluster_without_its_own_subnet_group_is_public_by_default() -> None:
    multi_az = cluster(engine="postgres", dbClusterInstanceClass="db.m6gd.large")
    assert len(hits(NOT_PUBLIC, multi_az)) == 1
    assert (
        hits(
            NOT_PUBLIC, cluster(dbClusterInstanceClass="db.m6gd.large", dbSubnetGroupName="private")
        )
        == []
    )
    # An Aurora cluster has no such default: its instances are what is reachable.
    assert hits(NOT_PUBLIC, cluster()) == []


# ---------------------------------------------------------------------------------------
# rds-deletion-protection and rds-backups-retained


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_deletion_protection_is_mandatory_in_prod(tier: str, level: str) -> None:
    found = hits(DELETION, instance(deletionProtection=None), tier=tier)
    assert [v.level for v in found] == [level]
    assert "deletionProtection is unset (default false)" in found[0].message


@pytest.mark.parametrize(
    ("factory", "days", "default"),
    [(instance, None, 0), (instance, 6, 6), (cluster, None, 1)],
    ids=["instance-default", "instance-six-days", "cluster-default"],
)
def test_backups_below_a_week_are_refused(factory: Any, days: Any, default: int) -> None:
    found = hits(BACKUPS, factory(backupRetentionPeriod=days))
    assert len(found) == 1
    assert f"RDS keeps {default} day" in found[0].message


def test_the_minimum_retention_is_a_knob() -> None:
    config = {BACKUPS: {"minimumDays": 30}}
    assert len(hits(BACKUPS, instance(), config=config)) == 1
    assert hits(BACKUPS, instance(backupRetentionPeriod=30), config=config) == []


# ---------------------------------------------------------------------------------------
# rds-multi-az


def test_a_single_az_instance_is_refused_in_prod() -> None:
    found = hits(MULTI_AZ, instance(multiAz=None))
    assert [v.level for v in found] == ["mandatory"]
    assert "multiAz is unset (default false)" in found[0].message
    assert [v.level for v in hits(MULTI_AZ, instance(multiAz=False), tier="staging")] == [
        "advisory"
    ]


def test_an_aurora_cluster_needs_two_instances() -> None:
    one = (cluster(), cluster_instance("writer"))
    found = hits(MULTI_AZ, *one)
    assert len(found) == 1
    assert "with 1 ClusterInstance" in found[0].message
    assert hits(MULTI_AZ, *one, cluster_instance("reader")) == []
    # An instance of another cluster does not count.
    assert len(hits(MULTI_AZ, *one, cluster_instance("other", clusterIdentifier="x"))) == 1


def test_a_cluster_instance_linked_by_dependency_counts() -> None:
    aurora = cluster(clusterIdentifier=None)
    linked = [
        entry(rds.CLUSTER_INSTANCE, {}, name=name, dependencies=(aurora["urn"],))
        for name in ("writer", "reader")
    ]
    assert hits(MULTI_AZ, aurora, *linked) == []


def test_a_multi_az_db_cluster_is_multi_az() -> None:
    assert hits(MULTI_AZ, cluster(engine="postgres", dbClusterInstanceClass="db.m6gd.large")) == []


# ---------------------------------------------------------------------------------------
# rds-ssl-enforced


def test_a_database_without_a_forcing_parameter_group_is_advised() -> None:
    found = hits(SSL, instance(parameterGroupName=None))
    assert [v.level for v in found] == ["advisory"]
    assert "no parameter group of the stack" in found[0].message
    assert len(hits(SSL, instance(), parameter_group("0"))) == 1


def test_a_parameter_group_linked_by_dependency_counts() -> None:
    group = parameter_group()
    database = entry(rds.INSTANCE, {"engine": "postgres"}, dependencies=(group["urn"],))
    assert hits(SSL, database, group) == []
