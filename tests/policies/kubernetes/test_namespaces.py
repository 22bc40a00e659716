"""namespace-pod-security and workload-namespace-fences, through the pack as `plinth check`
runs it, and the platform namespaces an environment's components add to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plinth.check import environment_policy, run_pack
from plinth.environments import load_environment
from policies.kubernetes import namespaces
from tests.components.test_components import Variant, variant  # noqa: F401 (the `variant` fixture)
from tests.policy_harness import entry, hits, kubernetes

POD_SECURITY = "namespace-pod-security"
FENCES = "workload-namespace-fences"
ENFORCE = "pod-security.kubernetes.io/enforce"


def namespace(
    name: str = "team-a", level: str | None = "restricted", **options: Any
) -> dict[str, Any]:
    labels = {} if level is None else {ENFORCE: level}
    return kubernetes("v1", "Namespace", {"metadata": {"name": name, "labels": labels}}, **options)


def quota(namespace_name: str = "team-a", **options: Any) -> dict[str, Any]:
    return kubernetes(
        "v1",
        "ResourceQuota",
        {
            "metadata": {"name": "quota", "namespace": namespace_name},
            "spec": {"hard": {"pods": "10"}},
        },
        name=f"{namespace_name}-quota",
        **options,
    )


def default_deny(namespace_name: str = "team-a", **options: Any) -> dict[str, Any]:
    """The shape JobsNamespace creates: deny, then same-namespace traffic, DNS and HTTPS out."""
    spec = {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {}}]}],
        "egress": [
            {"to": [{"podSelector": {}}]},
            {"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]},
            {"ports": [{"protocol": "TCP", "port": 443}]},
        ],
    }
    return kubernetes(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        {"metadata": {"name": "default-deny", "namespace": namespace_name}, "spec": spec},
        name=options.pop("name", f"{namespace_name}-default-deny"),
        **options,
    )


def fenced() -> list[dict[str, Any]]:
    """A compliant workload namespace with its quota and default-deny policy."""
    return [namespace(), quota(), default_deny()]


# namespace-pod-security


def test_restricted_workload_namespace_passes() -> None:
    assert hits(POD_SECURITY, namespace()) == []


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (None, "is missing"),
        ("baseline", "enforces 'baseline'"),
        ("privileged", "enforces 'privileged'"),
        ("strict", "not a Pod Security level"),
    ],
)
def test_workload_namespace_must_enforce_restricted(level: str | None, expected: str) -> None:
    subject = namespace(level=level)
    found = hits(POD_SECURITY, subject)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert expected in found[0].message


def test_platform_namespace_may_enforce_any_level_but_must_enforce_one() -> None:
    assert hits(POD_SECURITY, namespace("kube-system", "privileged")) == []
    found = hits(POD_SECURITY, namespace("kube-system", None))
    assert len(found) == 1
    assert "privileged, baseline or restricted" in found[0].message


def test_platform_namespaces_are_configurable() -> None:
    config = {POD_SECURITY: {"platformNamespaces": ["team-a"]}}
    assert hits(POD_SECURITY, namespace(level="baseline"), config=config) == []
    assert len(hits(POD_SECURITY, namespace("kube-system", "baseline"), config=config)) == 1


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_pod_security_level_per_tier(tier: str, level: str) -> None:
    assert [found.level for found in hits(POD_SECURITY, namespace(level=None), tier=tier)] == [
        level
    ]


def test_other_kinds_are_not_namespaces() -> None:
    assert hits(POD_SECURITY, quota()) == []


# workload-namespace-fences


def test_fenced_workload_namespace_passes() -> None:
    assert hits(FENCES, *fenced()) == []


def test_namespace_without_quota_is_refused() -> None:
    subject, _, policy = fenced()
    found = hits(FENCES, subject, policy)
    assert [violation.urn for violation in found] == [subject["urn"]]
    assert "no ResourceQuota" in found[0].message


def test_quota_without_hard_limits_does_not_count() -> None:
    subject, limits, policy = fenced()
    limits["inputs"]["spec"] = {"hard": {}}
    assert "no ResourceQuota" in hits(FENCES, subject, limits, policy)[0].message


def test_quota_in_another_namespace_does_not_count() -> None:
    subject, _, policy = fenced()
    assert len(hits(FENCES, subject, quota("team-b"), policy)) == 1


def test_namespace_without_network_policy_is_refused() -> None:
    subject, limits, _ = fenced()
    found = hits(FENCES, subject, limits)
    assert "isolating Egress and Ingress" in found[0].message


def test_policy_that_selects_some_pods_is_not_a_default_deny() -> None:
    subject, limits, policy = fenced()
    policy["inputs"]["spec"]["podSelector"] = {"matchLabels": {"app": "web"}}
    assert len(hits(FENCES, subject, limits, policy)) == 1


def test_policy_isolating_only_ingress_leaves_egress_open() -> None:
    subject, limits, policy = fenced()
    policy["inputs"]["spec"]["policyTypes"] = ["Ingress"]
    found = hits(FENCES, subject, limits, policy)
    assert "isolating Egress" in found[0].message


def test_policy_types_default_to_the_rules_present() -> None:
    subject, limits, policy = fenced()
    del policy["inputs"]["spec"]["policyTypes"]  # egress rules present: Ingress and Egress
    assert hits(FENCES, subject, limits, policy) == []


def test_separate_ingress_and_egress_policies_together_fence() -> None:
    subject, limits, ingress = fenced()
    egress = default_deny(name="team-a-deny-egress")
    ingress["inputs"]["spec"]["policyTypes"] = ["Ingress"]
    egress["inputs"]["spec"]["policyTypes"] = ["Egress"]
    assert hits(FENCES, subject, limits, ingress, egress) == []


@pytest.mark.parametrize(
    ("direction", "rule"),
    [
        ("egress", {}),
        ("ingress", {"from": [{"namespaceSelector": {}}]}),
        ("egress", {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}),
        ("ingress", {"from": [{"namespaceSelector": {}, "podSelector": {}}]}),
    ],
)
def test_blanket_allow_defeats_the_default_deny(direction: str, rule: dict[str, Any]) -> None:
    subject, limits, policy = fenced()
    policy["inputs"]["spec"][direction].append(rule)
    found = hits(FENCES, subject, limits, policy)
    assert "allows every peer on every port in " + direction.title() in found[0].message


def test_port_limited_rule_to_every_peer_is_not_blanket() -> None:
    subject, limits, policy = fenced()
    policy["inputs"]["spec"]["egress"].append(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}
    )
    assert hits(FENCES, subject, limits, policy) == []


def test_fences_on_another_cluster_do_not_count() -> None:
    cluster_a = entry("pulumi:providers:kubernetes", {"context": "a"}, name="cluster-a")
    cluster_b = entry("pulumi:providers:kubernetes", {"context": "b"}, name="cluster-b")
    on_a = {"provider": f"{cluster_a['urn']}::cluster-a-id"}
    on_b = {"provider": f"{cluster_b['urn']}::cluster-b-id"}
    resources = [namespace(**on_a), quota(**on_a), default_deny(**on_a)]
    assert hits(FENCES, cluster_a, cluster_b, *resources) == []
    resources = [namespace(**on_a), quota(**on_b), default_deny(**on_a)]
    assert len(hits(FENCES, cluster_a, cluster_b, *resources)) == 1


def test_quota_without_namespace_lands_in_the_provider_default() -> None:
    cluster = entry("pulumi:providers:kubernetes", {"namespace": "team-a"}, name="cluster")
    on_cluster = {"provider": f"{cluster['urn']}::cluster-id"}
    limits = quota(**on_cluster)
    del limits["inputs"]["metadata"]["namespace"]
    assert hits(FENCES, cluster, namespace(**on_cluster), limits, default_deny(**on_cluster)) == []


def test_platform_namespace_needs_no_fences() -> None:
    assert hits(FENCES, namespace("kube-system")) == []


@pytest.mark.parametrize("name", ["spark-operator", "kubeflow", "nvidia-gpu"])
def test_a_components_default_namespace_is_not_a_platform_namespace_by_itself(name: str) -> None:
    # Only the environment knows where its components run (see the environment test below).
    assert len(hits(FENCES, namespace(name))) == 1
    assert len(hits(POD_SECURITY, namespace(name, "privileged"))) == 1


def test_fence_platform_namespaces_are_configurable() -> None:
    config = {FENCES: {"platformNamespaces": ["team-a"]}}
    assert hits(FENCES, namespace(), config=config) == []
    assert len(hits(FENCES, namespace("kube-system"), config=config)) == 1


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_fences_level_per_tier(tier: str, level: str) -> None:
    assert [found.level for found in hits(FENCES, namespace(), tier=tier)] == [level]


# The platform namespaces of an environment: its components' (plinth/exemptions.py)


def test_an_operator_moved_by_the_environment_file_is_a_platform_namespace_there(
    variant: Variant,  # noqa: F811
    tmp_path: Path,
) -> None:
    entries = variant({"plinth:spark_operator": {"namespace": "analytics"}})
    created = [
        e
        for e in entries
        if e["type"] == namespaces.NAMESPACE and e["inputs"]["metadata"]["name"] == "analytics"
    ]
    assert [e["parent"].rsplit("::", 1)[1] for e in created] == ["variant-spark"]
    settings = environment_policy(load_environment(tmp_path, "variant")).settings
    assert run_pack(entries, settings, namespaces.RULES) == []
    # A namespace the program creates under any other name, the operator's default
    # included, is a workload namespace and needs its fences.
    stray = namespace("spark-operator")
    found = run_pack([*entries, stray], settings, namespaces.RULES)
    assert [(v.rule, v.urn) for v in found] == [(FENCES, stray["urn"])]
