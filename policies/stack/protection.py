"""Rule: every resource that holds data (a type in `STATEFUL_TYPES`) is protected."""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.framework import MANDATORY_IN_PROD, Rule, stack_rule, string_list_schema
from policies.stack.stateful import STATEFUL_TYPES


def _validate_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    stateful = STATEFUL_TYPES | set(args.get_config()["additionalStatefulTypes"])
    for resource in args.resources:
        if resource.resource_type in stateful and not resource.opts.protect:
            report(
                f"{resource.resource_type} {resource.name} holds data and is not protected: "
                "pass ResourceOptions(protect=True), so that no update or destroy deletes it",
                resource.urn,
            )


RULES: tuple[Rule, ...] = (
    stack_rule(
        "stateful-resources-protected",
        "Every resource that holds data (volumes, buckets, keys, databases) is protected.",
        _validate_protected,
        severity=Severity.HIGH,
        remediation=(
            "Create it with ResourceOptions(protect=True); deleting it then takes an explicit "
            "`pulumi state unprotect` first. Types are in policies/stateful.py."
        ),
        # prod: losing prod data is unrecoverable; dev and staging are rebuilt from
        # scratch often, where protection only gets in the way of `pulumi destroy`.
        levels=MANDATORY_IN_PROD,
        config={
            "additionalStatefulTypes": string_list_schema(
                "More type tokens to treat as stateful, beyond policies/stateful.py."
            )
        },
        waivable_in_prod=False,
    ),
)
