"""Install upstream CustomResourceDefinitions as their own resources.

Each CRD file is applied from the pinned upstream release (a URL that contains the release
tag), one `yaml/v2:ConfigFile` per file, so that bumping the pin upgrades the CRDs on the
next `pulumi up`, independently of the chart or operator that uses them (Helm never
upgrades CRDs it installed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_kubernetes.yaml.v2 import ConfigFile


def install_crds(
    name: str, base_url: str, files: Sequence[str], opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """One ConfigFile per CRD file under `base_url`, named `<name>-crd-<file stem>`."""
    crds: list[pulumi.Resource] = []
    for file_name in sorted(files):
        stem = file_name.removesuffix(".yaml").split("_", 1)[-1]
        crds.append(ConfigFile(f"{name}-crd-{stem}", file=f"{base_url}/{file_name}", opts=opts))
    return crds
