"""Rules: an RDS database is encrypted with a customer KMS key, private, kept from deletion,
backed up, highly available in prod, and (advice) refuses connections without TLS.

They read pulumi-aws v7's inputs of `aws:rds/instance:Instance`, `aws:rds/cluster:Cluster`
(Aurora and Multi-AZ DB clusters) and `aws:rds/clusterInstance:ClusterInstance` (an
Aurora cluster's instances), as the SDK names them (camelCase):

- `rds-encrypted-with-kms`: `storageEncrypted` true (default false; a `serverless`
  cluster's default is true) and `kmsKeyId` naming a customer key, not RDS's
  AWS-managed `alias/aws/rds`, whose policy the account cannot restrict. Encryption is
  fixed when the database is created: changing it replaces the database.
- `rds-not-public`: `publiclyAccessible` not true on an instance, a cluster instance or a
  Multi-AZ DB cluster; such a cluster without the input is public when it has no subnet
  group of its own (`dbSubnetGroupName` unset or `default`), as the SDK documents.
- `rds-deletion-protection`: `deletionProtection` true (default false), in prod.
- `rds-backups-retained`: `backupRetentionPeriod` at least `minimumDays` (default 7; RDS's
  default is 0 for an instance, 1 for a cluster), in prod.
- `rds-multi-az` (stack rule): an instance has `multiAz` true; a Multi-AZ DB cluster
  (`dbClusterInstanceClass` set) is one by definition; an Aurora cluster has at least two
  ClusterInstances (by `clusterIdentifier`, else by dependency), so a failover has a
  standby to promote. In prod.
- `rds-ssl-enforced` (stack rule, advice): the database's parameter group
  (`parameterGroupName`, a cluster's `dbClusterParameterGroupName`) is one of the stack
  (by `name`, else by dependency) and sets `rds.force_ssl` to 1 (PostgreSQL) or
  `require_secure_transport` to ON (MySQL).

Read replicas (`replicateSourceDb`) take encryption and backups from their source and are
not judged by those two rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.aws.values import UNKNOWN, known
from policies.framework import (
    ADVISORY_EVERYWHERE,
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    environment_key,
    resource_rule,
    sequence,
    shown,
    stack_rule,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DATABASES = (INSTANCE, CLUSTER)
AWS_MANAGED_KEY = "alias/aws/rds"
BACKUPS_RULE = "rds-backups-retained"
# RDS's documented defaults when the input is unset.
DEFAULT_RETENTION_DAYS = {INSTANCE: 0, CLUSTER: 1}
# Parameters that make the server refuse connections without TLS, and their "on" values.
TLS_PARAMETERS = {"rds.force_ssl": {"1"}, "require_secure_transport": {"1", "ON"}}
HOW_PLINTH_DEPLOYS = (
    "the MLflow database component (components/mlflow/database/, plinth:mlflow.database) "
    "sets this for the RDS PostgreSQL instance it creates"
)


def _describe(args: ResourceValidationArgs | PolicyResource) -> str:
    kind = args.resource_type.rsplit(":", 1)[-1]
    return f"RDS {kind} {args.name}"


def _is_replica(props: Mapping[str, Any]) -> bool:
    return bool(props.get("replicateSourceDb") or props.get("replicationSourceIdentifier"))


def _validate_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DATABASES:
        return
    props = known(args.props)
    if _is_replica(props):
        return
    encrypted = props.get("storageEncrypted")
    if encrypted is None and args.resource_type == CLUSTER:
        encrypted = props.get("engineMode") == "serverless"
    if encrypted not in (True, UNKNOWN):
        report(
            f"{_describe(args)}: storageEncrypted is {shown(props.get('storageEncrypted'))} "
            "(default false): its storage, snapshots and backups are not encrypted, and "
            "turning it on later replaces the database",
            None,
        )
    key = props.get("kmsKeyId")
    if key is UNKNOWN:
        return
    if not (isinstance(key, str) and key):
        report(f"{_describe(args)}: kmsKeyId is unset: RDS uses its AWS-managed key", None)
    elif key.endswith(AWS_MANAGED_KEY):
        report(
            f"{_describe(args)}: kmsKeyId is RDS's AWS-managed key {key}, whose key policy "
            "cannot be restricted or rotated by you; name a customer-managed KMS key",
            None,
        )


def _is_public(resource_type: str, props: Mapping[str, Any]) -> bool:
    public = props.get("publiclyAccessible")
    if public is True:
        return True
    if resource_type != CLUSTER or public is not None or not props.get("dbClusterInstanceClass"):
        return False
    # A Multi-AZ DB cluster without the input: public unless it has its own subnet group.
    return props.get("dbSubnetGroupName") in (None, "", "default")


def _validate_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (*DATABASES, CLUSTER_INSTANCE):
        return
    props = known(args.props)
    if _is_public(args.resource_type, props):
        report(
            f"{_describe(args)}: publiclyAccessible is "
            f"{shown(props.get('publiclyAccessible'))}: the database gets a public address "
            "and answers the internet wherever its security group allows; set it to false "
            "and reach it from inside the VPC",
            None,
        )


def _validate_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DATABASES:
        return
    protection = known(args.props).get("deletionProtection")
    if protection not in (True, UNKNOWN):
        report(
            f"{_describe(args)}: deletionProtection is {shown(protection)} (default false): "
            "one API call or console click deletes the database",
            None,
        )


def _validate_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DATABASES:
        return
    props = known(args.props)
    if _is_replica(props):
        return
    minimum = int(args.get_config()["minimumDays"])
    days = props.get("backupRetentionPeriod")
    if days is UNKNOWN:
        return
    # Numbers reach policies as floats (protobuf's Struct); days are whole.
    days = int(days) if isinstance(days, float) and days.is_integer() else days
    effective = DEFAULT_RETENTION_DAYS[args.resource_type] if days is None else days
    if not isinstance(effective, int | float) or effective < minimum:
        report(
            f"{_describe(args)}: backupRetentionPeriod is {shown(days)} (RDS keeps "
            f"{effective} day{'' if effective == 1 else 's'} of automated backups), below "
            f"{minimum}: a mistake noticed "
            "after that cannot be undone by a point-in-time restore",
            None,
        )


def _cluster_instances(
    cluster: PolicyResource, members: list[PolicyResource]
) -> Iterator[PolicyResource]:
    props = known(cluster.props)
    names = {
        name for name in (props.get("clusterIdentifier"), props.get("id")) if isinstance(name, str)
    }
    for member in members:
        named = known(member.props).get("clusterIdentifier")
        depends = any(source.urn == cluster.urn for source in member.dependencies or [])
        if (isinstance(named, str) and named in names) or depends:
            yield member


def _multi_az_problem(resource: PolicyResource, members: list[PolicyResource]) -> str | None:
    props = known(resource.props)
    if resource.resource_type == INSTANCE:
        if _is_replica(props) or props.get("multiAz") in (True, UNKNOWN):
            return None
        return f"multiAz is {shown(props.get('multiAz'))} (default false)"
    if props.get("dbClusterInstanceClass"):
        return None  # a Multi-AZ DB cluster: a writer and two readers in three zones
    count = len(list(_cluster_instances(resource, members)))
    if count >= 2:
        return None
    return f"is an Aurora cluster with {count} ClusterInstance (at least 2 give a standby)"


def _validate_multi_az(args: StackValidationArgs, report: ReportViolation) -> None:
    members = [r for r in args.resources if r.resource_type == CLUSTER_INSTANCE]
    for resource in args.resources:
        if resource.resource_type in DATABASES:
            problem = _multi_az_problem(resource, members)
            if problem:
                report(
                    f"{_describe(resource)} {problem}: when its zone or host fails the "
                    "database is down until RDS rebuilds it",
                    resource.urn,
                )


def _forces_tls(group: PolicyResource) -> bool:
    for parameter in sequence(known(group.props).get("parameters")):
        name = str(parameter.get("name", "")) if isinstance(parameter, dict) else ""
        if str(parameter.get("value", "")).upper() in TLS_PARAMETERS.get(name, set()):
            return True
    return False


def _parameter_group(
    resource: PolicyResource, groups: list[PolicyResource]
) -> PolicyResource | None:
    key = (
        "parameterGroupName"
        if resource.resource_type == INSTANCE
        else "dbClusterParameterGroupName"
    )
    name = known(resource.props).get(key)
    for group in groups:
        if isinstance(name, str) and known(group.props).get("name") == name:
            return group
    sources = {source.urn for source in resource.dependencies or []}
    return next((group for group in groups if group.urn in sources), None)


def _validate_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    group_type = {INSTANCE: PARAMETER_GROUP, CLUSTER: CLUSTER_PARAMETER_GROUP}
    for resource in args.resources:
        if resource.resource_type not in group_type:
            continue
        groups = [
            r for r in args.resources if r.resource_type == group_type[resource.resource_type]
        ]
        group = _parameter_group(resource, groups)
        if group is None or not _forces_tls(group):
            which = f"parameter group {group.name}" if group else "no parameter group of the stack"
            report(
                f"{_describe(resource)} has {which} setting rds.force_ssl = 1 (PostgreSQL) or "
                "require_secure_transport = ON (MySQL): clients may connect without TLS",
                resource.urn,
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "rds-encrypted-with-kms",
        "An RDS database or cluster encrypts its storage with a customer-managed KMS key.",
        _validate_encryption,
        severity=Severity.HIGH,
        remediation=(
            f"Set storageEncrypted true and kmsKeyId to a customer-managed key: "
            f"{HOW_PLINTH_DEPLOYS}. An existing unencrypted database is migrated through an "
            "encrypted snapshot copy."
        ),
        # staging and prod hold real runs and models; a dev database may be a throwaway.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "rds-not-public",
        "No RDS database, cluster or cluster instance is publicly accessible.",
        _validate_not_public,
        severity=Severity.CRITICAL,
        remediation=(
            f"Set publiclyAccessible false (and a private DB subnet group): {HOW_PLINTH_DEPLOYS} "
            "on the cluster's private subnets, reachable from its nodes only."
        ),
        # A database on the internet is a leak in any tier; there is nothing to wait for.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    resource_rule(
        "rds-deletion-protection",
        "An RDS database or cluster has deletion protection on.",
        _validate_deletion_protection,
        severity=Severity.MEDIUM,
        remediation=f"Set deletionProtection true: {HOW_PLINTH_DEPLOYS} in the prod tier.",
        # prod: its data is irreplaceable; dev and staging databases are torn down freely.
        levels=MANDATORY_IN_PROD,
    ),
    resource_rule(
        BACKUPS_RULE,
        "An RDS database or cluster keeps automated backups for at least `minimumDays` days.",
        _validate_backups,
        severity=Severity.HIGH,
        remediation=(
            f"Set backupRetentionPeriod to at least 7 days: {HOW_PLINTH_DEPLOYS} per tier. "
            f"Another minimum goes in {environment_key(BACKUPS_RULE, 'minimumDays')}."
        ),
        # prod: a week covers a mistake found after a weekend; backups elsewhere cost
        # storage for data that is rebuilt anyway.
        levels=MANDATORY_IN_PROD,
        config={
            "minimumDays": {
                "type": "integer",
                "minimum": 1,
                "maximum": 35,
                "default": 7,
                "description": "Fewest days of automated backups (RDS allows up to 35).",
            }
        },
    ),
    stack_rule(
        "rds-multi-az",
        "An RDS database is Multi-AZ: an instance with multiAz, a Multi-AZ DB cluster, or an "
        "Aurora cluster with at least two instances.",
        _validate_multi_az,
        severity=Severity.MEDIUM,
        remediation=(
            f"Set multiAz true on the instance (an Aurora cluster: a second ClusterInstance): "
            f"{HOW_PLINTH_DEPLOYS} in the prod tier."
        ),
        # prod: a zone outage must not stop tracking and serving lookups; a standby
        # doubles the cost, which dev and staging do not need.
        levels=MANDATORY_IN_PROD,
    ),
    stack_rule(
        "rds-ssl-enforced",
        "An RDS database's parameter group makes the server refuse connections without TLS.",
        _validate_tls,
        severity=Severity.MEDIUM,
        remediation=(
            "Give the database a parameter group with rds.force_ssl = 1 (PostgreSQL) or "
            f"require_secure_transport = ON (MySQL): {HOW_PLINTH_DEPLOYS}."
        ),
        # advice: the database is private to the VPC and its clients may insist on TLS
        # themselves (sslmode=require); an engine's default parameter group is not visible
        # in the plan.
        levels=ADVISORY_EVERYWHERE,
    ),
)
