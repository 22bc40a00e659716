"""Rule: each namespace is created by one component, and charts install only into
namespaces their own component (or an enclosing one) creates."""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from policies.framework import MANDATORY_EVERYWHERE, Rule, dig, stack_rule
from policies.kubernetes.charts import V3_RELEASE, V4_CHART
from policies.kubernetes.namespaces import NAMESPACE, provider_urn

STACK = "pulumi:pulumi:Stack"


def _lineage(resource: PolicyResource) -> set[str]:
    """URNs of the resource's ancestors: its parent, the parent's parent, and so on."""
    seen: set[str] = set()
    parent = resource.parent
    while parent is not None and parent.urn not in seen:
        seen.add(parent.urn)
        parent = parent.parent
    return seen


def _owner(resource: PolicyResource) -> PolicyResource | None:
    """The component a resource was created in; None at the top of the program."""
    parent = resource.parent
    return None if parent is None or parent.resource_type == STACK else parent


def _described(owner: PolicyResource | None) -> str:
    return "the program" if owner is None else f"{owner.name} ({owner.resource_type})"


def _same_cluster(one: PolicyResource, other: PolicyResource) -> bool:
    # A component (a chart) may not report its provider: an unknown provider matches any.
    first, second = provider_urn(one), provider_urn(other)
    return not first or not second or first == second


def _validate_single_owner(args: StackValidationArgs, report: ReportViolation) -> None:
    declared: dict[str, list[PolicyResource]] = {}
    for resource in args.resources:
        name = dig(resource.props, "metadata", "name")
        if resource.resource_type == NAMESPACE and isinstance(name, str):
            declared.setdefault(name, []).append(resource)
    for name, namespaces in declared.items():
        for namespace in namespaces:
            others = [
                _described(_owner(other))
                for other in namespaces
                if other is not namespace and _same_cluster(namespace, other)
            ]
            if others:
                report(
                    f"namespace {name} is declared by {_described(_owner(namespace))} and "
                    f"again by {', '.join(sorted(others))}: keep one Namespace and pass it "
                    "to the others",
                    namespace.urn,
                )
    # The CLI gives stack rules outputs, and a chart component's outputs do not repeat its
    # `namespace` input: this half runs in `plinth check`, which passes inputs.
    for chart in args.resources:
        if chart.resource_type not in (V4_CHART, V3_RELEASE):
            continue
        target = chart.props.get("namespace")
        if not isinstance(target, str):
            continue
        lineage = _lineage(chart)
        for namespace in declared.get(target, []):
            owner = _owner(namespace)
            if owner is not None and owner.urn not in lineage and _same_cluster(chart, namespace):
                report(
                    f"chart {chart.name} installs into namespace {target}, which "
                    f"{_described(owner)} creates: install it into a namespace its own "
                    "component creates",
                    chart.urn,
                )


RULES: tuple[Rule, ...] = (
    stack_rule(
        "namespace-single-owner",
        "Each namespace is created by one component, and charts install only into "
        "namespaces their own component (or an enclosing one) creates.",
        _validate_single_owner,
        severity=Severity.HIGH,
        remediation=(
            "Keep one Namespace object per name and cluster; a component that needs another "
            "component's namespace takes that component as an argument and installs only "
            "namespaced objects into it, not a chart."
        ),
        # Everywhere: two owners of one namespace means the first one removed deletes
        # the namespace, and everything in it, from under the other.
        levels=MANDATORY_EVERYWHERE,
    ),
)
