"""Where MLflow keeps artifacts, per target, and the identity it reaches them with.

- eks: the object_storage bucket, under `artifact_prefix/`, through an IRSA role only
  MLflow's service account can assume, allowed only that prefix (and the bucket's KMS key
  through S3);
- aks: the blob_storage container, under `artifact_prefix/`, through a user-assigned
  managed identity federated to MLflow's service account, Storage Blob Data Contributor on
  that container (Azure roles stop at the container); MLflow's Azure artifact repository
  authenticates with DefaultAzureCredential when given no key (README: the image caveat);
- existing: the S3-compatible endpoint of `s3_endpoint`, with the key pair in a Secret the
  team creates.
"""

from __future__ import annotations

from typing import Any

import pulumi

from clouds.aws.workload_role import WorkloadRole
from components.cluster import Cluster
from components.contract import Deployed
from components.mlflow.args import MlflowArgs
from components.mlflow.values import FULLNAME, ArtifactStore

# What MLflow does with artifacts: read, write, delete (runs and model versions deleted by
# its garbage collection), and abort the multipart uploads of large files it proxies.
S3_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
)


def artifact_statements(
    prefix: str, bucket_arn: str, key_arn: str, region: str
) -> list[dict[str, Any]]:
    """IAM statements letting MLflow use `prefix/` of the bucket and nothing else: list
    under it, read, write and delete its objects, and use the data key through S3 only."""
    return [
        {
            "Sid": "ListArtifacts",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            # ListBucket takes no key in its Resource: the prefix is scoped by condition.
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
        },
        {
            "Sid": "ReadWriteArtifacts",
            "Effect": "Allow",
            "Action": list(S3_OBJECT_ACTIONS),
            "Resource": f"{bucket_arn}/{prefix}/*",
        },
        {
            "Sid": "UseDataKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]


def s3_bucket_store(
    name: str, args: MlflowArgs, cluster: Cluster, deployed: Deployed, parent: pulumi.Resource
) -> tuple[ArtifactStore, WorkloadRole]:
    """eks: the object_storage bucket through MLflow's own IRSA role."""
    from components.object_storage import COMPONENT as OBJECT_STORAGE  # noqa: PLC0415
    from components.object_storage.buckets import ObjectStorage  # noqa: PLC0415

    storage = deployed.require(OBJECT_STORAGE)
    cluster_aws = cluster.aws
    if not isinstance(storage, ObjectStorage) or cluster_aws is None:  # pragma: no cover
        raise TypeError(f"{name}: MLflow on eks needs object_storage and the cluster's AWS")
    bucket, region = storage.buckets[args.artifact_bucket], cluster_aws.context.region
    prefix = args.artifact_prefix
    role = WorkloadRole(
        f"{name}-artifacts",
        aws_context=cluster_aws.context,
        issuer=cluster_aws.issuer,
        namespace=args.namespace,
        service_account=FULLNAME,
        statements=pulumi.Output.all(bucket.arn, storage.key.arn).apply(
            lambda arns: artifact_statements(prefix, arns[0], arns[1], region)
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    store = ArtifactStore(
        values={"s3": {"enabled": True, "bucket": bucket.bucket, "path": prefix}},
        env={"AWS_DEFAULT_REGION": region},
        service_account_annotations=role.annotations,
    )
    return store, role


def s3_endpoint_store(args: MlflowArgs) -> ArtifactStore:
    """existing: the S3-compatible endpoint, its keys from the team's Secret."""
    endpoint = args.s3_endpoint
    if endpoint is None:  # pragma: no cover (the configuration loader refuses it)
        raise ValueError("mlflow.s3_endpoint is required on an existing cluster")
    return ArtifactStore(
        values={
            "s3": {
                "enabled": True,
                "bucket": endpoint.bucket,
                "path": args.artifact_prefix,
                "existingSecret": {"name": endpoint.credentials_secret},
            }
        },
        env={"MLFLOW_S3_ENDPOINT_URL": endpoint.endpoint_url.rstrip("/")},
        port=endpoint.port,
    )


def blob_container_store(
    name: str, args: MlflowArgs, cluster: Cluster, deployed: Deployed, parent: pulumi.Resource
) -> ArtifactStore:
    """aks: the blob_storage container through a managed identity federated to MLflow's
    service account."""
    from components.blob_storage import COMPONENT as BLOB_STORAGE  # noqa: PLC0415
    from components.blob_storage.account import BlobStorage  # noqa: PLC0415
    from components.blob_storage.identity import (  # noqa: PLC0415
        CLIENT_ID_ANNOTATION,
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        WORKLOAD_IDENTITY_LABEL,
        container_identity,
    )

    storage = deployed.require(BLOB_STORAGE)
    azure = cluster.azure
    if not isinstance(storage, BlobStorage) or azure is None:  # pragma: no cover
        raise TypeError(f"{name}: MLflow on aks needs blob_storage and the cluster's Azure")
    identity = container_identity(
        f"{name}-artifacts",
        azure=azure,
        namespace=args.namespace,
        service_account=FULLNAME,
        container=storage.containers[args.artifact_container],
        role=STORAGE_BLOB_DATA_CONTRIBUTOR,
        description=f"Plinth: MLflow artifacts ({args.namespace}/{FULLNAME})",
        parent=parent,
    )
    return ArtifactStore(
        values={
            "azureBlob": {
                "enabled": True,
                "container": args.artifact_container,
                "storageAccount": storage.account_name,
                "path": args.artifact_prefix,
            }
        },
        service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
        pod_labels=WORKLOAD_IDENTITY_LABEL,
    )
