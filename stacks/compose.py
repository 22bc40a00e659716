"""Compose an environment: the registered components it enables, on its cluster.

Each component deploys after those it requires or uses (the registry's order), with the
options of a top-level component (aliases to its former names, stacks/migrations.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.contract import Deployed, Placement
from stacks.migrations import component_options

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def deploy_components(
    environment: str, config: PlatformConfig, cluster: Cluster
) -> dict[str, pulumi.ComponentResource]:
    """Config key -> component resource, for every component the environment deploys."""
    deployed: dict[str, pulumi.ComponentResource] = {}
    for component in config.deployed_components():
        where = Placement(
            environment=environment,
            name=f"{environment}-{component.name}",
            top_level_options=component_options,
        )
        deployed[component.key] = component.deploy(
            config.args(component), cluster, Deployed(dict(deployed)), where
        )
    return deployed
