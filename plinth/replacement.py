"""When a change to a resource replaces it (delete and create) instead of updating it.

The Pulumi engine asks the resource's provider to diff old and new inputs; the provider
names the changed properties that force a new resource, and the engine adds those under
the resource's `replace_on_changes` option. Offline there is no provider to ask, so this
module restates what the pinned providers decide, per type, from their source:

- pulumi-kubernetes 4 (`provider/pkg/provider/diff.go`, `forceNewProperties`): every
  object is replaced when `metadata.name` or `metadata.namespace` changes; some kinds have
  immutable fields too (a claim's storage class, access modes, selector, volume name; a
  Deployment's selector; ...). A change at or below such a path replaces. When the object
  keeps its name and namespace, the old one is deleted before the new one is created
  (`provider.go`, `deleteBeforeReplace`). Its provider (`DiffConfig`) is replaced when the
  kubeconfig, context or cluster changes, and then every object it manages is replaced.
- pulumi-aws 7 (terraform-provider-aws 6 through the bridge): the schema's `ForceNew`
  attributes, plus `region` on every regional resource (the provider's "Enhanced Region
  Support" guide: changing it forces replacement).
- azure-native 3 (`provider/pkg/gen`): URL path parameters (resource group, names) and
  properties the REST spec marks create-only (`x-ms-mutability` without `update`) or its
  `forceNewMap` lists, such as a tracked resource's `location`.

Paths are Pulumi property paths: `spec.accessModes[0]`, `metadata.labels["a.b/c"]`, with
`*` matching any key or index. The AWS table was read from terraform-provider-aws source
(v5 and v6 revisions; `identifier` of an RDS instance, once force-new, is now renamed in
place); the authority is the `willReplaceOnChanges` flags of each provider's schema:
check the tables against it when a provider pin moves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

PathElement = str | int
PropertyPath = tuple[PathElement, ...]

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"


def parse_path(text: str) -> PropertyPath:
    """A Pulumi property path (`a.b[0]["c.d"]`, `a[*].b`) as a tuple of keys and indexes."""
    elements: list[PathElement] = []
    rest = text
    while rest:
        if rest[0] == ".":
            rest = rest[1:]
        elif rest.startswith('["'):
            end = rest.index('"]', 2)
            elements.append(rest[2:end].replace('\\"', '"'))
            rest = rest[end + 2 :]
        elif rest[0] == "[":
            end = rest.index("]")
            index = rest[1:end]
            elements.append("*" if index == "*" else int(index))
            rest = rest[end + 1 :]
        else:
            end = min((i for i in (rest.find("."), rest.find("[")) if i >= 0), default=len(rest))
            elements.append(rest[:end])
            rest = rest[end:]
    return tuple(elements)


def format_path(path: PropertyPath) -> str:
    """A path as Pulumi prints it: plain keys dotted, other keys quoted, indexes bracketed."""
    parts: list[str] = []
    for element in path:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif element and all(c.isascii() and (c.isalnum() or c == "_") for c in element):
            parts.append(f".{element}" if parts else element)
        else:
            escaped = element.replace('"', '\\"')
            parts.append(f'["{escaped}"]')
    return "".join(parts)


def contains(pattern: PropertyPath, path: PropertyPath) -> bool:
    """Whether `path` is `pattern` or below it, as Pulumi's `PropertyPath.Contains`."""
    if len(path) < len(pattern):
        return False
    return all(want in ("*", have) for want, have in zip(pattern, path, strict=False))


# pulumi-kubernetes' force-new properties, by (group, version, kind); `core` is also "".
# Its rules for bare Pods are left out: Plinth creates none.
_SELECTOR = ".spec.selector"
_PERSISTENT_VOLUME_SOURCES = [
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
]
_STATEFUL_SET = (
    ".spec.podManagementPolicy",
    ".spec.revisionHistoryLimit",
    _SELECTOR,
    ".spec.serviceName",
    ".spec.volumeClaimTemplates",
)
_JOB = (".spec.completions", ".spec.parallelism", _SELECTOR, ".spec.template")
_CORE_V1: dict[str, tuple[str, ...]] = {
    "PersistentVolume": tuple(f".spec.{source}" for source in _PERSISTENT_VOLUME_SOURCES),
    "PersistentVolumeClaim": (
        ".spec.accessModes",
        _SELECTOR,
        ".spec.storageClassName",
        ".spec.volumeName",
    ),
    "ResourceQuota": (".spec.scopes",),
    "Secret": (".type",),
    "Service": (".spec.clusterIP",),
}
_KUBERNETES_FORCE_NEW: dict[tuple[str, str, str], tuple[str, ...]] = {
    **{("apps", "v1beta1", "StatefulSet"): _STATEFUL_SET},
    **{
        ("apps", version, kind): fields
        for version in ("v1beta2", "v1")
        for kind, fields in (
            ("DaemonSet", (_SELECTOR,)),
            ("Deployment", (_SELECTOR,)),
            ("StatefulSet", _STATEFUL_SET),
        )
    },
    **{(group, "v1", kind): fields for group in ("core", "") for kind, fields in _CORE_V1.items()},
    ("policy", "v1beta1", "PodDisruptionBudget"): (".spec",),
    **{
        ("rbac.authorization.k8s.io", version, kind): (".roleRef",)
        for version in ("v1alpha1", "v1beta1", "v1")
        for kind in ("ClusterRoleBinding", "RoleBinding")
    },
    ("storage.k8s.io", "v1", "StorageClass"): (".parameters", ".provisioner"),
    **{("batch", version, "Job"): _JOB for version in ("v1beta1", "v1", "v2alpha1")},
}

_AWS_FORCE_NEW: dict[str, tuple[str, ...]] = {
    # internal/service/s3/bucket.go
    "aws:s3/bucket:Bucket": (
        "bucket",
        "bucketPrefix",
        "objectLockEnabled",
        "objectLockConfiguration.objectLockEnabled",
    ),
    # internal/service/kms/key.go
    "aws:kms/key:Key": (
        "customKeyStoreId",
        "customerMasterKeySpec",
        "keyUsage",
        "multiRegion",
        "xksKeyId",
    ),
    # internal/service/rds/instance.go; `identifier` is renamed in place.
    "aws:rds/instance:Instance": (
        "availabilityZone",
        "backupTarget",
        "characterSetName",
        "customIamInstanceProfile",
        "dbName",
        "engine",
        "kmsKeyId",
        "ncharCharacterSetName",
        "restoreToPointInTime",
        "s3Import",
        "snapshotIdentifier",
        "storageEncrypted",
        "timezone",
        "username",
    ),
    # internal/service/rds/cluster.go (storageType and snapshotIdentifier: see below)
    "aws:rds/cluster:Cluster": (
        "availabilityZones",
        "clusterIdentifier",
        "clusterIdentifierPrefix",
        "clusterScalabilityType",
        "databaseName",
        "dbSubnetGroupName",
        "dbSystemId",
        "engine",
        "engineMode",
        "kmsKeyId",
        "masterUsername",
        "restoreToPointInTime",
        "s3Import",
        "sourceRegion",
        "storageEncrypted",
    ),
    # internal/service/ec2/ebs_volume.go
    "aws:ebs/volume:Volume": (
        "availabilityZone",
        "encrypted",
        "kmsKeyId",
        "multiAttachEnabled",
        "outpostArn",
        "snapshotId",
    ),
    # internal/service/efs/file_system.go
    "aws:efs/fileSystem:FileSystem": (
        "availabilityZoneName",
        "creationToken",
        "encrypted",
        "kmsKeyId",
        "performanceMode",
    ),
    # internal/service/dynamodb/table.go
    "aws:dynamodb/table:Table": (
        "name",
        "hashKey",
        "rangeKey",
        "localSecondaryIndexes",
        "importTable.s3BucketSource",
        "restoreDateTime",
        "restoreToLatestTime",
    ),
}
_AWS_FORCE_NEW["aws:s3/bucketV2:BucketV2"] = _AWS_FORCE_NEW["aws:s3/bucket:Bucket"]

_AZURE_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "azure-native:storage:StorageAccount": (
        "resourceGroupName",
        "accountName",
        "location",
        "isHnsEnabled",
    ),
    "azure-native:storage:BlobContainer": ("resourceGroupName", "accountName", "containerName"),
    "azure-native:keyvault:Vault": ("resourceGroupName", "vaultName", "location"),
    "azure-native:keyvault:Key": ("resourceGroupName", "vaultName", "keyName"),
    "azure-native:dbforpostgresql:Server": ("resourceGroupName", "serverName", "location"),
}


def _rds_cluster_conditional(_old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """cluster.go: storage type is changed in place only on Aurora engines; removing the
    snapshot identifier is suppressed, setting or changing one replaces."""
    paths = []
    if not str(new.get("engine", "")).startswith("aurora"):
        paths.append("storageType")
    if new.get("snapshotIdentifier"):
        paths.append("snapshotIdentifier")
    return paths


_CONDITIONAL: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:rds/cluster:Cluster": _rds_cluster_conditional,
}


def forced_replacement_paths(
    type_token: str,
    old_inputs: Mapping[str, Any],
    new_inputs: Mapping[str, Any],
    provider_inputs: Mapping[str, Any] | None = None,
) -> tuple[PropertyPath, ...]:
    """Paths whose change makes the provider replace a resource of `type_token`."""
    if type_token.startswith("kubernetes:"):
        paths = _kubernetes_force_new(type_token, new_inputs, provider_inputs or {})
    elif type_token.startswith("aws:"):
        paths = [*_AWS_FORCE_NEW.get(type_token, ()), "region"]
    else:
        paths = list(_AZURE_FORCE_NEW.get(type_token, ()))
    if type_token in _CONDITIONAL:
        paths += _CONDITIONAL[type_token](old_inputs, new_inputs)
    return tuple(parse_path(path.removeprefix(".")) for path in paths)


def _kubernetes_force_new(
    type_token: str, inputs: Mapping[str, Any], provider_inputs: Mapping[str, Any]
) -> list[str]:
    """`forceNewProperties` of pulumi-kubernetes for one object."""
    paths = [".metadata.name", ".metadata.namespace"]
    module, _, kind = type_token.removeprefix("kubernetes:").partition(":")
    group, _, version = module.rpartition("/")
    if kind.endswith("Patch"):  # patch resources update everything else in place
        return paths
    immutable = inputs.get("immutable") is True
    if group in ("core", "") and version == "v1":
        if kind == "Secret" and (not _enabled(provider_inputs, "enableSecretMutable") or immutable):
            return [*paths, ".type", ".stringData", ".data"]
        if kind == "ConfigMap" and (
            not _enabled(provider_inputs, "enableConfigMapMutable") or immutable
        ):
            return [*paths, ".binaryData", ".data"]
    return [*paths, *_KUBERNETES_FORCE_NEW.get((group, version, kind), ())]


def _enabled(provider_inputs: Mapping[str, Any], key: str) -> bool:
    # Provider inputs reach the engine as strings ("true") as well as booleans.
    return provider_inputs.get(key) in (True, "true")


def replaces(
    path: PropertyPath, forced: Sequence[PropertyPath], replace_on_changes: Sequence[str]
) -> bool:
    """Whether a change at `path` replaces: a force-new property at or above it (or a whole
    container above a force-new property), or a `replace_on_changes` path above it."""
    if any(contains(pattern, path) or contains(path, pattern) for pattern in forced):
        return True
    return any(contains(parse_path(pattern), path) for pattern in replace_on_changes)


def provider_replacement_keys(
    type_token: str, old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]
) -> list[str]:
    """Config keys whose change replaces a provider, and with it every resource it manages.

    Only the Kubernetes provider is modelled (`DiffConfig` in provider.go): a changed
    clusterIdentifier replaces, an unchanged one means nothing does; otherwise a changed
    kubeconfig, context or cluster replaces when the active cluster changes, which offline
    cannot be checked: Plinth assumes it does.
    """
    if type_token != KUBERNETES_PROVIDER:
        return []
    changed = sorted(
        k for k in set(old_inputs) | set(new_inputs) if old_inputs.get(k) != new_inputs.get(k)
    )
    identifier = "clusterIdentifier"
    if identifier in old_inputs and identifier in new_inputs:
        return [identifier] if identifier in changed else []
    keys = ("renderYamlToDirectory", "kubeconfig", "context", "cluster")
    return [key for key in changed if key in keys]


def deletes_before_creating(
    type_token: str, old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]
) -> bool:
    """Whether pulumi-kubernetes deletes the old object before creating its replacement: it
    does when the object keeps its explicit name and namespace (two cannot coexist)."""
    if not type_token.startswith("kubernetes:"):
        return False
    old_metadata, new_metadata = old_inputs.get("metadata"), new_inputs.get("metadata")
    if not isinstance(old_metadata, Mapping) or not isinstance(new_metadata, Mapping):
        return False
    return bool(new_metadata.get("name")) and all(
        old_metadata.get(key) == new_metadata.get(key) for key in ("name", "namespace")
    )


def update_notes(type_token: str, paths: Sequence[PropertyPath]) -> list[str]:
    """What to know about an in-place update that the plan alone does not show."""
    storage = ("spec", "resources", "requests", "storage")
    if type_token == PERSISTENT_VOLUME_CLAIM and storage in paths:
        return [
            "storage request changed: the claim is expanded in place if its StorageClass "
            "allows volume expansion; Kubernetes refuses to shrink a claim"
        ]
    return []
