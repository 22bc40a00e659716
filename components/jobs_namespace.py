"""The namespace where data scientists run Spark and training jobs, fenced for sharing.

Creates the namespace with Pod Security Admission labels, a ResourceQuota (CPU, memory,
GPUs, pods), a LimitRange that gives containers without resources sensible defaults, and
a default-deny NetworkPolicy that still lets job pods talk to each other and to DNS.
Operators add their own service accounts and RBAC inside it; this component owns only
the namespace and its fences.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.args import DNS_LABEL, QUANTITY, ComponentArgs, FrozenModel
from components.cluster import GPU_RESOURCE, Cluster
from components.pod_security import PodSecurityLevel, namespace_labels


class JobsQuota(FrozenModel):
    """Upper bounds on what all jobs in the namespace may request together."""

    cpu: str = Field("32", pattern=QUANTITY, description="Sum of CPU requests and limits.")
    memory: str = Field("128Gi", pattern=QUANTITY, description="Sum of memory requests and limits.")
    gpus: int = Field(0, ge=0, description="Sum of nvidia.com/gpu requests; 0 forbids GPU jobs.")
    pods: int = Field(100, ge=1, description="Number of pods that may exist at once.")


class JobsNamespaceArgs(ComponentArgs):
    """Settings of the shared jobs namespace."""

    name: str = Field("ml-jobs", pattern=DNS_LABEL, description="Namespace name.")
    pod_security: PodSecurityLevel = Field(
        "restricted",
        description="Pod Security Admission level enforced; 'restricted' is the safe default.",
    )
    quota: JobsQuota = Field(
        default_factory=JobsQuota, description="ResourceQuota of the namespace."
    )


class JobsNamespace(pulumi.ComponentResource):
    """The shared jobs namespace, its quota, default limits and default-deny network policy."""

    namespace_name: str

    def __init__(
        self,
        name: str,
        args: JobsNamespaceArgs,
        *,
        cluster: Cluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:workloads:JobsNamespace", name, None, opts)
        child = cluster.resource_options(self)
        ns = args.name
        self.namespace = k8s.core.v1.Namespace(
            name, metadata=cluster.metadata(ns, **namespace_labels(args.pod_security)), opts=child
        )
        self.namespace_name = ns
        in_namespace = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[self.namespace])
        )
        quota = args.quota
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=cluster.metadata("jobs-quota", ns),
            spec={
                "hard": {
                    "requests.cpu": quota.cpu,
                    "limits.cpu": quota.cpu,
                    "requests.memory": quota.memory,
                    "limits.memory": quota.memory,
                    f"requests.{GPU_RESOURCE}": str(quota.gpus),
                    "pods": str(quota.pods),
                }
            },
            opts=in_namespace,
        )
        k8s.core.v1.LimitRange(
            f"{name}-defaults",
            metadata=cluster.metadata("container-defaults", ns),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default_request": {"cpu": "250m", "memory": "512Mi"},
                        "default": {"cpu": "1", "memory": "2Gi"},
                    }
                ]
            },
            opts=in_namespace,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=cluster.metadata("default-deny", ns),
            spec={
                # Deny everything by default, then allow traffic within the namespace
                # (driver <-> executors, workers <-> master), DNS, and HTTPS out: Spark
                # drivers call the API server to start executors, jobs read object stores.
                "pod_selector": {},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [{"from_": [{"pod_selector": {}}]}],
                "egress": [
                    {"to": [{"pod_selector": {}}]},
                    {
                        "to": [{"namespace_selector": {}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    },
                    {
                        "ports": [
                            {"protocol": "TCP", "port": 443},
                            {"protocol": "TCP", "port": 6443},
                        ]
                    },
                ],
            },
            opts=in_namespace,
        )
        self.register_outputs({"namespace": ns})
