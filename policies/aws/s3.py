"""Rules: AWS resources (S3 buckets, EKS clusters, IAM roles and policies).

Written against pulumi-aws v7 type tokens and input names; rules read plain dicts and never
import the SDK. In v7 a bucket (`aws:s3/bucket:Bucket`, or the deprecated
`aws:s3/bucketV2:BucketV2`) is configured by separate resources (public access block,
encryption, versioning, policy), so the S3 rules are stack rules that link each of those
companions to its bucket: by the value of its `bucket` input (the bucket's name, which is
also its `id`), else by its property dependency on `bucket`, else by its dependencies.
The real engine gives stack rules outputs, where a bucket carries `bucket`, `id` and `arn`;
offline an auto-named bucket has none of them and the dependencies link it. A bucket's
deprecated inline settings (`versioning`, `serverSideEncryptionConfiguration`, `policy`)
count as well.

Values unknown during a preview (a policy built from an ARN not yet assigned) are not
judged: the check of that value passes, and the stack rules run again with known outputs
at the end of `pulumi up`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    resource_rule,
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
EKS_CLUSTER = "aws:eks/cluster:Cluster"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

# Actions AWS offers no resource-level permission for (or that upstream documents on "*"),
# which the platform's controllers need; policies/README.md gives the source of each.
DEFAULT_ACTIONS_ON_ANY_RESOURCE = (
    "autoscaling:Describe*",
    "ec2:Describe*",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Final = _Unknown()
"""Stands for a value the engine does not know yet (during a preview)."""


def known(value: Any) -> Any:
    """`value` as plain dicts and lists, each value unknown at preview replaced by UNKNOWN.

    The analyzer hands rules proxies that raise on reading an unknown value and lists that
    are not `list`s; reading through this once lets a rule skip what it cannot judge yet
    instead of abandoning the whole rule.
    """
    if isinstance(value, Mapping):
        return {str(key): _read(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_read(value, index) for index in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return known(container[key])
    except UnknownValueError:
        return UNKNOWN


def _strings(value: Any) -> list[str]:
    """A policy element that is a string or a list of strings, as a list (others dropped)."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def _values_at(value: Any, key: str) -> list[Any]:
    """Every value under `value` whose key is `key`, at any depth."""
    return [found for path, found in walk(value) if path == key or path.endswith(f".{key}")]


def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern (`*` any run, `?` one character) as a case-insensitive regex."""
    escaped = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(escaped, re.IGNORECASE)


def _shown(value: Any) -> str:
    """An input value as the message shows it: JSON, or `unset`."""
    return "unset" if value is None else json.dumps(value)


def _matches_any(value: str, patterns: Iterable[str]) -> bool:
    return any(_glob(pattern).fullmatch(value) for pattern in patterns)


# ---------------------------------------------------------------------------------------
# Policy documents (IAM and bucket policies)


def _statements(document: Any) -> list[dict[str, Any]] | None:
    """The statements of a policy document given as JSON text or as an object.

    Statement keys are lower-cased (`effect`, `action`, ...) since a document passed as a
    Pulumi `PolicyDocumentArgs` dict may spell them either way. None when the document is
    absent or unknown; ValueError when it is not a JSON object.
    """
    if document is None or document is UNKNOWN:
        return None
    if isinstance(document, str):
        document = json.loads(document)  # a JSONDecodeError is a ValueError
    if not isinstance(document, Mapping):
        raise ValueError(f"expected a JSON object, got {type(document).__name__}")
    raw = {str(key).lower(): value for key, value in document.items()}.get("statement")
    items = raw if isinstance(raw, list) else [raw]
    return [
        {str(key).lower(): value for key, value in item.items()}
        for item in items
        if isinstance(item, Mapping)
    ]


def _statement_label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def _is_allow(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("effect", "")).lower() == "allow"


def _condition_entries(statement: Mapping[str, Any], operators: set[str]) -> list[tuple[str, Any]]:
    """(key, value) of each value the statement's Condition tests with one of `operators`
    (lower-case names); keys lower-cased, as AWS matches condition keys case-insensitively."""
    condition = statement.get("condition")
    if not isinstance(condition, Mapping):
        return []
    entries: list[tuple[str, Any]] = []
    for operator, block in condition.items():
        if str(operator).lower() in operators and isinstance(block, Mapping):
            for key, value in block.items():
                for item in value if isinstance(value, list) else [value]:
                    entries.append((str(key).lower(), item))
    return entries


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
    paths = _resource_paths(_strings(resource))
    if not names:  # an auto-named bucket offline: any bucket-level and object-level pattern
        return any("/" not in path for path in paths) and any(
            path == "*" or path.endswith("/*") for path in paths
        )
    return any(_matches_any(name, paths) for name in names) and any(
        _matches_any(f"{name}/*", paths) for name in names
    )


def _denies_plain_http(statement: Mapping[str, Any], names: set[str]) -> bool:
    principal = statement.get("principal")
    everyone = principal == "*" or (
        isinstance(principal, Mapping)
        and any(
            str(kind).lower() == "aws" and "*" in _strings(who) for kind, who in principal.items()
        )
    )
    insecure = [
        value
        for key, value in _condition_entries(statement, {"bool", "boolifexists"})
        if key == "aws:securetransport"
    ]
    return (
        str(statement.get("effect", "")).lower() == "deny"
        and everyone
        and any(action.lower() in ("s3:*", "*") for action in _strings(statement.get("action")))
        and any(str(value).lower() == "false" for value in insecure)
        and _covers_bucket_and_objects(statement.get("resource"), names)
    )


def _tls_problem(policy: Any, names: set[str]) -> str | None:
    try:
        statements = _statements(policy)
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


# ---------------------------------------------------------------------------------------
# EKS rules


def _validate_eks_endpoint(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EKS_CLUSTER:
        return
    allow_public_with_cidrs = bool(args.get_config()["allowPublicWithCidrs"])
    vpc = known(args.props).get("vpcConfig")
    if vpc is UNKNOWN:
        return
    vpc = vpc if isinstance(vpc, dict) else {}
    private, public = vpc.get("endpointPrivateAccess"), vpc.get("endpointPublicAccess")
    if private not in (True, UNKNOWN):
        report_violation(
            f"vpcConfig.endpointPrivateAccess is {_shown(private)} (default false): nodes and "
            "in-VPC clients reach the API server through its public endpoint",
            None,
        )
    if public in (False, UNKNOWN):
        return
    if not allow_public_with_cidrs:
        report_violation(
            f"vpcConfig.endpointPublicAccess is {_shown(public)} (default true): the API server "
            "is reachable from the internet",
            None,
        )
        return
    cidrs = vpc.get("publicAccessCidrs", ["0.0.0.0/0"])  # EKS's default when unset
    open_cidrs = sorted(set(_strings(cidrs)) & OPEN_CIDRS)
    if open_cidrs:
        report_violation(
            f"vpcConfig.publicAccessCidrs allows {', '.join(open_cidrs)} on the public "
            "API endpoint (EKS's default when unset is 0.0.0.0/0)",
            None,
        )


def _validate_eks_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EKS_CLUSTER:
        return
    encryption = known(args.props).get("encryptionConfig")
    if encryption is UNKNOWN:
        return
    if not isinstance(encryption, dict):
        report_violation("has no encryptionConfig", None)
        return
    resources = encryption.get("resources")
    if resources is not UNKNOWN and "secrets" not in _strings(resources):
        report_violation(f"encryptionConfig.resources is {resources!r}, not ['secrets']", None)
    key_arn = dig(encryption, "provider", "keyArn")
    if key_arn is not UNKNOWN and not (isinstance(key_arn, str) and key_arn):
        report_violation("encryptionConfig.provider.keyArn names no KMS key", None)


def _validate_eks_logging(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != EKS_CLUSTER:
        return
    enabled = known(args.props).get("enabledClusterLogTypes")
    if enabled is UNKNOWN or (isinstance(enabled, list) and UNKNOWN in enabled):
        return
    required = [str(log_type) for log_type in args.get_config()["requiredLogTypes"]]
    missing = [log_type for log_type in required if log_type not in _strings(enabled)]
    if missing:
        report_violation(
            f"enabledClusterLogTypes {_strings(enabled)} lacks {', '.join(missing)}", None
        )


# ---------------------------------------------------------------------------------------
# IAM rules


def _permission_documents(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(where, document) of every permission policy the resource declares."""
    if resource_type in (IAM_ROLE_POLICY, IAM_POLICY):
        return [("policy", props.get("policy"))]
    if resource_type != IAM_ROLE:
        return []
    inline = props.get("inlinePolicies")
    documents = []
    for index, item in enumerate(inline if isinstance(inline, list) else []):
        if isinstance(item, dict):
            name = item.get("name")
            where = (
                f"inline policy {name!r}" if isinstance(name, str) else f"inlinePolicies[{index}]"
            )
            documents.append((where, item.get("policy")))
    return documents


def _is_service_wildcard(action: str) -> bool:
    """`*`, or `service:*`: every action of a service."""
    return action.strip() == "*" or action.split(":", 1)[-1].strip() == "*"


def _wildcard_problems(statement: Mapping[str, Any], allowed_on_any: list[str]) -> list[str]:
    if not _is_allow(statement):
        return []
    if "notaction" in statement:
        return ["allows every action except its NotAction"]
    actions = _strings(statement.get("action"))
    broad = [action for action in actions if _is_service_wildcard(action)]
    problems = [f"allows every action of a service: {', '.join(broad)}"] if broad else []
    any_resource = "*" in _strings(statement.get("resource")) or "notresource" in statement
    unlisted = [a for a in actions if a not in broad and not _matches_any(a, allowed_on_any)]
    if any_resource and unlisted:
        problems.append(
            f'allows {", ".join(unlisted)} on every resource (Resource "*" or NotResource); '
            "name the resources' ARNs, or allow-list actions that take no resource-level "
            "permission in actionsAllowedOnAnyResource"
        )
    return problems


def _validate_iam_wildcards(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    allowed_on_any = [str(pattern) for pattern in args.get_config()["actionsAllowedOnAnyResource"]]
    for where, document in _permission_documents(args.resource_type, known(args.props)):
        try:
            statements = _statements(document) or []
        except ValueError as error:
            report_violation(f"{where} is not a JSON policy document ({error})", None)
            continue
        for index, statement in enumerate(statements):
            for problem in _wildcard_problems(statement, allowed_on_any):
                report_violation(f"{where} {_statement_label(statement, index)} {problem}", None)


def _principals(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """The statement's Principal by kind (lower-case: aws, federated, service, ...)."""
    principal = statement.get("principal")
    if principal == "*":
        return {"aws": ["*"]}
    if not isinstance(principal, Mapping):
        return {}
    return {str(kind).lower(): _strings(who) for kind, who in principal.items()}


def _scoped_subject(subject: Any) -> bool:
    """A web identity `sub` naming someone: not all wildcards, and for a Kubernetes service
    account (`system:serviceaccount:NAMESPACE:NAME`) a namespace without wildcards."""
    if subject is UNKNOWN:
        return True
    if not isinstance(subject, str) or not subject.strip("*?"):
        return False
    if subject.startswith("system:serviceaccount:"):
        namespace = subject.split(":")[2]
        return bool(namespace) and not any(char in namespace for char in "*?")
    return True


_SUBJECT_OPERATORS = {
    f"{prefix}{operator}"
    for prefix in ("", "forallvalues:", "foranyvalue:")
    for operator in ("stringequals", "stringlike")
}


def _trust_problems(statement: Mapping[str, Any]) -> list[str]:
    if not _is_allow(statement):
        return []
    if "notprincipal" in statement:
        return ["lets every principal except its NotPrincipal assume the role"]
    principals = _principals(statement)
    problems = []
    anyone = any("*" in who for who in principals.values())
    if anyone and not statement.get("condition"):
        problems.append('lets any principal ("*") assume the role, with no Condition')
    web_identity = principals.get("federated") and any(
        _glob(action).fullmatch("sts:AssumeRoleWithWebIdentity")
        for action in _strings(statement.get("action"))
    )
    if web_identity:
        subjects = [
            value
            for key, value in _condition_entries(statement, _SUBJECT_OPERATORS)
            if key.endswith(":sub")
        ]
        if not subjects or not all(_scoped_subject(subject) for subject in subjects):
            problems.append(
                "lets web identities assume the role without a Condition scoping the token's "
                f"`<issuer>:sub` to named subjects (got {subjects or 'none'}): any service "
                "account of the cluster could assume it"
            )
    return problems


def _validate_iam_trust(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != IAM_ROLE:
        return
    try:
        statements = _statements(known(args.props).get("assumeRolePolicy")) or []
    except ValueError as error:
        report_violation(f"assumeRolePolicy is not a JSON policy document ({error})", None)
        return
    for index, statement in enumerate(statements):
        for problem in _trust_problems(statement):
            report_violation(
                f"assumeRolePolicy {_statement_label(statement, index)} {problem}", None
            )


# ---------------------------------------------------------------------------------------
# The rules

RULES: tuple[Rule, ...] = (
    stack_rule(
        "s3-bucket-public-access-blocked",
        "Every S3 bucket has a public access block with all four settings true.",
        _validate_public_access,
        severity=Severity.HIGH,
        remediation=(
            "Add an aws.s3.BucketPublicAccessBlock with bucket=<bucket>.id and "
            "block_public_acls, block_public_policy, ignore_public_acls and "
            "restrict_public_buckets all True (or an AccountPublicAccessBlock doing the same)."
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
            "Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket=<bucket>.id "
            "and a rule whose apply_server_side_encryption_by_default.sse_algorithm is "
            '"aws:kms" (with kms_master_key_id) or "AES256" when requireKms is false.'
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
            "Add an aws.s3.BucketVersioning with bucket=<bucket>.id and "
            'versioning_configuration={"status": "Enabled"}; add a lifecycle rule expiring '
            "noncurrent versions to bound the cost."
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
            'Add an aws.s3.BucketPolicy with a statement {"Effect": "Deny", "Principal": "*", '
            '"Action": "s3:*", "Resource": [<bucket ARN>, "<bucket ARN>/*"], "Condition": '
            '{"Bool": {"aws:SecureTransport": "false"}}}.'
        ),
        # Costs nothing and breaks no TLS client; dev may iterate without the policy.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "eks-private-endpoint",
        "An EKS cluster's API server is reached through its private endpoint, not the internet.",
        _validate_eks_endpoint,
        severity=Severity.HIGH,
        remediation=(
            "Set vpc_config endpoint_private_access=True and endpoint_public_access=False; "
            "where allowPublicWithCidrs is true, a public endpoint may stay with "
            "public_access_cidrs listing your networks (never 0.0.0.0/0)."
        ),
        # Developers reach dev and staging clusters from laptops; prod is reached through
        # the VPC (VPN, bastion or CI runners inside it).
        levels=MANDATORY_IN_PROD,
        config={
            "allowPublicWithCidrs": {
                "type": "boolean",
                "default": False,
                "description": (
                    "Accept a public endpoint whose publicAccessCidrs is an allow-list "
                    "without 0.0.0.0/0 or ::/0. False: the public endpoint must be off."
                ),
            }
        },
        tier_config={
            "dev": {"allowPublicWithCidrs": True},
            "staging": {"allowPublicWithCidrs": True},
        },
    ),
    resource_rule(
        "eks-secrets-encrypted",
        "An EKS cluster envelope-encrypts Kubernetes secrets with a KMS key.",
        _validate_eks_secrets,
        severity=Severity.MEDIUM,
        remediation=(
            'Set encryption_config={"resources": ["secrets"], "provider": {"key_arn": '
            "<aws.kms.Key>.arn}} on the cluster (it can be added later but never removed)."
        ),
        # A KMS key per cluster; a throwaway dev cluster may skip it while iterating.
        levels=ADVISORY_IN_DEV,
    ),
    resource_rule(
        "eks-control-plane-logging",
        "An EKS cluster sends the required control-plane logs to CloudWatch.",
        _validate_eks_logging,
        severity=Severity.MEDIUM,
        remediation=(
            "List the required types in enabled_cluster_log_types "
            '(default ["api", "audit", "authenticator"]).'
        ),
        # CloudWatch ingestion is billed; audit trails matter where people share clusters.
        levels=ADVISORY_IN_DEV,
        config={
            "requiredLogTypes": {
                "type": "array",
                "items": {"type": "string", "enum": list(EKS_LOG_TYPES)},
                "uniqueItems": True,
                "default": ["api", "audit", "authenticator"],
                "description": "Control-plane log types every cluster must enable.",
            }
        },
    ),
    resource_rule(
        "iam-no-wildcard-permissions",
        'IAM policies allow neither every action ("*", "service:*", NotAction) nor actions '
        'on every resource ("*", NotResource) beyond an allow-list.',
        _validate_iam_wildcards,
        severity=Severity.HIGH,
        remediation=(
            "Name the actions and the resource ARNs the workload uses. Actions AWS gives no "
            'resource-level permission for go in their own statement on Resource "*" and, '
            "if not listed already, in actionsAllowedOnAnyResource."
        ),
        # IAM is account-wide: an over-broad role in a dev account is still a foothold.
        levels=MANDATORY_EVERYWHERE,
        config={
            "actionsAllowedOnAnyResource": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$"},
                "default": list(DEFAULT_ACTIONS_ON_ANY_RESOURCE),
                "description": (
                    'Action patterns an Allow statement may grant on Resource "*": '
                    "read-only actions without resource-level permissions."
                ),
            }
        },
        waivable_in_prod=False,
    ),
    resource_rule(
        "iam-trust-policy-scoped",
        "An IAM role's trust policy names who may assume it: no open principal without a "
        "Condition, and web identities scoped by their `sub`.",
        _validate_iam_trust,
        severity=Severity.CRITICAL,
        remediation=(
            "Name the principal (an account, role or service), or add a Condition. For IRSA, "
            'trust the cluster\'s OIDC provider with Condition StringEquals "<issuer>:sub": '
            '"system:serviceaccount:<namespace>:<name>" and "<issuer>:aud": "sts.amazonaws.com".'
        ),
        # A role anyone can assume is an open door in any account.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
)
