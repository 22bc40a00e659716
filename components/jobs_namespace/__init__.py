"""The jobs namespace component (`plinth:jobs`); see README.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from components.contract import Component, Deployed, DeployFunction, Placement
from components.jobs_namespace.args import JobsNamespaceArgs, shared_volume_problem
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import MonitoringStack, deployed_monitoring

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from components.jobs_namespace.component import JobsNamespace
    from stacks.config import PlatformConfig


def _deploy(
    args: JobsNamespaceArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    import pulumi  # noqa: PLC0415

    from components.jobs_namespace.component import JobsNamespace  # noqa: PLC0415 (SDK on deploy)

    jobs = JobsNamespace(
        where.name,
        args,
        cluster=cluster,
        monitoring=deployed_monitoring(deployed),
        opts=where.options(),
    )
    pulumi.export("jobs_namespace", jobs.namespace_name)
    return jobs


def deployed_jobs_namespace(deployed: Deployed) -> JobsNamespace:
    """The jobs namespace, for the components that require it."""
    from components.jobs_namespace.component import JobsNamespace  # noqa: PLC0415

    jobs = deployed.require(COMPONENT)
    if not isinstance(jobs, JobsNamespace):  # pragma: no cover (the registry's own entry)
        raise TypeError(f"{COMPONENT.key} deployed something other than a JobsNamespace")
    return jobs


class JobsOperator(Protocol):
    """The constructor of a component whose jobs run in the jobs namespace."""

    def __call__(
        self,
        name: str,
        args: Any,
        *,
        cluster: Cluster,
        jobs_namespace: JobsNamespace,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> pulumi.ComponentResource: ...


def deploy_beside_jobs(operator: Callable[[], JobsOperator]) -> DeployFunction:
    """The deploy function of a component whose jobs run in the jobs namespace: `operator`
    imports its class (and the Kubernetes SDK) only when it deploys. It gets the monitoring
    component when the environment deploys one (list it in `uses`)."""

    def deploy(
        args: Any, cluster: Cluster, deployed: Deployed, where: Placement
    ) -> pulumi.ComponentResource:
        jobs = deployed_jobs_namespace(deployed)
        return operator()(
            where.name,
            args,
            cluster=cluster,
            jobs_namespace=jobs,
            monitoring=deployed_monitoring(deployed),
            opts=where.options(),
        )

    return deploy


def _problem(args: JobsNamespaceArgs, config: PlatformConfig) -> str | None:
    """A volume that cannot bind, or the jobs namespace declared a platform namespace."""
    for rule, knobs in sorted(config.policy.config.items()):
        if args.name in (knobs.get("platformNamespaces") or ()):
            return (
                f"jobs.name {args.name!r} is listed in plinth:policy.config.{rule}."
                "platformNamespaces: jobs there would escape the restricted Pod Security "
                "level and the workload rules; remove it from that list or rename jobs.name"
            )
    return shared_volume_problem(args.volumes, config.default_storage_class)


COMPONENT = Component(
    key="jobs",
    args=JobsNamespaceArgs,
    name="jobs",
    summary="The shared namespace jobs run in.",
    deploy=_deploy,
    # With monitoring deployed, job pods that expose metrics are scraped (a PodMonitor).
    uses=(MONITORING,),
    workload_namespaces=lambda args: {"name": args.name},
    problem=_problem,
)
