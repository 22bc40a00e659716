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
  attributes of each type (`AWS_FORCE_NEW`, one entry per type, each naming its source
  file; an empty entry means nothing but the region forces a new resource), plus
  `region` on every regional resource (the provider's "Enhanced Region Support" guide:
  changing it forces replacement). A resource's region is its provider's unless it sets
  its own, so a provider whose `region` changes replaces every regional resource it
  manages; IAM is global and stays.
- azure-native 3 (`provider/pkg/gen`): URL path parameters (resource group, names) and
  properties the REST spec marks create-only (`x-ms-mutability` without `update`) or its
  `forceNewMap` lists, such as a tracked resource's `location`.

Paths are Pulumi property paths: `spec.accessModes[0]`, `metadata.labels["a.b/c"]`, with
`*` matching any key or index. The AWS table was read from terraform-provider-aws source
(`internal/service/...`, v5 and v6 revisions; `identifier` of an RDS instance, once
force-new, is now renamed in place); the authority is the provider schema's
`willReplaceOnChanges` / `ForceNew` flags: check the tables against it when a provider
pin moves. tests/plinth/test_diff_coverage.py fails when a plan holds a type without rules,
when a force-new field is not an input of the pinned SDK, and when the SDK's idea of
which types are regional differs from `is_regional`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

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


# pulumi-kubernetes 4's force-new properties (provider/pkg/provider/diff.go, the whole
# `forceNew` table), by (group, version, kind); `core` is also "". Any other kind is
# replaced only for its name and namespace.
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
_POD_SPEC = (
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostname",
    "imagePullSecrets",
    "nodeName",
    "nodeSelector",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "volumes",
)
_POD_CONTAINER = (
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
)
_CORE_V1: dict[str, tuple[str, ...]] = {
    "PersistentVolume": tuple(f".spec.{source}" for source in _PERSISTENT_VOLUME_SOURCES),
    "PersistentVolumeClaim": (
        ".spec.accessModes",
        _SELECTOR,
        ".spec.storageClassName",
        ".spec.volumeName",
    ),
    "Pod": (
        *(f".spec.{field}" for field in _POD_SPEC),
        *(
            f".spec.{containers}[*].{field}"
            for containers in ("containers", "initContainers")
            for field in _POD_CONTAINER
        ),
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

# terraform-provider-aws 6 (what pulumi-aws 7.51.1 bridges): the `ForceNew` attributes of
# each resource's schema, in Pulumi's names (camelCase; a block of at most one item is an
# object, `vpcConfig.subnetIds`), read from `internal/service/<dir>/<file>.go`. An empty
# tuple is a checked answer: nothing but `region` replaces that type. Every type Plinth
# creates must be here (tests/plinth/test_diff_coverage.py).
AWS_FORCE_NEW: dict[str, tuple[str, ...]] = {
    # autoscaling/group_tag.go: every argument
    "aws:autoscaling/tag:Tag": ("autoscalingGroupName", "tag"),
    # logs/group.go
    "aws:cloudwatch/logGroup:LogGroup": ("logGroupClass", "name", "namePrefix"),
    # ec2/ec2_eip.go
    "aws:ec2/eip:Eip": ("address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"),
    # ec2/vpc_internet_gateway.go: the gateway is attached to and detached from a VPC in place
    "aws:ec2/internetGateway:InternetGateway": (),
    # ec2/ec2_launch_template.go: any other change adds a template version
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    # ec2/vpc_nat_gateway.go
    "aws:ec2/natGateway:NatGateway": (
        "allocationId",
        "connectivityType",
        "privateIp",
        "secondaryPrivateIpAddressCount",
        "subnetId",
    ),
    # ec2/vpc_route_table.go
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    # ec2/vpc_route_table_association.go: a new route table is swapped in place
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("gatewayId", "subnetId"),
    # ec2/vpc_subnet.go (and ipv6CidrBlock when the subnet assigned IPv6 on creation)
    "aws:ec2/subnet:Subnet": (
        "availabilityZone",
        "availabilityZoneId",
        "cidrBlock",
        "ipv4IpamPoolId",
        "ipv4NetmaskLength",
        "ipv6IpamPoolId",
        "ipv6Native",
        "ipv6NetmaskLength",
        "outpostArn",
        "vpcId",
    ),
    # ec2/vpc_.go
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    # eks/access_entry.go
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    # eks/access_policy_association.go: every argument
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "accessScope",
        "clusterName",
        "policyArn",
        "principalArn",
    ),
    # eks/addon.go
    "aws:eks/addon:Addon": ("addonName", "clusterName"),
    # eks/cluster.go (vpcConfig's subnets and security groups are updated in place; the
    # conditional rules are in _eks_cluster_conditional)
    "aws:eks/cluster:Cluster": (
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "bootstrapSelfManagedAddons",
        "kubernetesNetworkConfig.ipFamily",
        "kubernetesNetworkConfig.serviceIpv4Cidr",
        "name",
        "outpostConfig.controlPlaneInstanceType",
        "outpostConfig.controlPlanePlacement.groupName",
        "remoteNetworkConfig",
        "roleArn",
    ),
    # eks/node_group.go (a launch template's version is updated in place)
    "aws:eks/nodeGroup:NodeGroup": (
        "amiType",
        "capacityType",
        "clusterName",
        "diskSize",
        "instanceTypes",
        "launchTemplate.id",
        "launchTemplate.name",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "remoteAccess",
        "subnetIds",
    ),
    # iam/openid_connect_provider.go (client IDs and thumbprints are updated in place)
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    # iam/role.go
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    # iam/role_policy.go
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    # iam/role_policy_attachment.go: every argument
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn", "role"),
    # kms/alias.go (the target key is switched in place)
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    # kms/key.go
    "aws:kms/key:Key": (
        "customKeyStoreId",
        "customerMasterKeySpec",
        "keyUsage",
        "multiRegion",
        "xksKeyId",
    ),
    # s3/bucket.go
    "aws:s3/bucket:Bucket": (
        "bucket",
        "bucketPrefix",
        "objectLockEnabled",
        "objectLockConfiguration.objectLockEnabled",
    ),
    # s3/bucket_lifecycle_configuration.go
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "bucket",
        "expectedBucketOwner",
    ),
    # s3/bucket_ownership_controls.go
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    # s3/bucket_policy.go
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    # s3/bucket_public_access_block.go
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    # s3/bucket_server_side_encryption_configuration.go
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket",
        "expectedBucketOwner",
    ),
    # s3/bucket_versioning.go
    "aws:s3/bucketVersioning:BucketVersioning": ("bucket", "expectedBucketOwner"),
    # rds/instance.go; `identifier` is renamed in place.
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
    # rds/subnet_group.go (its subnets and description are updated in place)
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    # rds/parameter_group.go (parameters are modified in place)
    "aws:rds/parameterGroup:ParameterGroup": ("description", "family", "name", "namePrefix"),
    # ec2/vpc_security_group.go (inline rules are authorized and revoked in place)
    "aws:ec2/securityGroup:SecurityGroup": ("description", "name", "namePrefix", "vpcId"),
    # rds/cluster.go (storageType and snapshotIdentifier: see below)
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
    # ec2/ebs_volume.go
    "aws:ebs/volume:Volume": (
        "availabilityZone",
        "encrypted",
        "kmsKeyId",
        "multiAttachEnabled",
        "outpostArn",
        "snapshotId",
    ),
    # efs/file_system.go
    "aws:efs/fileSystem:FileSystem": (
        "availabilityZoneName",
        "creationToken",
        "encrypted",
        "kmsKeyId",
        "performanceMode",
    ),
    # dynamodb/table.go
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
AWS_FORCE_NEW["aws:s3/bucketV2:BucketV2"] = AWS_FORCE_NEW["aws:s3/bucket:Bucket"]

# azure-native 3.29.0: URL path parameters of the resource's REST API (resource group and
# names) and the properties its spec marks create-only or the provider's `forceNewMap`
# (`provider/pkg/gen/replacement.go`) lists: a tracked resource's `location`, a storage
# account's hierarchical namespace, a role assignment's principal and scope, an agent
# pool's VM size and GPU instance profile, and the managed cluster's DNS prefix, node
# resource group, disk encryption set and the network profile fields AKS cannot change
# (service and pod ranges, plugin, plugin mode, dataplane, policy, outbound type). The
# generator matches those names at any depth of the resource's inputs, hence the paths
# below `networkProfile` and the inline agent pools. The network profile's list is the one
# pulumi-azure-native #4756 split out of a whole-`networkProfile` entry; recheck it, and
# the spec's create-only marks, when the pin moves. The storage, key vault and database
# types are the stateful types of policies/stack/stateful.py, judged in any plan. API
# versions of the Blob storage types: storage 2024-01-01, managedidentity 2023-01-31,
# authorization 2022-04-01 (role assignments) and 2020-05-01 (locks).
_AKS_NETWORK_FORCE_NEW = (
    "serviceCidr",
    "serviceCidrs",
    "dnsServiceIP",
    "networkMode",
    "networkPlugin",
    "networkPluginMode",
    "podCidr",
    "networkDataplane",
    "networkPolicy",
    "outboundType",
)
AZURE_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "azure-native:storage:StorageAccount": (
        "resourceGroupName",
        "accountName",
        "location",
        "isHnsEnabled",
        # Azure's update takes `kind` only to upgrade an account to StorageV2 (storage.json
        # 2024-01-01, StorageAccountUpdateParameters: "Currently only StorageV2 value
        # supported by server"); Plinth's accounts are StorageV2 already, so another kind
        # is a new account. Conservative: azure-native's own schema flag was not at hand.
        "kind",
    ),
    "azure-native:storage:BlobContainer": ("resourceGroupName", "accountName", "containerName"),
    "azure-native:storage:BlobServiceProperties": (
        "resourceGroupName",
        "accountName",
        "blobServicesName",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "resourceGroupName",
        "resourceName",
        "location",
    ),
    # Issuer, subject and audiences are updated in place (the same PUT).
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "resourceGroupName",
        "resourceName",
        "federatedIdentityCredentialResourceName",
    ),
    "azure-native:authorization:RoleAssignment": (
        "scope",
        "roleAssignmentName",
        "principalId",
        # Azure refuses to change an assignment's role (RoleAssignmentUpdateNotPermitted):
        # only a new assignment can grant another role.
        "roleDefinitionId",
    ),
    "azure-native:authorization:ManagementLockByScope": ("scope", "lockName"),
    "azure-native:keyvault:Vault": ("resourceGroupName", "vaultName", "location"),
    "azure-native:keyvault:Key": ("resourceGroupName", "vaultName", "keyName"),
    "azure-native:dbforpostgresql:Server": ("resourceGroupName", "serverName", "location"),
    # The aks target (targets/aks/).
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:network:VirtualNetwork": ("resourceGroupName", "virtualNetworkName", "location"),
    "azure-native:network:Subnet": ("resourceGroupName", "virtualNetworkName", "subnetName"),
    "azure-native:containerservice:ManagedCluster": (
        "resourceGroupName",
        "resourceName",
        "location",
        "dnsPrefix",
        "fqdnSubdomain",
        "diskEncryptionSetID",
        "linuxProfile",
        "windowsProfile",
        "nodeResourceGroup",
        *(f"networkProfile.{field}" for field in _AKS_NETWORK_FORCE_NEW),
        "agentPoolProfiles[*].networkProfile.nodePublicIPTags",
    ),
    "azure-native:containerservice:AgentPool": (
        "resourceGroupName",
        "resourceName",
        "agentPoolName",
        "vmSize",
        "gpuInstanceProfile",
        "networkProfile.nodePublicIPTags",
    ),
    "azure-native:containerservice:MaintenanceConfiguration": (
        "resourceGroupName",
        "resourceName",
        "configName",
    ),
    "azure-native:operationalinsights:Workspace": (
        "resourceGroupName",
        "workspaceName",
        "location",
    ),
}

# IAM is global: its resources take no `region` (their pulumi-aws 7 args have none), so a
# change of the provider's region leaves them alone. Every other AWS type is regional.
_AWS_GLOBAL_MODULES = ("aws:iam/",)

# The provider resources themselves: which of their inputs, changed, replace what they
# manage (see provider_replacement_keys and resources_replaced_by_provider).
# azure-native's `DiffConfig` reports no change and no replacement for any config change
# (provider/pkg/provider/provider.go): a new subscription or location replaces nothing by
# itself; each resource's own inputs (its `location`) decide.
_PROVIDER_TYPES = (KUBERNETES_PROVIDER, "pulumi:providers:aws", "pulumi:providers:azure-native")


def _rds_cluster_conditional(_old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """cluster.go: storage type is changed in place only on Aurora engines; removing the
    snapshot identifier is suppressed, setting or changing one replaces."""
    paths = []
    if not str(new.get("engine", "")).startswith("aurora"):
        paths.append("storageType")
    if new.get("snapshotIdentifier"):
        paths.append("snapshotIdentifier")
    return paths


def _eks_cluster_conditional(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """eks/cluster.go `CustomizeDiff`: envelope encryption cannot be turned off (removing
    `encryptionConfig` replaces), and Auto Mode's node role can be added but not changed."""
    paths = []
    if old.get("encryptionConfig") and not new.get("encryptionConfig"):
        paths.append("encryptionConfig")
    old_role = (old.get("computeConfig") or {}).get("nodeRoleArn")
    if old_role and old_role != (new.get("computeConfig") or {}).get("nodeRoleArn"):
        paths.append("computeConfig.nodeRoleArn")
    return paths


_CONDITIONAL: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster_conditional,
    "aws:rds/cluster:Cluster": _rds_cluster_conditional,
}


def has_replacement_rules(type_token: str) -> bool:
    """Whether this module knows what replaces a resource of `type_token`.

    Kubernetes: always, since pulumi-kubernetes' table was transcribed whole and any other
    kind is replaced only for its name and namespace. AWS and Azure:
    only the types in the tables (an empty entry counts: it was checked). Providers: the
    ones whose configuration changes are modelled."""
    if type_token.startswith("kubernetes:"):
        return True
    if type_token.startswith("pulumi:providers:"):
        return type_token in _PROVIDER_TYPES
    return type_token in AWS_FORCE_NEW or type_token in AZURE_FORCE_NEW


def is_regional(type_token: str) -> bool:
    """Whether an AWS resource lives in one region (and moves, replaced, with it)."""
    return type_token.startswith("aws:") and not type_token.startswith(_AWS_GLOBAL_MODULES)


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
        paths = [*AWS_FORCE_NEW.get(type_token, ())]
        if is_regional(type_token):
            paths.append("region")
    else:
        paths = list(AZURE_FORCE_NEW.get(type_token, ()))
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
    return forcing(path, forced, replace_on_changes) is not None


Forcing = tuple[Literal["provider", "replace_on_changes"], str]


def forcing(
    path: PropertyPath, forced: Sequence[PropertyPath], replace_on_changes: Sequence[str]
) -> Forcing | None:
    """What makes a change at `path` replace the resource: ("provider", the force-new
    field, `*` for any key) or ("replace_on_changes", the option's path as written); None
    when the change is made in place."""
    for pattern in forced:
        if contains(pattern, path) or contains(path, pattern):
            return "provider", format_pattern(pattern)
    for written in replace_on_changes:
        if contains(parse_path(written), path):
            return "replace_on_changes", written
    return None


def format_pattern(pattern: PropertyPath) -> str:
    """A path that may hold `*` (any key or index), as Pulumi writes it: `a.b[*].c`."""
    text = ""
    for element in pattern:
        part = "[*]" if element == "*" else format_path((element,))
        text += part if not text or part.startswith("[") else f".{part}"
    return text


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


def resources_replaced_by_provider(
    type_token: str,
    provider_type: str,
    old_provider_inputs: Mapping[str, Any],
    new_provider_inputs: Mapping[str, Any],
) -> list[str]:
    """The provider config keys whose change replaces a resource of `type_token` that this
    provider manages (empty: the change leaves it alone).

    Kubernetes: the provider is replaced (`provider_replacement_keys`) and with it every
    object. AWS: the provider's `region` is every regional resource's region (pulumi-aws 7
    fills each resource's `region` from it, and `region` forces a new resource), so a new
    region replaces every regional resource, buckets and keys included; IAM stays.
    """
    if provider_type == "pulumi:providers:aws":
        moved = old_provider_inputs.get("region") != new_provider_inputs.get("region")
        return ["region"] if moved and is_regional(type_token) else []
    return provider_replacement_keys(provider_type, old_provider_inputs, new_provider_inputs)


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
