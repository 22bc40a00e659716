"""MLflow's database on EKS: an RDS PostgreSQL instance in the cluster's private subnets.

What is created, children of the MLflow component:

- a customer KMS key (rotation on) that encrypts the instance's storage, snapshots and
  Performance Insights data;
- a DB subnet group on the cluster's private subnets, and a security group that admits
  PostgreSQL (5432) only from the cluster's node security group (nodes and pods);
- a parameter group of the engine's family that refuses connections without TLS
  (`rds.force_ssl=1`);
- the instance: not publicly accessible, encrypted, gp3 storage that grows up to
  `max_allocated_storage_gib`, automated backups, minor upgrades in the maintenance
  window, Multi-AZ, deletion protection and a final snapshot where the settings say so
  (the prod tier does);
- a Kubernetes Secret `mlflow-database` in MLflow's namespace with the master user's
  `username` and `password`, for the chart's `backendStore.existingDatabaseSecret`.

Plinth never generates a password. Set as secret config (`plinth:mlflow.database.password`),
it is the master password and Plinth writes the Secret; unset, RDS generates one and keeps
it in Secrets Manager (`manage_master_user_password`, encrypted with the same key), and the
platform team creates the Secret from it (README.md). In prod the key and the instance are
protected and retained.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from clouds.aws.context import AwsCloud
from clouds.aws.policy_documents import policy_document
from components.cluster import Cluster
from components.mlflow.database.args import MlflowDatabaseArgs

POSTGRES_PORT = 5432
# The Secret in MLflow's namespace holding the database user and password.
RDS_CREDENTIALS_SECRET = "mlflow-database"  # noqa: S105 (a Secret's name)
KEY_DELETION_WINDOW_DAYS = 30
# The free Performance Insights retention.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
# AWS's managed policy for the enhanced monitoring agent.
ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def rds_identifier(name: str) -> str:
    """The instance's identifier: fixed, since snapshots, alarms and people name it."""
    return f"{name}-db"


def deploy_rds(
    name: str,
    args: MlflowDatabaseArgs,
    cluster: Cluster,
    *,
    namespace: str,
    parent: pulumi.ComponentResource,
    depends_on: Sequence[pulumi.Resource],
) -> tuple[aws.rds.Instance, k8s.core.v1.Secret | None]:
    """The RDS instance named after `name` and, when the password is secret config, the
    credentials Secret in `namespace` (else the team creates it from Secrets Manager)."""
    aws_cloud = cluster.aws
    if aws_cloud is None or aws_cloud.network is None:  # pragma: no cover (deploy_database)
        raise TypeError("RDS needs a cluster on AWS with its network")
    context = aws_cloud.context
    rds = args.rds
    key = aws.kms.Key(
        f"{name}-db",
        description=f"Encryption of MLflow's RDS database {rds_identifier(name)}",
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        opts=context.stateful_options(parent),
    )
    subnets = aws.rds.SubnetGroup(
        f"{name}-db",
        name=rds_identifier(name),
        description="MLflow's database: the cluster's private subnets",
        subnet_ids=list(aws_cloud.network.private_subnet_ids),
        opts=context.options(parent),
    )
    firewall = _security_group(name, aws_cloud, parent)
    parameters = aws.rds.ParameterGroup(
        f"{name}-db",
        name=rds_identifier(name),
        family=f"postgres{rds.engine_version}",
        description="MLflow's database: TLS required",
        parameters=[{"name": "rds.force_ssl", "value": "1"}],
        opts=context.options(parent),
    )
    instance = aws.rds.Instance(
        f"{name}-db",
        identifier=rds_identifier(name),
        engine="postgres",
        engine_version=rds.engine_version,
        auto_minor_version_upgrade=True,
        instance_class=rds.instance_class,
        storage_type="gp3",
        allocated_storage=rds.allocated_storage_gib,
        max_allocated_storage=max(rds.max_allocated_storage_gib, rds.allocated_storage_gib),
        storage_encrypted=True,
        kms_key_id=key.arn,
        db_name=args.name,
        username=args.username,
        # Secret config, else RDS keeps a password it generates in Secrets Manager.
        password=None if args.password is None else pulumi.Output.secret(args.password),
        manage_master_user_password=True if args.password is None else None,
        master_user_secret_kms_key_id=key.arn if args.password is None else None,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[firewall.id],
        parameter_group_name=parameters.name,
        publicly_accessible=False,
        multi_az=rds.multi_az,
        backup_retention_period=rds.backup_retention_days,
        copy_tags_to_snapshot=True,
        deletion_protection=rds.deletion_protection,
        skip_final_snapshot=not rds.final_snapshot,
        final_snapshot_identifier=f"{rds_identifier(name)}-final" if rds.final_snapshot else None,
        performance_insights_enabled=rds.performance_insights,
        performance_insights_kms_key_id=key.arn if rds.performance_insights else None,
        performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS
        if rds.performance_insights
        else None,
        monitoring_interval=rds.monitoring_interval_s,
        monitoring_role_arn=_monitoring_role(name, aws_cloud, parent).arn
        if rds.monitoring_interval_s
        else None,
        tags={"Name": rds_identifier(name)},
        opts=context.stateful_options(parent),
    )
    if args.password is None:
        return instance, None
    secret = k8s.core.v1.Secret(
        f"{name}-db-credentials",
        metadata=cluster.metadata(RDS_CREDENTIALS_SECRET, namespace),
        string_data={
            "username": args.username,
            "password": pulumi.Output.secret(args.password),
        },
        opts=pulumi.ResourceOptions.merge(
            cluster.resource_options(parent), pulumi.ResourceOptions(depends_on=list(depends_on))
        ),
    )
    return instance, secret


def _security_group(
    name: str, aws_cloud: AwsCloud, parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """PostgreSQL from the cluster's nodes and pods only; no egress (RDS needs none)."""
    if aws_cloud.network is None:  # pragma: no cover (checked by the caller)
        raise TypeError("RDS needs the cluster's network")
    return aws.ec2.SecurityGroup(
        f"{name}-db",
        name=f"{name}-db",
        description="MLflow's database: PostgreSQL from the cluster's nodes and pods",
        vpc_id=aws_cloud.network.vpc_id,
        ingress=[
            {
                "description": "PostgreSQL from the cluster's nodes and pods",
                "protocol": "tcp",
                "from_port": POSTGRES_PORT,
                "to_port": POSTGRES_PORT,
                "security_groups": [aws_cloud.network.node_security_group_id],
            }
        ],
        egress=[],
        tags={"Name": f"{name}-db"},
        opts=aws_cloud.context.options(parent),
    )


def _monitoring_role(name: str, aws_cloud: AwsCloud, parent: pulumi.Resource) -> aws.iam.Role:
    """The role RDS's enhanced monitoring agent publishes OS metrics with."""
    role = aws.iam.Role(
        f"{name}-db-monitoring",
        assume_role_policy=policy_document(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        ),
        opts=aws_cloud.context.options(parent),
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-db-monitoring",
        role=role.name,
        policy_arn=ENHANCED_MONITORING_POLICY,
        opts=aws_cloud.context.options(parent),
    )
    return role
