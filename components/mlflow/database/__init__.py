"""MLflow's PostgreSQL database: RDS on EKS, a CloudNativePG `Cluster` elsewhere.

The MLflow component calls `deploy_database` after creating its namespace and points the
chart at what it returns. See README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from components.contract import Deployed
    from components.mlflow.database.args import MlflowDatabaseArgs


@dataclass(frozen=True)
class MlflowDatabase:
    """How MLflow reaches its database."""

    host: pulumi.Input[str]
    """The DNS name MLflow connects to."""
    port: int
    name: str
    """The database name."""
    credentials_secret: str
    """A Secret in MLflow's namespace with keys `username` and `password`."""
    resources: Sequence[pulumi.Resource]
    """What MLflow's chart must wait for."""


def deploy_database(
    args: MlflowDatabaseArgs,
    cluster: Cluster,
    deployed: Deployed,
    namespace: str,
    parent: pulumi.ComponentResource,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
) -> MlflowDatabase:
    """MLflow's database for `cluster`, its Kubernetes objects in `namespace` (created by
    the caller: pass the Namespace resource in `depends_on`), children of `parent`."""
    raise NotImplementedError  # filled in on branch mlflow-db
