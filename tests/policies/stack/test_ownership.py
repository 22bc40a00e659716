"""namespace-single-owner (policies/stack/ownership.py), through the pack as `plinth
check` runs it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_harness import entry, hits, kubernetes

SINGLE_OWNER = "namespace-single-owner"


def component(name: str, parent: str = "") -> dict[str, Any]:
    return entry(f"plinth:test:{name.title()}", {}, name=name, parent=parent)


def owned_namespace(owner: dict[str, Any], name: str = "shared", **options: Any) -> dict[str, Any]:
    return kubernetes(
        "v1",
        "Namespace",
        {"metadata": {"name": name}},
        name=f"{owner['name']}-ns",
        parent=owner["urn"],
        **options,
    )


def chart(
    owner: dict[str, Any],
    namespace: str = "shared",
    resource_type: str = "kubernetes:helm.sh/v4:Chart",
) -> dict[str, Any]:
    return entry(
        resource_type,
        {"chart": "x", "namespace": namespace},
        name=f"{owner['name']}-chart",
        parent=owner["urn"],
    )


def one_owner() -> list[dict[str, Any]]:
    """A component that creates a namespace and installs its chart into it."""
    owner = component("platform")
    return [owner, owned_namespace(owner), chart(owner)]


def test_chart_in_its_own_components_namespace_passes() -> None:
    assert hits(SINGLE_OWNER, *one_owner()) == []


@pytest.mark.parametrize(
    "resource_type", ["kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"]
)
def test_chart_in_another_components_namespace_is_refused(resource_type: str) -> None:
    other = component("other")
    intruder = chart(other, resource_type=resource_type)
    found = hits(SINGLE_OWNER, *one_owner(), other, intruder)
    assert [violation.urn for violation in found] == [intruder["urn"]]
    assert "which platform (plinth:test:Platform) creates" in found[0].message


def test_chart_of_a_nested_component_may_use_the_enclosing_namespace() -> None:
    owner, namespace, _ = one_owner()
    inner = component("inner", parent=owner["urn"])
    assert hits(SINGLE_OWNER, owner, namespace, inner, chart(inner)) == []


def test_chart_in_a_namespace_the_program_creates_passes() -> None:
    other = component("other")
    top_level = kubernetes("v1", "Namespace", {"metadata": {"name": "shared"}})
    assert hits(SINGLE_OWNER, top_level, other, chart(other)) == []


def test_duplicate_namespace_is_refused_on_both() -> None:
    first, namespace, _ = one_owner()
    second = component("other")
    duplicate = owned_namespace(second)
    found = hits(SINGLE_OWNER, first, namespace, second, duplicate)
    assert sorted(violation.urn for violation in found) == sorted(
        [namespace["urn"], duplicate["urn"]]
    )
    assert (
        "again by other (plinth:test:Other)"
        in next(v for v in found if v.urn == namespace["urn"]).message
    )


def test_same_namespace_name_on_two_clusters_passes() -> None:
    cluster_a = entry("pulumi:providers:kubernetes", {"context": "a"}, name="cluster-a")
    cluster_b = entry("pulumi:providers:kubernetes", {"context": "b"}, name="cluster-b")
    first, second = component("first"), component("second")
    resources = [
        owned_namespace(first, provider=f"{cluster_a['urn']}::a-id"),
        owned_namespace(second, provider=f"{cluster_b['urn']}::b-id"),
    ]
    assert hits(SINGLE_OWNER, cluster_a, cluster_b, first, second, *resources) == []


def test_single_owner_is_mandatory_everywhere() -> None:
    other = component("other")
    for tier in ("dev", "staging", "prod"):
        found = hits(SINGLE_OWNER, *one_owner(), other, chart(other), tier=tier)
        assert [violation.level for violation in found] == ["mandatory"]
