"""The eks target: VPC, cluster, node pools and workload roles of dev, staging and prod.

Expectations are derived from each environment's own configuration (pools, zones, tier),
so the tests follow the environment files instead of copying the plan.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping
from typing import Any

import pytest

from clouds.aws.instance_types import nvidia_gpus
from components.cluster import GPU_NODE_LABELS, GPU_TAINT
from stacks.config import ConfigError, load_platform_config
from targets.eks.args import EksClusterArgs
from targets.node_pools import NodePool
from tests.conftest import SynthesizedEnvironment

EKS_ENVIRONMENTS = ("dev", "staging", "prod")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG_TAG = "aws:autoscaling/tag:Tag"
ROLE = "aws:iam/role:Role"
TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template"


@pytest.fixture(params=EKS_ENVIRONMENTS)
def eks_env(
    request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedEnvironment]
) -> SynthesizedEnvironment:
    """Each AWS environment in turn."""
    return synthesized[request.param]


def settings(env: SynthesizedEnvironment) -> EksClusterArgs:
    cluster = env.environment.platform.cluster
    assert isinstance(cluster, EksClusterArgs)
    return cluster


def one(env: SynthesizedEnvironment, type_token: str, name: str) -> dict[str, Any]:
    (entry,) = [e for e in env.of_type(type_token) if e["name"] == name]
    return entry


def children(
    env: SynthesizedEnvironment, parent: Mapping[str, Any], type_token: str
) -> list[dict[str, Any]]:
    return [e for e in env.of_type(type_token) if e["parent"] == parent["urn"]]


def pool_entries(
    env: SynthesizedEnvironment, pool_name: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(node group, launch template, autoscaler tags) of one pool."""
    name = f"{env.environment.name}-nodes-{pool_name}"
    component = one(env, "plinth:aws:EksNodePool", name)
    group = one(env, NODE_GROUP, name)
    template = one(env, LAUNCH_TEMPLATE, name)
    return group, template, children(env, component, ASG_TAG)


def test_every_pool_is_a_node_group(eks_env: SynthesizedEnvironment) -> None:
    pools = eks_env.environment.platform.node_pools
    groups = eks_env.of_type(NODE_GROUP)
    assert sorted(g["name"] for g in groups) == sorted(
        f"{eks_env.environment.name}-nodes-{name}" for name in pools
    )
    for name, pool in pools.items():
        group, _, _ = pool_entries(eks_env, name)
        scaling = group["inputs"]["scalingConfig"]
        assert (scaling["minSize"], scaling["maxSize"]) == (pool.min_size, pool.max_size)
        assert group["inputs"]["instanceTypes"] == list(pool.instance_types)
        assert group["inputs"]["capacityType"] == (
            "SPOT" if pool.capacity == "spot" else "ON_DEMAND"
        )
        # The autoscaler owns the desired size once the group exists.
        assert group["ignore_changes"] == ["scalingConfig.desiredSize"]


def test_gpu_pools_are_tainted_and_labelled(eks_env: SynthesizedEnvironment) -> None:
    for name, pool in eks_env.environment.platform.node_pools.items():
        group, _, _ = pool_entries(eks_env, name)
        inputs = group["inputs"]
        assert inputs["labels"]["plinth.io/node-pool"] == name
        if pool.accelerator == "nvidia":
            assert inputs["taints"] == [
                {"key": GPU_TAINT.key, "value": GPU_TAINT.value, "effect": "NO_SCHEDULE"}
            ]
            assert GPU_NODE_LABELS.items() <= inputs["labels"].items()
            assert "NVIDIA" in inputs["amiType"]
        else:
            assert inputs["taints"] == []
            assert "NVIDIA" not in inputs["amiType"]


def test_node_image_picks_the_ami_family(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    prod = synthesized["prod"]
    for name, pool in prod.environment.platform.node_pools.items():
        group, template, _ = pool_entries(prod, name)
        family = "BOTTLEROCKET" if pool.node_image == "bottlerocket" else "AL2023"
        assert group["inputs"]["amiType"].startswith(family)
        (disk,) = template["inputs"]["blockDeviceMappings"]
        # Bottlerocket's second volume holds containers and pods; AL2023 has one root.
        assert disk["deviceName"] == ("/dev/xvdb" if family == "BOTTLEROCKET" else "/dev/xvda")
    assert {p.node_image for p in prod.environment.platform.node_pools.values()} == {
        "al2023",
        "bottlerocket",
    }


def template_tags(tags: list[dict[str, Any]]) -> dict[str, str]:
    return {t["inputs"]["tag"]["key"]: t["inputs"]["tag"]["value"] for t in tags}


def test_autoscaler_tags_describe_the_template_node(eks_env: SynthesizedEnvironment) -> None:
    for name, pool in eks_env.environment.platform.node_pools.items():
        group, _, tags = pool_entries(eks_env, name)
        by_key = template_tags(tags)
        labels = {
            key.removeprefix(f"{TEMPLATE_TAG}/label/"): value
            for key, value in by_key.items()
            if key.startswith(f"{TEMPLATE_TAG}/label/")
        }
        assert labels == group["inputs"]["labels"]
        assert all(not t["inputs"]["tag"]["propagateAtLaunch"] for t in tags)
        assert {t["inputs"]["autoscalingGroupName"] for t in tags} == {
            f"eks-{group['name']}-placeholder"  # the group's ASG, an output of the node group
        }
        if pool.accelerator == "nvidia":
            gpus = {nvidia_gpus(t) for t in pool.instance_types}
            assert by_key[f"{TEMPLATE_TAG}/resources/nvidia.com/gpu"] == str(gpus.pop())
            assert by_key[f"{TEMPLATE_TAG}/taint/nvidia.com/gpu"] == "true:NoSchedule"
        else:
            assert not any("/taint/" in key or "/resources/" in key for key in by_key)


def test_launch_templates_harden_the_nodes(eks_env: SynthesizedEnvironment) -> None:
    for name, pool in eks_env.environment.platform.node_pools.items():
        _, template, _ = pool_entries(eks_env, name)
        inputs = template["inputs"]
        assert inputs["metadataOptions"]["httpTokens"] == "required"
        assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        (disk,) = inputs["blockDeviceMappings"]
        assert disk["ebs"]["encrypted"] == "true"
        assert disk["ebs"]["volumeSize"] == pool.disk_size_gib
        instance_tags = {spec["resourceType"]: spec["tags"] for spec in inputs["tagSpecifications"]}
        assert (
            instance_tags["instance"]["cost-centre"]
            == eks_env.environment.platform.ownership.cost_centre
        )


def test_nvme_scratch_becomes_user_data(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    seen = set()
    for name in EKS_ENVIRONMENTS:
        env = synthesized[name]
        for pool_name, pool in env.environment.platform.node_pools.items():
            _, template, _ = pool_entries(env, pool_name)
            user_data = template["inputs"].get("userData")
            seen.add((pool.node_image, pool.local_nvme_scratch))
            if not pool.local_nvme_scratch:
                assert user_data is None
                continue
            text = base64.b64decode(user_data).decode()
            if pool.node_image == "al2023":
                assert "kind: NodeConfig" in text
                assert "strategy: RAID0" in text
            else:
                assert '"ephemeral-storage", "init"' in text
    assert {("al2023", True), ("bottlerocket", True), ("al2023", False)} <= seen


def test_vpc_spans_three_zones(eks_env: SynthesizedEnvironment) -> None:
    cluster = settings(eks_env)
    vpc = ipaddress.IPv4Network(cluster.vpc_cidr)
    subnets = eks_env.of_type("aws:ec2/subnet:Subnet")
    ranges = [ipaddress.IPv4Network(s["inputs"]["cidrBlock"]) for s in subnets]
    assert all(r.subnet_of(vpc) for r in ranges)
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    for role in ("elb", "internal-elb"):
        tagged = [
            s for s in subnets if s["inputs"]["tags"].get(f"kubernetes.io/role/{role}") == "1"
        ]
        assert sorted(s["inputs"]["availabilityZone"] for s in tagged) == sorted(
            cluster.availability_zones
        )
        assert not any(s["inputs"]["mapPublicIpOnLaunch"] for s in tagged)
    nats = eks_env.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (3 if cluster.nat_gateways == "per-zone" else 1)


def test_prod_runs_a_nat_gateway_per_zone_and_a_private_api(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    prod = settings(synthesized["prod"])
    assert (prod.nat_gateways, prod.endpoint_public_access) == ("per-zone", False)
    vpc_config = synthesized["prod"].of_type("aws:eks/cluster:Cluster")[0]["inputs"]["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is False
    dev = synthesized["dev"].of_type("aws:eks/cluster:Cluster")[0]["inputs"]["vpcConfig"]
    assert dev["endpointPublicAccess"] is True
    assert dev["publicAccessCidrs"] == list(settings(synthesized["dev"]).public_access_cidrs)


def test_cluster_encrypts_secrets_logs_and_uses_access_entries(
    eks_env: SynthesizedEnvironment,
) -> None:
    (cluster,) = eks_env.of_type("aws:eks/cluster:Cluster")
    inputs = cluster["inputs"]
    key = one(eks_env, "aws:kms/key:Key", f"{eks_env.environment.name}-eks-secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert inputs["encryptionConfig"]["provider"]["keyArn"].endswith(f"key/key-{key['name']}")
    assert inputs["enabledClusterLogTypes"] == list(settings(eks_env).log_types)
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["version"] == settings(eks_env).kubernetes_version
    admins = eks_env.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    expected = settings(eks_env).cluster_admins
    assert sorted(a["inputs"]["principalArn"] for a in admins) == sorted(expected.values())
    prefix = f"{eks_env.environment.name}-eks-admin-"
    assert sorted(a["name"].removeprefix(prefix) for a in admins) == sorted(expected)


def trust_subject(role: Mapping[str, Any]) -> tuple[str, str]:
    (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    (sub,) = [v for k, v in conditions.items() if k.endswith(":sub")]
    (aud,) = [v for k, v in conditions.items() if k.endswith(":aud")]
    return sub, aud


@pytest.mark.parametrize(
    ("addon", "service_account"),
    [
        ("vpc-cni", "aws-node"),
        ("aws-ebs-csi-driver", "ebs-csi-controller-sa"),
        ("aws-mountpoint-s3-csi-driver", "s3-csi-driver-sa"),
    ],
)
def test_addon_roles_trust_only_their_service_account(
    synthesized: dict[str, SynthesizedEnvironment], addon: str, service_account: str
) -> None:
    env = synthesized["dev"]
    name = f"dev-eks-{addon}"
    role = one(env, ROLE, name)
    assert trust_subject(role) == (
        f"system:serviceaccount:kube-system:{service_account}",
        "sts.amazonaws.com",
    )
    (entry,) = [a for a in env.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == addon]
    assert entry["inputs"]["serviceAccountRoleArn"] == f"arn:aws:iam::123456789012:role/{name}"


def test_node_pools_wait_for_the_network_addons(eks_env: SynthesizedEnvironment) -> None:
    addons = {a["inputs"]["addonName"]: a["urn"] for a in eks_env.of_type("aws:eks/addon:Addon")}
    groups = {g["urn"] for g in eks_env.of_type(NODE_GROUP)}
    for group in eks_env.of_type(NODE_GROUP):
        assert {addons["vpc-cni"], addons["kube-proxy"]} <= set(group["dependencies"])
    coredns = next(
        a for a in eks_env.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "coredns"
    )
    assert groups <= set(coredns["dependencies"])


def test_prod_protects_the_cluster_and_its_key(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    for name in EKS_ENVIRONMENTS:
        env = synthesized[name]
        prod = env.environment.platform.tier == "prod"
        (cluster,) = env.of_type("aws:eks/cluster:Cluster")
        assert cluster["protect"] is prod
        assert cluster["inputs"]["deletionProtection"] is prod
        for key in env.of_type("aws:kms/key:Key"):
            assert (key["protect"], key["retain_on_delete"]) == (prod, prod)


def test_every_aws_resource_goes_through_the_tagged_provider(
    eks_env: SynthesizedEnvironment,
) -> None:
    (provider,) = eks_env.of_type("pulumi:providers:aws")
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    platform = eks_env.environment.platform
    assert tags["owner"] == platform.ownership.owner
    assert tags["cost-centre"] == platform.ownership.cost_centre
    assert tags["environment"] == eks_env.environment.name
    assert provider["inputs"]["region"] == settings(eks_env).region
    for entry in eks_env.entries:
        if entry["type"].startswith("aws:") and entry["custom"]:
            assert entry["provider"].startswith(provider["urn"]), entry["urn"]


# --- configuration errors: one valid environment, one changed field per case --------------


def valid_values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tier": "dev",
        "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
        "cluster": {
            "target": "eks",
            "region": "eu-west-1",
            "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        },
        "node_pools": {
            "system": {"instance_types": ["m7i.large"], "min_size": 2, "max_size": 3},
            "gpu": {"accelerator": "nvidia", "instance_types": ["g5.xlarge"], "max_size": 2},
        },
    }
    values.update(changes)
    return values


def error_of(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_platform_config(values, source="test")
    return str(caught.value)


def test_the_valid_values_load() -> None:
    config = load_platform_config(valid_values(), source="test")
    assert isinstance(config.cluster, EksClusterArgs)
    assert config.node_pools["gpu"].node_gpus == 1


def test_prod_tier_defaults_make_the_api_private() -> None:
    config = load_platform_config(valid_values(tier="prod"), source="test")
    assert isinstance(config.cluster, EksClusterArgs)
    assert (config.cluster.endpoint_public_access, config.cluster.nat_gateways) == (
        False,
        "per-zone",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"node_pools": {"gpu": {"accelerator": "nvidia", "instance_types": ["g5.xlarge"]}}},
            "no pool without accelerator",
        ),
        ({"node_pools": {"system": {"max_size": 2}}}, "node_pools.system.instance_types is empty"),
        (
            {
                "node_pools": {
                    "system": {"instance_types": ["m7i.large"]},
                    "gpu": {
                        "accelerator": "nvidia",
                        "instance_types": ["g5.xlarge", "g5.12xlarge"],
                    },
                }
            },
            "different GPU counts",
        ),
        (
            {
                "node_pools": {
                    "system": {"instance_types": ["m7i.large"]},
                    "gpu": {"accelerator": "nvidia", "instance_types": ["m7i.large"]},
                }
            },
            "not NVIDIA GPU types",
        ),
        (
            {"node_pools": {"system": {"instance_types": ["m7i.large", "m7g.large"]}}},
            "mix",
        ),
        (
            {
                "node_pools": {
                    "system": {"instance_types": ["m7i.large"]},
                    "gpu": {
                        "accelerator": "nvidia",
                        "instance_types": ["g5g.xlarge"],
                        "local_nvme_scratch": True,
                    },
                }
            },
            "no NVMe instance store",
        ),
        (
            {
                "node_pools": {
                    "system": {"instance_types": ["m7i.large"], "local_nvme_scratch": True}
                }
            },
            "only for GPU pools",
        ),
        (
            {
                "node_pools": {
                    "system": {
                        "instance_types": ["m7i.large"],
                        "min_size": 2,
                        "desired_size": 5,
                        "max_size": 3,
                    }
                }
            },
            "desired_size 5 is outside",
        ),
    ],
)
def test_unbuildable_node_pools_are_refused(change: dict[str, Any], expected: str) -> None:
    message = error_of(valid_values(**change))
    assert expected in message
    assert message.count("\n") == 0


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (
            {"availability_zones": ["eu-west-1a", "eu-west-1b", "us-east-1c"]},
            "three distinct zones of region eu-west-1",
        ),
        ({"availability_zones": ["eu-west-1a", "eu-west-1b"]}, "plinth:cluster.availability_zones"),
        (
            {"endpoint_public_access": False, "public_access_cidrs": ["198.51.100.0/24"]},
            "public_access_cidrs is set but",
        ),
        ({"vpc_cidr": "10.0.0.0/8"}, "use a /16 to /20"),
        ({"kubernetes_version": "1.29"}, "plinth:cluster.kubernetes_version"),
        ({"cluster_admins": {"ops": "admin"}}, "is not an IAM role or user ARN"),
        ({"cluster_admins": ["arn:aws:iam::111122223333:role/ops"]}, "write it as a map"),
    ],
)
def test_bad_cluster_settings_are_refused(cluster: dict[str, Any], expected: str) -> None:
    values = valid_values()
    values["cluster"] = {**values["cluster"], **cluster}
    assert expected in error_of(values)


def test_object_storage_needs_the_eks_target() -> None:
    values = valid_values(cluster={"target": "existing", "kubernetes_version": "1.33"})
    values["object_storage"] = {"buckets": {"datasets": {"versioning": False}}}
    assert "object_storage is set but cluster.target is 'existing'" in error_of(values)


def test_gpu_count_comes_from_config_for_unknown_types() -> None:
    pool = NodePool(
        accelerator="nvidia", instance_types=("g7.xlarge",), gpus_per_node=2, max_size=1
    )
    assert pool.node_gpus == 2


@pytest.mark.parametrize("name", ["dev", "staging"])
def test_gpu_example_lands_only_on_gpu_node_groups(
    synthesized: dict[str, SynthesizedEnvironment], name: str
) -> None:
    env = synthesized[name]
    (job,) = [o for o in env.objects if o["kind"] == "PyTorchJob"]
    for replica in job["spec"]["pytorchReplicaSpecs"].values():
        pod = replica["template"]["spec"]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
        (toleration,) = pod["tolerations"]
        for pool_name, pool in env.environment.platform.node_pools.items():
            group, _, _ = pool_entries(env, pool_name)
            selected = pod["nodeSelector"].items() <= group["inputs"]["labels"].items()
            tolerated = any(
                (t["key"], t["value"], t["effect"])
                == (
                    toleration["key"],
                    toleration["value"],
                    {"NoSchedule": "NO_SCHEDULE"}[toleration["effect"]],
                )
                for t in group["inputs"]["taints"]
            )
            # The selector picks exactly the GPU pools, and the toleration matches their taint.
            assert selected is (pool.accelerator == "nvidia"), pool_name
            assert tolerated is (pool.accelerator == "nvidia"), pool_name
