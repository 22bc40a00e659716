"""Rules: an EKS cluster's API server is private, its secrets are encrypted, it logs."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.aws.values import UNKNOWN, known, strings
from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_IN_PROD,
    Rule,
    dig,
    environment_key,
    resource_rule,
    shown,
)

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


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
            f"vpcConfig.endpointPrivateAccess is {shown(private)} (default false): nodes and "
            "in-VPC clients reach the API server through its public endpoint",
            None,
        )
    if public in (False, UNKNOWN):
        return
    if not allow_public_with_cidrs:
        report_violation(
            f"vpcConfig.endpointPublicAccess is {shown(public)} (default true): the API server "
            "is reachable from the internet; set plinth:cluster.endpoint_public_access: false",
            None,
        )
        return
    cidrs = vpc.get("publicAccessCidrs", ["0.0.0.0/0"])  # EKS's default when unset
    open_cidrs = sorted(set(strings(cidrs)) & OPEN_CIDRS)
    if open_cidrs:
        report_violation(
            f"vpcConfig.publicAccessCidrs allows {', '.join(open_cidrs)} on the public "
            "API endpoint (EKS's default when unset is 0.0.0.0/0); list your networks in "
            "plinth:cluster.public_access_cidrs, or set plinth:cluster.endpoint_public_access: "
            "false",
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
    if resources is not UNKNOWN and "secrets" not in strings(resources):
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
    missing = [log_type for log_type in required if log_type not in strings(enabled)]
    if missing:
        report_violation(
            f"enabledClusterLogTypes {strings(enabled)} lacks {', '.join(missing)}", None
        )


RULES: tuple[Rule, ...] = (
    resource_rule(
        "eks-private-endpoint",
        "An EKS cluster's API server is reached through its private endpoint, not the internet.",
        _validate_eks_endpoint,
        severity=Severity.HIGH,
        remediation=(
            "Set plinth:cluster.endpoint_public_access: false in the environment file (the "
            "prod tier's default; Plinth's EksCluster always turns the private endpoint on). "
            f"Where {environment_key('eks-private-endpoint', 'allowPublicWithCidrs')} is true "
            "(the dev and staging tiers), the public endpoint may stay if "
            "plinth:cluster.public_access_cidrs lists your networks (never 0.0.0.0/0)."
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
            "Plinth's EksCluster (components/aws/eks_cluster.py) encrypts secrets with a KMS "
            "key of its own. A cluster made elsewhere needs encryptionConfig {resources: "
            "[secrets], provider: {keyArn: <KMS key ARN>}} (it can be added later but never "
            "removed)."
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
            "Add the missing types to plinth:cluster.log_types in the environment file (all "
            "five by default): Plinth's EksCluster sends those to CloudWatch. The types "
            f"required are {environment_key('eks-control-plane-logging', 'requiredLogTypes')} "
            "(default api, audit, authenticator)."
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
)
