"""MLflow's database (components/mlflow/database/), built under the mock engine.

One factory builds the database the way the MLflow component does: its namespace first,
then `deploy_database` as a child of a stand-in for the MLflow component, on an EKS-like
cluster (RDS) or an existing one with the CloudNativePG operator (a `Cluster`). Each case
changes one input. Placeholder outputs come from the engine's own rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi_azure_native.provider import Provider as AzureProvider

from clouds.aws.context import AwsCloud, AwsContext, AwsNetwork, OidcIssuer
from clouds.azure.context import AzureCloud, AzureContext
from components.blob_storage import COMPONENT as BLOB_STORAGE
from components.blob_storage.account import BlobStorage
from components.blob_storage.args import BlobStorageArgs
from components.blob_storage.identity import STORAGE_BLOB_DATA_CONTRIBUTOR
from components.contract import Deployed
from components.mlflow import COMPONENT as MLFLOW
from components.mlflow.database import MlflowDatabase, database_problem, deploy_database
from components.mlflow.database.args import (
    CloudNativePgArgs,
    CloudNativePgBackupArgs,
    MlflowDatabaseArgs,
)
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring
from components.pod_security import namespace_labels
from components.postgres_operator import COMPONENT as POSTGRES_OPERATOR
from components.postgres_operator.args import PostgresOperatorArgs
from components.postgres_operator.component import PostgresOperator
from plinth.diff import diff_plans
from plinth.diff_report import format_diff
from plinth.engine import record
from plinth.placeholders import DEFAULT_LOCATION, SUBSCRIPTION_ID, aws_outputs, azure_outputs
from stacks.config import ConfigError, load_platform_config
from stacks.tiers import MLFLOW_DATABASE_TIER_DEFAULTS
from tests.components.mesh_fixtures import StandInMonitoring, bare_cluster
from tests.conftest import ROOT
from tests.policy_harness import violations
from tests.stacks.test_config import SOURCE, valid_values
from tests.upstream_schemas import crd_for, custom_resource_errors, installed_upstream_files

REGION = "eu-west-1"
NAMESPACE = "mlflow"
NAME = "dev-mlflow"
TAGS = {"owner": "ml-platform", "cost-centre": "ml-research", "environment": "dev"}
LABELS = {
    "app.kubernetes.io/part-of": "plinth",
    **{f"plinth.io/{key}": value for key, value in TAGS.items()},
    "plinth.io/tier": "dev",
}
NODE_SECURITY_GROUP = "sg-nodes"
PRIVATE_SUBNETS = ("subnet-a", "subnet-b", "subnet-c")
INSTANCE = "aws:rds/instance:Instance"
KEY = "aws:kms/key:Key"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token)
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
POD_MONITOR_CRD = "kube-prometheus-stack/88.5.3/crds/crd-podmonitors.yaml"
# How the plan shows a Pulumi secret (plinth/engine.py): never its value.
SECRET_SHOWN = "[secret]"  # noqa: S105
PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (a test value)
BACKUP = CloudNativePgBackupArgs(
    destination_path="s3://backups/mlflow",
    endpoint_url="https://minio.example.com",
    credentials_secret="backup-keys",  # noqa: S106 (a Secret's name)
)
# aks: the defaults, the blob_storage container `backups` under mlflow/.
BLOB_BACKUP = CloudNativePgBackupArgs()
LOCATION = "westeurope"
RESOURCE_GROUP = "plinth-test"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/x/"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"

Entries = list[dict[str, Any]]


class StandInMlflow(pulumi.ComponentResource):
    """The MLflow component as `deploy_database` sees it: the parent of its children."""

    def __init__(self) -> None:
        super().__init__("test:mlflow:StandIn", NAME)


def aws_cloud(protect: bool) -> AwsCloud:
    provider = aws.Provider("aws", region=REGION, default_tags={"tags": TAGS})
    context = AwsContext(provider, REGION, protect_stateful=protect)
    issuer = OidcIssuer(
        provider_arn=pulumi.Output.from_input("arn:aws:iam::123456789012:oidc-provider/x"),
        url=pulumi.Output.from_input("https://x"),
    )
    network = AwsNetwork(
        vpc_id=pulumi.Output.from_input("vpc-1"),
        private_subnet_ids=tuple(pulumi.Output.from_input(s) for s in PRIVATE_SUBNETS),
        node_security_group_id=pulumi.Output.from_input(NODE_SECURITY_GROUP),
    )
    return AwsCloud(context, issuer, network)


def azure_cloud(protect: bool) -> AzureCloud:
    context = AzureContext(
        provider=AzureProvider("azure", location=LOCATION),
        location=LOCATION,
        resource_group_name=pulumi.Output.from_input(RESOURCE_GROUP),
        protect_stateful=protect,
        tags=TAGS,
    )
    return AzureCloud(context, oidc_issuer_url=pulumi.Output.from_input(ISSUER))


def build(
    args: MlflowDatabaseArgs | None = None,
    *,
    on_eks: bool = True,
    on_aks: bool = False,
    protect: bool = False,
    monitored: bool = False,
    returned: dict[str, MlflowDatabase] | None = None,
) -> Entries:
    """The database of `args` (default settings), on EKS, AKS (with a storage account
    holding a `backups` container) or an existing cluster."""
    on_eks = on_eks and not on_aks

    def program() -> None:
        azure = azure_cloud(protect) if on_aks else None
        cluster = bare_cluster(
            protect=protect,
            labels=LABELS,
            aws=aws_cloud(protect) if on_eks else None,
            azure=azure,
        )
        resources: dict[str, pulumi.ComponentResource] = {}
        if monitored:
            resources[MONITORING.key] = StandInMonitoring()
        if azure is not None:
            resources[BLOB_STORAGE.key] = BlobStorage(
                "blob",
                BlobStorageArgs.model_validate({"containers": {"backups": {}}}),
                azure_context=azure.context,
            )
        if not on_eks:
            resources[POSTGRES_OPERATOR.key] = PostgresOperator(
                "postgres-operator",
                PostgresOperatorArgs(),
                cluster=cluster,
                monitoring=deployed_monitoring(Deployed(resources)),
            )
        parent = StandInMlflow()
        namespace = k8s.core.v1.Namespace(
            "mlflow-namespace",
            metadata=cluster.metadata(NAMESPACE, **namespace_labels("restricted")),
            opts=cluster.resource_options(parent),
        )
        database = deploy_database(
            args or MlflowDatabaseArgs(),
            cluster,
            Deployed(resources),
            NAMESPACE,
            parent,
            depends_on=[namespace],
            name=NAME,
        )
        if returned is not None:
            returned["database"] = database

    return record(program, stack="test", config={})


def of_type(entries: Entries, type_token: str) -> Entries:
    return [entry for entry in entries if entry["type"] == type_token]


def only(entries: Entries, type_token: str) -> dict[str, Any]:
    (found,) = of_type(entries, type_token)
    return found


def placeholder(entry: dict[str, Any], output: str) -> Any:
    return aws_outputs(entry["type"], entry["name"], entry["inputs"], REGION)[output]


def dev_args(**changes: Any) -> MlflowDatabaseArgs:
    return MlflowDatabaseArgs.model_validate(
        {**MLFLOW_DATABASE_TIER_DEFAULTS["dev"], "password": PASSWORD, **changes}
    )


def prod_args(**changes: Any) -> MlflowDatabaseArgs:
    return MlflowDatabaseArgs.model_validate(
        {**MLFLOW_DATABASE_TIER_DEFAULTS["prod"], "password": PASSWORD, **changes}
    )


@pytest.fixture(scope="module")
def rds_dev() -> Entries:
    return build(dev_args())


@pytest.fixture(scope="module")
def rds_prod() -> Entries:
    return build(prod_args(), protect=True)


# --- RDS on EKS ---------------------------------------------------------------------------


def test_rds_is_private_encrypted_with_its_own_key_and_on_the_private_subnets(
    rds_dev: Entries,
) -> None:
    instance = only(rds_dev, INSTANCE)["inputs"]
    key = only(rds_dev, KEY)
    subnets = only(rds_dev, SUBNET_GROUP)
    assert instance["engine"] == "postgres"
    assert instance["engineVersion"] == MlflowDatabaseArgs().rds.engine_version
    assert instance["publiclyAccessible"] is False
    assert instance["storageEncrypted"] is True
    assert instance["kmsKeyId"] == placeholder(key, "arn")
    assert key["inputs"]["enableKeyRotation"] is True
    assert instance["autoMinorVersionUpgrade"] is True
    assert instance["dbSubnetGroupName"] == subnets["inputs"]["name"]
    assert subnets["inputs"]["subnetIds"] == list(PRIVATE_SUBNETS)
    assert instance["dbName"] == "mlflow"
    assert instance["username"] == "mlflow"


def test_rds_admits_postgres_only_from_the_cluster_nodes(rds_dev: Entries) -> None:
    group = only(rds_dev, SECURITY_GROUP)
    assert group["inputs"]["vpcId"] == "vpc-1"
    (rule,) = group["inputs"]["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
    assert rule["securityGroups"] == [NODE_SECURITY_GROUP]
    assert not rule.get("cidrBlocks")
    assert group["inputs"]["egress"] == []
    assert only(rds_dev, INSTANCE)["inputs"]["vpcSecurityGroupIds"] == [f"{group['name']}-id"]


def test_rds_refuses_connections_without_tls(rds_dev: Entries) -> None:
    parameters = only(rds_dev, PARAMETER_GROUP)["inputs"]
    assert parameters["family"] == f"postgres{MlflowDatabaseArgs().rds.engine_version}"
    assert {"name": "rds.force_ssl", "value": "1"} in parameters["parameters"]
    assert only(rds_dev, INSTANCE)["inputs"]["parameterGroupName"] == parameters["name"]


def test_prod_is_multi_az_deletion_protected_backed_up_and_snapshotted_on_delete(
    rds_prod: Entries, rds_dev: Entries
) -> None:
    prod = only(rds_prod, INSTANCE)["inputs"]
    assert prod["multiAz"] is True
    assert prod["deletionProtection"] is True
    assert prod["backupRetentionPeriod"] >= 7
    assert prod["skipFinalSnapshot"] is False
    assert prod["finalSnapshotIdentifier"] == f"{prod['identifier']}-final"
    assert prod["monitoringInterval"] > 0
    assert prod["monitoringRoleArn"]
    dev = only(rds_dev, INSTANCE)["inputs"]
    assert dev["skipFinalSnapshot"] is True
    assert not dev.get("finalSnapshotIdentifier")
    assert dev["deletionProtection"] is False


def test_prod_protects_and_retains_the_instance_and_its_key(
    rds_prod: Entries, rds_dev: Entries
) -> None:
    for token in (INSTANCE, KEY):
        assert (only(rds_prod, token)["protect"], only(rds_prod, token)["retain_on_delete"]) == (
            True,
            True,
        )
        assert only(rds_dev, token)["protect"] is False


def test_the_policy_pack_finds_nothing_mandatory_in_prod(rds_prod: Entries) -> None:
    # Without the stand-in's namespace: fencing MLflow's namespace is the MLflow component's.
    found = violations(*[e for e in rds_prod if e["type"] != NAMESPACE_TYPE], tier="prod")
    assert [v for v in found if v.level == "mandatory"] == []


def test_a_configured_password_stays_secret_and_lands_in_the_credentials_secret() -> None:
    returned: dict[str, MlflowDatabase] = {}
    entries = build(dev_args(), returned=returned)
    assert PASSWORD not in json.dumps(entries)
    instance = only(entries, INSTANCE)["inputs"]
    assert instance["password"] == SECRET_SHOWN
    assert not instance.get("manageMasterUserPassword")
    secret = only(entries, SECRET)
    database = returned["database"]
    assert secret["inputs"]["metadata"]["name"] == database.credentials_secret
    assert secret["inputs"]["metadata"]["namespace"] == NAMESPACE
    data = secret["inputs"]["stringData"]
    # The plan never shows a Secret's data, only its keys.
    assert data == {"username": SECRET_SHOWN, "password": SECRET_SHOWN}
    assert (database.port, database.name, database.ssl_mode) == (5432, "mlflow", "require")
    namespace = only(entries, NAMESPACE_TYPE)
    assert namespace["urn"] in secret["dependencies"]


def test_without_a_password_rds_keeps_its_own_in_secrets_manager() -> None:
    entries = build(dev_args(password=None))
    instance = only(entries, INSTANCE)["inputs"]
    assert instance["manageMasterUserPassword"] is True
    assert instance["masterUserSecretKmsKeyId"] == placeholder(only(entries, KEY), "arn")
    assert "password" not in instance
    assert of_type(entries, SECRET) == []


def test_changing_the_database_name_is_a_stateful_replacement(rds_dev: Entries) -> None:
    renamed = build(dev_args(name="tracking"))
    diff = diff_plans(rds_dev, renamed)
    (lost,) = diff.data_losses
    assert (lost.type, lost.action) == (INSTANCE, "replace")
    assert f"STATEFUL REPLACEMENT: {lost.name}" in format_diff(diff, "dev@main", "dev")


def test_resizing_the_instance_is_an_update_in_place(rds_dev: Entries) -> None:
    bigger = build(dev_args(rds={"instance_class": "db.m7g.large"}))
    diff = diff_plans(rds_dev, bigger)
    assert diff.data_losses == ()
    assert [(c.type, c.action) for c in diff.changes] == [(INSTANCE, "update")]


# --- CloudNativePG elsewhere ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cnpg() -> Entries:
    return build(MlflowDatabaseArgs(), on_eks=False, monitored=True)


def test_cnpg_cluster_bootstraps_the_database_without_superuser_access(cnpg: Entries) -> None:
    spec = only(cnpg, CNPG_CLUSTER)["inputs"]["spec"]
    assert spec["bootstrap"] == {"initdb": {"database": "mlflow", "owner": "mlflow"}}
    assert spec["enableSuperuserAccess"] is False
    assert spec["storage"] == {"size": "10Gi"}
    assert spec["instances"] == 1
    assert spec["inheritedMetadata"]["labels"] == LABELS
    assert "backup" not in spec
    assert of_type(cnpg, SCHEDULED_BACKUP) == []


def test_mlflow_reads_the_operators_app_secret_through_the_primary_service() -> None:
    returned: dict[str, MlflowDatabase] = {}
    settings = CloudNativePgArgs(cluster_name="tracking-db")
    build(MlflowDatabaseArgs(cloudnative_pg=settings), on_eks=False, returned=returned)
    database = returned["database"]
    assert database.credentials_secret == "tracking-db-app"  # noqa: S105 (a name)
    assert database.host == f"tracking-db-rw.{NAMESPACE}.svc"
    assert database.port == 5432


def test_the_cluster_waits_for_the_operator_and_its_crds(cnpg: Entries) -> None:
    database = only(cnpg, CNPG_CLUSTER)
    crds = {e["urn"] for e in of_type(cnpg, CONFIG_FILE)}
    assert len(crds) == 11
    assert crds <= set(database["dependencies"])
    (chart,) = of_type(cnpg, "kubernetes:helm.sh/v4:Chart")
    assert chart["urn"] in database["dependencies"]


def test_the_cluster_is_protected_and_retained_in_prod_only(cnpg: Entries) -> None:
    assert only(cnpg, CNPG_CLUSTER)["protect"] is False
    # Prod's policy also wants a standby and scheduled backups (cnpg-instances-ha,
    # cnpg-backups-scheduled), as prod environments configure.
    settings = CloudNativePgArgs(instances=3, backup=BACKUP)
    prod = build(MlflowDatabaseArgs(cloudnative_pg=settings), on_eks=False, protect=True)
    database = only(prod, CNPG_CLUSTER)
    assert (database["protect"], database["retain_on_delete"]) == (True, True)
    found = violations(database, only(prod, SCHEDULED_BACKUP), tier="prod")
    assert [v for v in found if v.level == "mandatory"] == []


def test_metrics_are_scraped_only_with_monitoring(cnpg: Entries) -> None:
    monitor = only(cnpg, POD_MONITOR)["inputs"]
    assert monitor["spec"]["selector"] == {"matchLabels": {"cnpg.io/cluster": "mlflow-db"}}
    assert of_type(build(MlflowDatabaseArgs(), on_eks=False), POD_MONITOR) == []


@pytest.fixture(scope="module")
def cnpg_backed_up() -> Entries:
    settings = CloudNativePgArgs(
        instances=3, storage_size_gib=50, storage_class="fast-ssd", backup=BACKUP
    )
    return build(MlflowDatabaseArgs(cloudnative_pg=settings), on_eks=False, monitored=True)


def test_backups_go_to_the_object_store_with_the_teams_keys(cnpg_backed_up: Entries) -> None:
    spec = only(cnpg_backed_up, CNPG_CLUSTER)["inputs"]["spec"]
    store = spec["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == BACKUP.destination_path
    assert store["endpointURL"] == BACKUP.endpoint_url
    assert {ref["name"] for ref in store["s3Credentials"].values()} == {"backup-keys"}
    assert spec["backup"]["retentionPolicy"] == f"{BACKUP.retention_days}d"
    assert spec["storage"] == {"size": "50Gi", "storageClass": "fast-ssd"}
    schedule = only(cnpg_backed_up, SCHEDULED_BACKUP)["inputs"]["spec"]
    assert schedule["cluster"] == {"name": "mlflow-db"}
    assert schedule["schedule"] == BACKUP.schedule
    assert schedule["method"] == "barmanObjectStore"


# --- backups to Azure Blob on aks ----------------------------------------------------------


@pytest.fixture(scope="module")
def cnpg_blob_backed_up() -> Entries:
    settings = CloudNativePgArgs(instances=3, backup=BLOB_BACKUP)
    return build(
        MlflowDatabaseArgs(cloudnative_pg=settings), on_aks=True, protect=True, monitored=True
    )


def azure_output(entries: Entries, type_token: str, name: str, output: str) -> Any:
    """The placeholder output the mock engine gave the resource `name` of `type_token`."""
    (entry,) = [e for e in of_type(entries, type_token) if e["name"] == name]
    outputs = azure_outputs(
        entry["type"], entry["name"], entry["inputs"], SUBSCRIPTION_ID, DEFAULT_LOCATION
    )
    return outputs[output]


def test_aks_backups_go_to_the_backup_container_as_the_workload_identity(
    cnpg_blob_backed_up: Entries,
) -> None:
    spec = only(cnpg_blob_backed_up, CNPG_CLUSTER)["inputs"]["spec"]
    account = only(cnpg_blob_backed_up, STORAGE_ACCOUNT)["inputs"]["accountName"]
    store = spec["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == f"https://{account}.blob.core.windows.net/backups/mlflow"
    assert store["azureCredentials"] == {"inheritFromAzureAD": True}
    assert "s3Credentials" not in store
    assert "endpointURL" not in store
    client_id = azure_output(cnpg_blob_backed_up, IDENTITY, f"{NAME}-db-backup", "clientId")
    annotations = spec["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations == {"azure.workload.identity/client-id": client_id}
    assert spec["inheritedMetadata"]["labels"] == {
        **LABELS,
        "azure.workload.identity/use": "true",
    }
    schedule = only(cnpg_blob_backed_up, SCHEDULED_BACKUP)["inputs"]["spec"]
    assert schedule["method"] == "barmanObjectStore"
    assert schedule["cluster"] == {"name": "mlflow-db"}


def test_the_backup_identity_trusts_only_the_clusters_service_account(
    cnpg_blob_backed_up: Entries,
) -> None:
    (credential,) = of_type(cnpg_blob_backed_up, FEDERATED)
    inputs = credential["inputs"]
    # CloudNativePG runs the instances as a service account named after the Cluster.
    assert inputs["subject"] == f"system:serviceaccount:{NAMESPACE}:mlflow-db"
    assert inputs["issuer"] == ISSUER
    assert inputs["audiences"] == ["api://AzureADTokenExchange"]
    identity_name = azure_output(cnpg_blob_backed_up, IDENTITY, f"{NAME}-db-backup", "name")
    assert inputs["resourceName"] == identity_name


def test_the_backup_identity_may_write_only_the_backup_container(
    cnpg_blob_backed_up: Entries,
) -> None:
    (assignment,) = of_type(cnpg_blob_backed_up, ROLE_ASSIGNMENT)
    inputs = assignment["inputs"]
    backups = azure_output(cnpg_blob_backed_up, BLOB_CONTAINER, "blob-backups", "id")
    assert str(backups).endswith("/blobServices/default/containers/backups")
    assert inputs["scope"] == backups
    assert inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{STORAGE_BLOB_DATA_CONTRIBUTOR}"
    )
    principal = azure_output(cnpg_blob_backed_up, IDENTITY, f"{NAME}-db-backup", "principalId")
    assert inputs["principalId"] == principal


def test_aks_without_backups_creates_no_identity() -> None:
    entries = build(MlflowDatabaseArgs(), on_aks=True)
    assert of_type(entries, IDENTITY) == []
    spec = only(entries, CNPG_CLUSTER)["inputs"]["spec"]
    assert "serviceAccountTemplate" not in spec
    assert "azure.workload.identity/use" not in spec["inheritedMetadata"]["labels"]


def test_the_policy_pack_finds_nothing_mandatory_with_aks_backups(
    cnpg_blob_backed_up: Entries,
) -> None:
    database = only(cnpg_blob_backed_up, CNPG_CLUSTER)
    schedule = only(cnpg_blob_backed_up, SCHEDULED_BACKUP)
    assert [v for v in violations(database, tier="prod") if v.level == "mandatory"] != []
    found = violations(database, schedule, tier="prod")
    assert [v for v in found if v.level == "mandatory"] == []


def crd_files(upstream: Path, entries: Entries) -> list[str]:
    """The CRD files the plan installs (the operator's), and the PodMonitor's, which the
    monitoring component installs in an environment."""
    return [*installed_upstream_files(upstream, entries).values(), POD_MONITOR_CRD]


@pytest.mark.parametrize("token", [CNPG_CLUSTER, SCHEDULED_BACKUP, POD_MONITOR])
@pytest.mark.parametrize("store", ["s3", "azure"])
def test_custom_resources_match_the_pinned_crds(
    cnpg_backed_up: Entries, cnpg_blob_backed_up: Entries, store: str, token: str, upstream: Path
) -> None:
    entries = cnpg_backed_up if store == "s3" else cnpg_blob_backed_up
    obj = only(entries, token)["inputs"]
    crd = crd_for(upstream, obj, crd_files(upstream, entries))
    assert crd is not None, f"no upstream CRD for {token}"
    assert custom_resource_errors(crd, obj) == []


def test_the_crd_check_catches_a_field_the_pinned_crd_lacks(
    cnpg_backed_up: Entries, upstream: Path
) -> None:
    obj = only(cnpg_backed_up, CNPG_CLUSTER)["inputs"]
    crd = crd_for(upstream, obj, crd_files(upstream, cnpg_backed_up))
    assert crd is not None
    broken = {**obj, "spec": {**obj["spec"], "superuserAccess": False}}
    assert custom_resource_errors(crd, broken) != []


def test_renaming_the_cnpg_cluster_is_a_stateful_replacement(cnpg: Entries) -> None:
    renamed = build(
        MlflowDatabaseArgs(cloudnative_pg=CloudNativePgArgs(cluster_name="tracking-db")),
        on_eks=False,
        monitored=True,
    )
    diff = diff_plans(cnpg, renamed)
    lost = [change for change in diff.data_losses if change.type == CNPG_CLUSTER]
    assert [change.action for change in lost] == ["replace"]


# --- settings ---------------------------------------------------------------------------


def config_of(**values: Any) -> Any:
    return load_platform_config(valid_values(**values), source=SOURCE)


def test_off_eks_the_database_needs_the_operator() -> None:
    problem = database_problem(
        MlflowDatabaseArgs(), config_of(postgres_operator={"enabled": False})
    )
    assert problem is not None
    assert "plinth:postgres_operator.enabled to true" in problem
    assert database_problem(MlflowDatabaseArgs(), config_of()) is None


def aks_config(backup: dict[str, Any], containers: dict[str, Any] | None = None) -> Any:
    """aks-dev's environment file with MLflow's database `backup` (and blob containers)."""
    document = yaml.safe_load((ROOT / "environments" / "Pulumi.aks-dev.yaml").read_text())
    values = {k.removeprefix("plinth:"): v for k, v in document["config"].items()}
    values["mlflow"]["database"] = {"cloudnative_pg": {"backup": backup}}
    if containers is not None:
        values["blob_storage"]["containers"] = containers
    return load_platform_config(values, source=SOURCE)


def test_aks_backups_with_the_defaults_and_a_backup_container_load() -> None:
    config = aks_config({})
    assert database_problem(config.args(MLFLOW).database, config) is None


@pytest.mark.parametrize(
    ("backup", "containers", "expected"),
    [
        (BACKUP.model_dump(exclude_defaults=True), None, "remove them and set container"),
        ({"container": "archive"}, None, "backup.container is 'archive'"),
        ({}, {"datasets": {}}, "add it under plinth:blob_storage.containers"),
    ],
)
def test_aks_backup_mistakes_are_one_line(
    backup: dict[str, Any], containers: dict[str, Any] | None, expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        aks_config(backup, containers)
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)


def test_off_azure_backups_need_a_destination_and_keys() -> None:
    config = config_of()
    args = MlflowDatabaseArgs(cloudnative_pg=CloudNativePgArgs(backup=BLOB_BACKUP))
    problem = database_problem(args, config)
    assert problem is not None
    assert "needs destination_path (s3://bucket/prefix) and credentials_secret" in problem
    backed_up = MlflowDatabaseArgs(cloudnative_pg=CloudNativePgArgs(backup=BACKUP))
    assert database_problem(backed_up, config) is None


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (
            {"cloudnative_pg": {"backup": {**BACKUP.model_dump(), "schedule": "0 3 * * *"}}},
            "schedule",
        ),
        (
            {"cloudnative_pg": {"backup": {**BACKUP.model_dump(), "destination_path": "/x"}}},
            "destination_path",
        ),
        ({"rds": {"backup_retention_days": 0}}, "backup_retention_days"),
        ({"rds": {"engine_version": "17.4"}}, "engine_version"),
        ({"name": "ml-flow"}, "name"),
    ],
)
def test_bad_settings_name_their_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MlflowDatabaseArgs.model_validate(settings)


def test_every_tier_default_is_valid_and_prod_keeps_its_data() -> None:
    tiers = {
        t: MlflowDatabaseArgs.model_validate(v) for t, v in MLFLOW_DATABASE_TIER_DEFAULTS.items()
    }
    prod = tiers["prod"]
    assert prod.rds.multi_az
    assert prod.rds.deletion_protection
    assert prod.rds.final_snapshot
    assert prod.rds.backup_retention_days >= 7
    assert prod.cloudnative_pg.instances >= 3
    assert not tiers["dev"].rds.multi_az
