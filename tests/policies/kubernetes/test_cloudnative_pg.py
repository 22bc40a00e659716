"""CloudNativePG rules (policies/kubernetes/cloudnative_pg.py) on a hand-built Cluster and
ScheduledBackup: one valid-input factory, each failing case changes one field of it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policy_harness import hits, kubernetes

SUPERUSER = "cnpg-superuser-access-off"
STORAGE = "cnpg-storage-size-set"
INSTANCES = "cnpg-instances-ha"
BACKUPS = "cnpg-backups-scheduled"
API = "postgresql.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def cluster(**spec: Any) -> dict[str, Any]:
    """The prod MLflow database Cluster (a spec field set to None is removed)."""
    full = {
        "instances": 2,
        "enableSuperuserAccess": False,
        "storage": {"size": "20Gi"},
        "bootstrap": {"initdb": {"database": "mlflow", "owner": "mlflow"}},
        "plugins": [
            {"name": BARMAN_PLUGIN, "isWALArchiver": True, "parameters": {"barmanObjectName": "s"}}
        ],
    } | spec
    return kubernetes(
        API,
        "Cluster",
        {
            "metadata": {"name": "mlflow-db", "namespace": "mlflow"},
            "spec": {k: v for k, v in full.items() if v is not None},
        },
    )


def scheduled_backup(**spec: Any) -> dict[str, Any]:
    """A daily plugin backup of the Cluster."""
    full = {
        "schedule": "0 0 3 * * *",
        "cluster": {"name": "mlflow-db"},
        "method": "plugin",
        "pluginConfiguration": {"name": BARMAN_PLUGIN},
    } | spec
    return kubernetes(
        API,
        "ScheduledBackup",
        {
            "metadata": {"name": "mlflow-db-daily", "namespace": "mlflow"},
            "spec": {k: v for k, v in full.items() if v is not None},
        },
    )


def test_the_prod_cluster_with_a_scheduled_backup_passes_every_rule() -> None:
    for rule in (SUPERUSER, STORAGE, INSTANCES, BACKUPS):
        assert hits(rule, cluster(), scheduled_backup()) == [], rule


def test_superuser_access_is_refused() -> None:
    found = hits(SUPERUSER, cluster(enableSuperuserAccess=True))
    assert len(found) == 1
    assert "spec.enableSuperuserAccess is true" in found[0].message
    assert hits(SUPERUSER, cluster(enableSuperuserAccess=None)) == []  # the CRD's default


def test_storage_size_must_be_set() -> None:
    assert len(hits(STORAGE, cluster(storage={"storageClass": "gp3"}))) == 1
    template = {"pvcTemplate": {"resources": {"requests": {"storage": "20Gi"}}}}
    assert hits(STORAGE, cluster(storage=template)) == []


@pytest.mark.parametrize(("instances", "shown"), [(None, "unset (1)"), (1, "1")])
def test_one_instance_is_refused_in_prod(instances: Any, shown: str) -> None:
    found = hits(INSTANCES, cluster(instances=instances))
    assert [v.level for v in found] == ["mandatory"]
    assert f"spec.instances is {shown}" in found[0].message
    assert [v.level for v in hits(INSTANCES, cluster(instances=1), tier="staging")] == ["advisory"]


def test_a_cluster_without_a_scheduled_backup_is_refused_in_prod() -> None:
    found = hits(BACKUPS, cluster())
    assert [v.level for v in found] == ["mandatory"]
    assert "no ScheduledBackup" in found[0].message
    assert [v.level for v in hits(BACKUPS, cluster(), tier="dev")] == ["advisory"]


@pytest.mark.parametrize(
    "schedule",
    [
        {"cluster": {"name": "other"}},
        {"suspend": True},
    ],
    ids=["another-cluster", "suspended"],
)
def test_only_an_active_schedule_of_this_cluster_counts(schedule: dict[str, Any]) -> None:
    assert len(hits(BACKUPS, cluster(), scheduled_backup(**schedule))) == 1


def test_a_schedule_in_another_namespace_does_not_count() -> None:
    elsewhere = copy.deepcopy(scheduled_backup())
    elsewhere["inputs"]["metadata"]["namespace"] = "team-a"
    assert len(hits(BACKUPS, cluster(), elsewhere)) == 1


@pytest.mark.parametrize(
    ("cluster_spec", "schedule"),
    [
        ({"plugins": None}, {}),
        ({"plugins": [{"name": BARMAN_PLUGIN, "enabled": False}]}, {}),
        ({}, {"method": None, "pluginConfiguration": None}),  # barmanObjectStore by default
        ({}, {"method": "volumeSnapshot", "pluginConfiguration": None}),
    ],
    ids=["no-plugin", "plugin-disabled", "default-method-unconfigured", "no-snapshot-class"],
)
def test_the_schedules_method_must_be_configured_on_the_cluster(
    cluster_spec: dict[str, Any], schedule: dict[str, Any]
) -> None:
    found = hits(BACKUPS, cluster(**cluster_spec), scheduled_backup(**schedule))
    assert len(found) == 1
    assert "a method the Cluster does not configure" in found[0].message


def test_the_in_tree_object_store_and_volume_snapshots_count() -> None:
    in_tree = {"backup": {"barmanObjectStore": {"destinationPath": "s3://backups/mlflow"}}}
    default_method = scheduled_backup(method=None, pluginConfiguration=None)
    assert hits(BACKUPS, cluster(plugins=None, **in_tree), default_method) == []
    snapshots = {"backup": {"volumeSnapshot": {"className": "csi-snapshots"}}}
    snapshot_schedule = scheduled_backup(method="volumeSnapshot", pluginConfiguration=None)
    assert hits(BACKUPS, cluster(plugins=None, **snapshots), snapshot_schedule) == []
