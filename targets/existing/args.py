"""Settings of the `existing` target (`plinth:cluster` with `target: existing`): a cluster
Plinth does not create, reached through a kubeconfig. Pydantic only, no cloud SDK."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.args import SECRET_CAPABLE, FrozenModel

SUPPORTED_KUBERNETES = tuple(f"1.{minor}" for minor in range(30, 38))


class GpuNodeConventions(FrozenModel):
    """How the existing cluster marks its GPU nodes (Plinth's own convention by default)."""

    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"plinth.io/accelerator": "nvidia"},
        description="Labels every GPU node carries; GPU pods select nodes by them.",
    )
    taint_key: str = Field("nvidia.com/gpu", description="Key of the taint on GPU nodes.")
    taint_value: str = Field("true", description="Value of that taint.")


class ExistingCluster(FrozenModel):
    """A cluster Plinth does not create: on-prem, kind, k3d, minikube. Reached through a
    kubeconfig context; its version and GPU conventions are stated here."""

    target: Literal["existing"] = Field(description="Which target builds the cluster.")
    context: str | None = Field(
        None,
        description=(
            "kubeconfig context to deploy to; unset uses the current context. Stays secret "
            "when plinth:cluster is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    kubeconfig: str | None = Field(
        None,
        description=(
            "Path of the kubeconfig file, or its contents (which hold credentials: set "
            "plinth:cluster with --secret, and it stays secret); unset uses $KUBECONFIG or "
            "~/.kube/config."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    kubernetes_version: Literal[SUPPORTED_KUBERNETES] = Field(  # type: ignore[valid-type]
        description="Minor version the cluster runs, e.g. '1.33'; objects are validated against it."
    )
    default_storage_class: str = Field(
        "standard",
        description="StorageClass for volumes ('standard' on kind, 'local-path' on k3d).",
    )
    gpu: GpuNodeConventions = Field(
        default_factory=GpuNodeConventions, description="How GPU nodes are labelled and tainted."
    )
