"""Istio service mesh: control plane, mesh-wide STRICT mTLS and default-deny authorization,
and the one ingress gateway, with TLS from cert-manager and a local rate limit.

Stages, in order:

1. istiod's namespace (the mesh's root namespace) and the 15 Istio CRDs from the release's
   crd-all.gen.yaml, as their own stage;
2. the `base` chart with every CRD excluded from its templates, then `istiod` with the
   published hub and tag (the in-tree chart defaults to a testing registry), then the
   `gateway` chart in its own namespace: the platform's only LoadBalancer Service;
3. the mesh's policies: PeerAuthentication STRICT and an allow-nothing AuthorizationPolicy
   in the root namespace (mesh-wide), ALLOW policies for what the platform needs;
4. the gateway's TLS: a cert-manager Certificate in the gateway's namespace and an Istio
   Gateway that terminates TLS with it (HTTP redirects to HTTPS);
5. the gateway's local rate limit (an EnvoyFilter: Envoy's local_ratelimit filter);
6. with monitoring: a ServiceMonitor for istiod, a PodMonitor for every proxy's Envoy
   metrics, and a VirtualService that routes Grafana through the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs

from components import versions
from components.cert_manager.component import CertManager
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster
from components.mesh.args import GATEWAY_NAME, MeshArgs
from components.mesh.rate_limit import local_rate_limit_filter
from components.monitoring import MonitoringStack
from components.pod_security import RESTRICTED_CONTAINER, namespace_labels

CRD_FILES = ("crd-all.gen.yaml",)
# The CRDs of crd-all.gen.yaml, excluded from the base chart's templates (its documented
# `base.excludedCRDs`): Plinth applies them from the release file instead.
ISTIO_CRDS = (
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
    "envoyfilters.networking.istio.io",
    "gateways.networking.istio.io",
    "peerauthentications.security.istio.io",
    "proxyconfigs.networking.istio.io",
    "requestauthentications.security.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "telemetries.telemetry.istio.io",
    "trafficextensions.extensions.istio.io",
    "virtualservices.networking.istio.io",
    "wasmplugins.extensions.istio.io",
    "workloadentries.networking.istio.io",
    "workloadgroups.networking.istio.io",
)
# The label the gateway chart gives the gateway's pods (its name without `istio-`).
GATEWAY_SELECTOR = {"istio": GATEWAY_NAME.removeprefix("istio-")}
GATEWAY_TLS_SECRET = "gateway-tls"  # noqa: S105 (the name of the Secret cert-manager writes)
PLATFORM_GATEWAY = "platform-gateway"
TRUST_DOMAIN = "cluster.local"
SECURITY = "security.istio.io/v1"
NETWORKING = "networking.istio.io/v1"
# Where Prometheus reads metrics: Envoy's own (a proxy's 15090, merged with the app's by
# the agent on 15020) and an application's /metrics.
METRICS_PATHS = ("/metrics", "/stats/prometheus")


class Mesh(ChartComponent):
    """Istio: istiod, the ingress gateway, and the mesh-wide security policies."""

    def __init__(
        self,
        name: str,
        args: MeshArgs,
        *,
        cluster: Cluster,
        cert_manager: CertManager,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "plinth:mesh:Mesh",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            crds=CrdRelease(versions.ISTIO_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        self.args = args
        self.gateway_namespace = k8s.core.v1.Namespace(
            f"{name}-gateway-namespace",
            metadata=cluster.metadata(args.gateway_namespace, **namespace_labels("restricted")),
            opts=cluster.resource_options(self),
        )
        base, istiod = self.install_charts(
            [
                ChartRelease(
                    f"{name}-base",
                    "base",
                    versions.ISTIO_CHART,
                    versions.ISTIO_CHART_REPO,
                    base_values(args),
                ),
                ChartRelease(
                    f"{name}-istiod",
                    "istiod",
                    versions.ISTIO_CHART,
                    versions.ISTIO_CHART_REPO,
                    istiod_values(args, cluster),
                ),
            ]
        )
        self.control_plane = [base, istiod]
        # The gateway's pods are injected by istiod's webhook (image "auto"): after istiod.
        self.gateway = Chart(
            f"{name}-gateway",
            chart="gateway",
            version=versions.ISTIO_CHART,
            repository_opts=RepositoryOptsArgs(repo=versions.ISTIO_CHART_REPO),
            namespace=args.gateway_namespace,
            skip_crds=True,
            values=gateway_values(args, cluster, cloud_of(cluster)),
            opts=pulumi.ResourceOptions.merge(
                cluster.chart_options(self, depends_on=[self.gateway_namespace, istiod]),
                pulumi.ResourceOptions(transforms=[pin_gateway_proxy_image]),
            ),
        )
        self.ready: list[pulumi.Resource] = [*self.crds, istiod]
        self._security_policies(name, monitoring)
        self._gateway_tls(name, cert_manager)
        self._resource(
            f"{name}-gateway-rate-limit",
            ("networking.istio.io/v1alpha3", "EnvoyFilter"),
            "gateway-local-rate-limit",
            args.gateway_namespace,
            local_rate_limit_filter(args.rate_limit, GATEWAY_SELECTOR),
        )
        self._inject(name)
        if monitoring is not None:
            self._observed(name, monitoring)
        self.register_outputs(
            {
                "namespace": args.namespace,
                "gateway_namespace": args.gateway_namespace,
                "hosts": list(args.gateway.hosts),
            }
        )

    def _resource(
        self,
        resource_name: str,
        kind: tuple[str, str],
        name: str,
        namespace: str,
        spec: dict[str, Any],
        *,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.apiextensions.CustomResource:
        """An Istio (or cert-manager, Prometheus operator) object of `kind` (API version,
        kind), once its CRD and istiod's validating webhook exist."""
        api_version, kind_name = kind
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=api_version,
            kind=kind_name,
            metadata=self.cluster.metadata(name, namespace),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                self.cluster.resource_options(self),
                pulumi.ResourceOptions(
                    depends_on=[*self.ready, self.gateway_namespace, self.namespace, *depends_on]
                ),
            ),
        )

    def _security_policies(self, name: str, monitoring: MonitoringStack | None) -> None:
        args = self.args
        root = args.namespace
        # Mesh-wide (the root namespace, no selector): proxies accept only mutual TLS.
        self._resource(
            f"{name}-mtls-strict",
            (SECURITY, "PeerAuthentication"),
            "default",
            root,
            {"mtls": {"mode": "STRICT"}},
        )
        # An ALLOW policy with no rules matches nothing: every request to a proxy or the
        # gateway is denied unless another ALLOW policy below matches it.
        self._resource(
            f"{name}-default-deny", (SECURITY, "AuthorizationPolicy"), "default-deny", root, {}
        )
        hosts = [pattern for host in args.gateway.hosts for pattern in (host, f"{host}:*")]
        self._resource(
            f"{name}-allow-gateway-hosts",
            (SECURITY, "AuthorizationPolicy"),
            "allow-gateway-hosts",
            args.gateway_namespace,
            {
                "selector": {"matchLabels": GATEWAY_SELECTOR},
                "action": "ALLOW",
                "rules": [{"to": [{"operation": {"hosts": hosts}}]}],
            },
        )
        if monitoring is None:
            return
        scraper = monitoring.prometheus.namespace
        self._resource(
            f"{name}-allow-metrics-scrape",
            (SECURITY, "AuthorizationPolicy"),
            "allow-metrics-scrape",
            root,
            {
                "action": "ALLOW",
                "rules": [
                    {
                        "from": [{"source": {"namespaces": [scraper]}}],
                        "to": [{"operation": {"methods": ["GET"], "paths": list(METRICS_PATHS)}}],
                    }
                ],
            },
        )
        grafana = monitoring.grafana
        self._resource(
            f"{name}-allow-gateway-to-grafana",
            (SECURITY, "AuthorizationPolicy"),
            "allow-gateway-to-grafana",
            grafana.namespace,
            {
                "action": "ALLOW",
                "rules": [
                    {
                        "from": [{"source": {"principals": [self.gateway_principal]}}],
                        "to": [{"operation": {"hosts": [grafana.host, f"{grafana.host}:*"]}}],
                    }
                ],
            },
        )

    @property
    def gateway_principal(self) -> str:
        """The gateway's mTLS identity (its service account's SPIFFE name)."""
        return f"{TRUST_DOMAIN}/ns/{self.args.gateway_namespace}/sa/{GATEWAY_NAME}"

    def _gateway_tls(self, name: str, cert_manager: CertManager) -> None:
        args = self.args
        certificate = self._resource(
            f"{name}-gateway-certificate",
            ("cert-manager.io/v1", "Certificate"),
            GATEWAY_TLS_SECRET,
            args.gateway_namespace,
            {
                "secretName": GATEWAY_TLS_SECRET,
                "dnsNames": list(args.gateway.hosts),
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": {
                    "name": cert_manager.cluster_issuer,
                    "kind": "ClusterIssuer",
                    "group": "cert-manager.io",
                },
            },
            depends_on=[cert_manager.issuer, *cert_manager.crds],
        )
        hosts = list(args.gateway.hosts)
        self._resource(
            f"{name}-gateway",
            (NETWORKING, "Gateway"),
            PLATFORM_GATEWAY,
            args.gateway_namespace,
            {
                "selector": GATEWAY_SELECTOR,
                "servers": [
                    {
                        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                        "hosts": hosts,
                        "tls": {"mode": "SIMPLE", "credentialName": GATEWAY_TLS_SECRET},
                    },
                    {
                        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                        "hosts": hosts,
                        "tls": {"httpsRedirect": True},
                    },
                ],
            },
            depends_on=[certificate],
        )

    def _inject(self, name: str) -> None:
        """Label each injected namespace (another component's) without owning it: a
        server-side apply patch of the one label."""
        for namespace in sorted(self.args.injected_namespaces):
            k8s.core.v1.NamespacePatch(
                f"{name}-inject-{namespace}",
                metadata={"name": namespace, "labels": {"istio-injection": "enabled"}},
                opts=pulumi.ResourceOptions.merge(
                    self.cluster.resource_options(self),
                    pulumi.ResourceOptions(depends_on=self.ready),
                ),
            )

    def _observed(self, name: str, monitoring: MonitoringStack) -> None:
        args = self.args
        needs = monitoring.crds
        monitoring_api = "monitoring.coreos.com/v1"
        # istiod's own metrics (its Service's http-monitoring port, 15014).
        self._resource(
            f"{name}-istiod-monitor",
            (monitoring_api, "ServiceMonitor"),
            "istiod",
            args.namespace,
            {
                "selector": {"matchLabels": {"istio": "pilot"}},
                "namespaceSelector": {"matchNames": [args.namespace]},
                "endpoints": [{"port": "http-monitoring", "interval": "30s"}],
            },
            depends_on=needs,
        )
        # Every proxy's (sidecars and the gateway) Envoy and merged app metrics: the port
        # and path the injector writes into the pod's prometheus.io annotations.
        self._resource(
            f"{name}-proxy-monitor",
            (monitoring_api, "PodMonitor"),
            "istio-proxies",
            args.namespace,
            {
                "selector": {
                    "matchExpressions": [{"key": "security.istio.io/tlsMode", "operator": "Exists"}]
                },
                "namespaceSelector": {"any": True},
                "jobLabel": "envoy-stats",
                "podMetricsEndpoints": [
                    {
                        "path": "/stats/prometheus",
                        "interval": "30s",
                        "relabelings": [
                            {
                                "action": "keep",
                                "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                                "regex": "istio-proxy",
                            },
                            {
                                "action": "replace",
                                "sourceLabels": [
                                    "__address__",
                                    "__meta_kubernetes_pod_annotation_prometheus_io_port",
                                ],
                                "regex": r"([^:]+)(?::\d+)?;(\d+)",
                                "replacement": "$1:$2",
                                "targetLabel": "__address__",
                            },
                        ],
                    }
                ],
            },
            depends_on=needs,
        )
        grafana = monitoring.grafana
        self._resource(
            f"{name}-grafana-route",
            (NETWORKING, "VirtualService"),
            "grafana",
            args.gateway_namespace,
            {
                "hosts": [args.routed_grafana_host],
                "gateways": [f"{args.gateway_namespace}/{PLATFORM_GATEWAY}"],
                "http": [
                    {
                        "match": [{"uri": {"prefix": "/"}}],
                        "route": [
                            {
                                "destination": {
                                    "host": grafana.host,
                                    "port": {"number": grafana.port},
                                }
                            }
                        ],
                    }
                ],
            },
        )


PROXY_IMAGE = f"{versions.ISTIO_HUB}/proxyv2:{versions.ISTIO_TAG}"


def pin_gateway_proxy_image(
    args: pulumi.ResourceTransformArgs,
) -> pulumi.ResourceTransformResult | None:
    """The gateway chart's `image: auto` made the proxy image istiod would inject.

    The chart leaves the image to istiod's injector, which replaces `auto` with its
    proxyv2 image (docker.io/istio/proxyv2:<tag>, from the hub and tag set above) and keeps
    an image the pod names. Naming that same image here changes nothing on the cluster and
    keeps a versioned image in the plan, where policy and review see it.
    """
    props = args.props
    if not isinstance(props, Mapping) or props.get("kind") != "Deployment":
        return None
    pod = (props.get("spec") or {}).get("template", {}).get("spec") or {}
    containers = pod.get("containers") or []
    if not any(c.get("image") == "auto" for c in containers):
        return None
    pinned = [{**c, "image": PROXY_IMAGE} if c.get("image") == "auto" else c for c in containers]
    template = {**props["spec"]["template"], "spec": {**pod, "containers": pinned}}
    spec = {**props["spec"], "template": template}
    return pulumi.ResourceTransformResult(props={**props, "spec": spec}, opts=args.opts)


def cloud_of(cluster: Cluster) -> str | None:
    """The cloud whose load balancer serves the gateway ('aws', 'azure'), or None."""
    if cluster.aws is not None:
        return "aws"
    if cluster.azure is not None:
        return "azure"
    return None


# The annotations that make a LoadBalancer Service's load balancer internal, per cloud.
# AWS: Plinth's EKS target installs no AWS Load Balancer Controller, so the in-tree
# (cloud-provider) controller serves the Service: `aws-load-balancer-type: nlb` with
# `aws-load-balancer-internal`. `aws-load-balancer-scheme: internal` is the same request in
# the AWS Load Balancer Controller's terms, so the load balancer stays internal if that
# controller is added and takes the Service over. Azure: the cloud provider's annotation.
INTERNAL_LOAD_BALANCER: dict[str, dict[str, str]] = {
    "aws": {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    },
    "azure": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
}
PUBLIC_LOAD_BALANCER: dict[str, dict[str, str]] = {
    "aws": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
}


def service_annotations(args: MeshArgs, cloud: str | None) -> dict[str, str]:
    """The gateway Service's annotations: its load balancer's kind on the cloud, internal
    where `gateway.internal` asks for it."""
    if args.gateway.service_type != "LoadBalancer" or cloud is None:
        return {}
    chosen = INTERNAL_LOAD_BALANCER if args.gateway.internal else PUBLIC_LOAD_BALANCER
    return dict(sorted(chosen.get(cloud, {}).items()))


def base_values(args: MeshArgs) -> dict[str, Any]:
    """Values of the `base` chart: no CRDs (Plinth's own stage), the default revision."""
    rendered: dict[str, Any] = {
        # The istio-reader account serves only multicluster remote secrets (base's
        # values.yaml): one cluster needs none. (istiod's values.yaml does not declare the
        # switch for the ClusterRole it binds, which then binds no account.)
        "global": {"istioNamespace": args.namespace, "enableReaderRBAC": False},
        "base": {"excludedCRDs": list(ISTIO_CRDS)},
        "defaultRevision": "default",
    }
    return release_values(rendered, args.values_override.get("base", {}), args)


def istiod_values(args: MeshArgs, cluster: Cluster) -> dict[str, Any]:
    """Values of the `istiod` chart: the published images, resources, restricted pods."""
    rendered: dict[str, Any] = {
        "global": {
            "hub": versions.ISTIO_HUB,
            "tag": versions.ISTIO_TAG,
            "istioNamespace": args.namespace,
            "proxy": {"resources": args.proxy_resources.to_kubernetes()},
        },
        # The chart's pilot settings are top-level values (istiod's values.yaml).
        "autoscaleMin": args.istiod_replicas,
        "replicaCount": args.istiod_replicas,
        "resources": args.istiod_resources.to_kubernetes(),
        "seccompProfile": {"type": "RuntimeDefault"},
        "podLabels": dict(sorted(cluster.labels.items())),
    }
    return release_values(rendered, args.values_override.get("istiod", {}), args)


def gateway_values(args: MeshArgs, cluster: Cluster, cloud: str | None) -> dict[str, Any]:
    """Values of the `gateway` chart: its name, Service, replicas, restricted pods."""
    gateway = args.gateway
    rendered: dict[str, Any] = {
        "name": GATEWAY_NAME,
        "service": {"type": gateway.service_type, "annotations": service_annotations(args, cloud)},
        "autoscaling": {
            "enabled": True,
            "minReplicas": gateway.min_replicas,
            "maxReplicas": gateway.max_replicas,
        },
        "podDisruptionBudget": {"minAvailable": 1} if gateway.min_replicas > 1 else {},
        "resources": gateway.resources.to_kubernetes(),
        # The chart's default pod context is only the sysctl that lets the proxy bind 80 and
        # 443 unprivileged (safe, allowed by Pod Security restricted): keep it, add the rest.
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
        },
        "containerSecurityContext": RESTRICTED_CONTAINER,
        "labels": dict(sorted(cluster.labels.items())),
    }
    return release_values(rendered, args.values_override.get("gateway", {}), args)
