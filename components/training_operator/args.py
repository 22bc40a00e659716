"""Settings of the Kubeflow training operator (`plinth:training_operator`): pydantic only."""

from __future__ import annotations

from pydantic import Field

from components.args import DNS_LABEL, ComponentArgs, ContainerResources, OwnNamespace


class TrainingOperatorArgs(ComponentArgs):
    """Settings of the Kubeflow training operator."""

    namespace: OwnNamespace = Field(
        "kubeflow", pattern=DNS_LABEL, description="Namespace of the operator."
    )
    replicas: int = Field(
        1, ge=1, le=5, description="Operator replicas; above 1 they elect a leader (HA)."
    )
    resources: ContainerResources = Field(
        default_factory=ContainerResources, description="Operator container resources."
    )
    example: bool = Field(
        False,
        description=(
            "Deploy a PyTorchJob smoke test into the jobs namespace (one GPU when the "
            "environment has a GPU node pool, CPU otherwise). Not allowed in prod."
        ),
    )
