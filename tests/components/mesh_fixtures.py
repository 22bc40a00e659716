"""Building the mesh and cert-manager alone under Pulumi's mocks, with or without a
stand-in for the monitoring component (which offers what `MonitoringStack` promises)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cert_manager.args import CertManagerArgs
from components.cert_manager.component import CertManager
from components.cluster import Cluster
from components.contract import Deployed
from components.exposed import ExposedService
from components.mesh.args import MeshArgs
from components.mesh.component import Mesh
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring
from plinth.engine import record

Entries = list[dict[str, Any]]
LABELS = {"app.kubernetes.io/part-of": "plinth"}
GRAFANA = ExposedService("monitoring", "grafana", 80)
PROMETHEUS = ExposedService("monitoring", "prometheus-operated", 9090)


def bare_cluster(
    *, protect: bool = False, labels: dict[str, str] | None = None, **clouds: Any
) -> Cluster:
    """A test cluster without GPUs (`clouds`: its `aws` or `azure`, for a cloud target)."""
    return Cluster(
        name="test",
        provider=k8s.Provider("k8s"),
        kubernetes_version="1.33",
        default_storage_class="standard",
        gpu=None,
        protect_stateful=protect,
        labels=LABELS if labels is None else labels,
        **clouds,
    )


class StandInMonitoring(pulumi.ComponentResource):
    """What the monitoring component offers other components: its CRDs and Services."""

    def __init__(self) -> None:
        super().__init__("test:monitoring:StandIn", "monitoring")
        crd = k8s.core.v1.ConfigMap(
            "prometheus-operator-crds",
            metadata={"name": "stands-for-the-crds", "namespace": "monitoring"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.crds: list[pulumi.Resource] = [crd]
        self.grafana = GRAFANA
        self.prometheus = PROMETHEUS


def build(
    mesh: MeshArgs | None = None,
    cert_manager: CertManagerArgs | None = None,
    *,
    monitored: bool = False,
) -> Entries:
    """cert-manager and the mesh on a bare cluster; with `monitored`, monitoring deployed."""

    def program() -> None:
        cluster = bare_cluster()
        resources: dict[str, pulumi.ComponentResource] = {}
        if monitored:
            resources[MONITORING.key] = StandInMonitoring()
        monitoring = deployed_monitoring(Deployed(resources))
        assert (monitoring is not None) == monitored
        issuer = CertManager(
            "cert-manager",
            cert_manager or CertManagerArgs(),
            cluster=cluster,
            monitoring=monitoring,
        )
        Mesh(
            "mesh", mesh or MeshArgs(), cluster=cluster, cert_manager=issuer, monitoring=monitoring
        )

    return record(program, stack="test", config={})


def objects(entries: Entries, kind: str) -> list[dict[str, Any]]:
    """The inputs of every Kubernetes object of `kind`."""
    return [e["inputs"] for e in entries if e["inputs"].get("kind") == kind and e["custom"]]


def entry_of(entries: Entries, kind: str, name: str) -> dict[str, Any]:
    """The one plan entry of the object `kind`/`name`."""
    (found,) = [
        e
        for e in entries
        if e["custom"]
        and e["inputs"].get("kind") == kind
        and (e["inputs"].get("metadata") or {}).get("name") == name
    ]
    return found
