"""Every platform component, one line each, in the order an environment deploys them (a
component comes after those it requires or uses: a test checks it). Adding a component is
its folder under `components/`, whose `__init__.py` defines `COMPONENT`, plus one line here.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from components.contract import Component

REGISTERED = (
    # First: the components that expose metrics use it (their ServiceMonitors need its CRDs).
    "monitoring",
    "jobs_namespace",
    "spark_operator",
    "training_operator",
    "gpu_enablement",
    "object_storage",
    "blob_storage",
    "cert_manager",
    "mesh",
    "postgres_operator",
    # After the mesh (its gateway serves MLflow) and the storage components it uses.
    "mlflow",
)


def _component(folder: str) -> Component[Any]:
    component = import_module(f"components.{folder}").COMPONENT
    if not isinstance(component, Component):  # pragma: no cover (a programming error)
        raise TypeError(f"components/{folder}: COMPONENT is not a Component")
    return component


COMPONENTS: tuple[Component[Any], ...] = tuple(_component(folder) for folder in REGISTERED)
