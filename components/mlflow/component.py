"""MLflow: the tracking server and model registry, from the community-charts `mlflow` chart.

Stages, in order:

1. the namespace (Pod Security `restricted`), then the database (`deploy_database`:
   RDS on EKS, a CloudNativePG Cluster elsewhere) and the artifact store's identity
   (components/mlflow/artifacts.py);
2. the Secrets Plinth keeps from secret config (the basic-auth administrator, the Flask
   key), then the chart: PostgreSQL backend and auth store through the database's Secret,
   `--serve-artifacts` to the artifact store, basic-auth, restricted pods;
3. the route through the Istio gateway (`https://<host>`) and the AuthorizationPolicy
   that admits the gateway and the jobs namespace;
4. NetworkPolicies: MLflow's pods take traffic from the gateway, the jobs namespace and
   Prometheus only, and reach DNS, the database and the artifact store only;
5. with the jobs namespace: the ConfigMap `mlflow` (MLFLOW_TRACKING_URI) and the egress
   policy that lets jobs reach MLflow; with monitoring: a ServiceMonitor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.chart_component import ChartComponent, ChartRelease
from components.cluster import Cluster
from components.contract import Deployed
from components.exposed import ExposedService
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace.component import JobsNamespace
from components.mesh import COMPONENT as MESH
from components.mesh.component import NETWORKING, PLATFORM_GATEWAY, SECURITY, Mesh
from components.mlflow import artifacts
from components.mlflow.args import MlflowArgs
from components.mlflow.database import deploy_database
from components.mlflow.jobs import TRACKING_CONFIGMAP, tracking_uri
from components.mlflow.values import (
    CONTAINER_PORT,
    FLASK_SECRET,
    FLASK_SECRET_KEY,
    FULLNAME,
    SERVER_LABELS,
    SERVICE_PORT,
    ArtifactStore,
    chart_values,
)
from components.monitoring import MonitoringStack, deployed_monitoring
from components.secrets import keep_secret


def namespace_selector(
    namespace: str, pods: dict[str, str] | None = None
) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    """A NetworkPolicy peer: the pods of `namespace` (those labelled `pods`, or all)."""
    peer: k8s.networking.v1.NetworkPolicyPeerArgsDict = {
        "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": namespace}}
    }
    if pods is not None:
        peer["pod_selector"] = {"match_labels": pods}
    return peer


def tcp(port: int) -> k8s.networking.v1.NetworkPolicyPortArgsDict:
    """A NetworkPolicy port."""
    return {"protocol": "TCP", "port": port}


# The chart's ini-file initializer runs one `sed` over a small file.
INI_FILE_INITIALIZER = "ini-file-initializer"
INI_FILE_INITIALIZER_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "16Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}


def harden_server_pod(
    args: pulumi.ResourceTransformArgs,
) -> pulumi.ResourceTransformResult | None:
    """The chart's Deployment with what its values cannot set: resources on the ini-file
    initializer (basic-auth's config), and no service account token in the pod (nothing
    in it calls the Kubernetes API; IRSA and workload identity project their own tokens)."""
    props = args.props
    if not isinstance(props, Mapping) or props.get("kind") != "Deployment":
        return None
    pod = (props.get("spec") or {}).get("template", {}).get("spec") or {}
    sized = [
        {**c, "resources": INI_FILE_INITIALIZER_RESOURCES}
        if c.get("name") == INI_FILE_INITIALIZER and not c.get("resources")
        else c
        for c in pod.get("initContainers") or []
    ]
    hardened = {**pod, "automountServiceAccountToken": False}
    if sized:
        hardened["initContainers"] = sized
    template = {**props["spec"]["template"], "spec": hardened}
    return pulumi.ResourceTransformResult(
        props={**props, "spec": {**props["spec"], "template": template}}, opts=args.opts
    )


DNS_EGRESS: k8s.networking.v1.NetworkPolicyEgressRuleArgsDict = {
    "to": [{"namespace_selector": {}}],
    "ports": [{"protocol": "UDP", "port": 53}, tcp(53)],
}


class Mlflow(ChartComponent):
    """The MLflow server, its database, its artifact identity, route and fences."""

    def __init__(
        self,
        name: str,
        args: MlflowArgs,
        *,
        cluster: Cluster,
        deployed: Deployed,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "plinth:ml:Mlflow",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            opts=opts,
        )
        mesh = deployed.require(MESH)
        if not isinstance(mesh, Mesh):  # pragma: no cover (the registry's own entry)
            raise TypeError(f"{MESH.key} deployed something other than a Mesh")
        monitoring = deployed_monitoring(deployed)
        jobs = deployed.get(JOBS_NAMESPACE)
        self.args = args
        self.host = args.routed_host(mesh.args.gateway.hosts)
        self.service = ExposedService(args.namespace, FULLNAME, SERVICE_PORT)
        self.database = deploy_database(
            args.database,
            cluster,
            deployed,
            args.namespace,
            self,
            depends_on=[self.namespace],
            name=name,
        )
        store = self._artifact_store(name, deployed)
        values = chart_values(
            args,
            cluster,
            host=self.host,
            database=self.database,
            artifacts=store,
            metrics=monitoring is not None,
        )
        [self.chart] = self.install_charts(
            [
                ChartRelease(
                    name, "mlflow", versions.MLFLOW_CHART, versions.MLFLOW_CHART_REPO, values
                )
            ],
            depends_on=[*self._secrets(name), *self.database.resources],
            transforms=[harden_server_pod],
        )
        self._route(name, mesh, jobs)
        clients = [mesh.args.gateway_namespace]
        if isinstance(jobs, JobsNamespace):
            clients.append(jobs.namespace_name)
        if monitoring is not None:
            clients.append(monitoring.prometheus.namespace)
        self._server_network_policy(name, clients, {self.database.port, store.port})
        if isinstance(jobs, JobsNamespace):
            self._jobs_wiring(name, jobs)
        if monitoring is not None:
            self._service_monitor(name, monitoring)
        self.register_outputs(
            {"namespace": args.namespace, "url": f"https://{self.host}", "service": FULLNAME}
        )

    def _artifact_store(self, name: str, deployed: Deployed) -> ArtifactStore:
        cluster, args = self.cluster, self.args
        if cluster.aws is not None:
            store, _ = artifacts.s3_bucket_store(name, args, cluster, deployed, self)
            return store
        if cluster.azure is not None:
            return artifacts.blob_container_store(name, args, cluster, deployed, self)
        return artifacts.s3_endpoint_store(args)

    def _in_namespace(
        self, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            self.cluster.resource_options(self),
            pulumi.ResourceOptions(depends_on=[self.namespace, *(depends_on or [])]),
        )

    def _secrets(self, name: str) -> list[pulumi.Resource]:
        """The administrator and the Flask key, when secret config gives them."""
        args, cluster = self.args, self.cluster
        created: list[pulumi.Resource] = []
        if args.admin_password is not None:
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-admin",
                    metadata=cluster.metadata(args.admin_secret, args.namespace),
                    string_data={
                        "username": args.admin_username,
                        "password": keep_secret(args.admin_password, args),
                    },
                    opts=self._in_namespace(),
                )
            )
        if args.flask_secret_key is not None:
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-flask-secret-key",
                    metadata=cluster.metadata(FLASK_SECRET, args.namespace),
                    string_data={FLASK_SECRET_KEY: keep_secret(args.flask_secret_key, args)},
                    opts=self._in_namespace(),
                )
            )
        return created

    def _custom_resource(
        self,
        resource_name: str,
        kind: tuple[str, str],
        namespace: str,
        spec: dict[str, Any],
        needs: list[pulumi.Resource],
    ) -> None:
        api_version, kind_name = kind
        k8s.apiextensions.CustomResource(
            resource_name,
            api_version=api_version,
            kind=kind_name,
            metadata=self.cluster.metadata(FULLNAME, namespace),
            spec=spec,
            opts=self._in_namespace(needs),
        )

    def _route(self, name: str, mesh: Mesh, jobs: pulumi.ComponentResource | None) -> None:
        """`https://<host>` through the gateway, and who the mesh lets in when MLflow's
        namespace is injected: the gateway and the jobs namespace."""
        gateway_namespace = mesh.args.gateway_namespace
        self._custom_resource(
            f"{name}-route",
            (NETWORKING, "VirtualService"),
            gateway_namespace,
            {
                "hosts": [self.host],
                "gateways": [f"{gateway_namespace}/{PLATFORM_GATEWAY}"],
                "http": [
                    {
                        "match": [{"uri": {"prefix": "/"}}],
                        "route": [
                            {
                                "destination": {
                                    "host": self.service.host,
                                    "port": {"number": SERVICE_PORT},
                                }
                            }
                        ],
                    }
                ],
            },
            mesh.ready,
        )
        sources: list[dict[str, Any]] = [{"source": {"principals": [mesh.gateway_principal]}}]
        if isinstance(jobs, JobsNamespace):
            sources.append({"source": {"namespaces": [jobs.namespace_name]}})
        self._custom_resource(
            f"{name}-allow-gateway-and-jobs",
            (SECURITY, "AuthorizationPolicy"),
            self.args.namespace,
            {
                "selector": {"matchLabels": SERVER_LABELS},
                "action": "ALLOW",
                "rules": [{"from": sources}],
            },
            mesh.ready,
        )

    def _server_network_policy(self, name: str, clients: list[str], egress_ports: set[int]) -> None:
        """MLflow's pods: in from the `clients` namespaces (the gateway, jobs, Prometheus)
        to the server's port; out to DNS and to `egress_ports` (the database's and the
        artifact store's: ports only, since RDS, S3 and Blob are outside the cluster, their
        addresses unknown to a NetworkPolicy)."""
        k8s.networking.v1.NetworkPolicy(
            f"{name}-server",
            metadata=self.cluster.metadata(FULLNAME, self.args.namespace),
            spec={
                "pod_selector": {"match_labels": SERVER_LABELS},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from_": [namespace_selector(ns) for ns in sorted(set(clients))],
                        "ports": [tcp(CONTAINER_PORT)],
                    }
                ],
                "egress": [DNS_EGRESS, {"ports": [tcp(port) for port in sorted(egress_ports)]}],
            },
            opts=self._in_namespace(),
        )

    def _jobs_wiring(self, name: str, jobs: JobsNamespace) -> None:
        """The tracking URI jobs mount, and the egress that lets them reach MLflow (the
        jobs namespace denies all other egress but DNS, in-namespace and HTTPS)."""
        namespace = jobs.namespace_name
        in_jobs = pulumi.ResourceOptions.merge(
            self.cluster.resource_options(self),
            pulumi.ResourceOptions(depends_on=[jobs.namespace]),
        )
        k8s.core.v1.ConfigMap(
            f"{name}-tracking-uri",
            metadata=self.cluster.metadata(TRACKING_CONFIGMAP, namespace),
            data={"MLFLOW_TRACKING_URI": tracking_uri(FULLNAME, self.args.namespace)},
            opts=in_jobs,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-jobs-egress",
            metadata=self.cluster.metadata("allow-mlflow", namespace),
            spec={
                "pod_selector": {},
                "policy_types": ["Egress"],
                "egress": [
                    {
                        "to": [namespace_selector(self.args.namespace, SERVER_LABELS)],
                        "ports": [tcp(CONTAINER_PORT)],
                    }
                ],
            },
            opts=in_jobs,
        )

    def _service_monitor(self, name: str, monitoring: MonitoringStack) -> None:
        """Prometheus scrapes /metrics through the Service, signed in as the metrics user:
        MLflow's basic-auth guards /metrics like every other route but /health."""
        secret = self.args.metrics_secret or self.args.admin_secret
        self._custom_resource(
            f"{name}-monitor",
            ("monitoring.coreos.com/v1", "ServiceMonitor"),
            self.args.namespace,
            {
                "selector": {"matchLabels": SERVER_LABELS},
                "namespaceSelector": {"matchNames": [self.args.namespace]},
                "endpoints": [
                    {
                        "port": "http",
                        "path": "/metrics",
                        "interval": "30s",
                        "basicAuth": {
                            "username": {"name": secret, "key": "username"},
                            "password": {"name": secret, "key": "password"},
                        },
                    }
                ],
            },
            monitoring.crds,
        )
