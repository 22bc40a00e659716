"""The policy pack `pulumi preview --policy-pack policies` runs. It only builds the pack:
the rules live in the modules beside it (see policies/registry.py)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.registry import PACK_NAME, RULES

PolicyPack(
    name=PACK_NAME,
    # Each rule sets its own level (its prod level); tier files in config/ relax dev/staging.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[rule.policy for rule in RULES],
    description="Plinth: workload, namespace, GPU, service, chart, cloud and stack rules.",
)
