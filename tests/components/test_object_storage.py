"""ObjectStorage and S3Volumes (components/object_storage/), built under the mock engine.

One factory builds both components the way the EKS target does, from `ObjectStorageArgs`
(the defaults: buckets datasets and artifacts, volumes datasets (read-only, whole bucket)
and scratch (read-write, `scratch/`)); each other case changes one input. Values only AWS
would assign (ARNs, bucket names) are derived with the engine's own placeholder rules, never
copied into the test.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from clouds.aws.context import AwsContext, OidcIssuer
from components.cluster import Cluster
from components.jobs_namespace.args import JobsNamespaceArgs
from components.jobs_namespace.component import JobsNamespace
from components.object_storage.args import ObjectStorageArgs
from components.object_storage.buckets import ObjectStorage
from components.object_storage.volumes import MOUNTPOINT_DRIVER, S3_WRITE, S3Volumes
from plinth.engine import record
from plinth.placeholders import aws_outputs
from tests.policy_harness import violations
from tests.upstream_schemas import builtin_object_errors, object_label

REGION = "eu-west-1"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/X"
KUBERNETES_VERSION = "1.34"
JOBS = JobsNamespaceArgs()
TAGS = {"owner": "ml-platform", "cost-centre": "ml-research", "environment": "test"}
LABELS = {f"plinth.io/{key}": value for key, value in TAGS.items()}

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)

Entries = list[dict[str, Any]]


def build(
    *,
    protect: bool = True,
    args: ObjectStorageArgs | None = None,
    volume_args: ObjectStorageArgs | None = None,
) -> Entries:
    """Both components as the EKS target builds them; `volume_args` defaults to `args`."""
    storage_args = args or ObjectStorageArgs()

    def program() -> None:
        provider = aws.Provider("aws", region=REGION, default_tags={"tags": TAGS})
        context = AwsContext(provider, REGION, protect_stateful=protect)
        issuer = OidcIssuer(
            provider_arn=pulumi.Output.from_input(
                f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
            ),
            url=pulumi.Output.from_input(f"https://{ISSUER}"),
        )
        cluster = Cluster(
            name="test",
            provider=k8s.Provider("k8s"),
            kubernetes_version=KUBERNETES_VERSION,
            default_storage_class="gp3",
            gpu=None,
            protect_stateful=protect,
            labels=LABELS,
        )
        jobs = JobsNamespace("jobs", JOBS, cluster=cluster)
        storage = ObjectStorage("storage", storage_args, aws_context=context)
        S3Volumes(
            "s3-volumes",
            volume_args or storage_args,
            storage=storage,
            cluster=cluster,
            jobs_namespace=jobs,
            aws_context=context,
            issuer=issuer,
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
    """The placeholder outputs the mock engine gave `entry` (its ARN, a bucket's name)."""
    return aws_outputs(entry["type"], entry["name"], entry["inputs"], REGION)


def bucket_of(entries: Entries, bucket_key: str) -> dict[str, Any]:
    return one(entries, BUCKET, f"storage-{bucket_key}")


def companion(entries: Entries, type_token: str, bucket_key: str) -> dict[str, Any]:
    """The companion of `type_token` of bucket `bucket_key`, checked to name that bucket."""
    found = one(entries, type_token, f"storage-{bucket_key}")
    bucket = bucket_of(entries, bucket_key)
    assert found["inputs"]["bucket"] == outputs(bucket)["bucket"]
    assert bucket["urn"] in found["dependencies"]
    return found


def statements(entry: dict[str, Any], field: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(entry["inputs"][field])
    return list(document["Statement"])


def volume_policy(entries: Entries, volume: str) -> dict[str, dict[str, Any]]:
    """The statements of volume `volume`'s role, by Sid."""
    entry = one(entries, ROLE_POLICY, f"s3-volumes-{volume}-access")
    return {statement["Sid"]: statement for statement in statements(entry, "policy")}


def kubernetes_object(entries: Entries, type_token: str, volume: str) -> dict[str, Any]:
    inputs: dict[str, Any] = one(entries, type_token, f"s3-volumes-{volume}")["inputs"]
    return inputs


def key_arn(entries: Entries) -> str:
    (key,) = of_type(entries, KEY)
    return str(outputs(key)["arn"])


# ---------------------------------------------------------------------------------------
# Buckets


def test_each_configured_bucket_is_created_auto_named_and_never_force_destroyed(
    prod: Entries,
) -> None:
    buckets = of_type(prod, BUCKET)
    assert sorted(entry["name"] for entry in buckets) == sorted(
        f"storage-{key}" for key in ObjectStorageArgs().buckets
    )
    for bucket in buckets:
        assert bucket["inputs"] == {"forceDestroy": False}


def test_every_bucket_denies_requests_without_tls_on_bucket_and_objects(prod: Entries) -> None:
    for key in ObjectStorageArgs().buckets:
        arn = outputs(bucket_of(prod, key))["arn"]
        (statement,) = statements(companion(prod, BUCKET_POLICY, key), "policy")
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == "*"
        assert statement["Action"] == "s3:*"
        assert statement["Resource"] == [arn, f"{arn}/*"]
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_bucket_is_encrypted_with_the_data_key(prod: Entries) -> None:
    (key,) = of_type(prod, KEY)
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["deletionWindowInDays"] == 30
    for bucket_key in ObjectStorageArgs().buckets:
        encryption = companion(prod, ENCRYPTION, bucket_key)
        (rule,) = encryption["inputs"]["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": key_arn(prod),
        }
        assert rule["bucketKeyEnabled"] is True
        assert key["urn"] in encryption["dependencies"]


def test_every_bucket_blocks_public_access_and_acls(prod: Entries) -> None:
    for key in ObjectStorageArgs().buckets:
        block = companion(prod, PUBLIC_ACCESS_BLOCK, key)["inputs"]
        assert all(block[flag] is True for flag in PUBLIC_ACCESS_FLAGS)
        ownership = companion(prod, OWNERSHIP, key)["inputs"]
        assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_versioned_buckets_keep_and_expire_noncurrent_versions(prod: Entries) -> None:
    args = ObjectStorageArgs()
    for key, bucket in args.buckets.items():
        assert bucket.versioning
        versioning = companion(prod, VERSIONING, key)["inputs"]
        assert versioning["versioningConfiguration"] == {"status": "Enabled"}
        rules = {rule["id"]: rule for rule in companion(prod, LIFECYCLE, key)["inputs"]["rules"]}
        assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {
            "noncurrentDays": bucket.noncurrent_version_expiration_days
        }


def test_lifecycle_rules_abort_uploads_and_expire_prefixes(prod: Entries) -> None:
    for key, bucket in ObjectStorageArgs().buckets.items():
        rules = companion(prod, LIFECYCLE, key)["inputs"]["rules"]
        by_id = {rule["id"]: rule for rule in rules}
        assert by_id["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
            "daysAfterInitiation": bucket.abort_incomplete_upload_days
        }
        for prefix, days in bucket.expire_prefixes.items():
            rule = by_id[f"expire-{prefix}"]
            assert rule["filter"] == {"prefix": prefix}
            assert rule["expiration"] == {"days": days}
        # pulumi-aws v7 warns on a rule with neither `filter` nor `prefix`.
        assert all("filter" in rule and rule["status"] == "Enabled" for rule in rules)
    scratch = {rule["id"] for rule in companion(prod, LIFECYCLE, "datasets")["inputs"]["rules"]}
    assert "expire-scratch/" in scratch


def test_an_unversioned_bucket_has_no_versioning_but_still_expires_old_versions() -> None:
    entries = build(args=ObjectStorageArgs(buckets={"artifacts": {"versioning": False}}))
    assert [entry["name"] for entry in of_type(entries, VERSIONING)] == ["storage-datasets"]
    # Turned off after being on, versioning is suspended: the versions kept must expire.
    rules = companion(entries, LIFECYCLE, "artifacts")["inputs"]["rules"]
    assert "expire-noncurrent-versions" in {rule["id"] for rule in rules}


# ---------------------------------------------------------------------------------------
# IAM roles of the volumes


def test_each_volume_role_trusts_only_its_service_account(prod: Entries) -> None:
    for volume in ObjectStorageArgs().volumes:
        (statement,) = statements(one(prod, ROLE, f"s3-volumes-{volume}"), "assumeRolePolicy")
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"] == {
            "StringEquals": {
                f"{ISSUER}:sub": f"system:serviceaccount:{JOBS.name}:s3-{volume}",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }
        }


def test_the_read_only_volume_role_reads_its_bucket_and_writes_nothing(prod: Entries) -> None:
    arn = outputs(bucket_of(prod, "datasets"))["arn"]
    policy = volume_policy(prod, "datasets")
    assert set(policy) == {"ListVolume", "ReadObjects", "UseDataKeyThroughS3"}
    assert policy["ListVolume"]["Resource"] == arn
    assert "Condition" not in policy["ListVolume"]  # the volume is the whole bucket
    assert policy["ReadObjects"]["Action"] == ["s3:GetObject"]
    assert policy["ReadObjects"]["Resource"] == f"{arn}/*"
    assert policy["UseDataKeyThroughS3"]["Action"] == ["kms:Decrypt"]
    actions = [action for statement in policy.values() for action in statement["Action"]]
    assert not set(actions) & {*S3_WRITE, "kms:GenerateDataKey"}


def test_a_read_only_volume_of_a_prefix_is_scoped_to_that_prefix() -> None:
    args = ObjectStorageArgs(volumes={"datasets": {"prefix": "curated/"}})
    entries = build(args=args)
    arn = outputs(bucket_of(entries, "datasets"))["arn"]
    policy = volume_policy(entries, "datasets")
    assert policy["ListVolume"]["Condition"] == {"StringLike": {"s3:prefix": "curated/*"}}
    assert policy["ReadObjects"]["Resource"] == f"{arn}/curated/*"
    options = kubernetes_object(entries, PV, "datasets")["spec"]["mountOptions"]
    assert "prefix curated/" in options


def test_the_read_write_volume_role_is_scoped_to_scratch(prod: Entries) -> None:
    arn = outputs(bucket_of(prod, "datasets"))["arn"]
    policy = volume_policy(prod, "scratch")
    assert policy["ListVolume"]["Resource"] == arn
    assert policy["ListVolume"]["Condition"] == {"StringLike": {"s3:prefix": "scratch/*"}}
    assert set(policy["ReadWriteObjects"]["Action"]) == {"s3:GetObject", *S3_WRITE}
    assert policy["ReadWriteObjects"]["Resource"] == f"{arn}/scratch/*"
    kms = policy["UseDataKeyThroughS3"]
    assert kms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Resource"] == key_arn(prod)
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}


def test_each_service_account_carries_its_volume_role(prod: Entries) -> None:
    for volume in ObjectStorageArgs().volumes:
        account = kubernetes_object(prod, SERVICE_ACCOUNT, volume)
        role_arn = outputs(one(prod, ROLE, f"s3-volumes-{volume}"))["arn"]
        assert account["metadata"]["name"] == f"s3-{volume}"
        assert account["metadata"]["namespace"] == JOBS.name
        assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}
        assert account["automountServiceAccountToken"] is False


# ---------------------------------------------------------------------------------------
# Kubernetes objects of the volumes


def test_each_volume_and_claim_are_bound_to_each_other(prod: Entries) -> None:
    handles = []
    for volume, volume_args in ObjectStorageArgs().volumes.items():
        pv = kubernetes_object(prod, PV, volume)
        claim = kubernetes_object(prod, PVC, volume)
        assert claim["metadata"]["namespace"] == JOBS.name
        assert pv["spec"]["claimRef"] == {
            "namespace": claim["metadata"]["namespace"],
            "name": claim["metadata"]["name"],
        }
        assert claim["spec"]["volumeName"] == pv["metadata"]["name"]
        for obj in (pv, claim):
            assert obj["metadata"]["annotations"] == {"plinth.io/service-account": f"s3-{volume}"}
        assert pv["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
        assert pv["spec"]["accessModes"] == claim["spec"]["accessModes"]
        requested = claim["spec"]["resources"]["requests"]["storage"]
        assert pv["spec"]["capacity"]["storage"] == requested
        csi = pv["spec"]["csi"]
        assert csi["driver"] == MOUNTPOINT_DRIVER
        assert csi["volumeAttributes"] == {
            "bucketName": outputs(bucket_of(prod, volume_args.bucket))["bucket"],
            "authenticationSource": "pod",
            "stsRegion": REGION,
        }
        handles.append(csi["volumeHandle"])
    assert len(set(handles)) == len(handles)


def test_the_read_only_volume_mounts_read_only(prod: Entries) -> None:
    pv = kubernetes_object(prod, PV, "datasets")
    assert pv["spec"]["accessModes"] == ["ReadOnlyMany"]
    options = pv["spec"]["mountOptions"]
    assert "read-only" in options
    assert not {"allow-delete", "allow-overwrite"} & set(options)
    assert not any(option.startswith("prefix") for option in options)


def test_the_read_write_volume_mounts_its_prefix_for_the_job_user(prod: Entries) -> None:
    pv = kubernetes_object(prod, PV, "scratch")
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    options = pv["spec"]["mountOptions"]
    assert "read-only" not in options
    assert {"allow-delete", "allow-overwrite", "prefix scratch/"} <= set(options)
    assert {f"region {REGION}", "allow-other", "uid 10000", "gid 10000"} <= set(options)
    assert options == sorted(options)


def test_claims_wait_for_their_namespace_and_volume(prod: Entries) -> None:
    (namespace,) = of_type(prod, "kubernetes:core/v1:Namespace")
    for volume in ObjectStorageArgs().volumes:
        claim = one(prod, PVC, f"s3-volumes-{volume}")
        pv = one(prod, PV, f"s3-volumes-{volume}")
        assert {namespace["urn"], pv["urn"]} <= set(claim["dependencies"])


@pytest.mark.parametrize("protect", [True, False], ids=["prod", "dev"])
def test_kubernetes_objects_match_the_openapi_schema(
    protect: bool, prod: Entries, dev: Entries
) -> None:
    entries = prod if protect else dev
    objects = [entry["inputs"] for entry in entries if entry["type"] in (PV, PVC, SERVICE_ACCOUNT)]
    assert len(objects) == 3 * len(ObjectStorageArgs().volumes)
    for obj in objects:
        errors = builtin_object_errors(obj, KUBERNETES_VERSION)
        assert not errors, f"{object_label(obj)}: " + "; ".join(errors)


# ---------------------------------------------------------------------------------------
# Protection, policies, errors


STATEFUL = (BUCKET, KEY)


def test_prod_protects_and_retains_the_buckets_and_key(prod: Entries) -> None:
    held = [entry for entry in prod if entry["type"] in STATEFUL]
    assert len(held) == len(ObjectStorageArgs().buckets) + 1
    assert all(entry["protect"] and entry["retain_on_delete"] for entry in held)
    volumes = [e for e in of_type(prod, PV) + of_type(prod, PVC) if "s3-volumes-" in e["name"]]
    assert volumes
    # One way to protect data (components/stateful.py), for the volumes too.
    assert all(entry["protect"] and entry["retain_on_delete"] for entry in volumes)


def test_dev_protects_nothing(dev: Entries) -> None:
    assert not any(entry["protect"] or entry["retain_on_delete"] for entry in dev)


def test_the_policy_pack_finds_nothing_wrong_in_prod(prod: Entries) -> None:
    found = violations(*prod, tier="prod")
    assert not found, "\n".join(f"{v.rule}: {v.message}" for v in found)


def test_the_policy_pack_sees_an_unversioned_prod_bucket() -> None:
    entries = build(args=ObjectStorageArgs(buckets={"artifacts": {"versioning": False}}))
    found = [v for v in violations(*entries, tier="prod") if v.rule.startswith("s3-")]
    assert [(v.rule, v.urn) for v in found] == [
        ("s3-bucket-versioned", bucket_of(entries, "artifacts")["urn"])
    ]


def test_volumes_of_a_bucket_the_storage_lacks_are_refused() -> None:
    volume_args = ObjectStorageArgs(
        buckets={"models": {}}, volumes={"models": {"bucket": "models"}}
    )
    with pytest.raises(ValueError, match=r"volumes\.models\.bucket is 'models'"):
        build(volume_args=volume_args)


def test_the_plan_is_the_same_on_every_run(prod: Entries) -> None:
    assert build(protect=True) == prod
