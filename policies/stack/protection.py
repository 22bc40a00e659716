"""Rule: every resource that holds data (a type in `STATEFUL_TYPES`) is protected."""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.framework import (
    MANDATORY_IN_PROD,
    Rule,
    environment_key,
    stack_rule,
    string_list_schema,
)
from policies.stack.stateful import STATEFUL_TYPES

RULE = "stateful-resources-protected"
# Where protection comes from: the prod tier, through the cluster every component receives.
HOW_PLINTH_PROTECTS = (
    "Plinth's components protect what holds data in the prod tier (plinth:tier: prod in "
    "the environment file); a component of your own protects it when "
    "cluster.protect_stateful is true (components/cluster.py)"
)


def _validate_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    stateful = STATEFUL_TYPES | set(args.get_config()["additionalStatefulTypes"])
    for resource in args.resources:
        if resource.resource_type in stateful and not resource.opts.protect:
            report(
                f"{resource.resource_type} {resource.name} holds data and is not protected, "
                f"so an update that replaces it or a destroy deletes it. {HOW_PLINTH_PROTECTS}",
                resource.urn,
            )


RULES: tuple[Rule, ...] = (
    stack_rule(
        RULE,
        "Every resource that holds data (volumes, buckets, keys, databases) is protected.",
        _validate_protected,
        severity=Severity.HIGH,
        remediation=(
            f"{HOW_PLINTH_PROTECTS}. Deleting a protected resource then takes an explicit "
            "`pulumi state unprotect` first. The types that hold data are in "
            "policies/stack/stateful.py; more go in "
            f"{environment_key(RULE, 'additionalStatefulTypes')}."
        ),
        # prod: losing prod data is unrecoverable; dev and staging are rebuilt from
        # scratch often, where protection only gets in the way of `pulumi destroy`.
        levels=MANDATORY_IN_PROD,
        config={
            "additionalStatefulTypes": string_list_schema(
                "More type tokens to treat as stateful, beyond policies/stack/stateful.py."
            )
        },
        waivable_in_prod=False,
    ),
)
