"""The CloudNativePG operator component (`plinth:postgres_operator`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.contract import ClusterFacts, Component, Deployed, Placement
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring
from components.postgres_operator.args import PostgresOperatorArgs

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from components.postgres_operator.component import PostgresOperator


def _deploy(
    args: PostgresOperatorArgs, cluster: Cluster, deployed: Deployed, where: Placement
) -> pulumi.ComponentResource:
    from components.postgres_operator.component import (  # noqa: PLC0415 (SDK on deploy)
        PostgresOperator,
    )

    return PostgresOperator(
        where.name,
        args,
        cluster=cluster,
        monitoring=deployed_monitoring(deployed),
        opts=where.options(),
    )


def off_eks(facts: ClusterFacts) -> bool:
    """Whether the cluster runs its own PostgreSQL: on EKS, databases are RDS instances."""
    return facts.target != "eks"


COMPONENT = Component(
    key="postgres_operator",
    args=PostgresOperatorArgs,
    name="postgres-operator",
    summary="CloudNativePG, the PostgreSQL operator MLflow's database runs on (existing and "
    "aks clusters; on eks MLflow uses RDS).",
    deploy=_deploy,
    uses=(MONITORING,),
    targets=("existing", "aks"),
    applies=off_eks,
    namespaces=lambda args: {"namespace": args.namespace},
)


def deployed_postgres_operator(deployed: Deployed) -> PostgresOperator | None:
    """The deployed CloudNativePG operator, or None when the environment has none."""
    from components.postgres_operator.component import (  # noqa: PLC0415 (SDK on deploy)
        PostgresOperator,
    )

    operator = deployed.get(COMPONENT)
    return operator if isinstance(operator, PostgresOperator) else None
