"""A Service a component offers to people or to other components (Grafana, Prometheus):
what the mesh routes through the gateway and what the README's port-forward names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExposedService:
    """A Kubernetes Service by namespace, name and port."""

    namespace: str
    name: str
    port: int

    @property
    def host(self) -> str:
        """Its cluster-local DNS name, `<name>.<namespace>.svc.cluster.local`."""
        return f"{self.name}.{self.namespace}.svc.cluster.local"
