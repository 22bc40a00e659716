"""Rules for PostgreSQL run by the CloudNativePG operator (`postgresql.cnpg.io/v1` `Cluster`):
no superuser over the network, sized storage, and in prod a standby and backups.

Field names and defaults are the CRD's (cloudnative-pg 1.30.0):

- `cnpg-superuser-access-off`: `spec.enableSuperuserAccess` not true (default false). On,
  the operator keeps a `postgres` password in a Secret and the superuser may log in over
  the network: whoever reads that Secret owns every database of the cluster.
- `cnpg-storage-size-set`: `spec.storage.size`, or a storage request in
  `spec.storage.pvcTemplate`: the data volume's size is a decision, not the storage
  class's default (and it can grow later, never shrink).
- `cnpg-instances-ha` (prod): `spec.instances` at least 2 (default 1): with one instance a
  node drain or failure stops the database until the pod is rescheduled and its volume
  follows, and there is no replica to promote.
- `cnpg-backups-scheduled` (stack rule, prod): the Cluster has a backup destination and
  a `ScheduledBackup` in its namespace names it (`spec.cluster.name`, not suspended),
  with a method the Cluster configures: `barmanObjectStore` (the default method) needs
  `spec.backup.barmanObjectStore`, `volumeSnapshot` needs `spec.backup.volumeSnapshot`,
  `plugin` needs an enabled `spec.plugins` entry named by
  `spec.pluginConfiguration.name` (the barman-cloud plugin, which replaces the in-tree
  object store support). CloudNativePG takes base backups only when asked (a `Backup` or
  a `ScheduledBackup`); archived WAL without a base backup restores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    mapping,
    resource_rule,
    sequence,
    stack_rule,
)
from policies.kubernetes.namespaces import object_namespace

CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
DEFAULT_INSTANCES = 1
DEFAULT_METHOD = "barmanObjectStore"
HOW_PLINTH_DEPLOYS = (
    "the MLflow database component (components/mlflow/database/, plinth:mlflow.database) "
    "creates the CloudNativePG Cluster"
)


def _name(props: Mapping[str, Any], fallback: str) -> str:
    return str(dig(props, "metadata", "name") or fallback)


def _validate_superuser(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CLUSTER and dig(args.props, "spec", "enableSuperuserAccess") is True:
        report(
            f"CloudNativePG Cluster {_name(args.props, args.name)}: spec.enableSuperuserAccess "
            "is true: the postgres superuser logs in over the network with the password in "
            "its Secret; set it to false (the default) and use the application owner",
            args.urn,
        )


def _validate_storage_size(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    storage = mapping(dig(args.props, "spec", "storage"))
    requested = dig(storage, "pvcTemplate", "resources", "requests", "storage")
    if not storage.get("size") and not requested:
        report(
            f"CloudNativePG Cluster {_name(args.props, args.name)}: spec.storage.size is unset "
            "(and no pvcTemplate storage request): set the data volume's size",
            args.urn,
        )


def _validate_instances(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER:
        return
    instances = dig(args.props, "spec", "instances")
    count = DEFAULT_INSTANCES if instances is None else instances
    if not isinstance(count, int | float) or count < 2:
        report(
            f"CloudNativePG Cluster {_name(args.props, args.name)}: spec.instances is "
            f"{instances if instances is not None else 'unset (1)'}: with one instance there "
            "is no replica to fail over to; run at least 2",
            args.urn,
        )


def _method_configured(cluster: Mapping[str, Any], schedule: Mapping[str, Any]) -> bool:
    """Whether the Cluster configures the backup method a ScheduledBackup asks for."""
    spec = mapping(cluster.get("spec"))
    method = str(dig(schedule, "spec", "method") or DEFAULT_METHOD)
    if method == "plugin":
        wanted = dig(schedule, "spec", "pluginConfiguration", "name")
        return any(
            mapping(plugin).get("name") == wanted and mapping(plugin).get("enabled") is not False
            for plugin in sequence(spec.get("plugins"))
        )
    return bool(dig(spec, "backup", method))


def _backup_problem(cluster: PolicyResource, schedules: list[PolicyResource]) -> str | None:
    namespace = object_namespace(cluster.props, cluster.provider)
    name = _name(cluster.props, cluster.name)
    naming = [
        schedule.props
        for schedule in schedules
        if dig(schedule.props, "spec", "cluster", "name") == name
        and object_namespace(schedule.props, schedule.provider) == namespace
        and dig(schedule.props, "spec", "suspend") is not True
    ]
    if not naming:
        return "no ScheduledBackup (not suspended) in its namespace names it in spec.cluster.name"
    if not any(_method_configured(cluster.props, schedule) for schedule in naming):
        return (
            "its ScheduledBackup asks for a method the Cluster does not configure "
            "(spec.backup.barmanObjectStore, spec.backup.volumeSnapshot, or an enabled "
            "spec.plugins entry named in spec.pluginConfiguration.name)"
        )
    return None


def _validate_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    schedules = [r for r in args.resources if r.resource_type == SCHEDULED_BACKUP]
    for cluster in args.resources:
        if cluster.resource_type != CLUSTER:
            continue
        problem = _backup_problem(cluster, schedules)
        if problem:
            namespace = object_namespace(cluster.props, cluster.provider)
            report(
                f"CloudNativePG Cluster {namespace}/{_name(cluster.props, cluster.name)}: "
                f"{problem}, so nothing can be restored after a loss or a mistake",
                cluster.urn,
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "cnpg-superuser-access-off",
        "A CloudNativePG Cluster keeps the postgres superuser from logging in over the network.",
        _validate_superuser,
        severity=Severity.HIGH,
        remediation=(
            f"Leave spec.enableSuperuserAccess false: {HOW_PLINTH_DEPLOYS} with it off; "
            "applications use the owner of their database (the `<cluster>-app` Secret)."
        ),
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "cnpg-storage-size-set",
        "A CloudNativePG Cluster sizes its data volume (spec.storage.size or a pvcTemplate "
        "request).",
        _validate_storage_size,
        severity=Severity.LOW,
        remediation=(
            f"Set spec.storage.size: {HOW_PLINTH_DEPLOYS} with the size per tier from the "
            "environment file."
        ),
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "cnpg-instances-ha",
        "A CloudNativePG Cluster runs at least two instances, so a replica can take over.",
        _validate_instances,
        severity=Severity.MEDIUM,
        remediation=(
            f"Set spec.instances to 2 or more: {HOW_PLINTH_DEPLOYS} with the instances per tier."
        ),
        # prod: a node drain must not stop MLflow; a replica doubles the cost elsewhere.
        levels=MANDATORY_IN_PROD,
    ),
    stack_rule(
        "cnpg-backups-scheduled",
        "A CloudNativePG Cluster has a backup destination and a ScheduledBackup that uses it.",
        _validate_backups,
        severity=Severity.HIGH,
        remediation=(
            f"Configure backups to the object store: {HOW_PLINTH_DEPLOYS} with a backup "
            "destination (the barman-cloud plugin, spec.backup.barmanObjectStore or "
            "spec.backup.volumeSnapshot) and a ScheduledBackup naming it, when the "
            "environment file gives it a backup location."
        ),
        # prod: the only copy of every run and model version; dev and staging rebuild.
        levels=MANDATORY_IN_PROD,
    ),
)
