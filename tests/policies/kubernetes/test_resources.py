"""container-resources (policies/kubernetes/resources.py), through the pack."""

from __future__ import annotations

import pytest

from tests.policies.kubernetes.pods import DELETE, changed
from tests.policy_harness import hits


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("containers[0].resources.limits.cpu", "container 'trainer' has no limits.cpu: set "),
        (
            "containers[0].resources",
            "has no requests.cpu, requests.memory, limits.cpu, limits.memory",
        ),
        ("initContainers[0].resources.requests", "init container 'setup' has no requests.cpu"),
    ],
)
def test_containers_state_requests_and_limits(path: str, expected: str) -> None:
    found = hits("container-resources", changed(path, DELETE))
    assert len(found) == 1
    assert expected in found[0].message
    assert [v.level for v in hits("container-resources", changed(path, DELETE), tier="dev")] == [
        "advisory"
    ]


def test_required_resources_are_a_knob() -> None:
    config = {
        "container-resources": {"required": ["requests.cpu", "requests.memory", "limits.memory"]}
    }
    assert (
        hits(
            "container-resources",
            changed("containers[0].resources.limits.cpu", DELETE),
            config=config,
        )
        == []
    )
