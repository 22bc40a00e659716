"""Settings of the Kubeflow Spark operator (`plinth:spark_operator`): pydantic only."""

from __future__ import annotations

from pydantic import Field

from components.args import DNS_LABEL, ChartArgs, ContainerResources, OwnNamespace


class SparkOperatorArgs(ChartArgs):
    """Settings of the Kubeflow Spark operator."""

    namespace: OwnNamespace = Field(
        "spark-operator", pattern=DNS_LABEL, description="Operator namespace."
    )
    controller_replicas: int = Field(
        1, ge=1, le=5, description="Controller replicas; above 1 they elect a leader (HA)."
    )
    webhook_replicas: int = Field(1, ge=1, le=5, description="Admission webhook replicas.")
    controller_resources: ContainerResources = Field(
        default_factory=lambda: ContainerResources(memory_request="300Mi", memory_limit="1Gi"),
        description="Controller resources; each submission runs a JVM in the controller.",
    )
    webhook_resources: ContainerResources = Field(
        default_factory=ContainerResources, description="Webhook container resources."
    )
    metrics: bool = Field(True, description="Expose Prometheus metrics on port 8080.")
    driver_service_account: str = Field(
        "spark-driver", pattern=DNS_LABEL, description="Service account Spark drivers run as."
    )
    example: bool = Field(
        False, description="Submit a SparkPi SparkApplication as a smoke test. Not allowed in prod."
    )
