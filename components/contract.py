"""The component contract: what every platform component declares, in one small type.

A component is a folder under `components/` whose `__init__.py` holds one `Component`:

- `key` and `args`: its configuration key (`plinth:<key>`) and the pydantic model of its
  settings, which imports no cloud SDK, so loading a configuration stays cheap;
- `requires` (deployed first, and must be enabled: checked when the configuration loads),
  `uses` (deployed first when present) and `conflicts` (never both enabled);
- `targets` (the cluster targets where it may be configured at all) and `applies` (whether
  it deploys on a given cluster: GPU enablement only where there are GPU nodes);
- `namespaces` and `workload_namespaces` (the namespaces it creates, for its controllers
  or for workloads: distinct across components; the former are the policy pack's platform
  namespaces) and `exemptions` (named workloads exempt from
  named Pod Security rules, with the reason);
- `problem` (its cross-key checks, as one-line errors) and `deploy` (how it deploys, given
  the cluster and the components it requires; the SDKs load only then).

`components/registry.py` lists the components, one line each; `stacks/__main__.py` composes
an environment from that list, and `stacks/config.py` builds the configuration model from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from components.args import ComponentArgs, WorkloadExemption

if TYPE_CHECKING:  # the types only: the contract loads without the Pulumi SDKs
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig

ArgsT = TypeVar("ArgsT", bound=ComponentArgs)


@dataclass(frozen=True)
class ClusterFacts:
    """What a component may ask of the cluster before deploying on it, known from the
    configuration alone: the same answer offline, in review and in `pulumi up`."""

    target: str
    """Which target builds the cluster: 'existing', 'eks' or 'aks'."""
    gpu_nodes: bool
    """Whether the environment has a node pool with NVIDIA GPUs."""
    cloud: str | None
    """The cloud whose services the target brings ('aws', 'azure'), or None for a bare cluster."""


@dataclass(frozen=True)
class Deployed:
    """The components deployed so far, for the ones that require or use them."""

    resources: Mapping[str, pulumi.ComponentResource]

    def get(self, component: Component[Any]) -> pulumi.ComponentResource | None:
        """The deployed `component`, or None when the environment does not deploy it."""
        return self.resources.get(component.key)

    def require(self, component: Component[Any]) -> pulumi.ComponentResource:
        """The deployed `component`; the configuration loader guarantees it is there."""
        deployed = self.resources.get(component.key)
        if deployed is None:  # pragma: no cover (the loader refuses such a configuration)
            raise LookupError(f"{component.key} is required but was not deployed")
        return deployed


@dataclass(frozen=True)
class Placement:
    """Where a component deploys: its resource name and the options of top-level components
    (the aliases of their former names, from stacks/migrations.py)."""

    environment: str
    name: str
    """The component's resource name, `<env>-<Component.name>`."""
    top_level_options: Callable[[str], pulumi.ResourceOptions]
    """Options of a top-level component of that name (a component may deploy more than one)."""

    def options(self) -> pulumi.ResourceOptions:
        """Options of the component itself."""
        return self.top_level_options(self.name)


# How a component deploys: (its args, the cluster, the components it requires or uses, where)
# -> the component resource.
DeployFunction = Callable[[Any, "Cluster", Deployed, Placement], "pulumi.ComponentResource"]


def on_every_cluster(facts: ClusterFacts) -> bool:
    """`applies` of a component that deploys wherever it is enabled."""
    del facts
    return True


def no_namespaces(args: Any) -> dict[str, str]:
    """`namespaces` of a component that creates no namespace."""
    del args
    return {}


def no_exemptions(args: Any) -> tuple[WorkloadExemption, ...]:
    """`exemptions` of a component whose workloads all meet every Pod Security rule."""
    del args
    return ()


def no_problem(args: Any, config: PlatformConfig) -> str | None:
    """`problem` of a component without cross-key checks."""
    del args, config
    return None


@dataclass(frozen=True)
class Component(Generic[ArgsT]):
    """One platform component, as the registry and the composer see it."""

    key: str
    """Its configuration key, `plinth:<key>`."""
    args: type[ArgsT]
    """The pydantic model of its settings (pydantic only: no cloud SDK)."""
    name: str
    """Its resource name after the environment's, `<env>-<name>`: an external contract,
    since Pulumi identifies every child by it (record renames in stacks/migrations.py)."""
    summary: str
    """One line: what it deploys (the configuration reference shows it)."""
    deploy: DeployFunction
    requires: tuple[Component[Any], ...] = ()
    uses: tuple[Component[Any], ...] = ()
    conflicts: tuple[Component[Any], ...] = ()
    targets: tuple[str, ...] | None = None
    """The targets where it may be configured; None for every target."""
    applies: Callable[[ClusterFacts], bool] = on_every_cluster
    namespaces: Callable[[ArgsT], Mapping[str, str]] = no_namespaces
    """Setting -> namespace it creates for its controllers (`{"namespace": "kubeflow"}`):
    platform namespaces, which the policy pack does not hold to the workload standard."""
    workload_namespaces: Callable[[ArgsT], Mapping[str, str]] = no_namespaces
    """Setting -> namespace it creates for workloads (the jobs namespace): fenced."""
    exemptions: Callable[[ArgsT], tuple[WorkloadExemption, ...]] = no_exemptions
    problem: Callable[[ArgsT, PlatformConfig], str | None] = no_problem

    def deploys(self, args: ArgsT, facts: ClusterFacts) -> bool:
        """Whether an environment with `args` on a cluster with `facts` deploys it."""
        return args.enabled and self.applies(facts)
