"""Settings of the CloudNativePG operator (`plinth:postgres_operator`): pydantic only."""

from __future__ import annotations

from pydantic import Field

from components.args import DNS_LABEL, ChartArgs, ContainerResources, OwnNamespace


class PostgresOperatorArgs(ChartArgs):
    """Settings of the CloudNativePG operator, which runs PostgreSQL clusters (MLflow's
    database outside EKS)."""

    namespace: OwnNamespace = Field(
        "cnpg-system", pattern=DNS_LABEL, description="Operator namespace."
    )
    replicas: int = Field(
        1, ge=1, le=3, description="Operator replicas; above 1 they elect a leader (HA)."
    )
    resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(
            cpu_request="100m", memory_request="200Mi", cpu_limit="1", memory_limit="512Mi"
        ),
        description="Operator container resources.",
    )
