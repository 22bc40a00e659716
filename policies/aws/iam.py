"""Rules: IAM policies grant no wildcard permissions; role trust policies name who.

Permission policies are read from a role's inline policies, role policies and managed
policies the stack declares; AWS-managed policies attached by ARN are not visible here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.aws.policy_documents import (
    condition_entries,
    is_allow,
    matches_any,
    parse_statements,
    statement_label,
    wildcard_regex,
)
from policies.aws.values import UNKNOWN, known, strings
from policies.framework import MANDATORY_EVERYWHERE, Rule, environment_key, resource_rule

WILDCARDS_RULE = "iam-no-wildcard-permissions"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"

# Actions AWS offers no resource-level permission for (or that upstream documents on "*"),
# which the platform's controllers need; policies/README.md gives the source of each.
DEFAULT_ACTIONS_ON_ANY_RESOURCE = (
    "autoscaling:Describe*",
    "ec2:Describe*",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)


PERMISSION_POLICY_TYPES = frozenset({IAM_ROLE_POLICY, IAM_POLICY, IAM_ROLE})


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
    if not is_allow(statement):
        return []
    if "notaction" in statement:
        return ["allows every action except its NotAction"]
    actions = strings(statement.get("action"))
    broad = [action for action in actions if _is_service_wildcard(action)]
    problems = [f"allows every action of a service: {', '.join(broad)}"] if broad else []
    any_resource = "*" in strings(statement.get("resource")) or "notresource" in statement
    unlisted = [a for a in actions if a not in broad and not matches_any(a, allowed_on_any)]
    if any_resource and unlisted:
        problems.append(
            f'allows {", ".join(unlisted)} on every resource (Resource "*" or NotResource); '
            "name the resources' ARNs, or allow-list actions that take no resource-level "
            f"permission in {environment_key(WILDCARDS_RULE, 'actionsAllowedOnAnyResource')}"
        )
    return problems


def _validate_iam_wildcards(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type not in PERMISSION_POLICY_TYPES:
        return  # read the inputs only of what can carry a policy: a CRD's are megabytes
    allowed_on_any = [str(pattern) for pattern in args.get_config()["actionsAllowedOnAnyResource"]]
    for where, document in _permission_documents(args.resource_type, known(args.props)):
        try:
            statements = parse_statements(document) or []
        except ValueError as error:
            report_violation(f"{where} is not a JSON policy document ({error})", None)
            continue
        for index, statement in enumerate(statements):
            for problem in _wildcard_problems(statement, allowed_on_any):
                report_violation(f"{where} {statement_label(statement, index)} {problem}", None)


def _principals(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """The statement's Principal by kind (lower-case: aws, federated, service, ...)."""
    principal = statement.get("principal")
    if principal == "*":
        return {"aws": ["*"]}
    if not isinstance(principal, Mapping):
        return {}
    return {str(kind).lower(): strings(who) for kind, who in principal.items()}


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
    if not is_allow(statement):
        return []
    if "notprincipal" in statement:
        return ["lets every principal except its NotPrincipal assume the role"]
    principals = _principals(statement)
    problems = []
    anyone = any("*" in who for who in principals.values())
    if anyone and not statement.get("condition"):
        problems.append('lets any principal ("*") assume the role, with no Condition')
    web_identity = principals.get("federated") and any(
        wildcard_regex(action).fullmatch("sts:AssumeRoleWithWebIdentity")
        for action in strings(statement.get("action"))
    )
    if web_identity:
        subjects = [
            value
            for key, value in condition_entries(statement, _SUBJECT_OPERATORS)
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
        statements = parse_statements(known(args.props).get("assumeRolePolicy")) or []
    except ValueError as error:
        report_violation(f"assumeRolePolicy is not a JSON policy document ({error})", None)
        return
    for index, statement in enumerate(statements):
        for problem in _trust_problems(statement):
            report_violation(
                f"assumeRolePolicy {statement_label(statement, index)} {problem}", None
            )


RULES: tuple[Rule, ...] = (
    resource_rule(
        WILDCARDS_RULE,
        'IAM policies allow neither every action ("*", "service:*", NotAction) nor actions '
        'on every resource ("*", NotResource) beyond an allow-list.',
        _validate_iam_wildcards,
        severity=Severity.HIGH,
        remediation=(
            "Name the actions and the resource ARNs the workload uses, in the component "
            "that writes the policy (Plinth's are built in components/aws/policy_documents.py). "
            "Actions AWS gives no resource-level permission for go in their own statement on "
            'Resource "*" and, if not listed already, in '
            f"{environment_key(WILDCARDS_RULE, 'actionsAllowedOnAnyResource')}."
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
            '"system:serviceaccount:<namespace>:<name>" and "<issuer>:aud": '
            '"sts.amazonaws.com", as Plinth\'s WorkloadRole (components/aws/workload_role.py) '
            "does."
        ),
        # A role anyone can assume is an open door in any account.
        levels=MANDATORY_EVERYWHERE,
        waivable_in_prod=False,
    ),
)
