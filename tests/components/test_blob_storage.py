"""BlobStorage and BlobVolumes (components/blob_storage/), built under the mock engine.

One factory builds both components the way the aks target will, from `BlobStorageArgs`
(the defaults: containers datasets, artifacts and scratch; volumes datasets (read-only)
and scratch (read-write)) and an `AzureCloud` made here; each other case changes one
input. Values only Azure would assign (resource IDs, client IDs) are derived with the
engine's own placeholder rules, never copied into the test.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi_azure_native.provider import Provider as AzureProvider

from clouds.azure.context import AzureCloud, AzureContext
from components.blob_storage import COMPONENT
from components.blob_storage.account import BlobStorage, default_account_name
from components.blob_storage.args import BlobStorageArgs
from components.blob_storage.identity import (
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
)
from components.blob_storage.volumes import BLOB_DRIVER, BlobVolumes
from components.cluster import Cluster
from components.contract import ClusterFacts, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace.args import JobsNamespaceArgs
from components.jobs_namespace.component import JobsNamespace
from plinth.engine import record
from plinth.placeholders import DEFAULT_LOCATION, SUBSCRIPTION_ID, azure_outputs
from stacks.migrations import component_options
from tests.policy_harness import violations
from tests.upstream_schemas import builtin_object_errors, object_label

LOCATION = "westeurope"
RESOURCE_GROUP = "plinth-test"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/x/"
KUBERNETES_VERSION = "1.34"
JOBS = JobsNamespaceArgs()
TAGS = {"owner": "ml-platform", "cost-centre": "ml-research", "environment": "test"}
LABELS = {f"plinth.io/{key}": value for key, value in TAGS.items()}

ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
CONTAINER = "azure-native:storage:BlobContainer"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"

Entries = list[dict[str, Any]]


def build(
    *,
    protect: bool = True,
    args: BlobStorageArgs | None = None,
    volume_args: BlobStorageArgs | None = None,
) -> Entries:
    """Both components as the aks target builds them; `volume_args` defaults to `args`."""
    storage_args = args or BlobStorageArgs()

    def program() -> None:
        context = AzureContext(
            provider=AzureProvider("azure", location=LOCATION),
            location=LOCATION,
            resource_group_name=pulumi.Output.from_input(RESOURCE_GROUP),
            protect_stateful=protect,
            tags=TAGS,
        )
        azure = AzureCloud(context, oidc_issuer_url=pulumi.Output.from_input(ISSUER))
        cluster = Cluster(
            name="test",
            provider=k8s.Provider("k8s"),
            kubernetes_version=KUBERNETES_VERSION,
            default_storage_class="managed-csi",
            gpu=None,
            protect_stateful=protect,
            labels=LABELS,
            azure=azure,
        )
        jobs = JobsNamespace("jobs", JOBS, cluster=cluster)
        storage = BlobStorage("blob", storage_args, azure_context=context)
        BlobVolumes(
            "blob-volumes",
            volume_args or storage_args,
            storage=storage,
            cluster=cluster,
            jobs_namespace=jobs,
            azure=azure,
        )

    return record(program, stack="test", config={})


@pytest.fixture(scope="module")
def prod() -> Entries:
    return build(protect=True)


@pytest.fixture(scope="module")
def dev() -> Entries:
    return build(protect=False)


# ---------------------------------------------------------------------------------------
# Reading the plan


def of_type(entries: Entries, type_token: str) -> Entries:
    return [entry for entry in entries if entry["type"] == type_token]


def one(entries: Entries, type_token: str, name: str) -> dict[str, Any]:
    matches = [entry for entry in of_type(entries, type_token) if entry["name"] == name]
    assert len(matches) == 1, f"{type_token} {name}: {len(matches)} found"
    return matches[0]


def outputs(entry: dict[str, Any]) -> dict[str, Any]:
    """The placeholder outputs the mock engine gave `entry` (its resource ID, client ID)."""
    return azure_outputs(
        entry["type"], entry["name"], entry["inputs"], SUBSCRIPTION_ID, DEFAULT_LOCATION
    )


def account(entries: Entries) -> dict[str, Any]:
    (found,) = of_type(entries, ACCOUNT)
    return found


def container_id(entries: Entries, key: str) -> str:
    return str(outputs(one(entries, CONTAINER, f"blob-{key}"))["id"])


def identity(entries: Entries, volume: str) -> dict[str, Any]:
    return outputs(one(entries, IDENTITY, f"blob-volumes-{volume}"))


def kubernetes_object(entries: Entries, type_token: str, volume: str) -> dict[str, Any]:
    inputs: dict[str, Any] = one(entries, type_token, f"blob-volumes-{volume}")["inputs"]
    return inputs


# ---------------------------------------------------------------------------------------
# The storage account


def test_the_account_is_hardened(prod: Entries) -> None:
    inputs = account(prod)["inputs"]
    assert inputs["kind"] == "StorageV2"
    assert inputs["allowBlobPublicAccess"] is False
    assert inputs["enableHttpsTrafficOnly"] is True
    assert inputs["minimumTlsVersion"] == "TLS1_2"
    # Keyless mounts: nothing needs the account key.
    assert inputs["allowSharedKeyAccess"] is False
    assert inputs["defaultToOAuthAuthentication"] is True
    assert inputs["allowCrossTenantReplication"] is False
    assert inputs["isLocalUserEnabled"] is False
    assert inputs["resourceGroupName"] == RESOURCE_GROUP
    assert inputs["location"] == LOCATION
    assert inputs["tags"] == TAGS


def test_the_account_name_is_deterministic_and_valid(prod: Entries) -> None:
    name = account(prod)["inputs"]["accountName"]
    assert name == default_account_name("plinth", "test")
    assert name.isalnum()
    assert name.islower()
    assert 3 <= len(name) <= 24
    long_stack = default_account_name("plinth", "a-very-long-stack-name-for-prod")
    assert len(long_stack) == 24
    assert long_stack != default_account_name("other", "a-very-long-stack-name-for-prod")
    named = build(args=BlobStorageArgs(account_name="mlplatformdata"))
    assert account(named)["inputs"]["accountName"] == "mlplatformdata"


def test_replication_is_zone_redundant_in_prod_and_local_elsewhere(
    prod: Entries, dev: Entries
) -> None:
    assert account(prod)["inputs"]["sku"] == {"name": "Standard_ZRS"}
    assert account(dev)["inputs"]["sku"] == {"name": "Standard_LRS"}
    chosen = build(protect=False, args=BlobStorageArgs(replication="GZRS"))
    assert account(chosen)["inputs"]["sku"] == {"name": "Standard_GZRS"}


def test_the_blob_service_keeps_versions_and_soft_deleted_items(prod: Entries) -> None:
    (service,) = of_type(prod, BLOB_SERVICE)
    inputs = service["inputs"]
    days = BlobStorageArgs().soft_delete_days
    assert inputs["accountName"] == account(prod)["inputs"]["accountName"]
    assert inputs["blobServicesName"] == "default"
    assert inputs["isVersioningEnabled"] is True
    assert inputs["deleteRetentionPolicy"] == {"enabled": True, "days": days}
    assert inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}


def test_soft_delete_and_versioning_can_be_turned_off() -> None:
    entries = build(protect=False, args=BlobStorageArgs(versioning=False, soft_delete_days=0))
    (service,) = of_type(entries, BLOB_SERVICE)
    assert service["inputs"]["isVersioningEnabled"] is False
    assert service["inputs"]["deleteRetentionPolicy"] == {"enabled": False}


def test_each_configured_container_is_private(prod: Entries) -> None:
    containers = of_type(prod, CONTAINER)
    assert sorted(c["inputs"]["containerName"] for c in containers) == sorted(
        BlobStorageArgs().containers
    )
    for container in containers:
        assert container["inputs"]["publicAccess"] == "None"
        assert container["inputs"]["accountName"] == account(prod)["inputs"]["accountName"]


def test_prod_locks_the_account_against_deletion(prod: Entries, dev: Entries) -> None:
    (lock,) = of_type(prod, LOCK)
    assert lock["inputs"]["level"] == "CanNotDelete"
    assert lock["inputs"]["scope"] == outputs(account(prod))["id"]
    assert account(prod)["urn"] in lock["dependencies"]
    assert of_type(dev, LOCK) == []


def test_prod_protects_and_retains_the_account_containers_and_volumes(prod: Entries) -> None:
    held = [entry for entry in prod if entry["type"] in (ACCOUNT, CONTAINER, PV, PVC)]
    assert len(held) == 1 + len(BlobStorageArgs().containers) + 2 * len(BlobStorageArgs().volumes)
    assert all(entry["protect"] and entry["retain_on_delete"] for entry in held)


def test_dev_protects_nothing(dev: Entries) -> None:
    assert not any(entry["protect"] or entry["retain_on_delete"] for entry in dev)


# ---------------------------------------------------------------------------------------
# Identities, their trust and their roles


def test_each_identity_trusts_exactly_its_service_account(prod: Entries) -> None:
    credentials = of_type(prod, FEDERATED)
    assert len(credentials) == len(BlobStorageArgs().volumes)
    for volume in BlobStorageArgs().volumes:
        inputs = one(prod, FEDERATED, f"blob-volumes-{volume}")["inputs"]
        assert inputs["subject"] == f"system:serviceaccount:{JOBS.name}:blob-{volume}"
        assert inputs["issuer"] == ISSUER
        assert inputs["audiences"] == ["api://AzureADTokenExchange"]
        assert inputs["resourceName"] == identity(prod, volume)["name"]
        assert inputs["resourceGroupName"] == RESOURCE_GROUP


@pytest.mark.parametrize(
    ("volume", "role"),
    [("datasets", STORAGE_BLOB_DATA_READER), ("scratch", STORAGE_BLOB_DATA_CONTRIBUTOR)],
)
def test_each_role_assignment_is_scoped_to_exactly_its_container(
    prod: Entries, volume: str, role: str
) -> None:
    inputs = one(prod, ROLE_ASSIGNMENT, f"blob-volumes-{volume}")["inputs"]
    container = BlobStorageArgs().volumes[volume].container
    expected_scope = (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers/"
        f"Microsoft.Storage/storageAccounts/{account(prod)['inputs']['accountName']}/"
        f"blobServices/default/containers/{container}"
    )
    assert inputs["scope"] == expected_scope == container_id(prod, container)
    assert inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )
    assert inputs["principalId"] == identity(prod, volume)["principalId"]
    assert inputs["principalType"] == "ServicePrincipal"


def test_the_two_built_in_roles_are_the_documented_ones() -> None:
    # learn.microsoft.com "Azure built-in roles": the GUIDs are the same in every tenant.
    assert STORAGE_BLOB_DATA_READER == "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert STORAGE_BLOB_DATA_CONTRIBUTOR == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def test_each_service_account_names_its_identity(prod: Entries) -> None:
    for volume in BlobStorageArgs().volumes:
        account_object = kubernetes_object(prod, SERVICE_ACCOUNT, volume)
        assert account_object["metadata"]["name"] == f"blob-{volume}"
        assert account_object["metadata"]["namespace"] == JOBS.name
        assert account_object["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": identity(prod, volume)["clientId"]
        }
        assert account_object["automountServiceAccountToken"] is False


# ---------------------------------------------------------------------------------------
# Kubernetes objects of the volumes


def test_each_volume_is_a_keyless_blobfuse2_mount_of_its_container(prod: Entries) -> None:
    handles = []
    for volume, volume_args in BlobStorageArgs().volumes.items():
        pv = kubernetes_object(prod, PV, volume)
        claim = kubernetes_object(prod, PVC, volume)
        assert pv["spec"]["claimRef"] == {"namespace": JOBS.name, "name": f"blob-{volume}"}
        assert claim["spec"]["volumeName"] == pv["metadata"]["name"]
        assert pv["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
        assert pv["spec"]["accessModes"] == claim["spec"]["accessModes"]
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        # Which service account's token the driver mounts with: the pod's, so say which.
        for obj in (pv, claim):
            assert obj["metadata"]["annotations"] == {"plinth.io/service-account": f"blob-{volume}"}
        csi = pv["spec"]["csi"]
        assert csi["driver"] == BLOB_DRIVER
        assert csi["volumeAttributes"] == {
            "protocol": "fuse2",
            "resourcegroup": RESOURCE_GROUP,
            "storageaccount": account(prod)["inputs"]["accountName"],
            "containerName": volume_args.container,
            "clientID": identity(prod, volume)["clientId"],
            "tenantID": identity(prod, volume)["tenantId"],
            "mountWithWorkloadIdentityToken": "true",
        }
        handles.append(csi["volumeHandle"])
    assert len(set(handles)) == len(handles)


# Volume attributes blob-csi-driver v1.27.9 reads for a blobfuse mount with workload
# identity (pkg/blob/blob.go, the `...Field` constants; names are case-insensitive).
DRIVER_ATTRIBUTES = {
    "protocol",
    "storageaccount",
    "containername",
    "resourcegroup",
    "subscriptionid",
    "clientid",
    "tenantid",
    "mountwithworkloadidentitytoken",
}


def test_every_volume_attribute_is_one_the_driver_reads(prod: Entries) -> None:
    for volume in BlobStorageArgs().volumes:
        attributes = kubernetes_object(prod, PV, volume)["spec"]["csi"]["volumeAttributes"]
        assert {key.lower() for key in attributes} <= DRIVER_ATTRIBUTES
        assert all(isinstance(value, str) for value in attributes.values())


def test_the_read_only_volume_mounts_read_only_with_a_file_cache(prod: Entries) -> None:
    pv = kubernetes_object(prod, PV, "datasets")
    cache = BlobStorageArgs().volumes["datasets"].cache
    assert pv["spec"]["accessModes"] == ["ReadOnlyMany"]
    options = pv["spec"]["mountOptions"]
    assert "-o ro" in options
    assert {
        f"--file-cache-timeout={cache.timeout_s}",
        f"--cache-size-mb={cache.size_mib}",
        "-o allow_other",
        "-o uid=10000",
        "-o gid=10000",
    } <= set(options)
    assert not any(option.startswith(("--subdirectory", "--block-cache")) for option in options)
    assert options == sorted(options)


def test_the_read_write_volume_mounts_read_write(prod: Entries) -> None:
    pv = kubernetes_object(prod, PV, "scratch")
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "-o ro" not in pv["spec"]["mountOptions"]


def test_a_block_cached_subdirectory_volume_keeps_its_cache_on_the_temp_disk() -> None:
    args = BlobStorageArgs(
        volumes={
            "datasets": {
                "subdirectory": "curated/images",
                "cache": {"mode": "block", "size_mib": 50000, "timeout_s": 600, "memory_mib": 4096},
            }
        }
    )
    pv = kubernetes_object(build(args=args), PV, "datasets")
    handle = pv["spec"]["csi"]["volumeHandle"]
    options = pv["spec"]["mountOptions"]
    assert {
        "--subdirectory=curated/images",
        "--block-cache",
        f"--block-cache-path=/mnt/{handle}",
        "--block-cache-disk-size=50000",
        "--block-cache-disk-timeout=600",
        "--block-cache-pool-size=4096",
    } <= set(options)
    assert not any(option.startswith("--file-cache") for option in options)


def test_claims_wait_for_their_namespace_and_volume(prod: Entries) -> None:
    (namespace,) = of_type(prod, "kubernetes:core/v1:Namespace")
    for volume in BlobStorageArgs().volumes:
        claim = one(prod, PVC, f"blob-volumes-{volume}")
        pv = one(prod, PV, f"blob-volumes-{volume}")
        assert {namespace["urn"], pv["urn"]} <= set(claim["dependencies"])


@pytest.mark.parametrize("protect", [True, False], ids=["prod", "dev"])
def test_kubernetes_objects_match_the_openapi_schema(
    protect: bool, prod: Entries, dev: Entries
) -> None:
    entries = prod if protect else dev
    objects = [entry["inputs"] for entry in entries if entry["type"] in (PV, PVC, SERVICE_ACCOUNT)]
    assert len(objects) == 3 * len(BlobStorageArgs().volumes)
    for obj in objects:
        errors = builtin_object_errors(obj, KUBERNETES_VERSION)
        assert not errors, f"{object_label(obj)}: " + "; ".join(errors)


# ---------------------------------------------------------------------------------------
# Policies, errors, determinism


def test_the_policy_pack_finds_nothing_wrong_in_prod(prod: Entries) -> None:
    found = violations(*prod, tier="prod")
    assert not found, "\n".join(f"{v.rule}: {v.message}" for v in found)


def test_the_policy_pack_finds_nothing_wrong_with_the_storage_in_dev(dev: Entries) -> None:
    found = [v for v in violations(*dev, tier="dev") if v.rule.startswith("azure-")]
    assert not found, "\n".join(f"{v.rule}: {v.message}" for v in found)


def test_the_policy_pack_sees_an_unversioned_prod_account() -> None:
    entries = build(args=BlobStorageArgs(versioning=False))
    found = [v for v in violations(*entries, tier="prod") if v.rule.startswith("azure-")]
    assert [(v.rule, v.urn) for v in found] == [
        ("azure-storage-recoverable", account(entries)["urn"])
    ]


def test_volumes_of_a_container_the_storage_lacks_are_refused() -> None:
    volume_args = BlobStorageArgs(
        containers={"models": {}}, volumes={"models": {"container": "models"}}
    )
    with pytest.raises(ValueError, match=r"volumes\.models\.container is 'models'"):
        build(volume_args=volume_args)


def test_the_plan_is_the_same_on_every_run(prod: Entries) -> None:
    assert build(protect=True) == prod


def deploy_through_the_registry(*, with_jobs: bool) -> Entries:
    """The component as stacks/compose.py deploys it in an environment `aks-test`."""

    def program() -> None:
        context = AzureContext(
            provider=AzureProvider("azure", location=LOCATION),
            location=LOCATION,
            resource_group_name=pulumi.Output.from_input(RESOURCE_GROUP),
            protect_stateful=False,
            tags=TAGS,
        )
        cluster = Cluster(
            name="test",
            provider=k8s.Provider("k8s"),
            kubernetes_version=KUBERNETES_VERSION,
            default_storage_class="managed-csi",
            gpu=None,
            protect_stateful=False,
            labels=LABELS,
            azure=AzureCloud(context, oidc_issuer_url=pulumi.Output.from_input(ISSUER)),
        )
        deployed: dict[str, pulumi.ComponentResource] = {}
        if with_jobs:
            deployed[JOBS_NAMESPACE.key] = JobsNamespace("aks-test-jobs", JOBS, cluster=cluster)
        where = Placement("aks-test", "aks-test-blob", component_options)
        COMPONENT.deploy(BlobStorageArgs(), cluster, Deployed(deployed), where)

    return record(program, stack="aks-test", config={})


def test_through_the_registry_the_volumes_come_with_the_jobs_namespace() -> None:
    with_jobs = deploy_through_the_registry(with_jobs=True)
    assert [e["name"] for e in of_type(with_jobs, "plinth:azure:BlobStorage")] == ["aks-test-blob"]
    assert [e["name"] for e in of_type(with_jobs, "plinth:azure:BlobVolumes")] == [
        "aks-test-blob-volumes"
    ]
    assert len(of_type(with_jobs, PVC)) == len(BlobStorageArgs().volumes)
    without_jobs = deploy_through_the_registry(with_jobs=False)
    assert of_type(without_jobs, "plinth:azure:BlobVolumes") == []
    assert of_type(without_jobs, IDENTITY) == []
    assert len(of_type(without_jobs, CONTAINER)) == len(BlobStorageArgs().containers)


def test_the_component_deploys_only_where_the_cluster_brings_azure() -> None:
    assert COMPONENT.targets == ("aks",)
    assert COMPONENT.applies(ClusterFacts(target="aks", gpu_nodes=False, cloud="azure"))
    assert not COMPONENT.applies(ClusterFacts(target="eks", gpu_nodes=False, cloud="aws"))
