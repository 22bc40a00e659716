"""GPU rules (policies/kubernetes/gpu.py), through the pack as `plinth check` runs them.

One compliant GPU pod, EKS node group and AKS agent pool; each failing case changes one
field of them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policies.kubernetes.pods import DELETE, patched, pod_spec, spark, spark_application
from tests.policy_harness import entry, hits, kubernetes

LIMITS = "gpu-requests-have-limits"
TOLERATION = "gpu-pods-tolerate-gpu-taint"
POOLS = "gpu-node-pools-tainted"
GPU = "nvidia.com/gpu"
GPU_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}


def gpu_pod() -> dict[str, Any]:
    """A pod asking for one GPU the way Plinth's PyTorchJob example does."""
    spec = pod_spec()
    spec["containers"][0]["resources"]["limits"][GPU] = "1"
    spec["tolerations"] = [dict(GPU_TOLERATION)]
    spec["nodeSelector"] = {"plinth.io/accelerator": "nvidia"}
    return spec


def job(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return kubernetes(
        "batch/v1",
        "Job",
        {
            "metadata": {"name": "train", "namespace": "ml-jobs"},
            "spec": {"template": {"spec": spec or gpu_pod()}},
        },
    )


def changed(path: str, value: Any) -> dict[str, Any]:
    return job(patched(gpu_pod(), path, value))


def test_compliant_gpu_pod_passes() -> None:
    for rule in (LIMITS, TOLERATION):
        assert hits(rule, job()) == [], rule


def test_cpu_pods_need_no_toleration() -> None:
    assert hits(TOLERATION, job(pod_spec())) == []


# ---- gpu-requests-have-limits --------------------------------------------------------

RESOURCES = "containers[0].resources"


@pytest.mark.parametrize(
    ("requests", "limits", "expected"),
    [
        ({GPU: "1"}, {}, "requests nvidia.com/gpu but sets no limit"),
        ({GPU: 2}, {GPU: "1"}, "requests 2 nvidia.com/gpu but limits it to 1"),
        ({"nvidia.com/mig-1g.5gb": "1"}, {}, "nvidia.com/mig-1g.5gb"),
    ],
)
def test_a_gpu_request_needs_an_equal_limit(
    requests: dict[str, Any], limits: dict[str, Any], expected: str
) -> None:
    spec = gpu_pod()
    spec["containers"][0]["resources"] = {
        "requests": {"cpu": "1", "memory": "1Gi", **requests},
        "limits": {"cpu": "1", "memory": "1Gi", **limits},
    }
    (found,) = hits(LIMITS, job(spec), tier="dev")
    assert found.level == "mandatory"
    assert expected in found.message
    assert f"spec.template.spec.{RESOURCES}.limits." in found.message


@pytest.mark.parametrize("request_value", ["1", 1, 1.0])
def test_equal_request_and_limit_pass(request_value: Any) -> None:
    spec = gpu_pod()
    spec["containers"][0]["resources"]["requests"][GPU] = request_value
    assert hits(LIMITS, job(spec)) == []


def test_a_zero_gpu_request_asks_for_no_gpu() -> None:
    spec = pod_spec()
    spec["containers"][0]["resources"]["requests"][GPU] = "0"
    assert hits(LIMITS, job(spec)) == []
    assert hits(TOLERATION, job(spec)) == []


def test_gpu_resource_names_are_a_knob() -> None:
    spec = pod_spec()
    spec["containers"][0]["resources"]["requests"]["amd.com/gpu"] = "1"
    assert hits(LIMITS, job(spec)) == []
    config = {LIMITS: {"resourceNames": ["nvidia.com/gpu", "amd.com/gpu"]}}
    assert len(hits(LIMITS, job(spec), config=config)) == 1


# ---- gpu-pods-tolerate-gpu-taint -----------------------------------------------------


@pytest.mark.parametrize(
    "toleration",
    [
        GPU_TOLERATION,
        {"key": GPU, "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": GPU, "value": "true"},  # operator defaults to Equal, any effect
        {"operator": "Exists"},  # an empty key with Exists tolerates every taint
    ],
)
def test_tolerations_that_match_the_gpu_taint(toleration: dict[str, Any]) -> None:
    assert hits(TOLERATION, changed("tolerations", [toleration])) == []


@pytest.mark.parametrize(
    "tolerations",
    [
        [],
        [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
        [{"key": GPU, "operator": "Exists", "effect": "NoExecute"}],
        [{"key": "", "operator": "Equal", "value": "x"}],
    ],
)
def test_a_gpu_pod_must_tolerate_the_gpu_taint(tolerations: list[dict[str, Any]]) -> None:
    (found,) = hits(TOLERATION, changed("tolerations", tolerations))
    assert "container 'trainer' asks for a GPU" in found.message
    assert "spec.template.spec.tolerations" in found.message


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "mandatory"), ("prod", "mandatory")]
)
def test_toleration_level_per_tier(tier: str, level: str) -> None:
    found = hits(TOLERATION, changed("tolerations", DELETE), tier=tier)
    assert [v.level for v in found] == [level]


def test_the_taint_key_is_a_knob() -> None:
    subject = changed(
        "tolerations", [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    )
    assert hits(TOLERATION, subject, config={TOLERATION: {"taintKey": "sku"}}) == []


def test_a_gpu_limit_alone_asks_for_a_gpu() -> None:
    assert len(hits(TOLERATION, changed("tolerations", DELETE))) == 1


def test_spark_gpu_executors_must_tolerate_the_taint() -> None:
    app = patched(spark_application(), "spec.executor.gpu", {"name": GPU, "quantity": 1})
    (found,) = hits(TOLERATION, spark(app))
    assert found.message.startswith("spec.executor: container 'spark-kubernetes-executor'")
    assert "spec.executor.tolerations" in found.message
    assert hits(LIMITS, spark(app)) == []  # Spark sets GPUs as limits
    app["spec"]["executor"]["tolerations"] = [GPU_TOLERATION]
    assert hits(TOLERATION, spark(app)) == []


# ---- gpu-node-pools-tainted ----------------------------------------------------------

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AGENT_POOL = "azure-native:containerservice:AgentPool"


def eks_node_group() -> dict[str, Any]:
    """pulumi-aws v7 NodeGroup inputs of a tainted GPU pool."""
    return {
        "clusterName": "plinth",
        "nodeRoleArn": "arn:aws:iam::123456789012:role/nodes",
        "subnetIds": ["subnet-1"],
        "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0},
        "amiType": "AL2023_x86_64_NVIDIA",
        "instanceTypes": ["g5.xlarge"],
        "labels": {"plinth.io/accelerator": "nvidia"},
        "taints": [{"key": GPU, "value": "true", "effect": "NO_SCHEDULE"}],
    }


def aks_agent_pool() -> dict[str, Any]:
    """azure-native AgentPool inputs of a tainted GPU pool."""
    return {
        "resourceGroupName": "plinth",
        "resourceName": "plinth",
        "vmSize": "Standard_NC24ads_A100_v4",
        "count": 1,
        "nodeTaints": [f"{GPU}=true:NoSchedule"],
    }


def test_tainted_gpu_pools_pass() -> None:
    assert hits(POOLS, entry(NODE_GROUP, eks_node_group())) == []
    assert hits(POOLS, entry(AGENT_POOL, aks_agent_pool())) == []


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        ("taints", DELETE, "amiType AL2023_x86_64_NVIDIA"),
        ("taints[0].effect", "PREFER_NO_SCHEDULE", "amiType"),
        ("taints[0].key", "sku", "amiType"),
    ],
)
def test_an_untainted_eks_gpu_group_fails(path: str, value: Any, why: str) -> None:
    (found,) = hits(POOLS, entry(NODE_GROUP, patched(eks_node_group(), path, value)))
    assert found.level == "mandatory"
    assert f"GPU node group ({why}" in found.message
    assert "NO_SCHEDULE" in found.message


@pytest.mark.parametrize(
    ("changes", "is_gpu"),
    [
        (
            {"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m7i.large"], "labels": {}},
            False,
        ),
        ({"amiType": "AL2_x86_64_GPU", "instanceTypes": ["m7i.large"], "labels": {}}, True),
        (
            {"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["p4d.24xlarge"], "labels": {}},
            True,
        ),
        (
            {"amiType": "AL2023_ARM_64_STANDARD", "instanceTypes": ["m7g.large"], "labels": {}},
            False,
        ),
        (
            {
                "amiType": "CUSTOM",
                "instanceTypes": ["m7i.large"],
                "labels": {"nvidia.com/gpu.present": "true"},
            },
            True,
        ),
    ],
)
def test_eks_gpu_groups_are_found_by_ami_instance_type_or_label(
    changes: dict[str, Any], is_gpu: bool
) -> None:
    inputs = {**eks_node_group(), **changes}
    del inputs["taints"]
    assert len(hits(POOLS, entry(NODE_GROUP, inputs))) == int(is_gpu)


@pytest.mark.parametrize(
    ("vm_size", "is_gpu"),
    [
        ("Standard_NC24ads_A100_v4", True),
        ("Standard_ND96asr_v4", True),
        ("Standard_NV36ads_A10_v5", True),
        ("Standard_NV16as_v4", False),  # AMD GPUs: no nvidia.com/gpu
        ("Standard_D8s_v5", False),
    ],
)
def test_untainted_aks_gpu_pools_fail(vm_size: str, is_gpu: bool) -> None:
    inputs = {**aks_agent_pool(), "vmSize": vm_size, "nodeTaints": ["sku=gpu:NoSchedule"]}
    found = hits(POOLS, entry(AGENT_POOL, inputs))
    assert len(found) == int(is_gpu)
    if is_gpu:
        assert f"nodeTaints: ['{GPU}=true:NoSchedule']" in found[0].message


def test_pools_inline_in_an_aks_cluster_are_checked() -> None:
    untainted = {**aks_agent_pool(), "name": "gpu", "nodeTaints": []}
    system = {"name": "system", "vmSize": "Standard_D4s_v5", "mode": "System"}
    cluster = {"resourceGroupName": "plinth", "agentPoolProfiles": [system, untainted]}
    (found,) = hits(POOLS, entry("azure-native:containerservice:ManagedCluster", cluster))
    assert found.message.startswith("agentPoolProfiles[1]: GPU agent pool")


def test_node_pool_level_per_tier_and_taint_key_knob() -> None:
    inputs = patched(eks_node_group(), "taints[0].key", "sku")
    assert [v.level for v in hits(POOLS, entry(NODE_GROUP, inputs), tier="dev")] == ["advisory"]
    assert hits(POOLS, entry(NODE_GROUP, inputs), config={POOLS: {"taintKey": "sku"}}) == []


def test_gpu_rules_ignore_pods_and_pools_of_other_shapes() -> None:
    odd = copy.deepcopy(eks_node_group())
    odd.update({"taints": "odd", "instanceTypes": None, "labels": ["x"]})
    found = hits(POOLS, entry(NODE_GROUP, odd))
    assert [v.level for v in found] == ["mandatory"]  # still a GPU pool by its amiType
    assert hits(TOLERATION, entry("kubernetes:core/v1:ConfigMap", {"data": {"x": "y"}})) == []
