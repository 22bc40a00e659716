"""S3 buckets of an environment: `ObjectStorage` creates one KMS key for the environment's
data and, per configured bucket, a private, SSE-KMS encrypted, TLS-only bucket with its
lifecycle rules. The volumes jobs mount are in volumes.py. See README.md.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from clouds.aws.context import AwsContext
from clouds.aws.policy_documents import policy_document, tls_only_statement
from components.object_storage.args import BucketArgs, ObjectStorageArgs

# The key may be scheduled for deletion only with this much notice, the longest KMS allows:
# every object in the buckets is unreadable once the key is gone.
KEY_DELETION_WINDOW_DAYS = 30


def tls_only_policy(bucket_arn: str) -> str:
    """The bucket policy that refuses every request not made over TLS, as JSON."""
    return policy_document([tls_only_statement(bucket_arn)])


def lifecycle_rules(bucket: BucketArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """The bucket's lifecycle rules: discard unfinished uploads, expire noncurrent versions
    and expire each prefix of `expire_prefixes`.

    The noncurrent-version rule stays when `versioning` is false: a bucket whose versioning
    was turned off is suspended, not unversioned, and its old versions must still expire
    (on a bucket never versioned the rule finds nothing to do).
    """
    every_object: aws.s3.BucketLifecycleConfigurationRuleFilterArgsDict = {}
    rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": every_object,
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": bucket.abort_incomplete_upload_days
            },
        },
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": every_object,
            "noncurrent_version_expiration": {
                "noncurrent_days": bucket.noncurrent_version_expiration_days
            },
        },
    ]
    rules.extend(
        {
            "id": f"expire-{prefix}",
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": days},
        }
        for prefix, days in sorted(bucket.expire_prefixes.items())
    )
    return rules


class ObjectStorage(pulumi.ComponentResource):
    """The environment's buckets and the KMS key that encrypts them.

    Per `args.buckets` key: a bucket named by Pulumi (`<name>-<key>-<random>`) with a public
    access block, SSE-KMS default encryption under the key (S3 Bucket Keys on, SSE-C
    refused), object ownership BucketOwnerEnforced (no ACLs), a bucket policy denying
    requests without TLS, lifecycle rules and, when `versioning` is true, versioning
    Enabled. In prod (`aws_context.protect_stateful`) the buckets and the key are protected
    and retained on delete. Child names derive from `name` and the bucket key: renaming
    either replaces the bucket.
    """

    buckets: dict[str, aws.s3.Bucket]
    key: aws.kms.Key

    def __init__(
        self,
        name: str,
        args: ObjectStorageArgs,
        *,
        aws_context: AwsContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:ObjectStorage", name, None, opts)
        self._context = aws_context
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        self.key = aws.kms.Key(
            f"{name}-data",
            description=f"Default encryption of the S3 buckets of {stack}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            opts=aws_context.stateful_options(self),
        )
        aws.kms.Alias(
            f"{name}-data",
            # Aliases are unique per account and region, where several stacks may live.
            name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}-{name}-data",
            target_key_id=self.key.key_id,
            opts=aws_context.options(self),
        )
        self.buckets = {
            key: self._bucket(f"{name}-{key}", bucket)
            for key, bucket in sorted(args.buckets.items())
        }
        self.register_outputs(
            {
                "buckets": {key: bucket.bucket for key, bucket in self.buckets.items()},
                "key_arn": self.key.arn,
            }
        )

    def _bucket(self, name: str, args: BucketArgs) -> aws.s3.Bucket:
        context = self._context
        bucket = aws.s3.Bucket(name, force_destroy=False, opts=context.stateful_options(self))
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=context.options(self),
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=context.options(self),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    # One data key per bucket instead of a KMS call per object.
                    "bucket_key_enabled": True,
                    # An object under a customer-provided key would escape the KMS key and
                    # be unreadable through Mountpoint.
                    "blocked_encryption_types": ["SSE-C"],
                }
            ],
            opts=context.options(self),
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            # S3 rejects concurrent changes to a bucket's access settings.
            opts=context.options(self, depends_on=[public_access_block]),
        )
        # Without versioning no BucketVersioning exists: a bucket never versioned stays
        # unversioned, and removing the resource from a versioned bucket suspends its
        # versioning (S3 cannot turn it off), keeping the versions it already holds.
        versioning = None
        if args.versioning:
            versioning = aws.s3.BucketVersioning(
                name,
                bucket=bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=context.options(self),
            )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=lifecycle_rules(args),
            # Rules on noncurrent versions need versioning configured first.
            opts=context.options(self, depends_on=[versioning] if versioning else []),
        )
        return bucket
