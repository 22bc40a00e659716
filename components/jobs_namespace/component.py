"""The namespace where data scientists run Spark and training jobs, fenced for sharing.

Creates the namespace with Pod Security Admission labels, a ResourceQuota (CPU, memory,
GPUs, pods), a LimitRange that gives containers without resources sensible defaults, a
default-deny NetworkPolicy that still lets job pods talk to each other and to DNS, and the
shared volumes (PersistentVolumeClaims) jobs mount to share datasets and checkpoints.
Operators add their own service accounts and RBAC inside it; this component owns only
the namespace, its fences and its volumes.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import GPU_RESOURCE, Cluster
from components.jobs_namespace.args import JobsNamespaceArgs, JobsQuota, SharedVolume
from components.monitoring import MonitoringStack
from components.pod_security import namespace_labels
from components.stateful import data_options

# Job pods that carry this label and name a container port `metrics` are scraped.
JOB_METRICS_LABEL = {"plinth.io/metrics": "true"}
JOB_METRICS_PORT = "metrics"


class JobsNamespace(pulumi.ComponentResource):
    """The shared jobs namespace, its quota, default limits and default-deny network policy."""

    namespace_name: str

    def __init__(
        self,
        name: str,
        args: JobsNamespaceArgs,
        *,
        cluster: Cluster,
        monitoring: MonitoringStack | None = None,
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
        self._quota_and_defaults(name, args.quota, cluster, in_namespace)
        self._default_deny(name, cluster, in_namespace)
        if monitoring is not None:
            self._job_metrics(name, cluster, monitoring, in_namespace)
        self.volumes = {
            key: self._volume(name, key, volume, cluster, in_namespace)
            for key, volume in sorted(args.volumes.items())
        }
        self.register_outputs({"namespace": ns})

    def _quota_and_defaults(
        self, name: str, quota: JobsQuota, cluster: Cluster, in_namespace: pulumi.ResourceOptions
    ) -> None:
        ns = self.namespace_name
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

    def _default_deny(
        self, name: str, cluster: Cluster, in_namespace: pulumi.ResourceOptions
    ) -> None:
        ns = self.namespace_name
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

    def _job_metrics(
        self,
        name: str,
        cluster: Cluster,
        monitoring: MonitoringStack,
        in_namespace: pulumi.ResourceOptions,
    ) -> None:
        """Prometheus scrapes the job pods that ask for it: label `plinth.io/metrics: "true"`
        and a container port named `metrics`. The default-deny policy lets it in to that
        port only, from the monitoring namespace."""
        ns = self.namespace_name
        k8s.apiextensions.CustomResource(
            f"{name}-job-metrics",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata=cluster.metadata("job-metrics", ns),
            spec={
                "namespaceSelector": {"matchNames": [ns]},
                "selector": {"matchLabels": JOB_METRICS_LABEL},
                "podMetricsEndpoints": [{"port": JOB_METRICS_PORT}],
            },
            opts=pulumi.ResourceOptions.merge(
                in_namespace, pulumi.ResourceOptions(depends_on=monitoring.crds)
            ),
        )
        monitoring_namespace = monitoring.prometheus.namespace
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-metrics-scrape",
            metadata=cluster.metadata("allow-metrics-scrape", ns),
            spec={
                "pod_selector": {"match_labels": JOB_METRICS_LABEL},
                "policy_types": ["Ingress"],
                "ingress": [
                    {
                        "from_": [
                            {
                                "namespace_selector": {
                                    "match_labels": {
                                        "kubernetes.io/metadata.name": monitoring_namespace
                                    }
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": JOB_METRICS_PORT}],
                    }
                ],
            },
            opts=in_namespace,
        )

    def _volume(
        self,
        name: str,
        key: str,
        volume: SharedVolume,
        cluster: Cluster,
        in_namespace: pulumi.ResourceOptions,
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """One shared volume. The claim holds the data: dynamically provisioned volumes are
        deleted with their claim (reclaim policy Delete), so in prod the claim is protected
        and also retained on delete: even once someone unprotects it and removes it from the
        configuration, Pulumi forgets the claim but leaves it and its data in the cluster
        for an administrator to back up and delete by hand."""
        stateful = data_options(cluster.protect_stateful)
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-volume-{key}",
            metadata=cluster.metadata(key, self.namespace_name),
            spec={
                "access_modes": [volume.access_mode],
                # Always explicit: left out, the admission plugin would pick whatever is the
                # cluster's default at creation, and the plan would not show it.
                "storage_class_name": volume.storage_class or cluster.default_storage_class,
                "resources": {"requests": {"storage": f"{volume.size_gib}Gi"}},
            },
            opts=pulumi.ResourceOptions.merge(in_namespace, stateful),
        )
