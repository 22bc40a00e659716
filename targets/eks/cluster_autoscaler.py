"""Cluster Autoscaler on EKS: adds nodes when pods cannot be scheduled, removes idle ones.

Declared as typed objects in `kube-system` (upstream's Helm chart values are not available
offline to validate against), so every object shows in the plan and to policy: the
ServiceAccount, annotated with an IRSA role that only it can assume; the ClusterRole,
Role and bindings of upstream's chart (`cluster-autoscaler-chart-9.59.0`, templates
`clusterrole.yaml` and `role.yaml`, cloud provider `aws`); the Deployment; and, with more
than one replica, a PodDisruptionBudget. The autoscaler finds the node groups' Auto
Scaling groups by the tags EKS puts on every managed node group's group, and may resize
and terminate instances only in the groups it is given. Its image minor is the cluster's
Kubernetes minor, as upstream requires.

Inputs: `ClusterAutoscalerArgs`, the `Cluster`, the `AwsContext`, the cluster's
`OidcIssuer`, the EKS cluster name and the node groups' Auto Scaling group ARNs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from clouds.aws.context import AwsContext, OidcIssuer
from clouds.aws.workload_role import WorkloadRole
from components import versions
from components.cluster import Cluster, ScrapeTarget
from components.pod_security import RESTRICTED_CONTAINER_ARGS
from components.rbac import grant
from targets.eks.args import ClusterAutoscalerArgs

NAMESPACE = "kube-system"
# The name of every object here. The Lease and the status ConfigMap names are the
# autoscaler's defaults (--leader-elect-resource-name, --status-config-map-name); the Role
# grants access to exactly these.
NAME = "cluster-autoscaler"
LEASE = "cluster-autoscaler"
STATUS_CONFIG_MAP = "cluster-autoscaler-status"
SELECTOR = {"app.kubernetes.io/name": NAME}
# Metrics and the liveness endpoint (--address default ":8085").
METRICS_PORT = 8085
# The pod's user and group: `nobody`, as upstream's example manifest. The image is
# distroless/static, which needs no particular user.
NOBODY = 65534

TAG_PREFIX = "k8s.io/cluster-autoscaler/"
ENABLED_TAG = f"{TAG_PREFIX}enabled"

# Upstream's documented policy for auto-discovery (cloudprovider/aws/README.md at
# cluster-autoscaler-1.34.5, identical from 1.31.5 to 1.35.2): read actions that take no
# resource-level permission, on "*" ...
READ_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
# ... and the two that change capacity, which Plinth grants on the node groups' Auto
# Scaling groups only (the README's recommended restriction).
SCALE_ACTIONS = (
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
)

READ = ("get", "list", "watch")


def _rule(
    groups: str | Sequence[str],
    resources: Sequence[str],
    verbs: Sequence[str],
    names: Sequence[str] = (),
) -> k8s.rbac.v1.PolicyRuleArgsDict:
    rule: k8s.rbac.v1.PolicyRuleArgsDict = {
        "api_groups": [groups] if isinstance(groups, str) else list(groups),
        "resources": list(resources),
        "verbs": list(verbs),
    }
    if names:
        rule["resource_names"] = list(names)
    return rule


# Upstream's ClusterRole (chart 9.59.0, cloudProvider aws, rbac.clusterScoped), rule for
# rule but two: the Lease rules live in the namespaced Role below, and the rules on
# `endpoints` (create, patch; get and update of `cluster-autoscaler`) are left out. Those
# served the endpoints leader-election lock, which client-go removed (v0.24; the autoscaler
# 1.31 and later is built on v0.31 and later, where only `leases` exists), and creating
# Endpoints in any namespace would let the autoscaler redirect Services.
CLUSTER_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    _rule("", ("events",), ("create", "patch")),
    _rule("", ("pods/eviction",), ("create",)),
    _rule("", ("pods/status",), ("update",)),
    _rule("", ("nodes",), ("get", "list", "update", "watch")),
    _rule("", ("podtemplates",), ("create", "get", "list", "patch", "update", "watch")),
    _rule("resource.k8s.io", ("deviceclasses", "resourceclaims", "resourceslices"), READ),
    _rule(
        "",
        (
            "namespaces",
            "persistentvolumeclaims",
            "persistentvolumes",
            "pods",
            "replicationcontrollers",
            "services",
        ),
        READ,
    ),
    _rule("batch", ("cronjobs", "jobs"), READ),
    _rule(("batch", "extensions"), ("jobs",), ("get", "list", "patch", "watch")),
    _rule("extensions", ("daemonsets", "replicasets"), READ),
    _rule("policy", ("poddisruptionbudgets",), ("list", "watch")),
    _rule("apps", ("daemonsets", "deployments", "replicasets", "statefulsets"), READ),
    _rule(
        "storage.k8s.io",
        ("csidrivers", "csinodes", "csistoragecapacities", "storageclasses", "volumeattachments"),
        READ,
    ),
    _rule("", ("configmaps",), READ),
    _rule(
        "autoscaling.x-k8s.io",
        ("provisioningrequests", "provisioningrequests/status"),
        ("get", "list", "patch", "update", "watch"),
    ),
    _rule("autoscaling.x-k8s.io", ("capacitybuffers", "capacityquotas"), READ),
    _rule(
        "autoscaling.x-k8s.io",
        ("capacitybuffers/status", "capacityquotas/status"),
        ("patch", "update"),
    ),
]
# Upstream's Role (chart 9.59.0, without the priority expander) plus its Lease rules: the
# status ConfigMap and the leader-election Lease both live in --namespace (kube-system).
# `create` cannot be narrowed to a name; the others are.
NAMESPACE_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    _rule("", ("configmaps",), ("create",)),
    _rule("", ("configmaps",), ("delete", "get", "update"), names=(STATUS_CONFIG_MAP,)),
    _rule("coordination.k8s.io", ("leases",), ("create",)),
    _rule("coordination.k8s.io", ("leases",), ("get", "update"), names=(LEASE,)),
]


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler of one EKS cluster, with its IAM role and RBAC."""

    def __init__(
        self,
        name: str,
        args: ClusterAutoscalerArgs,
        *,
        cluster: Cluster,
        aws_context: AwsContext,
        issuer: OidcIssuer,
        cluster_name: pulumi.Input[str],
        autoscaling_group_arns: pulumi.Input[Sequence[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        image = image_for(cluster.kubernetes_version)  # fails before anything is registered
        super().__init__("plinth:aws:ClusterAutoscaler", name, None, opts)
        self.role = WorkloadRole(
            name,
            aws_context=aws_context,
            issuer=issuer,
            namespace=NAMESPACE,
            service_account=NAME,
            statements=pulumi.Output.from_input(autoscaling_group_arns).apply(iam_statements),
            opts=aws_context.options(self),
        )
        child = cluster.resource_options(self)
        identity = self._identity(name, cluster, child)
        flags = pulumi.Output.from_input(cluster_name).apply(lambda n: autoscaler_flags(args, n))
        self.deployment = k8s.apps.v1.Deployment(
            name,
            metadata=cluster.metadata(NAME, NAMESPACE, **SELECTOR),
            spec={
                "replicas": args.replicas,
                "selector": {"match_labels": SELECTOR},
                "template": {
                    "metadata": {"labels": dict(sorted({**cluster.labels, **SELECTOR}.items()))},
                    "spec": pod_spec(args, image, flags, aws_context.region),
                },
            },
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.role, *identity])
            ),
        )
        if args.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                name,
                metadata=cluster.metadata(NAME, NAMESPACE, **SELECTOR),
                spec={"max_unavailable": 1, "selector": {"match_labels": SELECTOR}},
                opts=child,
            )
        self.register_outputs({"role_arn": self.role.arn})

    def _identity(
        self, name: str, cluster: Cluster, opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """The ServiceAccount, annotated with the IAM role, and its RBAC grants."""
        # A ClusterRole (role_namespace None) and a Role in kube-system, each with its binding.
        grants = ((None, CLUSTER_RULES), (NAMESPACE, NAMESPACE_RULES))
        return [
            k8s.core.v1.ServiceAccount(
                name,
                metadata={
                    **cluster.metadata(NAME, NAMESPACE, **SELECTOR),
                    "annotations": self.role.annotations,
                },
                opts=opts,
            ),
            *(
                resource
                for role_namespace, rules in grants
                for resource in grant(
                    name,
                    cluster=cluster,
                    role_name=NAME,
                    rules=rules,
                    role_namespace=role_namespace,
                    account=NAME,
                    account_namespace=NAMESPACE,
                    opts=opts,
                    labels=SELECTOR,
                )
            ),
        ]


def image_for(kubernetes_version: str) -> str:
    """The autoscaler image for a cluster of Kubernetes `kubernetes_version` ("1.34")."""
    tag = versions.CLUSTER_AUTOSCALER_TAGS.get(kubernetes_version)
    if tag is None:
        supported = ", ".join(versions.CLUSTER_AUTOSCALER_TAGS)
        raise ValueError(
            f"Cluster Autoscaler has no image for Kubernetes {kubernetes_version!r}: its minor "
            f"must match the cluster's, and Plinth pins {supported}. Use one of these "
            "Kubernetes versions, or pin the matching cluster-autoscaler release in "
            "components/versions.py CLUSTER_AUTOSCALER_TAGS."
        )
    return f"{versions.CLUSTER_AUTOSCALER_IMAGE}:{tag}"


def iam_statements(autoscaling_group_arns: Sequence[str]) -> list[dict[str, Any]]:
    """The role's permissions: upstream's read actions on "*", and scaling only on the
    given Auto Scaling groups."""
    arns = sorted(set(autoscaling_group_arns))
    if not arns:
        raise ValueError(
            "ClusterAutoscaler got no autoscaling_group_arns: pass the ARNs of the node "
            "groups' Auto Scaling groups it may resize"
        )
    return [
        {
            "Sid": "DiscoverNodeGroups",
            "Effect": "Allow",
            "Action": list(READ_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ResizeNodeGroups",
            "Effect": "Allow",
            "Action": list(SCALE_ACTIONS),
            "Resource": arns,
        },
    ]


def go_duration(value: timedelta) -> str:
    """`value` as a Go duration flag value ("1h30m", "10m", "45s", "0s")."""
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or "0s"


def auto_discovery_tags(cluster_name: str) -> tuple[str, str]:
    """The tag keys an Auto Scaling group must carry to be discovered (any values): the
    two EKS puts on every managed node group's Auto Scaling group."""
    return ENABLED_TAG, f"{TAG_PREFIX}{cluster_name}"


def autoscaler_flags(args: ClusterAutoscalerArgs, cluster_name: str) -> list[str]:
    """The autoscaler's command-line flags."""
    if not cluster_name:
        raise ValueError("ClusterAutoscaler got an empty cluster_name")

    def flag(key: str, value: object) -> str:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        return f"--{key}={shown}"

    return [
        flag("cloud-provider", "aws"),
        flag("namespace", NAMESPACE),
        flag("node-group-auto-discovery", "asg:tag=" + ",".join(auto_discovery_tags(cluster_name))),
        flag("expander", args.expander),
        flag("balance-similar-node-groups", args.balance_similar_node_groups),
        flag("scale-down-unneeded-time", go_duration(args.scale_down_unneeded_time)),
        flag("scale-down-delay-after-add", go_duration(args.scale_down_delay_after_add)),
        flag("skip-nodes-with-local-storage", args.skip_nodes_with_local_storage),
        flag("skip-nodes-with-system-pods", args.skip_nodes_with_system_pods),
        # Upstream's default, stated: even one replica elects itself, so the old and the
        # new pod of a rolling update never both resize node groups.
        flag("leader-elect", True),
        # Each node group's min, max and target size: what the monitoring component's
        # NodePoolAtMax alert compares (cluster-autoscaler/FAQ.md, metrics.md).
        flag("emit-per-nodegroup-metrics", True),
    ]


def pod_spec(
    args: ClusterAutoscalerArgs,
    image: str,
    flags: pulumi.Input[Sequence[str]],
    region: str,
) -> k8s.core.v1.PodSpecArgsDict:
    """The autoscaler's pod: restricted, on system nodes (it tolerates no GPU taint)."""
    resources = args.resources.to_kubernetes()
    container: k8s.core.v1.ContainerArgsDict = {
        "name": NAME,
        "image": image,
        "command": ["/cluster-autoscaler"],
        "args": flags,
        "env": [{"name": "AWS_REGION", "value": region}],
        "ports": [{"container_port": METRICS_PORT, "name": "metrics", "protocol": "TCP"}],
        "liveness_probe": {"http_get": {"path": "/health-check", "port": METRICS_PORT}},
        # Ready once it serves: a rolling update waits for the new pod before the old goes.
        "readiness_probe": {"http_get": {"path": "/health-check", "port": METRICS_PORT}},
        "resources": {"limits": resources["limits"], "requests": resources["requests"]},
        "security_context": RESTRICTED_CONTAINER_ARGS,
    }
    spec: k8s.core.v1.PodSpecArgsDict = {
        "containers": [container],
        "priority_class_name": "system-cluster-critical",
        # fsGroup lets the non-root user read the web identity token EKS projects.
        "security_context": {
            "fs_group": NOBODY,
            "run_as_group": NOBODY,
            "run_as_non_root": True,
            "run_as_user": NOBODY,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "service_account_name": NAME,
    }
    if args.replicas > 1:
        spec["affinity"] = {
            "pod_anti_affinity": {
                "preferred_during_scheduling_ignored_during_execution": [
                    {
                        "weight": 100,
                        "pod_affinity_term": {
                            "label_selector": {"match_labels": SELECTOR},
                            "topology_key": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        }
    return spec


def scrape_target() -> ScrapeTarget:
    """Where the autoscaler serves its metrics (its `metrics` port), for monitoring."""
    return ScrapeTarget(name=NAME, namespace=NAMESPACE, pod_labels=SELECTOR, port="metrics")
