"""`plinth bootstrap aws`: the S3 bucket and KMS key Pulumi needs before the first stack.

Pulumi keeps each stack's state in the bucket (`pulumi login s3://...`) and encrypts the
stack's secrets with the key (`--secrets-provider awskms://...`); both must exist before
`pulumi stack init`, so they cannot be resources of the stacks themselves. Every step is
idempotent: a second run finds everything in place, changes nothing and says so.

The bucket: versioned (a bad write of the state can be rolled back), encrypted by default
with the key (SSE-KMS, S3 Bucket Key on), all public access blocked, ACLs disabled
(BucketOwnerEnforced), and a policy statement `DenyInsecureTransport` refusing any request
not made over TLS. Other statements already in the bucket policy are kept.

The key: a symmetric customer managed key found by its alias, created with the alias when
the alias does not exist, with yearly automatic rotation enabled.

IAM actions it needs:
    sts:GetCallerIdentity (allowed to every identity)
    s3:ListBucket, s3:CreateBucket, s3:GetBucketVersioning, s3:PutBucketVersioning,
    s3:GetEncryptionConfiguration, s3:PutEncryptionConfiguration,
    s3:GetBucketPublicAccessBlock, s3:PutBucketPublicAccessBlock,
    s3:GetBucketOwnershipControls, s3:PutBucketOwnershipControls,
    s3:GetBucketPolicy, s3:PutBucketPolicy,
    kms:DescribeKey, kms:CreateKey, kms:TagResource, kms:CreateAlias,
    kms:GetKeyRotationStatus, kms:EnableKeyRotation
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from clouds.aws.policy_documents import TLS_STATEMENT_ID
from clouds.aws.policy_documents import tls_only_statement as bucket_tls_statement
from plinth.aws_session import AwsError, Client, connect, error_code, explained_errors
from plinth.cloud_report import Outcome, bootstrap_report
from stacks.config import ConfigError
from targets.eks.args import AWS_REGION

COMMAND = "plinth bootstrap aws"
DEFAULT_KMS_ALIAS = "alias/plinth-pulumi-secrets"
KEY_DESCRIPTION = "Plinth: encrypts Pulumi stack secrets (awskms secrets provider)"

# API operation -> IAM action that allows it (S3's differ from the operation names).
IAM_ACTIONS = {
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "HeadBucket": "s3:ListBucket",
    "CreateBucket": "s3:CreateBucket",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DescribeKey": "kms:DescribeKey",
    "CreateKey": "kms:CreateKey",
    "TagResource": "kms:TagResource",
    "CreateAlias": "kms:CreateAlias",
    "GetKeyRotationStatus": "kms:GetKeyRotationStatus",
    "EnableKeyRotation": "kms:EnableKeyRotation",
}

# General purpose bucket naming rules (Amazon S3 User Guide).
_BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# KMS AliasName: 1-256 characters of this set, starting alias/ (KMS API reference).
_ALIAS_CHARACTERS = re.compile(r"^alias/[A-Za-z0-9:/_-]{1,250}$")

_ABSENT_CODES = frozenset(
    {
        "NoSuchPublicAccessBlockConfiguration",
        "OwnershipControlsNotFoundError",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchBucketPolicy",
    }
)


@dataclass(frozen=True)
class BootstrapResult:
    """The outcome of every step, and the names the next commands use."""

    region: str
    bucket: str
    kms_alias: str
    key_arn: str
    outcomes: tuple[Outcome, ...]

    def next_commands(self) -> list[str]:
        """What to run next: log in to the bucket, create each stack with the key."""
        return [
            f"pulumi login 's3://{self.bucket}?region={self.region}'",
            f"pulumi stack init <env> --secrets-provider "
            f"'awskms://{self.kms_alias}?region={self.region}'",
        ]

    def report(self) -> str:
        """The lines `plinth bootstrap aws` prints."""
        return bootstrap_report(
            f"{COMMAND}: bucket {self.bucket}, key {self.kms_alias}, region {self.region}",
            self.outcomes,
            "Next, log in to the state bucket and create each stack with the key:",
            self.next_commands(),
        )


def validate_inputs(region: str, bucket: str, kms_alias: str) -> None:
    """ConfigError naming the flag, the value and the rule, before any AWS call."""
    if not re.fullmatch(AWS_REGION, region):
        raise ConfigError(f"--region {region!r} is not an AWS region name, e.g. eu-west-1")
    problem = bucket_name_problem(bucket)
    if problem:
        raise ConfigError(f"--bucket {bucket!r}: {problem} (S3 bucket naming rules)")
    if kms_alias.startswith("alias/aws/"):
        raise ConfigError(
            f"--kms-alias {kms_alias!r}: alias/aws/ is reserved for AWS managed keys; "
            f"choose another name, e.g. {DEFAULT_KMS_ALIAS}"
        )
    if not _ALIAS_CHARACTERS.fullmatch(kms_alias):
        raise ConfigError(
            f"--kms-alias {kms_alias!r}: must start with alias/ followed by letters, digits, "
            f"'/', '_', '-' or ':' (256 characters at most), e.g. {DEFAULT_KMS_ALIAS}"
        )


def bucket_name_problem(name: str) -> str | None:
    """Which S3 general purpose bucket naming rule `name` breaks, or None."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long, not {len(name)}"
    if not _BUCKET_CHARACTERS.fullmatch(name):
        return (
            "may hold only lowercase letters, digits, '.' and '-', and must begin and end "
            "with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    prefix = next((p for p in _RESERVED_BUCKET_PREFIXES if name.startswith(p)), None)
    if prefix:
        return f"must not start with the reserved prefix {prefix!r}"
    suffix = next((s for s in _RESERVED_BUCKET_SUFFIXES if name.endswith(s)), None)
    if suffix:
        return f"must not end with the reserved suffix {suffix!r}"
    return None


@dataclass(frozen=True)
class BootstrapClients:
    """The AWS clients bootstrap works with, all in the bootstrap region."""

    sts: Client
    s3: Client
    kms: Client

    @classmethod
    def connect(cls, region: str) -> BootstrapClients:
        """Clients for `region` from the default credential chain."""
        session = connect(region)
        return cls(sts=session.client("sts"), s3=session.client("s3"), kms=session.client("kms"))


def bootstrap_aws(
    region: str,
    bucket: str,
    kms_alias: str = DEFAULT_KMS_ALIAS,
    clients: BootstrapClients | None = None,
) -> BootstrapResult:
    """Create or correct the state bucket and the secrets key; report each step.

    The names are checked before any AWS call; `clients` defaults to the default
    credential chain in `region`.
    """
    validate_inputs(region, bucket, kms_alias)
    aws = clients or BootstrapClients.connect(region)
    s3 = aws.s3
    with explained_errors(COMMAND, IAM_ACTIONS):
        account = aws.sts.get_caller_identity()["Account"]
        # Checked first: a name taken by another account stops the run before a key is made.
        bucket_exists = _owned_bucket_exists(s3, bucket, region, account)
        key_arn, key_outcome = _ensure_key(aws.kms, kms_alias)
        outcomes = [
            key_outcome,
            _ensure_key_rotation(aws.kms, key_arn),
            _ensure_bucket(s3, bucket, region, exists=bucket_exists),
            _ensure_versioning(s3, bucket),
            _ensure_encryption(s3, bucket, key_arn),
            _ensure_public_access_block(s3, bucket),
            _ensure_ownership_controls(s3, bucket),
            _ensure_tls_policy(s3, bucket, s3.meta.partition),
        ]
    return BootstrapResult(region, bucket, kms_alias, key_arn, tuple(outcomes))


def _owned_bucket_exists(s3: Client, bucket: str, region: str, account: str) -> bool:
    """Whether `bucket` exists in this account; AwsError if another account has the name
    or the bucket is in another region."""
    try:
        # ExpectedBucketOwner turns "someone else's bucket" into a 403 even where a
        # cross-account policy would let us read it.
        head = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return False
        if status == 403:
            raise AwsError(
                f"{COMMAND}: bucket {bucket} exists but not in account {account} (S3 bucket "
                "names are global), or this identity lacks s3:ListBucket on it: choose another "
                "--bucket name, e.g. one with the account id or a company prefix"
            ) from None
        raise
    bucket_region = head.get("BucketRegion") or region
    if bucket_region != region:
        raise AwsError(
            f"{COMMAND}: bucket {bucket} already exists in {bucket_region}, not {region}: "
            f"run again with --region {bucket_region}, or choose another --bucket name"
        )
    return True


def _ensure_key(kms: Client, alias: str) -> tuple[str, Outcome]:
    item = f"KMS key {alias}"
    try:
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError as error:
        if error_code(error) != "NotFoundException":
            raise
    else:
        _check_usable(key, alias)
        return key["Arn"], Outcome(item, "already correct", key["Arn"])
    created = kms.create_key(
        Description=KEY_DESCRIPTION,
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Tags=[{"TagKey": "managed-by", "TagValue": "plinth-bootstrap"}],
    )["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=created["KeyId"])
    return created["Arn"], Outcome(item, "created", created["Arn"])


def _check_usable(key: dict[str, Any], alias: str) -> None:
    """AwsError when the alias names a key Pulumi cannot use for secrets."""
    if key.get("KeyState") != "Enabled":
        raise AwsError(
            f"{COMMAND}: {alias} names key {key['Arn']} in state {key.get('KeyState')}: enable "
            "it (or cancel its deletion), or choose another --kms-alias"
        )
    if key.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        raise AwsError(
            f"{COMMAND}: {alias} names a {key.get('KeySpec')} key; Pulumi's awskms provider "
            "needs a SYMMETRIC_DEFAULT key: choose another --kms-alias"
        )


def _ensure_key_rotation(kms: Client, key_arn: str) -> Outcome:
    item = "KMS key rotation"
    if kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]:
        return Outcome(item, "already correct", "enabled")
    kms.enable_key_rotation(KeyId=key_arn)
    return Outcome(item, "updated", "enabled")


def _ensure_bucket(s3: Client, bucket: str, region: str, *, exists: bool) -> Outcome:
    item = f"S3 bucket {bucket}"
    if exists:
        return Outcome(item, "already correct", f"exists in {region}")
    # us-east-1 is S3's default location and refuses an explicit LocationConstraint.
    location: dict[str, Any] = {}
    if region != "us-east-1":
        location["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(Bucket=bucket, **location)
    except ClientError as error:
        if error_code(error) == "BucketAlreadyExists":
            raise AwsError(
                f"{COMMAND}: bucket name {bucket} is taken by another AWS account (S3 bucket "
                "names are global): choose another --bucket name"
            ) from None
        if error_code(error) != "BucketAlreadyOwnedByYou":
            raise
    return Outcome(item, "created", f"in {region}")


def _ensure_versioning(s3: Client, bucket: str) -> Outcome:
    item = "versioning"
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled":
        return Outcome(item, "already correct", "Enabled")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return Outcome(item, "updated", "Enabled")


def _ensure_encryption(s3: Client, bucket: str, key_arn: str) -> Outcome:
    item = "default encryption"
    by_default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    wanted = {"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": True}
    detail = "SSE-KMS with the key, S3 Bucket Key enabled"
    current = _get_or_none(s3.get_bucket_encryption, bucket, "ServerSideEncryptionConfiguration")
    rules = (current or {}).get("Rules", [])
    if len(rules) == 1 and _encrypts_with(rules[0], key_arn):
        return Outcome(item, "already correct", detail)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [wanted]})
    return Outcome(item, "updated", detail)


def _encrypts_with(rule: dict[str, Any], key_arn: str) -> bool:
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    # S3 returns the key as it was given: its ARN, or its id (the ARN's last part).
    key = str(default.get("KMSMasterKeyID", ""))
    return (
        default.get("SSEAlgorithm") == "aws:kms"
        and key in (key_arn, key_arn.rpartition("/")[2])
        and rule.get("BucketKeyEnabled") is True
    )


def _ensure_public_access_block(s3: Client, bucket: str) -> Outcome:
    item = "public access block"
    wanted = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    current = _get_or_none(s3.get_public_access_block, bucket, "PublicAccessBlockConfiguration")
    if current is not None and all(current.get(flag) is True for flag in wanted):
        return Outcome(item, "already correct", "all four settings on")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=wanted)
    return Outcome(item, "updated", "all four settings on")


def _ensure_ownership_controls(s3: Client, bucket: str) -> Outcome:
    item = "object ownership"
    wanted = [{"ObjectOwnership": "BucketOwnerEnforced"}]
    current = _get_or_none(s3.get_bucket_ownership_controls, bucket, "OwnershipControls")
    if current is not None and current.get("Rules") == wanted:
        return Outcome(item, "already correct", "BucketOwnerEnforced (ACLs disabled)")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": wanted})
    return Outcome(item, "updated", "BucketOwnerEnforced (ACLs disabled)")


def tls_only_statement(bucket: str, partition: str = "aws") -> dict[str, Any]:
    """The state bucket's statement refusing every request made without TLS."""
    return bucket_tls_statement(f"arn:{partition}:s3:::{bucket}")


def _ensure_tls_policy(s3: Client, bucket: str, partition: str) -> Outcome:
    item = "bucket policy"
    detail = f"statement {TLS_STATEMENT_ID} denies requests without TLS"
    wanted = tls_only_statement(bucket, partition)
    text = _get_or_none(s3.get_bucket_policy, bucket, "Policy")
    policy: dict[str, Any] = json.loads(text) if text else {"Version": "2012-10-17"}
    found = policy.get("Statement", [])
    statements: list[dict[str, Any]] = [found] if isinstance(found, dict) else list(found)
    ours = [s for s in statements if s.get("Sid") == TLS_STATEMENT_ID]
    if [_normalized(s) for s in ours] == [_normalized(wanted)]:
        return Outcome(item, "already correct", detail)
    others = [s for s in statements if s.get("Sid") != TLS_STATEMENT_ID]
    policy["Statement"] = [*others, wanted]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy, sort_keys=True))
    return Outcome(item, "updated", detail)


def _normalized(statement: dict[str, Any]) -> str:
    """A statement as comparable text: S3 may return a one-element list as a string."""
    flat = {
        key: sorted(value) if isinstance(value, list) else value for key, value in statement.items()
    }
    for key in ("Action", "Resource"):
        if isinstance(flat.get(key), str):
            flat[key] = [flat[key]]
    return json.dumps(flat, sort_keys=True)


def _get_or_none(read: Any, bucket: str, field: str) -> Any:
    """`read(Bucket=bucket)[field]`, or None when the bucket has no such configuration."""
    try:
        return read(Bucket=bucket)[field]
    except ClientError as error:
        if error_code(error) in _ABSENT_CODES:
            return None
        raise
