"""The cert-manager component (`plinth:cert_manager`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.cert_manager.args import CertManagerArgs
from components.contract import Component, Deployed, Placement
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring

if TYPE_CHECKING:
    import pulumi

    from components.cert_manager.component import CertManager
    from components.cluster import Cluster


def _deploy(
    args: CertManagerArgs, cluster: Cluster, deployed: Deployed, where: Placement
) -> pulumi.ComponentResource:
    from components.cert_manager.component import CertManager  # noqa: PLC0415 (SDK on deploy)

    return CertManager(
        where.name,
        args,
        cluster=cluster,
        monitoring=deployed_monitoring(deployed),
        opts=where.options(),
    )


COMPONENT = Component(
    key="cert_manager",
    args=CertManagerArgs,
    name="cert-manager",
    summary="cert-manager and the cluster issuer (self-signed CA, ACME or a private CA) the "
    "platform's certificates use.",
    deploy=_deploy,
    uses=(MONITORING,),
    namespaces=lambda args: {"namespace": args.namespace},
)


def deployed_cert_manager(deployed: Deployed) -> CertManager:
    """The deployed cert-manager, for the components that require it."""
    from components.cert_manager.component import CertManager  # noqa: PLC0415

    cert_manager = deployed.require(COMPONENT)
    if not isinstance(cert_manager, CertManager):  # pragma: no cover (the registry's own entry)
        raise TypeError(f"{COMPONENT.key} deployed something other than a CertManager")
    return cert_manager
