"""The resource types that hold data: deleting or replacing one loses it.

`stateful-resources-protected` (policies/stack/protection.py) requires `protect` on every resource
of these types, and `plinth diff` flags every change that would replace one (exit code
3). Tokens are as the installed SDKs declare them (`@pulumi.type_token(...)`);
`azure-native:dbforpostgresql:Server` is the flexible server in azure-native 3.x (the
retired single server is `SingleServer`).
"""

from __future__ import annotations

STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        # Kubernetes volumes
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        # A CloudNativePG PostgreSQL cluster (MLflow's database off EKS): its volume claims
        # are the operator's, owned by it, and go with it.
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
        # AWS
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:ebs/volume:Volume",
        "aws:efs/fileSystem:FileSystem",
        "aws:dynamodb/table:Table",
        # Azure
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "azure-native:dbforpostgresql:Server",
        # The AKS cluster: replacing it loses every workload, volume claim and secret in it
        # (the aks target protects it in prod).
        "azure-native:containerservice:ManagedCluster",
    }
)
