"""The base of every component that installs an operator: its namespace, then its CRDs as
their own stage, then its Helm charts.

1. The namespace, with the Pod Security level its pods meet (`restricted` for controllers,
   `privileged` for node agents that need the host), named `<component>-namespace`.
2. The CRDs from the pinned upstream release, one `ConfigFile` per file
   (`components/crds.py`): upgraded by bumping the pin, never left to Helm, which does not
   upgrade the CRDs it installed.
3. Each chart (`ChartRelease`), with CRDs skipped, waiting for the namespace and the CRDs,
   with the platform labels on every object it renders. Its values are the typed options
   rendered by the component, with the user's `values_override` deep-merged on top
   (`release_values`).

Components without a chart (the training operator) use steps 1 and 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs

from components.args import FrozenModel
from components.cluster import Cluster
from components.crds import install_crds
from components.merge import deep_merge
from components.pod_security import NamespaceLevel, namespace_labels
from components.secrets import values_override


@dataclass(frozen=True)
class CrdRelease:
    """The CRD files of an upstream release: `<base_url>/<file>` for each file."""

    base_url: str
    files: Sequence[str]


@dataclass(frozen=True)
class ChartRelease:
    """One Helm chart to install: which, from where, and its values."""

    resource_name: str
    chart: str
    version: str
    repository: str
    values: Mapping[str, Any]


def release_values(
    rendered: Mapping[str, Any], override: Mapping[str, Any], args: FrozenModel
) -> dict[str, Any]:
    """The values Plinth renders from the typed options, with the user's override deep-merged
    on top (maps merge, lists replace); the override's strings stay secret when the
    component's config key is set with --secret."""
    return deep_merge(rendered, values_override(override, args))


class ChartComponent(pulumi.ComponentResource):
    """A component with its own namespace and CRDs; `install_charts` adds its charts."""

    def __init__(
        self,
        type_token: str,
        name: str,
        *,
        cluster: Cluster,
        namespace: str,
        pod_security: NamespaceLevel,
        crds: CrdRelease | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_token, name, None, opts)
        self.cluster = cluster
        self.namespace_name = namespace
        child = cluster.resource_options(self)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=cluster.metadata(namespace, **namespace_labels(pod_security)),
            opts=child,
        )
        self.crds: list[pulumi.Resource] = (
            install_crds(name, crds.base_url, crds.files, child) if crds else []
        )

    def install_charts(
        self,
        releases: Sequence[ChartRelease],
        depends_on: Sequence[pulumi.Resource] = (),
        transforms: Sequence[pulumi.ResourceTransform] = (),
    ) -> list[Chart]:
        """Each release in the component's namespace, once the namespace, the CRDs and
        `depends_on` exist: Secrets its pods read, another component's CRDs its values
        use (a ServiceMonitor's). `transforms` set on the rendered objects what a chart
        has no value for."""
        after = self.cluster.chart_options(
            self, depends_on=[self.namespace, *self.crds, *depends_on]
        )
        if transforms:
            after = pulumi.ResourceOptions.merge(
                after, pulumi.ResourceOptions(transforms=list(transforms))
            )
        return [
            Chart(
                release.resource_name,
                chart=release.chart,
                version=release.version,
                repository_opts=RepositoryOptsArgs(repo=release.repository),
                namespace=self.namespace_name,
                skip_crds=True,
                values=dict(release.values),
                opts=after,
            )
            for release in releases
        ]
