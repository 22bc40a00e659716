"""An EKS managed node group for one entry of `plinth:node_pools`.

Everything about the nodes follows from the pool's settings: the AMI type from the node
image, the accelerator and the instance types' CPU architecture; for a GPU pool the
`nvidia.com/gpu=true:NoSchedule` taint and the `plinth.io/accelerator=nvidia` label, so
only pods that ask for GPUs (and tolerate the taint) land there. A launch template gives
every node an encrypted gp3 disk, requires IMDSv2 with a hop limit of 1 (pods cannot take
the node's role; they have their own through IRSA), tags the instances for cost
allocation and, with `local_nvme_scratch`, puts the instance-store NVMe disks in RAID 0
under kubelet and containerd. Cluster-autoscaler scales a pool from zero only if it can
predict a node from the Auto Scaling group's `node-template` tags (labels, taints, GPUs),
which managed node groups do not propagate: they are set on the group here.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from clouds.aws.context import AwsContext
from clouds.aws.instance_types import architecture
from components.cluster import GPU_NODE_LABELS, GPU_RESOURCE, GPU_TAINT
from targets.eks.control_plane import EksCluster
from targets.node_pools import NodePool

POOL_LABEL = "plinth.io/node-pool"
# cluster-autoscaler treats a node with this label as a GPU node whose GPUs are not
# advertised yet (device plugin starting), instead of adding more nodes for the same pods.
AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"
NODE_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template"
AMI_TYPES = {
    ("al2023", "x86_64", False): "AL2023_x86_64_STANDARD",
    ("al2023", "arm64", False): "AL2023_ARM_64_STANDARD",
    ("al2023", "x86_64", True): "AL2023_x86_64_NVIDIA",
    ("al2023", "arm64", True): "AL2023_ARM_64_NVIDIA",
    ("bottlerocket", "x86_64", False): "BOTTLEROCKET_x86_64",
    ("bottlerocket", "arm64", False): "BOTTLEROCKET_ARM_64",
    ("bottlerocket", "x86_64", True): "BOTTLEROCKET_x86_64_NVIDIA",
    ("bottlerocket", "arm64", True): "BOTTLEROCKET_ARM_64_NVIDIA",
}
# The volume the pool's disk size applies to: AL2023's root; Bottlerocket's data volume
# (its root volume holds only the read-only OS image).
DISK_DEVICE = {"al2023": "/dev/xvda", "bottlerocket": "/dev/xvdb"}
EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

# nodeadm (AL2023) formats the instance-store disks as one RAID 0 array and mounts
# kubelet's and containerd's directories on it. A managed node group merges this part
# with the NodeConfig it generates for the cluster.
AL2023_NVME_USER_DATA = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="PLINTH"

--PLINTH
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  instance:
    localStorage:
      strategy: RAID0

--PLINTH--
"""
# Bottlerocket's documented ephemeral-storage commands do the same at boot.
BOTTLEROCKET_NVME_USER_DATA = """[settings.bootstrap-commands.plinth-nvme-scratch]
commands = [
  ["apiclient", "ephemeral-storage", "init"],
  ["apiclient", "ephemeral-storage", "bind", "--dirs",
   "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"],
]
essential = true
mode = "always"
"""


def ami_type(pool: NodePool) -> str:
    """The EKS AMI type of the pool's node image, accelerator and CPU architecture."""
    arch = architecture(pool.instance_types[0])
    return AMI_TYPES[(pool.node_image, arch, pool.accelerator == "nvidia")]


def node_labels(pool_name: str, pool: NodePool) -> dict[str, str]:
    """Labels on every node of the pool: its name, GPU labels for GPU pools, then its own."""
    gpu = (
        {**GPU_NODE_LABELS, AUTOSCALER_GPU_LABEL: "nvidia"} if pool.accelerator == "nvidia" else {}
    )
    return dict(sorted({POOL_LABEL: pool_name, **gpu, **pool.labels}.items()))


def template_tag_name(key: str) -> str:
    """A node-template tag's resource name part, from its key: adding or removing a label
    renames no other tag (`label-plinth.io-pool` for `.../node-template/label/plinth.io/pool`)."""
    return key.removeprefix(f"{NODE_TEMPLATE_TAG}/").replace("/", "-")


def autoscaler_tags(pool_name: str, pool: NodePool) -> dict[str, str]:
    """The Auto Scaling group tags from which cluster-autoscaler builds a template node,
    so that it scales the pool up from zero for pods that need its labels, taint or GPUs."""
    tags = {
        f"{NODE_TEMPLATE_TAG}/label/{key}": value
        for key, value in node_labels(pool_name, pool).items()
    }
    if pool.accelerator == "nvidia":
        taint = GPU_TAINT
        tags[f"{NODE_TEMPLATE_TAG}/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
        tags[f"{NODE_TEMPLATE_TAG}/resources/{GPU_RESOURCE}"] = str(pool.node_gpus)
    return dict(sorted(tags.items()))


def nvme_user_data(pool: NodePool) -> str | None:
    """Base64 user data that puts the NVMe instance store under the node's scratch paths."""
    if not pool.local_nvme_scratch:
        return None
    text = AL2023_NVME_USER_DATA if pool.node_image == "al2023" else BOTTLEROCKET_NVME_USER_DATA
    return base64.b64encode(text.encode()).decode()


class EksNodePool(pulumi.ComponentResource):
    """One managed node group of an EKS cluster, with its launch template and the tags
    cluster-autoscaler needs to scale it from zero."""

    autoscaling_group_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        pool_name: str,
        pool: NodePool,
        *,
        eks: EksCluster,
        aws_context: AwsContext,
        subnet_ids: Sequence[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:EksNodePool", name, None, opts)
        template = self._launch_template(name, pool, aws_context)
        gpu = pool.accelerator == "nvidia"
        taints: list[aws.eks.NodeGroupTaintArgsDict] = (
            [
                {
                    "key": GPU_TAINT.key,
                    "value": GPU_TAINT.value,
                    "effect": EKS_TAINT_EFFECTS[GPU_TAINT.effect],
                }
            ]
            if gpu
            else []
        )
        self.node_group = aws.eks.NodeGroup(
            name,
            # No node_group_name: Pulumi names it uniquely, so a change EKS can only make
            # by replacing the group (instance types, AMI type, capacity) creates the new
            # group before deleting the old one.
            cluster_name=eks.eks.name,
            node_role_arn=eks.node_role.arn,
            subnet_ids=list(subnet_ids),
            instance_types=list(pool.instance_types),
            ami_type=ami_type(pool),
            capacity_type="SPOT" if pool.capacity == "spot" else "ON_DEMAND",
            scaling_config={
                "min_size": pool.min_size,
                "desired_size": pool.min_size if pool.desired_size is None else pool.desired_size,
                "max_size": pool.max_size,
            },
            labels=node_labels(pool_name, pool),
            taints=taints,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            update_config={"max_unavailable_percentage": 33},
            opts=aws_context.options(
                self,
                # The autoscaler moves the desired size; Pulumi must not move it back.
                ignore_changes=["scalingConfig.desiredSize"],
                depends_on=eks.addons_before_nodes,
            ),
        )
        self.autoscaling_group_name = self.node_group.resources.apply(
            lambda resources: resources[0]["autoscaling_groups"][0]["name"]
        )
        for index, (key, value) in enumerate(autoscaler_tags(pool_name, pool).items()):
            aws.autoscaling.Tag(
                f"{name}-template-{template_tag_name(key)}",
                autoscaling_group_name=self.autoscaling_group_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                # Named by position until Plinth 0.x: the alias moves those in place.
                opts=aws_context.options(
                    self, aliases=[pulumi.Alias(name=f"{name}-template-{index}")]
                ),
            )
        self.register_outputs({"autoscaling_group_name": self.autoscaling_group_name})

    def _launch_template(
        self, name: str, pool: NodePool, aws_context: AwsContext
    ) -> aws.ec2.LaunchTemplate:
        instance_tags: Mapping[str, str] = dict(sorted(aws_context.tags.items()))
        return aws.ec2.LaunchTemplate(
            name,
            block_device_mappings=[
                {
                    "device_name": DISK_DEVICE[pool.node_image],
                    "ebs": {
                        "volume_size": pool.disk_size_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
            },
            user_data=nvme_user_data(pool),
            tag_specifications=[
                {"resource_type": kind, "tags": instance_tags} for kind in ("instance", "volume")
            ],
            update_default_version=True,
            opts=aws_context.options(self),
        )
