"""Rules: S3 buckets are private, encrypted, versioned and reached over TLS only.

In pulumi-aws v7 a bucket (`aws:s3/bucket:Bucket`, or the deprecated
`aws:s3/bucketV2:BucketV2`) is configured by separate resources (public access block,
encryption, versioning, policy), so the S3 rules are stack rules that link each of those
companions to its bucket: by the value of its `bucket` input (the bucket's name, which is
also its `id`), else by its property dependency on `bucket`, else by its dependencies.
The real engine gives stack rules outputs, where a bucket carries `bucket`, `id` and `arn`;
offline an auto-named bucket has none of them and the dependencies link it. A bucket's
deprecated inline settings (`versioning`, `serverSideEncryptionConfiguration`, `policy`)
count as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from policies.aws.policy_documents import condition_entries, matches_any, parse_statements
from policies.aws.values import UNKNOWN, known, strings
from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    stack_rule,
    walk,
)

BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ENCRYPTION_TYPES = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
VERSIONING_TYPES = frozenset(
    {
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
    }
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
# The buckets Plinth makes, and the component that gives each its settings.
DECLARE_BUCKET = (
    "Declare the bucket in plinth:object_storage.buckets of the environment file: "
    "ObjectStorage (components/aws/object_storage.py) "
)


def _values_at(value: Any, key: str) -> list[Any]:
    """Every value under `value` whose key is `key`, at any depth."""
    return [found for path, found in walk(value) if path == key or path.endswith(f".{key}")]


# ---------------------------------------------------------------------------------------
# S3: linking companions to buckets


@dataclass(frozen=True)
class _Bucket:
    """A bucket of the stack and the props of the companion resources linked to it."""

    resource: PolicyResource
    props: dict[str, Any]
    companions: tuple[dict[str, Any], ...]

    @property
    def names(self) -> set[str]:
        """The bucket's names where known: its `bucket` and `id`, and the name in its ARN."""
        names = {
            self.props[key] for key in ("bucket", "id") if isinstance(self.props.get(key), str)
        }
        arn = self.props.get("arn")
        if isinstance(arn, str) and arn.count(":") >= 5:
            names.add(arn.split(":", 5)[5])
        return {name for name in names if name}

    def report(self, report_violation: ReportViolation, problem: str) -> None:
        report_violation(f"bucket {self.resource.name!r} {problem}", self.resource.urn)


def _buckets_with(args: StackValidationArgs, companion_types: Iterable[str]) -> list[_Bucket]:
    """Every bucket of the stack with its companions of `companion_types`."""
    wanted = set(companion_types)
    buckets = [(r, known(r.props)) for r in args.resources if r.resource_type in BUCKET_TYPES]
    by_name: dict[str, set[str]] = {}
    for resource, props in buckets:
        for key in ("bucket", "id"):
            if isinstance(props.get(key), str):
                by_name.setdefault(props[key], set()).add(resource.urn)
    linked: dict[str, list[dict[str, Any]]] = {resource.urn: [] for resource, _ in buckets}
    for companion in args.resources:
        if companion.resource_type in wanted:
            props = known(companion.props)
            for urn in _linked_buckets(companion, props.get("bucket"), by_name, linked.keys()):
                linked[urn].append(props)
    return [_Bucket(r, props, tuple(linked[r.urn])) for r, props in buckets]


def _linked_buckets(
    companion: PolicyResource,
    bucket_input: Any,
    by_name: Mapping[str, set[str]],
    bucket_urns: Iterable[str],
) -> set[str]:
    if isinstance(bucket_input, str) and bucket_input in by_name:
        return by_name[bucket_input]
    # The real engine records which resources each input came from; offline only the
    # resource's dependencies are known.
    property_dependencies = companion.property_dependencies or {}
    sources = (
        property_dependencies.get("bucket", [])
        if property_dependencies
        else companion.dependencies or []
    )
    return {source.urn for source in sources} & set(bucket_urns)


def _verdict(problems: Sequence[str | None], missing: str) -> str | None:
    """A bucket's problem from those of its configurations: None if any is fine (or not
    known yet), `missing` if it has none."""
    if not problems:
        return missing
    if any(problem is None for problem in problems):
        return None
    return problems[0]


# ---------------------------------------------------------------------------------------
# S3 rules


def _public_access_problem(props: Mapping[str, Any]) -> str | None:
    values = {flag: props.get(flag) for flag in PUBLIC_ACCESS_FLAGS}
    if any(value is UNKNOWN for value in values.values()):
        return None
    off = [flag for flag, value in values.items() if value is not True]
    return f"leaves {', '.join(off)} unset or false (each defaults to false)" if off else None


def _validate_public_access(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    account_blocks = [
        known(r.props) for r in args.resources if r.resource_type == ACCOUNT_PUBLIC_ACCESS_BLOCK
    ]
    if any(_public_access_problem(props) is None for props in account_blocks):
        return  # the account blocks public access for every bucket
    for bucket in _buckets_with(args, {PUBLIC_ACCESS_BLOCK}):
        problems = [_public_access_problem(props) for props in bucket.companions]
        problem = _verdict(
            [f"has a BucketPublicAccessBlock that {p}" if p else None for p in problems],
            "has no BucketPublicAccessBlock (none names it in `bucket` or depends on it)",
        )
        if problem:
            bucket.report(report_violation, problem)


def _encryption_problem(config: Any, require_kms: bool) -> str | None:
    if config is UNKNOWN:
        return None
    algorithms = _values_at(config, "sseAlgorithm")
    if any(algorithm is UNKNOWN for algorithm in algorithms):
        return None
    if not algorithms:
        return "has an encryption configuration that sets no sseAlgorithm"
    allowed = KMS_ALGORITHMS if require_kms else KMS_ALGORITHMS | {"AES256"}
    wrong = [str(algorithm) for algorithm in algorithms if algorithm not in allowed]
    if not wrong:
        return None
    return f"is encrypted with {', '.join(wrong)}; allowed: {', '.join(sorted(allowed))}"


def _validate_encryption(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    require_kms = bool(args.get_config()["requireKms"])
    for bucket in _buckets_with(args, ENCRYPTION_TYPES):
        configs = [props.get("rules") for props in bucket.companions]
        configs += [
            bucket.props[key]  # deprecated inline setting of the bucket
            for key in ("serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations")
            if bucket.props.get(key)
        ]
        problem = _verdict(
            [_encryption_problem(config, require_kms) for config in configs],
            "has no BucketServerSideEncryptionConfiguration",
        )
        if problem:
            bucket.report(report_violation, problem)


def _versioning_problem(status: Any) -> str | None:
    if status is UNKNOWN or status == "Enabled":
        return None
    return f"has versioning status {status!r}, not 'Enabled'"


def _validate_versioning(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in _buckets_with(args, VERSIONING_TYPES):
        problems = [
            _versioning_problem(dig(props, "versioningConfiguration", "status"))
            for props in bucket.companions
        ]
        for key in ("versioning", "versionings"):  # deprecated inline setting of the bucket
            for enabled in _values_at(bucket.props.get(key), "enabled"):
                problems.append(None if enabled in (True, UNKNOWN) else "has versioning disabled")
        problem = _verdict(problems, "has no BucketVersioning")
        if problem:
            bucket.report(report_violation, problem)


def _resource_paths(resources: list[str]) -> list[str]:
    """The bucket/key part of each S3 ARN pattern (`*` for a bare `*`)."""
    paths = []
    for resource in resources:
        parts = resource.split(":", 5)
        if resource == "*":
            paths.append("*")
        elif len(parts) == 6 and parts[0] == "arn" and parts[2] in ("s3", "*"):
            paths.append(parts[5])
    return paths


def _covers_bucket_and_objects(resource: Any, names: set[str]) -> bool:
    if resource is UNKNOWN:
        return True  # an ARN not assigned yet: judged at the end of `pulumi up`
    paths = _resource_paths(strings(resource))
    if not names:  # an auto-named bucket offline: any bucket-level and object-level pattern
        return any("/" not in path for path in paths) and any(
            path == "*" or path.endswith("/*") for path in paths
        )
    return any(matches_any(name, paths) for name in names) and any(
        matches_any(f"{name}/*", paths) for name in names
    )


def _denies_plain_http(statement: Mapping[str, Any], names: set[str]) -> bool:
    principal = statement.get("principal")
    everyone = principal == "*" or (
        isinstance(principal, Mapping)
        and any(
            str(kind).lower() == "aws" and "*" in strings(who) for kind, who in principal.items()
        )
    )
    insecure = [
        value
        for key, value in condition_entries(statement, {"bool", "boolifexists"})
        if key == "aws:securetransport"
    ]
    return (
        str(statement.get("effect", "")).lower() == "deny"
        and everyone
        and any(action.lower() in ("s3:*", "*") for action in strings(statement.get("action")))
        and any(str(value).lower() == "false" for value in insecure)
        and _covers_bucket_and_objects(statement.get("resource"), names)
    )


def _tls_problem(policy: Any, names: set[str]) -> str | None:
    try:
        statements = parse_statements(policy)
    except ValueError as error:
        return f"has a bucket policy that is not a JSON policy document ({error})"
    if statements is None or any(_denies_plain_http(s, names) for s in statements):
        return None
    return (
        "has a bucket policy with no statement denying requests without TLS "
        '(Effect Deny, Principal "*", Action s3:*, Condition Bool aws:SecureTransport '
        '"false", Resource the bucket ARN and ARN/*)'
    )


def _validate_tls_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for bucket in _buckets_with(args, {BUCKET_POLICY}):
        policies = [props.get("policy") for props in bucket.companions]
        if bucket.props.get("policy"):  # deprecated inline setting of the bucket
            policies.append(bucket.props["policy"])
        problem = _verdict(
            [_tls_problem(policy, bucket.names) for policy in policies],
            "has no BucketPolicy denying requests without TLS",
        )
        if problem:
            bucket.report(report_violation, problem)


RULES: tuple[Rule, ...] = (
    stack_rule(
        "s3-bucket-public-access-blocked",
        "Every S3 bucket has a public access block with all four settings true.",
        _validate_public_access,
        severity=Severity.HIGH,
        remediation=(
            f"{DECLARE_BUCKET}blocks public access to each. A bucket made elsewhere needs a "
            "BucketPublicAccessBlock naming it with blockPublicAcls, blockPublicPolicy, "
            "ignorePublicAcls and restrictPublicBuckets all true (or an "
            "AccountPublicAccessBlock doing the same)."
        ),
        # A public bucket is a data leak in any tier; Plinth has no use for one.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
    stack_rule(
        "s3-bucket-encrypted",
        "Every S3 bucket declares default server-side encryption (SSE-KMS or SSE-S3).",
        _validate_encryption,
        severity=Severity.MEDIUM,
        remediation=(
            f"{DECLARE_BUCKET}encrypts each with the environment's KMS key. A bucket made "
            "elsewhere needs a BucketServerSideEncryptionConfiguration naming it whose rule's "
            "applyServerSideEncryptionByDefault.sseAlgorithm is aws:kms (with "
            "kmsMasterKeyId), or AES256 unless "
            f"{environment_key('s3-bucket-encrypted', 'requireKms')} is true."
        ),
        # S3 already encrypts new objects with SSE-S3; declaring it (and KMS where
        # required) matters most where real data lives.
        levels=ADVISORY_IN_DEV,
        config={
            "requireKms": {
                "type": "boolean",
                "default": False,
                "description": "Accept only aws:kms and aws:kms:dsse, not AES256 (SSE-S3).",
            }
        },
    ),
    stack_rule(
        "s3-bucket-versioned",
        "Every S3 bucket has versioning Enabled, so an overwrite or delete can be undone.",
        _validate_versioning,
        severity=Severity.MEDIUM,
        remediation=(
            "Set plinth:object_storage.buckets.<name>.versioning: true in the environment "
            "file (the default; the dev tier turns it off): ObjectStorage then versions the "
            "bucket and expires noncurrent versions. A bucket made elsewhere needs a "
            "BucketVersioning naming it with versioningConfiguration.status Enabled, and a "
            "lifecycle rule expiring noncurrent versions to bound the cost."
        ),
        # Old versions cost storage; dev and staging data is reproducible, prod's is not.
        levels=MANDATORY_IN_PROD,
    ),
    stack_rule(
        "s3-bucket-tls-only",
        "Every S3 bucket's policy denies requests not made over TLS.",
        _validate_tls_only,
        severity=Severity.MEDIUM,
        remediation=(
            f"{DECLARE_BUCKET}gives each a policy denying requests without TLS. A bucket "
            'made elsewhere needs a BucketPolicy with the statement {"Effect": "Deny", '
            '"Principal": "*", "Action": "s3:*", "Resource": [<bucket ARN>, "<bucket ARN>/*"], '
            '"Condition": {"Bool": {"aws:SecureTransport": "false"}}}.'
        ),
        # Costs nothing and breaks no TLS client; dev may iterate without the policy.
        levels=ADVISORY_IN_DEV,
    ),
)
