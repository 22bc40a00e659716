"""Settings of the Istio service mesh (`plinth:mesh`): pydantic only, no cloud SDK."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from components.args import (
    DNS_LABEL,
    SECRET_CAPABLE,
    ComponentArgs,
    ContainerResources,
    FrozenModel,
    OwnNamespace,
)

MeshMode = Literal["sidecar", "ambient"]
ServiceType = Literal["LoadBalancer", "NodePort", "ClusterIP"]
ChartName = Literal["base", "istiod", "gateway"]
# A DNS name the gateway serves, or a wildcard one level deep (*.ml.example.com).
HOSTNAME = r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
PATH_PREFIX = r"^/[A-Za-z0-9._~/-]*$"
# The Istio ingress gateway as Istio's Helm instructions install it (and as the
# service-external-exposure policy allows it by default): Deployment, ServiceAccount and
# Service are named after it, and its pods carry `istio: ingressgateway`, the label Istio's
# own Kubernetes Ingress controller selects (meshConfig.ingressSelector's default).
GATEWAY_NAME = "istio-ingressgateway"


class RateLimitRule(FrozenModel):
    """A token bucket for the requests to one host under one path prefix."""

    host: str = Field(pattern=HOSTNAME, description="One of gateway.hosts.")
    path_prefix: str = Field(
        "/", pattern=PATH_PREFIX, description="Requests whose path starts with this."
    )
    requests_per_minute: int = Field(
        ge=1, description="Requests each gateway replica lets through per minute."
    )


class RateLimitArgs(FrozenModel):
    """Istio's local rate limit at the gateway: Envoy's local_ratelimit filter, one token
    bucket per gateway replica (not shared between replicas)."""

    requests_per_minute: int = Field(
        600,
        ge=1,
        description="Requests per minute each gateway replica lets through in all (every "
        "request takes a token from this bucket); above it the gateway answers 429.",
    )
    rules: dict[str, RateLimitRule] = Field(
        default_factory=dict,
        description="Rule name -> a bucket per host and path prefix: a request that matches "
        "a rule takes a token from the rule's bucket as well as from the gateway-wide one.",
    )

    @model_validator(mode="after")
    def _rules_name_one_host(self) -> RateLimitArgs:
        for name, rule in sorted(self.rules.items()):
            if rule.host.startswith("*"):
                raise ValueError(
                    f"rate_limit.rules.{name}.host is {rule.host}: a rule matches the "
                    "request's exact host, so name one host, not a wildcard"
                )
        return self


class GatewayArgs(FrozenModel):
    """The one ingress gateway: the only way into the platform from outside the cluster."""

    hosts: tuple[str, ...] = Field(
        ("plinth.localhost",),
        min_length=1,
        description="DNS names the gateway serves over TLS; its certificate names them all.",
    )
    service_type: ServiceType = Field(
        "LoadBalancer",
        description="The gateway Service's type: 'LoadBalancer' (a cloud or MetalLB load "
        "balancer), 'NodePort' (a port on every node, for clusters without one), or "
        "'ClusterIP' (reached with kubectl port-forward only).",
    )
    internal: bool = Field(
        False,
        description="On EKS and AKS, an internal load balancer reachable only from the "
        "cluster's network (the prod tier's default). No effect on an existing cluster, "
        "whose load balancer (MetalLB, ...) decides.",
    )
    min_replicas: int = Field(1, ge=1, le=10, description="Fewest gateway replicas.")
    max_replicas: int = Field(3, ge=1, le=20, description="Most gateway replicas (CPU-scaled).")
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="100m", memory_request="128Mi", cpu_limit="2", memory_limit="1Gi"
        ),
        description="Gateway proxy resources.",
    )

    @model_validator(mode="after")
    def _replicas_in_order(self) -> GatewayArgs:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"gateway.min_replicas ({self.min_replicas}) is above gateway.max_replicas "
                f"({self.max_replicas}): raise max_replicas or lower min_replicas"
            )
        return self


class MeshArgs(ComponentArgs):
    """Settings of Istio: control plane, mTLS, authorization, the ingress gateway."""

    mode: MeshMode = Field(
        "sidecar",
        description="'sidecar': an Envoy proxy beside each pod of an injected namespace. "
        "'ambient' is refused: it needs the Istio CNI agent and ztunnel, whose charts "
        "Plinth does not pin.",
    )
    namespace: OwnNamespace = Field(
        "istio-system",
        pattern=DNS_LABEL,
        description="Namespace of istiod; the mesh's root namespace (mesh-wide policies).",
    )
    gateway_namespace: OwnNamespace = Field(
        "istio-ingress", pattern=DNS_LABEL, description="Namespace of the ingress gateway."
    )
    istiod_replicas: int = Field(
        1, ge=1, le=5, description="Fewest istiod replicas (more are added on CPU load)."
    )
    istiod_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="500m", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi"
        ),
        description="istiod resources (Istio's default requests: 500m CPU, 2Gi memory).",
    )
    proxy_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="100m", memory_request="128Mi", cpu_limit="2", memory_limit="1Gi"
        ),
        description="Resources of each injected sidecar proxy.",
    )
    gateway: GatewayArgs = Field(default_factory=GatewayArgs, description="The ingress gateway.")
    rate_limit: RateLimitArgs = Field(
        default_factory=RateLimitArgs, description="Local rate limit at the gateway."
    )
    injected_namespaces: tuple[str, ...] = Field(
        (),
        description="Namespaces labelled istio-injection=enabled, whose pods get a sidecar "
        "(STRICT mTLS and authorization then apply to them). Without the Istio CNI agent "
        "the sidecar's istio-init container needs NET_ADMIN and NET_RAW as root, which "
        "Pod Security baseline and restricted refuse: list only namespaces that allow it.",
    )
    grafana_host: str | None = Field(
        None,
        pattern=HOSTNAME,
        description="The gateway host Grafana is served on, when monitoring is deployed: one "
        "of gateway.hosts (default: the first).",
    )
    values_override: dict[ChartName, dict[str, Any]] = Field(
        default_factory=dict,
        description="Chart name (base, istiod, gateway) -> values deep-merged over the values "
        "Plinth renders for that chart (maps merge, lists replace). Keys must exist in the "
        "pinned chart's values. Its strings stay secret when the key is set with --secret.",
        json_schema_extra=SECRET_CAPABLE,
    )

    @model_validator(mode="after")
    def _consistent(self) -> MeshArgs:
        if self.mode == "ambient":
            raise ValueError(
                "mode is ambient, which needs the Istio CNI node agent and ztunnel; Plinth pins "
                "neither chart: set mode to sidecar"
            )
        if self.namespace == self.gateway_namespace:
            raise ValueError(
                f"gateway_namespace is {self.gateway_namespace}, istiod's namespace: give the "
                "gateway its own namespace (istio-ingress), as Istio recommends"
            )
        hosts = set(self.gateway.hosts)
        for name, rule in sorted(self.rate_limit.rules.items()):
            if rule.host not in hosts:
                raise ValueError(
                    f"rate_limit.rules.{name}.host is {rule.host}, not one of gateway.hosts "
                    f"({', '.join(self.gateway.hosts)}): use one of them or add it there"
                )
        if self.grafana_host is not None and self.grafana_host not in hosts:
            raise ValueError(
                f"grafana_host is {self.grafana_host}, not one of gateway.hosts: use one of "
                "them or add it there"
            )
        own = {self.namespace, self.gateway_namespace} & set(self.injected_namespaces)
        if own:
            raise ValueError(
                f"injected_namespaces lists {sorted(own)[0]}, a namespace of the mesh itself "
                "(istiod is never injected, the gateway is a proxy already): remove it"
            )
        return self

    @property
    def routed_grafana_host(self) -> str:
        """The host Grafana is served on."""
        return self.grafana_host or self.gateway.hosts[0]
