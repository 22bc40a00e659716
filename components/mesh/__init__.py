"""The Istio service mesh component (`plinth:mesh`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cert_manager import COMPONENT as CERT_MANAGER
from components.cert_manager import deployed_cert_manager
from components.contract import Component, Deployed, Placement
from components.mesh.args import MeshArgs
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: MeshArgs, cluster: Cluster, deployed: Deployed, where: Placement
) -> pulumi.ComponentResource:
    from components.mesh.component import Mesh  # noqa: PLC0415 (SDK on deploy)

    return Mesh(
        where.name,
        args,
        cluster=cluster,
        cert_manager=deployed_cert_manager(deployed),
        monitoring=deployed_monitoring(deployed),
        opts=where.options(),
    )


def _problem(args: MeshArgs, config: PlatformConfig) -> str | None:
    """An ACME HTTP-01 challenge must reach the gateway from the internet on port 80."""
    cert_manager = config.args(CERT_MANAGER)
    if cert_manager.issuer != "acme" or cert_manager.acme.solver != "http01":
        return None
    gateway = args.gateway
    if gateway.service_type == "ClusterIP" or (gateway.internal and config.facts.cloud):
        return (
            "cert_manager.acme.solver is http01 but mesh.gateway is not reachable from the "
            "internet (internal or ClusterIP): set cert_manager.acme.solver to dns01"
        )
    return None


COMPONENT = Component(
    key="mesh",
    args=MeshArgs,
    name="mesh",
    summary="Istio (sidecar mode): istiod, one ingress gateway with TLS from cert-manager and "
    "a local rate limit, mesh-wide STRICT mTLS and default-deny authorization.",
    deploy=_deploy,
    requires=(CERT_MANAGER,),
    uses=(MONITORING,),
    namespaces=lambda args: {
        "namespace": args.namespace,
        "gateway_namespace": args.gateway_namespace,
    },
    problem=_problem,
)
