"""Argument models shared by every component: the frozen, typed base and common pieces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$"
# Marks a field whose value goes to resources as it is (Plinth never computes with it), so
# it can be kept secret: set with `pulumi config set --secret`, it reaches every resource
# as a Pulumi secret. Fields without it are names, labels, sizes or choices that decide
# what is built.
SECRET_CAPABLE: dict[str, Any] = {"secret_capable": True}
# Namespaces Kubernetes itself owns; any `kube-*` name is reserved for it too.
SYSTEM_NAMESPACES = ("default",)


class FrozenModel(BaseModel):
    """Base of every Plinth model: immutable, and unknown keys are errors, never ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Pulumi marks a whole config key secret (plinth:cluster), never a field inside it; the
    # loader records it here so components keep the SECRET_CAPABLE fields secret.
    _from_secret_key: bool = PrivateAttr(default=False)

    @property
    def from_secret_key(self) -> bool:
        """Whether the config key this model was read from was set with --secret."""
        return self._from_secret_key

    def marked_secret(self) -> Self:
        """A copy that remembers its config key is secret."""
        copy = self.model_copy()
        copy._from_secret_key = True
        return copy


def secret_capable_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` that may hold a secret (see SECRET_CAPABLE), in order."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict)
        and field.json_schema_extra.get("secret_capable")
    )


def _own_namespace(name: str) -> str:
    if name in SYSTEM_NAMESPACES or name.startswith("kube-"):
        raise ValueError(
            f"{name!r} is a Kubernetes system namespace: Plinth creates its namespaces and "
            "deletes them on destroy; choose a name of your own that does not start with kube-"
        )
    return name


# A namespace a Plinth component creates (and would delete on destroy).
OwnNamespace = Annotated[str, AfterValidator(_own_namespace)]


class ComponentArgs(FrozenModel):
    """What every component takes: whether the environment deploys it at all."""

    enabled: bool = Field(True, description="false leaves the component out of the environment.")


class ChartArgs(ComponentArgs):
    """A component that wraps a Helm chart: typed options plus an escape hatch."""

    values_override: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Deep-merged over the chart values Plinth renders (maps merge, lists replace): "
            "the escape hatch for any chart setting not typed here. Keys must exist in the "
            "pinned chart's values. Its strings stay secret when the key is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )


class ContainerResources(FrozenModel):
    """CPU and memory requests and limits of one container, as Kubernetes quantities."""

    cpu_request: str = Field("100m", pattern=QUANTITY, description="CPU the scheduler reserves.")
    memory_request: str = Field("128Mi", pattern=QUANTITY, description="Memory reserved.")
    cpu_limit: str = Field("1", pattern=QUANTITY, description="CPU the container may burst to.")
    memory_limit: str = Field(
        "512Mi", pattern=QUANTITY, description="Memory above which the container is killed."
    )

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        """The `resources` block of a container spec."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class WorkloadExemption:
    """One workload a Pod Security rule skips, and why: a component that deploys a workload
    which truly needs the node declares exactly that workload, rule by rule."""

    rule: str
    namespace: str
    name: str
    reason: str
    path_prefixes: tuple[str, ...] = ()  # pss-host-path-volumes: the host paths it may mount

    def to_policy_config(self) -> dict[str, Any]:
        """The rule's `exemptWorkloads` entry."""
        entry: dict[str, Any] = {"namespace": self.namespace, "name": self.name}
        if self.path_prefixes:
            entry["pathPrefixes"] = list(self.path_prefixes)
        entry["reason"] = self.reason
        return entry


def example_problem(key: str, example: bool, tier: str) -> str | None:
    """An example (a smoke test) switched on in prod, with the fix; or None."""
    if example and tier == "prod":
        return (
            f"{key}.example is true in a prod environment: examples are smoke tests for dev "
            f"and staging; set plinth:{key}.example to false"
        )
    return None
